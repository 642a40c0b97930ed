//! Starting a node: prepare and load the data directory, join the cluster, serve HTTP until a
//! signal.

use axum::routing::get;
use axum::Router;
use meridian_catalog::{diff, Catalog, CatalogService, Change, Source};
use meridian_cluster::keys::ClusterKeys;
use meridian_cluster::seal::Sealer;
use meridian_cluster::{Cluster, ClusterConfig, ClusterRest};
use meridian_datadir::{default_styles, init_if_empty, load, DataDir};
use meridian_ogc::{ogc_router, OgcState};
use meridian_rest::{rest_router, RestState};
use meridian_security::write_defaults_if_missing;
use meridian_store::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The local address packets to `group` would leave from (no packet is sent).
fn route_source(group: &str) -> Option<std::net::IpAddr> {
    let group: std::net::Ipv4Addr = group.trim().parse().ok()?;
    let s = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect((group, 9)).ok()?;
    s.local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be prepared or read.
    #[error("data directory {0}: {1}")]
    DataDir(String, String),
    /// Security files are unreadable.
    #[error("security: {0}")]
    Security(String),
    /// The cluster configuration or journal is unusable.
    #[error("cluster: {0}")]
    Cluster(String),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, String),
    /// Runtime failure.
    #[error("{0}")]
    Runtime(String),
    /// `GEOSERVER_FILESYSTEM_SANDBOX` names no directory.
    #[error("GEOSERVER_FILESYSTEM_SANDBOX names '{0}', which is not a directory")]
    Sandbox(String),
    /// `check` found problems.
    #[error("{0} file(s) did not load")]
    Problems(usize),
}

fn load_catalog(dir: &Path) -> Result<(Catalog, DataDir), NodeError> {
    let loaded =
        load(dir).map_err(|e| NodeError::DataDir(dir.display().to_string(), e.to_string()))?;
    for p in loaded.problems.iter().chain(&loaded.notices) {
        tracing::warn!(path = %p.path.display(), "{}", p.reason);
    }
    crate::memory::release_free_memory();
    Ok((
        loaded.catalog,
        DataDir::new(dir.to_path_buf(), loaded.locations),
    ))
}

/// Prepare, load and serve.
/// Where the tile cache lives and how large it may grow.
pub struct TileCacheOptions {
    /// Its folder.
    pub dir: PathBuf,
    /// Most bytes it may take (`None`: no limit).
    pub quota: Option<u64>,
}

