//! The tile cache's configuration as GeoServer keeps it: the integration's settings
//! (`gwc-gs.xml`, [`Settings`]) and one tile layer per published layer or group
//! (`gwc-layers/<id>.xml`, [`TileLayer`]), read and written in GeoServer's shapes.

use meridian_xml::Element;

/// Why a configuration file does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The tile formats Meridian draws.
pub const FORMATS: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/png8",
    "application/vnd.mapbox-vector-tile",
];

/// The file extension of a tile format (GeoWebCache's), if Meridian draws it.
pub fn extension(format: &str) -> Option<&'static str> {
    match format {
        "image/png" => Some("png"),
        "image/jpeg" => Some("jpeg"),
        "image/png8" | "image/png; mode=8bit" => Some("png8"),
        "application/vnd.mapbox-vector-tile" | "application/x-protobuf;type=mapbox-vector" => {
            Some("pbf")
        }
        _ => None,
    }
}

/// The format of a file extension (`png`, `jpeg`/`jpg`, `png8`, `pbf`/`mvt`).
pub fn format_of_extension(ext: &str) -> Option<&'static str> {
    match ext.to_ascii_lowercase().as_str() {
        "png" => Some("image/png"),
        "jpeg" | "jpg" => Some("image/jpeg"),
        "png8" => Some("image/png8"),
        "pbf" | "mvt" => Some("application/vnd.mapbox-vector-tile"),
        _ => None,
    }
}

fn strings(e: &Element, list: &str) -> Option<Vec<String>> {
    e.get(list).map(|l| {
        l.all("string")
            .filter_map(|s| s.text_trim().map(str::to_string))
            .filter(|s| !s.is_empty())
            .collect()
    })
}

fn flag(e: &Element, k: &str) -> Option<bool> {
    e.child_text(k)
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn int(e: &Element, k: &str) -> Option<i64> {
    e.child_text(k).and_then(|v| v.trim().parse::<i64>().ok())
}

fn string_list(name: &str, items: &[String]) -> Element {
    let mut e = Element::new(name);
    for i in items {
        e.children.push(Element::with_text("string", i.as_str()));
    }
    e
}

/// `gwc-gs.xml`: what new tile layers get, and which tile services run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// WMS GetMap requests that match a tile are answered from the cache.
    pub direct_wms: bool,
    /// …only those with `TILED=true`.
    pub require_tiled: bool,
    /// The TMS service.
    pub tms: bool,
    /// The WMS-C service.
    pub wmsc: bool,
    /// The WMTS service (`None`: as `wmts.xml` says).
    pub wmts: Option<bool>,
    /// New layers get a tile layer.
    pub cache_layers_by_default: bool,
    /// Styles other than a layer's default are cached too.
    pub cache_non_default_styles: bool,
    /// Metatile size in tiles.
    pub meta: (u32, u32),
    /// Pixels drawn around a metatile and cut off.
    pub gutter: u32,
    /// Gridsets of new tile layers.
    pub gridsets: Vec<String>,
    /// Formats of new tile layers of coverages.
    pub coverage_formats: Vec<String>,
    /// …of feature types.
    pub vector_formats: Vec<String>,
    /// …of groups and others.
    pub other_formats: Vec<String>,
}

impl Default for Settings {
    /// GeoServer's defaults for a data directory without the file.
    fn default() -> Self {
        let png_jpeg = vec!["image/png".to_string(), "image/jpeg".to_string()];
        Settings {
            direct_wms: false,
            require_tiled: true,
            tms: true,
            wmsc: true,
            wmts: None,
            cache_layers_by_default: true,
            cache_non_default_styles: true,
            meta: (4, 4),
            gutter: 0,
            gridsets: vec!["EPSG:4326".into(), "EPSG:900913".into()],
            coverage_formats: png_jpeg.clone(),
            vector_formats: png_jpeg.clone(),
            other_formats: png_jpeg,
        }
    }
}

