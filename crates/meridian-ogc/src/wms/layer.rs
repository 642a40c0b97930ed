//! What a WMS layer name stands for: a feature type or a coverage.

use crate::coverages::{coverage_by_id, find_coverage, CoverageLayer};
use crate::layers::{find_layer, layer_by_id, FeatureLayer};
use meridian_catalog::Catalog;
use std::path::Path;
use std::sync::Arc;

/// A layer WMS draws.
#[derive(Debug, Clone)]
pub(crate) enum WmsLayer {
    /// Features from a store.
    Features(FeatureLayer),
    /// A grid from a coverage store.
    Coverage(CoverageLayer),
}

impl WmsLayer {
    /// `prefix:name`.
    pub(crate) fn qualified(&self) -> String {
        match self {
            WmsLayer::Features(l) => l.qualified(),
            WmsLayer::Coverage(c) => c.qualified(),
        }
    }

    /// The workspace.
    pub(crate) fn prefix(&self) -> &str {
        match self {
            WmsLayer::Features(l) => &l.prefix,
            WmsLayer::Coverage(c) => &c.prefix,
        }
    }

    /// The layer's own name (without its workspace).
    pub(crate) fn name(&self) -> &str {
        match self {
            WmsLayer::Features(l) => &l.name,
            WmsLayer::Coverage(c) => &c.name,
        }
    }

    /// Whether the caller may read the layer, and if not, how to refuse.
    pub(crate) fn readable(
        &self,
        access: &meridian_security::LayerAccess,
    ) -> Result<(), crate::access::Refusal> {
        crate::access::read(access, self.prefix(), self.name())
    }

    /// Style ids: the default first.
    pub(crate) fn styles(&self) -> &[String] {
        match self {
            WmsLayer::Features(l) => &l.styles,
            WmsLayer::Coverage(c) => &c.styles,
        }
    }
}

/// The layer `name` names (a feature type first, then a coverage).
pub(crate) fn find_wms_layer(
    cat: &Arc<Catalog>,
    data_dir: &Path,
    ws: Option<&str>,
    name: &str,
) -> Option<WmsLayer> {
    find_layer(cat, data_dir, ws, name)
        .map(WmsLayer::Features)
        .or_else(|| find_coverage(cat, data_dir, ws, name).map(WmsLayer::Coverage))
}

/// The layer with catalog id `id`.
pub(crate) fn wms_layer_by_id(cat: &Catalog, data_dir: &Path, id: &str) -> Option<WmsLayer> {
    layer_by_id(cat, data_dir, id)
        .map(WmsLayer::Features)
        .or_else(|| coverage_by_id(cat, data_dir, id).map(WmsLayer::Coverage))
}
