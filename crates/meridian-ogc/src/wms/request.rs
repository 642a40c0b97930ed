//! Reading a WMS request: its parameters, and a GetMap request's layers, styles, box, CRS,
//! size, format and background, checked as GeoServer checks them.

use super::error::{wms_err, Version, WmsError};
use meridian_render::Color;
use std::collections::HashMap;

/// A request's parameters, keys upper-cased.
pub(crate) type Params = HashMap<String, String>;

/// The parameters of a query string.
pub(crate) fn kvp(q: Option<&str>) -> Params {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.to_ascii_uppercase(), v.into_owned()))
        .collect()
}

/// Output formats of GetMap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `image/png`: 24 or 32 bits.
    Png,
    /// `image/png8`, `image/png; mode=8bit`: a palette of at most 256 colours.
    Png8,
    /// `image/jpeg`: opaque.
    Jpeg,
}

impl Format {
    /// The formats a client may ask for, as the capabilities list them.
    pub(crate) const ADVERTISED: &'static [&'static str] = &[
        "image/png",
        "image/png8",
        "image/png; mode=8bit",
        "image/jpeg",
    ];

    fn parse(v: &str) -> Option<Format> {
        let t = v.trim().to_ascii_lowercase().replace(' ', "");
        match t.as_str() {
            "image/png" | "png" => Some(Format::Png),
            "image/png8" | "png8" | "image/png;mode=8bit" => Some(Format::Png8),
            "image/jpeg" | "jpeg" | "image/jpg" => Some(Format::Jpeg),
            _ => None,
        }
    }

    /// The content type of the answer.
    pub(crate) fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Png8 => "image/png; mode=8bit",
            Format::Jpeg => "image/jpeg",
        }
    }
}

/// How GetMap reports an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceptions {
    /// A service exception report.
    Xml,
    /// An image of the requested size with the message drawn in it.
    InImage,
    /// An empty image of the requested size.
    Blank,
}

/// A GetMap request, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct GetMap {
    /// The version (axis order, exception format).
    pub version: Version,
    /// Layer names, bottom first.
    pub layers: Vec<String>,
    /// A style per layer (empty: the layer's default).
    pub styles: Vec<String>,
    /// The map's CRS (EPSG code).
    pub epsg: u32,
    /// The map's box as x/y (east, north) in that CRS: min x, min y, max x, max y.
    pub bbox: [f64; 4],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The image format.
    pub format: Format,
    /// A transparent background.
    pub transparent: bool,
    /// The background colour.
    pub bgcolor: Color,
    /// How to report an exception.
    pub exceptions: Exceptions,
    /// `format_options=dpi:...`.
    pub dpi: Option<f64>,
    /// `BUFFER`: pixels around the map whose features are drawn too (symbols that straddle
    /// the edge; tiles meet without seams). `None`: estimated from the styles.
    pub buffer: Option<u32>,
    /// `format_options=antialias:none` turns antialiasing off.
    pub antialias: bool,
    /// `CQL_FILTER`: one ECQL filter per layer (or one for all), in each layer's CRS.
    pub cql: Vec<String>,
    /// `FEATUREID`: only these features (ids as WFS gives them).
    pub feature_ids: Vec<String>,
    /// `VIEWPARAMS`: values of the layers' SQL view parameters (a list per layer).
    pub view_params: Option<String>,
    /// `SLD_BODY`: an SLD document styling the layers (and naming them when `LAYERS` is not
    /// given).
    pub sld_body: Option<String>,
    /// `SLD`: a style document's URL (fetched only from the prefixes `wms.xml` allows; an
    /// `SLD_BODY` wins).
    pub sld_url: Option<String>,
}

/// The largest side of a map, in pixels.
pub(crate) const MAX_SIDE: u32 = 16_384;

/// The EPSG code of a WMS CRS name (`EPSG:4326`, `CRS:84`, `EPSG:900913`) and whether a 1.3.0
/// box gives it latitude first.
pub(crate) fn wms_crs(name: &str, version: Version) -> Option<(u32, bool)> {
    let t = name.trim().to_ascii_uppercase();
    if t == "CRS:84" {
        return Some((4326, false));
    }
    let code: u32 = t
        .strip_prefix("EPSG:")
        .or_else(|| t.strip_prefix("URN:OGC:DEF:CRS:EPSG::"))
        .and_then(|c| c.parse().ok())?;
    let code = if code == 900_913 { 3857 } else { code };
    let lat_first = version == Version::V130 && meridian_sources::is_geographic(code);
    Some((code, lat_first))
}

