//! OGC services over the catalog: OGC API - Features, WFS 2.0 and WMS 1.1.1/1.3.0. Every request reads the
//! current catalog snapshot, so what REST or replication changed is served at once.

mod access;
mod coverages;
mod document;
pub mod gwc;
mod layers;
mod oapif;
mod ows;
mod wfs;
mod wms;

use axum::routing::{any, get};
use axum::Router;
use meridian_catalog::CatalogService;
use std::path::PathBuf;
use std::sync::Arc;

pub use coverages::{published_coverages, CoverageLayer};
pub use layers::{published_layers, FeatureLayer};
pub use meridian_features::FilterError;

/// What the services need.
pub struct OgcState {
    /// The catalog.
    pub catalog: Arc<CatalogService>,
    /// The data directory (relative store paths resolve against it).
    pub data_dir: PathBuf,
    /// Every layer in qualified-name order, shared by the documents of one catalog snapshot.
    pub order: layers::PublishedOrder,
    /// Called when a large document has been written (the node hands the memory it used back
    /// to the system).
    pub after_large_answer: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Users and access rules (WFS-T checks who writes).
    pub security: Arc<std::sync::RwLock<meridian_security::Security>>,
    /// Failed logins per client address, shared with REST.
    pub logins: Arc<meridian_rest::LoginThrottle>,
    /// Features locked by LockFeature and GetFeatureWithLock.
    pub locks: wfs::Locks,
    /// Users named by a trusted proxy in a request header (off when `None`).
    pub proxy_auth: Option<ProxyAuth>,
    /// The tile cache (`<data dir>/gwc` unless the node says otherwise).
    pub tiles: Arc<gwc::TileCache>,
    /// Told the id of a layer whose data a WFS-T transaction changed, and the WGS84 box (the
    /// node tells its peers, which truncate those tiles).
    pub data_edited: Option<DataEdited>,
}

pub use meridian_rest::ProxyAuth;

/// Told a layer's id and the WGS84 box a data edit touched.
pub type DataEdited = Arc<dyn Fn(&str, [f64; 4]) + Send + Sync>;

impl OgcState {
    /// The services over `catalog`, with stores read relative to `data_dir`.
    pub fn new(catalog: Arc<CatalogService>, data_dir: PathBuf) -> OgcState {
        let security = meridian_security::Security::load(&data_dir)
            .unwrap_or_else(|_| meridian_security::Security::locked());
        OgcState {
            catalog,
            order: Default::default(),
            after_large_answer: None,
            security: Arc::new(std::sync::RwLock::new(security)),
            logins: Arc::new(meridian_rest::LoginThrottle::new(
                10,
                std::time::Duration::from_secs(60),
            )),
            locks: wfs::Locks::default(),
            proxy_auth: None,
            tiles: Arc::new(gwc::TileCache::new(data_dir.join("gwc"), None, None)),
            data_edited: None,
            data_dir,
        }
    }

    /// An empty catalog, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> OgcState {
        OgcState::new(
            Arc::new(CatalogService::in_memory(meridian_catalog::Catalog::new())),
            PathBuf::new(),
        )
    }
}

/// The OGC routes under `/geoserver`.
pub fn ogc_router(state: Arc<OgcState>) -> Router {
    Router::new()
        .route("/geoserver/ogc/features/v1", get(oapif::landing))
        .route("/geoserver/ogc/features/v1/", get(oapif::landing))
        .route(
            "/geoserver/ogc/features/v1/conformance",
            get(oapif::conformance),
        )
        .route("/geoserver/ogc/features/v1/api", get(oapif::api))
        .route(
            "/geoserver/ogc/features/v1/collections",
            get(oapif::collections),
        )
        .route(
            "/geoserver/ogc/features/v1/collections/{id}",
            get(oapif::collection),
        )
        .route(
            "/geoserver/ogc/features/v1/collections/{id}/items",
            get(oapif::items),
        )
        .route(
            "/geoserver/ogc/features/v1/collections/{id}/queryables",
            get(oapif::queryables),
        )
        .route(
            "/geoserver/ogc/features/v1/collections/{id}/items/{fid}",
            get(oapif::item),
        )
        .route("/geoserver/wfs", any(wfs::global))
        .route("/geoserver/ows", any(ows_global))
        .route("/geoserver/{ws}/wfs", any(wfs::workspace))
        .route("/geoserver/{ws}/ows", any(ows_workspace))
        .route("/geoserver/ogc/tiles/v1", get(gwc::ogcapi::landing))
        .route("/geoserver/ogc/tiles/v1/", get(gwc::ogcapi::landing))
        .route(
            "/geoserver/ogc/tiles/v1/conformance",
            get(gwc::ogcapi::conformance),
        )
        .route(
            "/geoserver/ogc/tiles/v1/tileMatrixSets",
            get(gwc::ogcapi::matrix_sets),
        )
        .route(
            "/geoserver/ogc/tiles/v1/tileMatrixSets/{id}",
            get(gwc::ogcapi::matrix_set_one),
        )
        .route(
            "/geoserver/ogc/tiles/v1/collections",
            get(gwc::ogcapi::collections),
        )
        .route(
            "/geoserver/ogc/tiles/v1/collections/{id}",
            get(gwc::ogcapi::collection_one),
        )
        .route(
            "/geoserver/ogc/tiles/v1/collections/{id}/map/tiles",
            get(gwc::ogcapi::map_tilesets),
        )
        .route(
            "/geoserver/ogc/tiles/v1/collections/{id}/tiles",
            get(gwc::ogcapi::vector_tilesets),
        )
        .route(
            "/geoserver/ogc/tiles/v1/collections/{id}/map/tiles/{tms}/{z}/{row}/{col}",
            get(gwc::ogcapi::map_tile),
        )
        .route(
            "/geoserver/ogc/tiles/v1/collections/{id}/tiles/{tms}/{z}/{row}/{col}",
            get(gwc::ogcapi::vector_tile),
        )
        .route("/geoserver/gwc/service/wmts", get(gwc::wmts_kvp))
        .route(
            "/geoserver/gwc/service/wmts/rest/{*path}",
            get(gwc::wmts_rest),
        )
        .route("/geoserver/gwc/service/tms/1.0.0", get(gwc::tms_root))
        .route("/geoserver/gwc/service/tms/1.0.0/", get(gwc::tms_root))
        .route(
            "/geoserver/gwc/service/tms/1.0.0/{*path}",
            get(gwc::tms_path),
        )
        .route("/geoserver/gwc/service/gmaps", get(gwc::gmaps))
        .route("/geoserver/wms", get(wms::global))
        .route("/geoserver/{ws}/wms", get(wms::workspace))
        .with_state(state)
}

/// The client's address, when the listener recorded it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// `/geoserver/ows`: WMS when the query says `service=WMS`, else WFS.
async fn ows_global(
    state: axum::extract::State<Arc<OgcState>>,
    client: ClientAddr,
    method: axum::http::Method,
    q: axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    if wms::asks_for_wms(q.0.as_deref()) {
        return wms::global(state, client, q, headers).await;
    }
    wfs::global(state, client, method, q, headers, body).await
}

/// `/geoserver/{ws}/ows`: WMS when the query says `service=WMS`, else WFS.
async fn ows_workspace(
    state: axum::extract::State<Arc<OgcState>>,
    ws: axum::extract::Path<String>,
    client: ClientAddr,
    method: axum::http::Method,
    q: axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    if wms::asks_for_wms(q.0.as_deref()) {
        return wms::workspace(state, ws, client, q, headers).await;
    }
    wfs::workspace(state, ws, client, method, q, headers, body).await
}