impl Settings {
    /// Read `gwc-gs.xml`'s text; absent fields keep their defaults.
    pub fn parse(text: &str) -> Result<Settings, ConfigError> {
        let e = meridian_xml::parse(text).map_err(|e| ConfigError(format!("gwc-gs.xml: {e}")))?;
        let d = Settings::default();
        let meta = |k: &str, d: u32| {
            int(&e, k)
                .filter(|v| (1..=64).contains(v))
                .map_or(d, |v| v as u32)
        };
        let nonempty =
            |k: &str, d: Vec<String>| strings(&e, k).filter(|v| !v.is_empty()).unwrap_or(d);
        Ok(Settings {
            direct_wms: flag(&e, "directWMSIntegrationEnabled").unwrap_or(d.direct_wms),
            require_tiled: flag(&e, "requireTiledParameter").unwrap_or(d.require_tiled),
            tms: flag(&e, "TMSEnabled").unwrap_or(d.tms),
            wmsc: flag(&e, "WMSCEnabled").unwrap_or(d.wmsc),
            wmts: flag(&e, "WMTSEnabled"),
            cache_layers_by_default: flag(&e, "cacheLayersByDefault")
                .unwrap_or(d.cache_layers_by_default),
            cache_non_default_styles: flag(&e, "cacheNonDefaultStyles")
                .unwrap_or(d.cache_non_default_styles),
            meta: (meta("metaTilingX", d.meta.0), meta("metaTilingY", d.meta.1)),
            gutter: int(&e, "gutter")
                .filter(|v| (0..=512).contains(v))
                .map_or(d.gutter, |v| v as u32),
            gridsets: nonempty("defaultCachingGridSetIds", d.gridsets),
            coverage_formats: nonempty("defaultCoverageCacheFormats", d.coverage_formats),
            vector_formats: nonempty("defaultVectorCacheFormats", d.vector_formats),
            other_formats: nonempty("defaultOtherCacheFormats", d.other_formats),
        })
    }

    /// `gwc-gs.xml`'s text, as GeoServer writes it.
    pub fn to_xml(&self) -> String {
        let b = |k: &str, v: bool| Element::with_text(k, v.to_string());
        let mut e = Element::new("GeoServerGWCConfig")
            .child(Element::with_text("version", "1.1.0"))
            .child(b("directWMSIntegrationEnabled", self.direct_wms))
            .child(b("requireTiledParameter", self.require_tiled))
            .child(b("WMSCEnabled", self.wmsc))
            .child(b("TMSEnabled", self.tms));
        if let Some(w) = self.wmts {
            e = e.child(b("WMTSEnabled", w));
        }
        e = e
            .child(b("securityEnabled", false))
            .child(b("cacheLayersByDefault", self.cache_layers_by_default))
            .child(b("cacheNonDefaultStyles", self.cache_non_default_styles))
            .child(Element::with_text("metaTilingX", self.meta.0.to_string()))
            .child(Element::with_text("metaTilingY", self.meta.1.to_string()))
            .child(Element::with_text("gutter", self.gutter.to_string()))
            .child(string_list("defaultCachingGridSetIds", &self.gridsets))
            .child(string_list(
                "defaultCoverageCacheFormats",
                &self.coverage_formats,
            ))
            .child(string_list(
                "defaultVectorCacheFormats",
                &self.vector_formats,
            ))
            .child(string_list("defaultOtherCacheFormats", &self.other_formats))
            .child(Element::new("cacheWarningSkips"));
        e.to_xml()
    }
}

/// One gridset of a tile layer, with the levels and box it is cached for.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSubset {
    /// The gridset's name.
    pub gridset: String,
    /// The box cached (`None`: the layer's bounds).
    pub extent: Option<[f64; 4]>,
    /// The first level served (`None`: 0).
    pub zoom_start: Option<u32>,
    /// The last level served (`None`: the gridset's last).
    pub zoom_stop: Option<u32>,
}

/// The style parameter of a tile layer (`STYLES`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StyleFilter {
    /// The style a request without one gets (`""`: the layer's default).
    pub default: String,
    /// The styles that may be asked for (`None`: all of the layer's).
    pub allowed: Option<Vec<String>>,
}