/// `format_options=key:value;key:value`.
fn format_options(v: &str) -> HashMap<String, String> {
    v.split(';')
        .filter_map(|kv| {
            let (k, val) = kv.split_once(':').unwrap_or((kv, "true"));
            Some((k.trim().to_ascii_lowercase(), val.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
        })
        .collect()
}

impl GetMap {
    /// The `CQL_FILTER` of the layer at `index` in `LAYERS` (the one filter given for all, when
    /// there is one).
    pub(crate) fn cql_for(&self, index: Option<usize>) -> Option<&str> {
        match self.cql.len() {
            0 => None,
            1 => self.cql.first(),
            _ => index.and_then(|i| self.cql.get(i)),
        }
        .map(String::as_str)
    }

    /// Read a GetMap request from its parameters.
    pub(crate) fn read(p: &Params) -> Result<GetMap, WmsError> {
        let version = Version::of(
            p.get("VERSION")
                .or_else(|| p.get("WMTVER"))
                .map(String::as_str),
        );
        let e = |code, loc: &str, text: String| wms_err(version, code, loc, text);
        let exceptions = match p.get("EXCEPTIONS").map(|s| s.to_ascii_uppercase()) {
            Some(x) if x.contains("INIMAGE") => Exceptions::InImage,
            Some(x) if x.contains("BLANK") => Exceptions::Blank,
            _ => Exceptions::Xml,
        };
        let layers: Vec<String> = p
            .get("LAYERS")
            .map(|l| {
                l.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let sld_body = p.get("SLD_BODY").filter(|b| !b.trim().is_empty()).cloned();
        let sld_url = p
            .get("SLD")
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty() && sld_body.is_none());
        if sld_url.as_ref().is_some_and(|u| u.len() > 2048) {
            return Err(e(
                "InvalidParameterValue",
                "sld",
                "SLD: the URL is longer than 2048 characters".into(),
            ));
        }
        if layers.is_empty() && sld_body.is_none() && sld_url.is_none() {
            return Err(e(
                "LayerNotDefined",
                "layers",
                "LAYERS is missing: name at least one layer".into(),
            ));
        }
        let styles: Vec<String> = p
            .get("STYLES")
            .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
            .unwrap_or_default();
        if styles.len() > 1 && styles.len() != layers.len() {
            return Err(e(
                "StyleNotDefined",
                "styles",
                format!(
                    "{} styles for {} layers: give one per layer, or none",
                    styles.len(),
                    layers.len()
                ),
            ));
        }
        let crs_key = if version == Version::V130 {
            "CRS"
        } else {
            "SRS"
        };
        let crs_name = p
            .get(crs_key)
            .or_else(|| p.get("CRS"))
            .or_else(|| p.get("SRS"))
            .ok_or_else(|| {
                e(
                    "MissingParameterValue",
                    &crs_key.to_ascii_lowercase(),
                    format!("{crs_key} is missing"),
                )
            })?;
        let invalid_crs = if version == Version::V130 {
            "InvalidCRS"
        } else {
            "InvalidSRS"
        };
        let (epsg, lat_first) = wms_crs(crs_name, version).ok_or_else(|| {
            e(
                invalid_crs,
                &crs_key.to_ascii_lowercase(),
                format!("unknown CRS '{crs_name}'"),
            )
        })?;
        if meridian_features::Transformer::new(epsg, 4326).is_err() {
            return Err(e(
                invalid_crs,
                &crs_key.to_ascii_lowercase(),
                format!("the CRS {crs_name} is not supported"),
            ));
        }
        let raw = p
            .get("BBOX")
            .ok_or_else(|| e("MissingParameterValue", "bbox", "BBOX is missing".into()))?;
        let n: Vec<f64> = raw
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()
            .filter(|v: &Vec<f64>| v.len() == 4 && v.iter().all(|x| x.is_finite()))
            .ok_or_else(|| {
                e(
                    "InvalidParameterValue",
                    "bbox",
                    format!("BBOX '{raw}' is not four numbers minx,miny,maxx,maxy"),
                )
            })?;
        let bbox = if lat_first {
            [n[1], n[0], n[3], n[2]]
        } else {
            [n[0], n[1], n[2], n[3]]
        };
        if !(bbox[2] > bbox[0] && bbox[3] > bbox[1]) {
            return Err(e(
                "InvalidParameterValue",
                "bbox",
                format!("BBOX '{raw}' is empty or inverted"),
            ));
        }
        let size = |k: &str| -> Result<u32, WmsError> {
            let v = p.get(k).ok_or_else(|| {
                e(
                    "MissingParameterValue",
                    &k.to_ascii_lowercase(),
                    format!("{k} is missing"),
                )
            })?;
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_SIDE).contains(n))
                .ok_or_else(|| {
                    e(
                        "InvalidParameterValue",
                        &k.to_ascii_lowercase(),
                        format!("{k} '{v}' is not a number of pixels from 1 to {MAX_SIDE}"),
                    )
                })
        };
        let (width, height) = (size("WIDTH")?, size("HEIGHT")?);
        let format = match p.get("FORMAT") {
            None => Format::Png,
            Some(f) => Format::parse(f).ok_or_else(|| {
                e(
                    "InvalidFormat",
                    "format",
                    format!(
                        "the format '{f}' is not supported: use one of {}",
                        Format::ADVERTISED.join(", ")
                    ),
                )
            })?,
        };
        let transparent = p
            .get("TRANSPARENT")
            .is_some_and(|t| t.eq_ignore_ascii_case("true"));
        let bgcolor = match p.get("BGCOLOR") {
            None => Color::WHITE,
            Some(c) => Color::parse(c).ok_or_else(|| {
                e(
                    "InvalidParameterValue",
                    "bgcolor",
                    format!("BGCOLOR '{c}' is not 0xRRGGBB"),
                )
            })?,
        };
        let buffer = match p.get("BUFFER") {
            None => None,
            Some(b) => Some(
                b.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 1024)
                    .ok_or_else(|| {
                        e(
                            "InvalidParameterValue",
                            "buffer",
                            format!("BUFFER '{b}' is not a number of pixels up to 1024"),
                        )
                    })?,
            ),
        };
        let fo = p
            .get("FORMAT_OPTIONS")
            .map(|v| format_options(v))
            .unwrap_or_default();
        let dpi = fo
            .get("dpi")
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| *d > 0.0 && *d <= 1200.0);
        let antialias = !fo
            .get("antialias")
            .is_some_and(|a| a.eq_ignore_ascii_case("none"));
        let cql: Vec<String> = p
            .get("CQL_FILTER")
            .map(|c| c.split(';').map(|x| x.trim().to_string()).collect())
            .unwrap_or_default();
        if cql.len() > 1 && cql.len() != layers.len() {
            return Err(e(
                "InvalidParameterValue",
                "cql_filter",
                format!("{} CQL filters for {} layers: give one per layer (separated by ;), or one for all", cql.len(), layers.len()),
            ));
        }
        let feature_ids = p
            .get("FEATUREID")
            .map(|f| {
                f.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(GetMap {
            version,
            cql,
            feature_ids,
            view_params: p.get("VIEWPARAMS").cloned(),
            sld_body,
            sld_url,
            layers,
            styles,
            epsg,
            bbox,
            width,
            height,
            format,
            transparent,
            bgcolor,
            exceptions,
            dpi,
            buffer,
            antialias,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        kvp(Some(q))
    }

    #[test]
    fn axis_order_follows_the_version() {
        let base = "LAYERS=topp:states&WIDTH=10&HEIGHT=10&FORMAT=image/png";
        let v13 = GetMap::read(&params(&format!(
            "{base}&VERSION=1.3.0&CRS=EPSG:4326&BBOX=24,-125,50,-66"
        )))
        .unwrap();
        assert_eq!(v13.bbox, [-125.0, 24.0, -66.0, 50.0]);
        let v11 = GetMap::read(&params(&format!(
            "{base}&VERSION=1.1.1&SRS=EPSG:4326&BBOX=-125,24,-66,50"
        )))
        .unwrap();
        assert_eq!(v11.bbox, [-125.0, 24.0, -66.0, 50.0]);
        let crs84 = GetMap::read(&params(&format!(
            "{base}&VERSION=1.3.0&CRS=CRS:84&BBOX=-125,24,-66,50"
        )))
        .unwrap();
        assert_eq!(crs84.bbox, [-125.0, 24.0, -66.0, 50.0]);
        let google = GetMap::read(&params(&format!(
            "{base}&VERSION=1.1.1&SRS=EPSG:900913&BBOX=0,0,1,1"
        )))
        .unwrap();
        assert_eq!(google.epsg, 3857);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let ok = "VERSION=1.1.1&LAYERS=a&SRS=EPSG:4326&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10";
        assert!(GetMap::read(&params(ok)).is_ok());
        for (bad, code, says) in [
            (
                "VERSION=1.1.1&SRS=EPSG:4326&BBOX=0,0,1,1&WIDTH=10&HEIGHT=10",
                "LayerNotDefined",
                "LAYERS",
            ),
            (
                &ok.replace("BBOX=0,0,1,1", "BBOX=0,0,1") as &str,
                "InvalidParameterValue",
                "four numbers",
            ),
            (
                &ok.replace("BBOX=0,0,1,1", "BBOX=1,1,0,0"),
                "InvalidParameterValue",
                "inverted",
            ),
            (
                &ok.replace("WIDTH=10", "WIDTH=0"),
                "InvalidParameterValue",
                "WIDTH",
            ),
            (
                &ok.replace("WIDTH=10", "WIDTH=99999"),
                "InvalidParameterValue",
                "WIDTH",
            ),
            (
                &ok.replace("SRS=EPSG:4326", "SRS=EPSG:99999999"),
                "InvalidSRS",
                "CRS",
            ),
            (
                &format!("{ok}&FORMAT=image/gif"),
                "InvalidFormat",
                "image/gif",
            ),
            (
                &format!("{ok}&BGCOLOR=blue"),
                "InvalidParameterValue",
                "BGCOLOR",
            ),
            (
                &format!("{ok}&STYLES=a,b"),
                "StyleNotDefined",
                "one per layer",
            ),
        ] {
            let e = GetMap::read(&params(bad)).unwrap_err();
            assert_eq!(e.code, code, "{bad}: {e:?}");
            assert!(e.text.contains(says), "{bad}: {}", e.text);
        }
    }
}
