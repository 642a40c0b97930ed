//! OGC services over the catalog: OGC API - Features and WFS 2.0. Every request reads the
//! current catalog snapshot, so what REST or replication changed is served at once.

mod layers;
mod oapif;
mod ows;
mod wfs;

use axum::routing::{any, get};
use axum::Router;
use meridian_catalog::CatalogService;
use std::path::PathBuf;
use std::sync::Arc;

pub use layers::{published_layers, FeatureLayer};
pub use meridian_features::FilterError;

/// What the services need.
pub struct OgcState {
    /// The catalog.
    pub catalog: Arc<CatalogService>,
    /// The data directory (relative store paths resolve against it).
    pub data_dir: PathBuf,
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
            "/geoserver/ogc/features/v1/collections/{id}/items/{fid}",
            get(oapif::item),
        )
        .route("/geoserver/wfs", any(wfs::global))
        .route("/geoserver/ows", any(wfs::global))
        .route("/geoserver/{ws}/wfs", any(wfs::workspace))
        .route("/geoserver/{ws}/ows", any(wfs::workspace))
        .with_state(state)
}
