//! The kinds of catalog and configuration objects.

use serde::{Deserialize, Serialize};

/// What a catalog object is. The XML root element name follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// `<workspace>`
    Workspace,
    /// `<namespace>`
    Namespace,
    /// `<dataStore>`
    DataStore,
    /// `<coverageStore>`
    CoverageStore,
    /// `<wmsStore>`
    WmsStore,
    /// `<wmtsStore>`
    WmtsStore,
    /// `<featureType>`
    FeatureType,
    /// `<coverage>`
    Coverage,
    /// `<wmsLayer>`
    WmsLayer,
    /// `<wmtsLayer>`
    WmtsLayer,
    /// `<layer>`
    Layer,
    /// `<layerGroup>`
    LayerGroup,
    /// `<style>`
    Style,
    /// Per-workspace `<settings>`.
    Settings,
    /// A service configuration (`<wms>`, `<wfs>`, `<wcs>`, `<wmts>`, ...), global or per workspace.
    Service,
    /// `global.xml`: server info and global settings.
    Global,
    /// `logging.xml`.
    Logging,
    /// One file of `security/` (users, roles, access rules): its path as the name, its text
    /// as the body. See [`crate::security_files`].
    Security,
    /// One file of the tile cache's configuration (settings, gridsets, a tile layer): its path
    /// as the name, its text as the body. See [`crate::gwc_files`].
    TileCache,
}

impl Kind {
    /// The XML root element of this kind (services use their own name).
    pub fn root(self) -> &'static str {
        match self {
            Kind::Workspace => "workspace",
            Kind::Namespace => "namespace",
            Kind::DataStore => "dataStore",
            Kind::CoverageStore => "coverageStore",
            Kind::WmsStore => "wmsStore",
            Kind::WmtsStore => "wmtsStore",
            Kind::FeatureType => "featureType",
            Kind::Coverage => "coverage",
            Kind::WmsLayer => "wmsLayer",
            Kind::WmtsLayer => "wmtsLayer",
            Kind::Layer => "layer",
            Kind::LayerGroup => "layerGroup",
            Kind::Style => "style",
            Kind::Settings => "settings",
            Kind::Service => "service",
            Kind::Global => "global",
            Kind::Logging => "logging",
            Kind::Security => "securityFile",
            Kind::TileCache => "gwcFile",
        }
    }

    /// The kind whose XML root element is `root`.
    pub fn from_root(root: &str) -> Option<Kind> {
        Some(match root {
            "workspace" => Kind::Workspace,
            "namespace" => Kind::Namespace,
            "dataStore" => Kind::DataStore,
            "coverageStore" => Kind::CoverageStore,
            "wmsStore" => Kind::WmsStore,
            "wmtsStore" => Kind::WmtsStore,
            "featureType" => Kind::FeatureType,
            "coverage" => Kind::Coverage,
            "wmsLayer" => Kind::WmsLayer,
            "wmtsLayer" => Kind::WmtsLayer,
            "layer" => Kind::Layer,
            "layerGroup" => Kind::LayerGroup,
            "style" => Kind::Style,
            "settings" => Kind::Settings,
            "global" => Kind::Global,
            "logging" => Kind::Logging,
            "securityFile" => Kind::Security,
            "gwcFile" => Kind::TileCache,
            _ => return None,
        })
    }

    /// GeoServer's implementation class name, the prefix of minted ids.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::Workspace => "WorkspaceInfoImpl",
            Kind::Namespace => "NamespaceInfoImpl",
            Kind::DataStore => "DataStoreInfoImpl",
            Kind::CoverageStore => "CoverageStoreInfoImpl",
            Kind::WmsStore => "WMSStoreInfoImpl",
            Kind::WmtsStore => "WMTSStoreInfoImpl",
            Kind::FeatureType => "FeatureTypeInfoImpl",
            Kind::Coverage => "CoverageInfoImpl",
            Kind::WmsLayer => "WMSLayerInfoImpl",
            Kind::WmtsLayer => "WMTSLayerInfoImpl",
            Kind::Layer => "LayerInfoImpl",
            Kind::LayerGroup => "LayerGroupInfoImpl",
            Kind::Style => "StyleInfoImpl",
            Kind::Settings => "SettingsInfoImpl",
            Kind::Service => "ServiceInfoImpl",
            Kind::Global => "GeoServerInfoImpl",
            Kind::Logging => "LoggingInfoImpl",
            Kind::Security => "security",
            Kind::TileCache => "gwc",
        }
    }

    /// The scope a name of this kind is unique in (all store kinds share one, as do resources).
    pub fn name_scope(self) -> &'static str {
        match self {
            k if k.is_store() => "store",
            k if k.is_resource() => "resource",
            k => k.root(),
        }
    }

    /// Stores: data, coverage, WMS and WMTS stores.
    pub fn is_store(self) -> bool {
        matches!(
            self,
            Kind::DataStore | Kind::CoverageStore | Kind::WmsStore | Kind::WmtsStore
        )
    }

    /// Resources: feature types, coverages, cascaded WMS/WMTS layers.
    pub fn is_resource(self) -> bool {
        matches!(
            self,
            Kind::FeatureType | Kind::Coverage | Kind::WmsLayer | Kind::WmtsLayer
        )
    }

    /// The resource kind a store of this kind holds.
    pub fn resource_kind(self) -> Option<Kind> {
        match self {
            Kind::DataStore => Some(Kind::FeatureType),
            Kind::CoverageStore => Some(Kind::Coverage),
            Kind::WmsStore => Some(Kind::WmsLayer),
            Kind::WmtsStore => Some(Kind::WmtsLayer),
            _ => None,
        }
    }

    /// A human name used in messages ("data store", "layer group").
    pub fn label(self) -> &'static str {
        match self {
            Kind::Workspace => "workspace",
            Kind::Namespace => "namespace",
            Kind::DataStore => "data store",
            Kind::CoverageStore => "coverage store",
            Kind::WmsStore => "WMS store",
            Kind::WmtsStore => "WMTS store",
            Kind::FeatureType => "feature type",
            Kind::Coverage => "coverage",
            Kind::WmsLayer => "WMS layer",
            Kind::WmtsLayer => "WMTS layer",
            Kind::Layer => "layer",
            Kind::LayerGroup => "layer group",
            Kind::Style => "style",
            Kind::Settings => "settings",
            Kind::Service => "service",
            Kind::Global => "global settings",
            Kind::Logging => "logging",
            Kind::Security => "security file",
            Kind::TileCache => "tile cache file",
        }
    }
}

/// Service element names Meridian recognises as service configurations.
pub const SERVICE_ROOTS: &[&str] = &["wms", "wfs", "wcs", "wmts", "wps", "csw"];