/// `gwc-layers/<id>.xml`: the tile layer of one published layer or group.
#[derive(Debug, Clone, PartialEq)]
pub struct TileLayer {
    /// The layer's (or group's) id.
    pub id: String,
    /// Tiles are served.
    pub enabled: bool,
    /// The layer's name when written (`ws:layer`; the catalog's is what counts).
    pub name: String,
    /// The formats served.
    pub formats: Vec<String>,
    /// The gridsets served.
    pub gridsets: Vec<GridSubset>,
    /// Metatile size in tiles.
    pub meta: (u32, u32),
    /// Pixels drawn around a metatile and cut off.
    pub gutter: u32,
    /// Seconds the cache keeps a tile (0: forever).
    pub expire_cache: i64,
    /// Seconds clients may keep a tile (`Cache-Control: max-age`; 0: the layer's setting).
    pub expire_clients: i64,
    /// The `STYLES` parameter, when styles other than the default are cached.
    pub styles: Option<StyleFilter>,
}

impl TileLayer {
    /// The tile layer a new layer gets under `settings`: its kind decides the formats
    /// (`vector` for feature types, `coverage` for coverages, else groups and others).
    pub fn new_for(id: &str, name: &str, settings: &Settings, kind: LayerKind) -> TileLayer {
        let formats = match kind {
            LayerKind::Vector => &settings.vector_formats,
            LayerKind::Coverage => &settings.coverage_formats,
            LayerKind::Group => &settings.other_formats,
        };
        TileLayer {
            id: id.to_string(),
            enabled: settings.cache_layers_by_default,
            name: name.to_string(),
            formats: formats.clone(),
            gridsets: settings
                .gridsets
                .iter()
                .map(|g| GridSubset {
                    gridset: g.clone(),
                    extent: None,
                    zoom_start: None,
                    zoom_stop: None,
                })
                .collect(),
            meta: settings.meta,
            gutter: settings.gutter,
            expire_cache: 0,
            expire_clients: 0,
            styles: (settings.cache_non_default_styles && kind != LayerKind::Group)
                .then(StyleFilter::default),
        }
    }

