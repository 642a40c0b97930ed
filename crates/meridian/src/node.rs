//! Starting a node: prepare and load the data directory, then serve HTTP until a signal.

use axum::routing::get;
use axum::Router;
use meridian_catalog::{CatalogService, Change};
use meridian_datadir::{default_styles, init_if_empty, load, DataDir};
use meridian_rest::{rest_router, RestState};
use meridian_security::{write_defaults_if_missing, Security};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be prepared or read.
    #[error("data directory {0}: {1}")]
    DataDir(String, String),
    /// Security files are unreadable.
    #[error("security: {0}")]
    Security(String),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, String),
    /// Runtime failure.
    #[error("{0}")]
    Runtime(String),
    /// `check` found problems.
    #[error("{0} file(s) did not load")]
    Problems(usize),
}

fn load_catalog(dir: &Path) -> Result<(meridian_catalog::Catalog, DataDir), NodeError> {
    let loaded =
        load(dir).map_err(|e| NodeError::DataDir(dir.display().to_string(), e.to_string()))?;
    for p in &loaded.problems {
        tracing::warn!(path = %p.path.display(), "{}", p.reason);
    }
    Ok((
        loaded.catalog,
        DataDir::new(dir.to_path_buf(), loaded.locations),
    ))
}

/// Prepare, load and serve.
pub fn serve(dir: PathBuf, bind: SocketAddr) -> Result<(), NodeError> {
    let err = |e: String| NodeError::DataDir(dir.display().to_string(), e);
    if init_if_empty(&dir).map_err(|e| err(e.to_string()))? {
        tracing::info!(dir = %dir.display(), "created a new data directory");
    }
    write_defaults_if_missing(&dir).map_err(|e| NodeError::Security(e.to_string()))?;
    let (catalog, persister) = load_catalog(&dir)?;
    let service = Arc::new(CatalogService::new(catalog, Box::new(persister)));
    let styles: Vec<Change> = default_styles(&service.snapshot())
        .into_iter()
        .map(|object| Change::Add { object })
        .collect();
    if !styles.is_empty() {
        service.apply(styles).map_err(|e| err(e.to_string()))?;
    }
    let summary = service.snapshot().summary();
    tracing::info!(dir = %dir.display(), ?summary, "catalog loaded");
    let security = Arc::new(RwLock::new(
        Security::load(&dir).map_err(|e| NodeError::Security(e.to_string()))?,
    ));
    let reload = {
        let (service, security, dir) = (service.clone(), security.clone(), dir.clone());
        Box::new(move || -> Result<(), String> {
            let (catalog, persister) = load_catalog(&dir).map_err(|e| e.to_string())?;
            let sec = Security::load(&dir).map_err(|e| e.to_string())?;
            service.replace(catalog, Box::new(persister));
            if let Ok(mut s) = security.write() {
                *s = sec;
            }
            tracing::info!("catalog reloaded from disk");
            Ok(())
        })
    };
    let state = Arc::new(RestState {
        catalog: service,
        data_dir: dir.clone(),
        security,
        reload,
        max_body: 16 * 1024 * 1024,
        max_upload: 1024 * 1024 * 1024,
    });
    let app = Router::new()
        .route("/geoserver", get(|| async { "Meridian" }))
        .route("/geoserver/", get(|| async { "Meridian" }))
        .merge(rest_router(state));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Runtime(e.to_string()))?;
    rt.block_on(async move {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| NodeError::Bind(bind, e.to_string()))?;
        let local = listener
            .local_addr()
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        tracing::info!(address = %local, "listening on http://{local}/geoserver");
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, before the
/// node reports that it listens, so an early signal is never lost.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, NodeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| NodeError::Runtime(e.to_string()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| NodeError::Runtime(e.to_string()))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

/// Load a data directory and report problems.
pub fn check(dir: PathBuf) -> Result<(), NodeError> {
    let loaded =
        load(&dir).map_err(|e| NodeError::DataDir(dir.display().to_string(), e.to_string()))?;
    for (k, n) in loaded.catalog.summary() {
        println!("{:<16} {n}", k.label());
    }
    for p in &loaded.problems {
        println!("problem: {p}");
    }
    if loaded.problems.is_empty() {
        Ok(())
    } else {
        Err(NodeError::Problems(loaded.problems.len()))
    }
}