pub fn serve(
    dir: PathBuf,
    bind: SocketAddr,
    limits: crate::http::HttpLimits,
    max_failed_logins: u32,
    upload_limits: meridian_rest::UploadLimits,
    proxy_auth: Option<meridian_ogc::ProxyAuth>,
    tile_cache: TileCacheOptions,
) -> Result<(), NodeError> {
    if let Some(raw) =
        std::env::var_os(meridian_sources::sandbox::SANDBOX_VAR).filter(|v| !v.is_empty())
    {
        if !std::path::Path::new(&raw).is_dir() {
            return Err(NodeError::Sandbox(
                std::path::PathBuf::from(raw).display().to_string(),
            ));
        }
    }
    let err = |e: String| NodeError::DataDir(dir.display().to_string(), e);
    if init_if_empty(&dir).map_err(|e| err(e.to_string()))? {
        tracing::info!(dir = %dir.display(), "created a new data directory");
    }
    write_defaults_if_missing(&dir).map_err(|e| NodeError::Security(e.to_string()))?;
    let mut cluster_cfg =
        ClusterConfig::load(&dir).map_err(|e| NodeError::Cluster(e.to_string()))?;
    let keys =
        ClusterKeys::new(cluster_cfg.secret()).map_err(|e| NodeError::Cluster(e.to_string()))?;
    // Every node, clustered or alone, keeps its durable state the same way.
    let store = Store::open(
        &dir,
        cluster_cfg.instance(),
        cluster_cfg.journal_retention(),
        Some(Arc::new(Sealer::new(&keys))),
    )
    .map_err(|e| NodeError::Cluster(e.to_string()))?;
    let started = std::time::Instant::now();
    let (catalog, datadir) = load_catalog(&dir)?;
    let load_ms = started.elapsed().as_millis();
    let service = Arc::new(CatalogService::new(catalog, store.persister(datadir)));
    let styles: Vec<Change> = default_styles(&service.snapshot())
        .into_iter()
        .map(|object| Change::Add { object })
        .collect();
    if !styles.is_empty() {
        service
            .apply_from(styles, Source::System)
            .map_err(|e| err(e.to_string()))?;
    }
    // Users, roles and rules are catalog objects: built from the catalog, and again after
    // every batch that changes them (a replica's too, as they arrive).
    let sec = meridian_rest::security_of(&service.snapshot())
        .map_err(|e| NodeError::Security(e.to_string()))?;
    for user in sec.unreadable_passwords() {
        tracing::warn!(
            %user,
            "this user's password is encrypted with GeoServer's keystore (crypt1:/crypt2:), which \
             Meridian does not open: they cannot log in until an administrator sets their \
             password again (REST or the user/group service)"
        );
    }
    let security = Arc::new(RwLock::new(sec));
    {
        // Rebuilt when a batch or a peer's snapshot (listeners hear of both) changed one of
        // the security objects (compared by identity: states share unchanged objects).
        let watch = Arc::new(SecurityWatch {
            service: Arc::downgrade(&service),
            security: security.clone(),
            seen: std::sync::Mutex::new(security_objects(&service.snapshot())),
        });
        service.subscribe(Box::new(move |_| watch.refresh()));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Runtime(e.to_string()))?;
    rt.block_on(async move {
        let shutdown = shutdown_signal()?;
        let listener = crate::http::listen(bind).map_err(|e| NodeError::Bind(bind, e.to_string()))?;
        let local = listener.local_addr().map_err(|e| NodeError::Runtime(e.to_string()))?;
        // With discovery on, peers must reach this node's embedded broker: by default it
        // listens where HTTP does (not on loopback), for this run.
        if cluster_cfg.discovery_on()
            && cluster_cfg.get("embeddedBroker.listen") == meridian_cluster::config::DEFAULT_EMBEDDED_LISTEN
            && !local.ip().is_loopback()
        {
            let listen = format!("{}:1883", local.ip());
            tracing::info!(%listen, "discovery is on: the embedded broker listens where HTTP does");
            cluster_cfg.set("embeddedBroker.listen", &listen);
        }
        let url = match cluster_cfg.get("node.url") {
            "" if local.ip().is_unspecified() => {
                // Listening on every address: peers are told the one the route to the LAN
                // (the multicast group) leaves from.
                let ip = route_source(cluster_cfg.get("multicast.group")).unwrap_or(local.ip());
                if ip.is_unspecified() {
                    tracing::warn!("HTTP listens on every address and none routes to the LAN: set node.url so peers can reach this node");
                }
                format!("http://{}/geoserver", std::net::SocketAddr::new(ip, local.port()))
            }
            "" => format!("http://{local}/geoserver"),
            u => u.trim_end_matches('/').to_string(),
        };
        // Redo what the journal holds beyond the files (a crash in between).
        store.recover(&service).map_err(|e| NodeError::Cluster(e.to_string()))?;
        let cluster = Cluster::new(cluster_cfg, service.clone(), store.clone(), url)
            .map_err(|e| NodeError::Cluster(e.to_string()))?;
        cluster.start().map_err(|e| NodeError::Cluster(e.to_string()))?;
        let summary = service.snapshot().summary();
        tracing::info!(dir = %dir.display(), instance = %cluster.me(), group = %cluster.group(), ?summary, load_ms, ready_ms = started.elapsed().as_millis(), "catalog loaded");
        let reload = {
            let (service, security, dir, store) = (service.clone(), security.clone(), dir.clone(), store.clone());
            Box::new(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                // Files still being written behind (a snapshot) must be on disk before the
                // directory is read, or the reload would see a partial catalog.
                service.settle()?;
                let (catalog, datadir) = load_catalog(&dir)?;

                // Only what differs from memory is applied, so a reload on a primary
                // publishes just those changes, never the whole catalog.
                let changes = diff(&service.snapshot(), &catalog);
                service.replace_persister(store.persister(datadir.clone()));
                let n = changes.len();
                let local = service.write_gate().is_none();
                let applied = local && service.apply_from(changes, Source::Local).is_ok();
                if !applied {
                    // A replica (or a reload the apply path refuses): take the files as they
                    // are; heartbeats compare digests and repair drift from the cluster.
                    service.replace(catalog, store.persister(datadir));
                }
                let sec = meridian_rest::security_of(&service.snapshot())?;
                if let Ok(mut s) = security.write() {
                    *s = sec;
                }
                tracing::info!(changes = n, published = applied, "catalog reloaded from disk");
                Ok(())
            })
        };
        let web_key = *cluster.keys().web_key();
        let metrics_cluster = cluster.clone();
        let ready_cluster = cluster.clone();
        let logins = Arc::new(meridian_rest::LoginThrottle::new(max_failed_logins, std::time::Duration::from_secs(60)));
        // The OGC state, once made (recorded seed requests run through it).
        let ogc_cell: Arc<std::sync::OnceLock<Arc<OgcState>>> = Arc::default();
        let tiles = Arc::new(meridian_ogc::gwc::TileCache::new(
            tile_cache.dir.clone(),
            tile_cache.quota,
            proxy_auth.as_ref().map(|p| p.header.clone()),
        ));
        // The disk quota configured in the data directory, else the node's own.
        tiles.configure_quota(meridian_catalog::gwc_files::configured_quota(&service.snapshot()));
        {
            // Tiles a change makes stale are truncated on every node, whatever brought the
            // change (a local write, a peer's batch, a snapshot).
            let watch = TileWatch {
                service: Arc::downgrade(&service),
                tiles: tiles.clone(),
                seen: std::sync::Mutex::new(service.snapshot()),
                ogc: ogc_cell.clone(),
                runtime: tokio::runtime::Handle::current(),
            };
            service.subscribe(Box::new(move |_| watch.refresh()));
        }
        {
            // A peer's data edit truncates this node's tiles there.
            let (tiles, service) = (tiles.clone(), service.clone());
            cluster.on_invalidation(Arc::new(move |layer, bbox| {
                tiles.invalidate(&service.snapshot(), layer, bbox)
            }));
        }
        let tell = cluster.clone();
        let hot = tiles.clone();
        let ogc = Arc::new(OgcState {
            data_edited: Some(Arc::new(move |layer: &str, bbox: [f64; 4]| {
                tell.publish_invalidation(layer, bbox)
            })),
            tiles,
            after_large_answer: Some(Arc::new(crate::memory::release_soon)),
            security: security.clone(),
            logins: logins.clone(),
            proxy_auth: proxy_auth.clone(),
            ..OgcState::new(service.clone(), dir.clone())
        });
        let _ = ogc_cell.set(ogc.clone());
        let on_exit = service.clone();
        let state = Arc::new(RestState {
            catalog: service,
            data_dir: dir.clone(),
            security,
            reload,
            max_body: 16 * 1024 * 1024,
            max_upload: 1024 * 1024 * 1024,
            upload_limits,
            logins,
            proxy_auth,
            extensions: vec![
                Arc::new(ClusterRest(cluster)),
                Arc::new(meridian_ogc::gwc::SeedRest(ogc.clone())),
            ],
            layer_order: Default::default(),
            after_large_answer: Some(Arc::new(crate::memory::release_soon)),
        });
        let app = Router::new()
            .route("/geoserver", get(|| async { "Meridian" }))
            .route("/geoserver/", get(|| async { "Meridian" }))
            .route(
                "/geoserver/metrics",
                get(move || {
                    let c = metrics_cluster.clone();
                    async move { ([("content-type", meridian_cluster::metrics::CONTENT_TYPE)], c.metrics_text()) }
                }),
            )
            // Anonymous and cheap: for load balancers and Kubernetes probes.
            .route("/geoserver/health/live", get(|| async { "live" }))
            .route(
                "/geoserver/health/ready",
                get(move || {
                    let c = ready_cluster.clone();
                    async move { crate::health::ready(&c) }
                }),
            )
            .merge(meridian_web::web_router(Arc::new(meridian_web::WebState {
                rest: state.clone(),
                key: web_key,
                started,
            })))
            .merge(rest_router(state))
            .merge(ogc_router(ogc));
        tracing::info!(address = %local, max_connections = limits.max_connections, "listening on http://{local}/geoserver");
        // On a worker of the runtime, not the thread blocked on it: accepting from there
        // waited for wake-ups, and the listen queue overflowed (1 s client retries).
        let serving = tokio::spawn(crate::http::serve(listener, app, limits, hot, shutdown));
        serving.await.map_err(|e| NodeError::Runtime(e.to_string()))?;
        // Files still written behind go to disk first, so a stopped node leaves a whole data
        // directory.
        if let Err(e) = on_exit.settle() {
            tracing::warn!(error = %e, "final checkpoint failed; the journal is redone at the next start");
        }
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

/// `meridian cluster leave`.
pub fn leave(dir: PathBuf) -> Result<(), NodeError> {
    let cfg = ClusterConfig::load(&dir).map_err(|e| NodeError::Cluster(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Runtime(e.to_string()))?;
    let left = rt
        .block_on(meridian_cluster::node::leave(&cfg, &dir))
        .map_err(|e| NodeError::Cluster(e.to_string()))?;
    println!(
        "{} left group {} (told through {})",
        cfg.instance(),
        cfg.group(),
        if left.brokers.is_empty() {
            "no broker: no peer known".to_string()
        } else {
            left.brokers.join(", ")
        }
    );
    for m in &left.missed {
        eprintln!("not reached, forgets this node after peer.expiry: {m}");
    }
    Ok(())
}

/// `meridian cluster secret`: print the node's cluster secret (generated and kept if it had
/// none), for joining other nodes to it.
pub fn secret(dir: PathBuf) -> Result<(), NodeError> {
    let cfg = ClusterConfig::load(&dir).map_err(|e| NodeError::Cluster(e.to_string()))?;
    println!("{}", cfg.secret());
    Ok(())
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
    // Loaded, so not a failure; worth knowing.
    for p in &loaded.notices {
        println!("notice: {p}");
    }
    if loaded.problems.is_empty() {
        Ok(())
    } else {
        Err(NodeError::Problems(loaded.problems.len()))
    }
}

/// The security objects of a catalog state, in id order.
fn security_objects(cat: &Catalog) -> Vec<Option<Arc<meridian_catalog::Object>>> {
    meridian_catalog::security_files::objects_of(cat)
        .into_iter()
        .map(|o| Some(o.clone()))
        .collect()
}

/// Truncates the cached tiles a catalog change makes stale.
struct TileWatch {
    service: std::sync::Weak<CatalogService>,
    tiles: Arc<meridian_ogc::gwc::TileCache>,
    seen: std::sync::Mutex<Arc<Catalog>>,
    ogc: Arc<std::sync::OnceLock<Arc<OgcState>>>,
    runtime: tokio::runtime::Handle,
}

impl TileWatch {
    fn refresh(&self) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        let now = service.snapshot();
        // Tile answers kept in memory were made under the catalog before.
        self.tiles.hot.clear();
        let mut seen = meridian_catalog::sync::lock(&self.seen);
        // The disk quota configuration, when it changed.
        let quota = meridian_catalog::gwc_files::configured_quota(&now);
        if meridian_catalog::gwc_files::configured_quota(&seen) != quota {
            self.tiles.configure_quota(quota);
        }
        let stale = meridian_ogc::gwc::coherence::stale_layers(&seen, &now);
        if !stale.is_empty() {
            tracing::info!(
                layers = stale.len(),
                "tiles made stale by a change truncated"
            );
            self.tiles.truncate_layers(stale.iter().map(String::as_str));
        }
        // Truncations of a box (GeoWebCache's truncateExtent).
        for (id, extent) in meridian_ogc::gwc::coherence::truncated_extents(&seen, &now) {
            self.tiles.truncate_extent(&now, &id, &extent);
        }
        // Seed requests recorded since: this node seeds its own cache too.
        if let Some(ogc) = self.ogc.get() {
            for (id, request) in meridian_ogc::gwc::seed::recorded_since(&seen, &now) {
                let _inside = self.runtime.enter();
                meridian_ogc::gwc::seed::run_recorded(ogc, &id, &request);
            }
        }
        *seen = now;
    }
}

/// Keeps a node's users and rules those of its catalog.
struct SecurityWatch {
    service: std::sync::Weak<CatalogService>,
    security: Arc<RwLock<meridian_security::Security>>,
    seen: std::sync::Mutex<Vec<Option<Arc<meridian_catalog::Object>>>>,
}

impl SecurityWatch {
    /// Rebuild the users and rules when the catalog's security objects changed.
    fn refresh(&self) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        let cat = service.snapshot();
        let now = security_objects(&cat);
        let mut seen = meridian_catalog::sync::lock(&self.seen);
        let same = seen.len() == now.len()
            && seen.iter().zip(&now).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            });
        if same {
            return;
        }
        match meridian_rest::security_of(&cat) {
            Ok(sec) => {
                match self.security.write() {
                    Ok(mut s) => *s = sec,
                    Err(p) => *p.into_inner() = sec,
                }
                *seen = now;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the changed security files do not read; the previous ones stay in force")
            }
        }
    }
}