    /// Read a tile layer's XML (`GeoServerTileLayer`, or REST's `GeoServerLayer`).
    pub fn from_element(e: &Element) -> Result<TileLayer, ConfigError> {
        let id = e.child_text("id").map(str::trim).unwrap_or_default();
        let name = e.child_text("name").map(str::trim).unwrap_or_default();
        let mut gridsets = Vec::new();
        for g in e
            .get("gridSubsets")
            .into_iter()
            .flat_map(|l| l.all("gridSubset"))
        {
            let gridset = g
                .child_text("gridSetName")
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ConfigError("a gridSubset needs its <gridSetName>".into()))?;
            let extent = match g.get("extent").and_then(|x| x.get("coords")) {
                Some(c) => {
                    let v: Vec<f64> = c
                        .all("double")
                        .filter_map(|d| d.text_trim().and_then(|t| t.parse::<f64>().ok()))
                        .filter(|v| v.is_finite())
                        .collect();
                    match v[..] {
                        [a, b, c, d] if a < c && b < d => Some([a, b, c, d]),
                        _ => {
                            return Err(ConfigError(format!(
                                "the extent of gridset {gridset} is not four numbers min x, min y, max x, max y"
                            )))
                        }
                    }
                }
                None => None,
            };
            let zoom = |k: &str| int(g, k).filter(|v| (0..64).contains(v)).map(|v| v as u32);
            gridsets.push(GridSubset {
                gridset: gridset.to_string(),
                extent,
                zoom_start: zoom("zoomStart"),
                zoom_stop: zoom("zoomStop"),
            });
        }
        let formats = strings(e, "mimeFormats").unwrap_or_default();
        if let Some(f) = formats.iter().find(|f| extension(f).is_none()) {
            return Err(ConfigError(format!(
                "the tile format '{f}' is not one Meridian draws ({})",
                FORMATS.join(", ")
            )));
        }
        let meta: Vec<u32> = e
            .get("metaWidthHeight")
            .map(|m| {
                m.all("int")
                    .filter_map(|i| i.text_trim().and_then(|t| t.parse::<u32>().ok()))
                    .collect()
            })
            .unwrap_or_default();
        let meta = match meta[..] {
            [w, h] if (1..=64).contains(&w) && (1..=64).contains(&h) => (w, h),
            [] => (4, 4),
            _ => {
                return Err(ConfigError(
                    "metaWidthHeight is two whole numbers from 1 to 64".into(),
                ))
            }
        };
        let styles = e
            .get("parameterFilters")
            .and_then(|p| p.get("styleParameterFilter"))
            .map(|s| StyleFilter {
                default: s
                    .child_text("defaultValue")
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                allowed: strings(s, "allowedStyles"),
            });
        Ok(TileLayer {
            id: id.to_string(),
            enabled: flag(e, "enabled").unwrap_or(true),
            name: name.to_string(),
            formats,
            gridsets,
            meta,
            gutter: int(e, "gutter")
                .filter(|v| (0..=512).contains(v))
                .map_or(0, |v| v as u32),
            expire_cache: int(e, "expireCache").unwrap_or(0),
            expire_clients: int(e, "expireClients").unwrap_or(0),
            styles,
        })
    }

    /// Read a tile layer file's text.
    pub fn parse(text: &str) -> Result<TileLayer, ConfigError> {
        let e = meridian_xml::parse(text).map_err(|e| ConfigError(format!("tile layer: {e}")))?;
        TileLayer::from_element(&e)
    }

    /// The tile layer as XML under `root` (`GeoServerTileLayer` for the file,
    /// `GeoServerLayer` for REST).
    pub fn to_element(&self, root: &str) -> Element {
        let mut subsets = Element::new("gridSubsets");
        for g in &self.gridsets {
            let mut s = Element::new("gridSubset")
                .child(Element::with_text("gridSetName", g.gridset.as_str()));
            if let Some(x) = g.extent {
                let mut coords = Element::new("coords");
                for v in x {
                    coords
                        .children
                        .push(Element::with_text("double", v.to_string()));
                }
                s = s.child(Element::new("extent").child(coords));
            }
            if let Some(z) = g.zoom_start {
                s = s.child(Element::with_text("zoomStart", z.to_string()));
            }
            if let Some(z) = g.zoom_stop {
                s = s.child(Element::with_text("zoomStop", z.to_string()));
            }
            subsets.children.push(s);
        }
        let mut e = Element::new(root)
            .child(Element::with_text("id", self.id.as_str()))
            .child(Element::with_text("enabled", self.enabled.to_string()))
            .child(Element::with_text("inMemoryCached", "true"))
            .child(Element::with_text("name", self.name.as_str()))
            .child(string_list("mimeFormats", &self.formats))
            .child(subsets)
            .child(
                Element::new("metaWidthHeight")
                    .child(Element::with_text("int", self.meta.0.to_string()))
                    .child(Element::with_text("int", self.meta.1.to_string())),
            )
            .child(Element::with_text(
                "expireCache",
                self.expire_cache.to_string(),
            ))
            .child(Element::new("expireCacheList"))
            .child(Element::with_text(
                "expireClients",
                self.expire_clients.to_string(),
            ));
        if let Some(s) = &self.styles {
            let mut f = Element::new("styleParameterFilter")
                .child(Element::with_text("key", "STYLES"))
                .child(Element::with_text("defaultValue", s.default.as_str()));
            if let Some(a) = &s.allowed {
                f = f.child(string_list("allowedStyles", a));
            }
            e = e.child(Element::new("parameterFilters").child(f));
        }
        e.child(Element::with_text("gutter", self.gutter.to_string()))
    }

    /// The tile layer file's text.
    pub fn to_xml(&self) -> String {
        self.to_element("GeoServerTileLayer").to_xml()
    }

    /// The gridsets served, by name.
    pub fn subset(&self, gridset: &str) -> Option<&GridSubset> {
        self.gridsets.iter().find(|g| g.gridset == gridset)
    }

    /// Whether the style `style` (`""`: the default) may be asked for: the default always;
    /// others when styles are a parameter and `layer_styles` (the layer's styles) or the
    /// allowed list hold it.
    pub fn style_allowed(&self, style: &str, layer_styles: &[String]) -> bool {
        if style.is_empty() {
            return true;
        }
        match &self.styles {
            None => false,
            Some(f) => match &f.allowed {
                Some(a) => a.iter().any(|s| s == style),
                None => layer_styles.iter().any(|s| s == style),
            },
        }
    }
}

/// What kind of published thing a tile layer serves (its default formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A feature type.
    Vector,
    /// A coverage.
    Coverage,
    /// A layer group (or anything else).
    Group,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_tile_layers_read_what_geoserver_writes_and_write_it_back() {
        let s = Settings::parse(
            "<GeoServerGWCConfig><version>1.1.0</version><directWMSIntegrationEnabled>true</directWMSIntegrationEnabled>\
             <metaTilingX>2</metaTilingX><gutter>10</gutter>\
             <defaultCachingGridSetIds><string>EPSG:900913</string></defaultCachingGridSetIds></GeoServerGWCConfig>",
        )
        .unwrap();
        assert!(s.direct_wms && s.cache_layers_by_default);
        assert_eq!((s.meta, s.gutter), ((2, 4), 10));
        assert_eq!(s.gridsets, vec!["EPSG:900913"]);
        assert_eq!(Settings::parse(&s.to_xml()).unwrap(), s);

        // GeoServer's own file (the reference's sample).
        let t = TileLayer::parse(
            "<GeoServerTileLayer><id>LayerInfoImpl-10a40637:15cb1a251b7:-7fe2</id><enabled>true</enabled>\
             <inMemoryCached>true</inMemoryCached><name>tmc:tasiemki_l</name>\
             <mimeFormats><string>image/png</string><string>image/jpeg</string></mimeFormats>\
             <gridSubsets><gridSubset><gridSetName>EPSG:900913</gridSetName></gridSubset>\
             <gridSubset><gridSetName>EPSG:4326</gridSetName><zoomStart>1</zoomStart><zoomStop>9</zoomStop></gridSubset></gridSubsets>\
             <metaWidthHeight><int>4</int><int>4</int></metaWidthHeight><expireCache>0</expireCache><expireClients>0</expireClients>\
             <parameterFilters><styleParameterFilter><key>STYLES</key><defaultValue></defaultValue>\
             <availableStyles class=\"sorted-set\"/><defaultStyle>line</defaultStyle></styleParameterFilter></parameterFilters>\
             <gutter>0</gutter></GeoServerTileLayer>",
        )
        .unwrap();
        assert_eq!(t.gridsets.len(), 2);
        assert_eq!(t.subset("EPSG:4326").unwrap().zoom_stop, Some(9));
        assert!(t.styles.is_some());
        assert!(t.style_allowed("", &[]));
        assert!(t.style_allowed("dots", &["dots".to_string()]));
        assert!(!t.style_allowed("other", &["dots".to_string()]));
        assert_eq!(TileLayer::parse(&t.to_xml()).unwrap(), t);
        // Formats Meridian does not draw, metatiles out of range: refused with the reason.
        let bad = t.to_xml().replace("image/jpeg", "image/gif");
        assert!(TileLayer::parse(&bad).unwrap_err().0.contains("image/gif"));
        let bad = TileLayer {
            meta: (0, 4),
            ..t.clone()
        };
        assert!(TileLayer::parse(&bad.to_xml()).is_err());
        // A new layer's tile layer follows the settings.
        let n = TileLayer::new_for("L1", "topp:states", &Settings::default(), LayerKind::Vector);
        assert_eq!(n.formats, vec!["image/png", "image/jpeg"]);
        assert_eq!(n.gridsets.len(), 2);
        assert!(
            TileLayer::new_for("G", "g", &Settings::default(), LayerKind::Group)
                .styles
                .is_none()
        );
    }
}
