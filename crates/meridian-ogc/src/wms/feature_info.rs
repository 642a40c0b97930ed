//! GetFeatureInfo: the features of the query layers under a pixel (within `BUFFER` pixels),
//! as plain text, HTML, GeoJSON or GML, at most `FEATURE_COUNT` per layer.

use super::error::{wms_err, Version, WmsError};
use super::get_map::layer_filter;
use super::groups::{find_group, group_layers};
use super::request::{GetMap, Params};
use crate::layers::{find_layer, FeatureLayer};
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use geo::Intersects;
use meridian_features::{open_source, transform_bbox, Feature, Filter, Transformer, Value};
use meridian_xml::escape;
use std::fmt::Write;
use std::sync::Arc;

/// The formats of the answer.
pub(crate) const INFO_FORMATS: &[&str] = &[
    "text/plain",
    "text/html",
    "application/json",
    "application/vnd.ogc.gml",
];

/// What one layer answers: its names, and the features (or, for a coverage, one feature of its
/// band values at the pixel).
struct Hits {
    prefix: String,
    uri: String,
    name: String,
    geometry_name: String,
    features: Vec<Feature>,
}

/// Pixels around the one asked for, unless `BUFFER` says otherwise.
const DEFAULT_BUFFER: u32 = 3;

/// The most features a layer answers with.
const MAX_FEATURE_COUNT: usize = 1000;

/// Answer a GetFeatureInfo request.
pub(super) async fn feature_info(
    st: &Arc<OgcState>,
    ws: Option<&str>,
    p: &Params,
    access: &meridian_security::LayerAccess,
) -> Result<Response, WmsError> {
    let map = GetMap::read(p)?;
    let v = map.version;
    let e = |code, loc: &str, text: String| wms_err(v, code, loc, text);
    let names: Vec<String> = p
        .get("QUERY_LAYERS")
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return Err(e(
            "LayerNotDefined",
            "query_layers",
            "QUERY_LAYERS is missing".into(),
        ));
    }
    let (ki, kj) = if v == Version::V130 {
        ("I", "J")
    } else {
        ("X", "Y")
    };
    let pixel = |k: &str, max: u32| -> Result<u32, WmsError> {
        let raw = p.get(k).ok_or_else(|| {
            e(
                "MissingParameterValue",
                &k.to_ascii_lowercase(),
                format!("{k} is missing"),
            )
        })?;
        raw.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n < max)
            .ok_or_else(|| {
                e(
                    if v == Version::V130 {
                        "InvalidPoint"
                    } else {
                        "InvalidParameterValue"
                    },
                    &k.to_ascii_lowercase(),
                    format!(
                        "{k} '{raw}' is not a pixel of the {}×{} map",
                        map.width, map.height
                    ),
                )
            })
    };
    let (i, j) = (pixel(ki, map.width)?, pixel(kj, map.height)?);
    let format = p
        .get("INFO_FORMAT")
        .map(|f| f.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "text/plain".into());
    if !INFO_FORMATS.contains(&format.as_str()) {
        return Err(e(
            "InvalidFormat",
            "info_format",
            format!(
                "INFO_FORMAT '{format}' is not supported: use one of {}",
                INFO_FORMATS.join(", ")
            ),
        ));
    }
    let count = match p.get("FEATURE_COUNT") {
        None => 1,
        Some(c) => c
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                e(
                    "InvalidParameterValue",
                    "feature_count",
                    format!("FEATURE_COUNT '{c}' is not a positive number"),
                )
            })?
            .min(MAX_FEATURE_COUNT),
    };
    let buffer = match p.get("BUFFER") {
        None => DEFAULT_BUFFER,
        Some(b) => b
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| {
                e(
                    "InvalidParameterValue",
                    "buffer",
                    format!("BUFFER '{b}' is not a number of pixels up to 100"),
                )
            })?,
    };
    let cat = st.catalog.snapshot();
    let mut layers: Vec<(FeatureLayer, Option<Filter>)> = Vec::new();
    let mut coverages: Vec<crate::coverages::CoverageLayer> = Vec::new();
    for name in &names {
        // The CQL filter given for this layer in LAYERS order (or the one for all).
        let cql = map.cql_for(map.layers.iter().position(|l| l == name));
        let unknown = || {
            e(
                "LayerNotDefined",
                "query_layers",
                format!("no layer named '{name}'"),
            )
        };
        let refused = |r| super::error::wms_refusal(v, r, unknown());
        let found: Vec<FeatureLayer> = if let Some(l) = find_layer(&cat, &st.data_dir, ws, name) {
            crate::access::read(access, &l.prefix, &l.name).map_err(refused)?;
            vec![l]
        } else if let Some(c) = crate::coverages::find_coverage(&cat, &st.data_dir, ws, name) {
            crate::access::read(access, &c.prefix, &c.name).map_err(refused)?;
            coverages.push(c);
            Vec::new()
        } else if let Some(g) = find_group(&cat, ws, name) {
            // The group's own rule first, as GetMap.
            let group_ws = g
                .workspace()
                .and_then(|id| cat.get(id))
                .map(|w| w.name().to_string())
                .unwrap_or_default();
            crate::access::read(access, &group_ws, g.name()).map_err(refused)?;
            let mut features = Vec::new();
            for (l, _) in group_layers(&cat, &st.data_dir, g, &mut Vec::new(), access) {
                match l {
                    super::layer::WmsLayer::Features(f) => features.push(f),
                    super::layer::WmsLayer::Coverage(c) => coverages.push(c),
                }
            }
            features
        } else {
            return Err(e(
                "LayerNotDefined",
                "query_layers",
                format!("no layer named '{name}'"),
            ));
        };
        for l in found {
            let filter = layer_filter(&l, cql, &map.feature_ids, v)?;
            layers.push((l, filter));
        }
    }
    // The pixel's square, widened by the buffer, in the map's CRS.
    let (rx, ry) = (
        (map.bbox[2] - map.bbox[0]) / f64::from(map.width),
        (map.bbox[3] - map.bbox[1]) / f64::from(map.height),
    );
    let b = f64::from(buffer);
    let search = [
        map.bbox[0] + (f64::from(i) - b) * rx,
        map.bbox[3] - (f64::from(j) + 1.0 + b) * ry,
        map.bbox[0] + (f64::from(i) + 1.0 + b) * rx,
        map.bbox[3] - (f64::from(j) - b) * ry,
    ];
    let epsg = map.epsg;
    let found = tokio::task::spawn_blocking(move || -> Result<Vec<Hits>, WmsError> {
        let mut out = Vec::new();
        for (l, filter) in layers {
            let source = open_source(&l.store, &l.native).map_err(|err| {
                wms_err(
                    v,
                    "NoApplicableCode",
                    "query_layers",
                    format!("{}: {err}", l.qualified()),
                )
            })?;
            let to_map = Transformer::new(l.epsg, epsg)
                .map_err(|err| wms_err(v, "InvalidCRS", "crs", err.to_string()))?;
            let native = transform_bbox(search, epsg, l.epsg).ok();
            let rect = geo_types::Rect::new(
                geo_types::coord! { x: search[0], y: search[1] },
                geo_types::coord! { x: search[2], y: search[3] },
            );
            let mut hits = Vec::new();
            source
                .scan(native, &l.name, &mut |mut f: Feature| {
                    if filter.as_ref().is_some_and(|flt| !flt.matches(&f)) {
                        return true;
                    }
                    if let Some(g) = f.geometry.as_mut() {
                        to_map.geometry(g);
                        if g.intersects(&rect) {
                            hits.push(f);
                        }
                    }
                    hits.len() < count
                })
                .map_err(|err| {
                    wms_err(
                        v,
                        "NoApplicableCode",
                        "query_layers",
                        format!("{}: {err}", l.qualified()),
                    )
                })?;
            out.push(Hits {
                prefix: l.prefix.clone(),
                uri: l.uri.clone(),
                name: l.name.clone(),
                geometry_name: l.attributes().0,
                features: hits,
            });
        }
        // Coverages: the band values of the grid cell under the pixel's centre.
        let centre = ((search[0] + search[2]) / 2.0, (search[1] + search[3]) / 2.0);
        for c in coverages {
            let failed = |err: meridian_coverages::CoverageError| {
                wms_err(
                    v,
                    "NoApplicableCode",
                    "query_layers",
                    format!("{}: {err}", c.qualified()),
                )
            };
            let coverage =
                meridian_coverages::open_coverage(&c.store_type, &c.path).map_err(failed)?;
            let to_grid = Transformer::new(epsg, coverage.epsg().unwrap_or(c.epsg))
                .map_err(|err| wms_err(v, "InvalidCRS", "crs", err.to_string()))?;
            let p = to_grid.coord(geo_types::coord! { x: centre.0, y: centre.1 });
            let mut features = Vec::new();
            // The grid holding the point (a mosaic's granule there).
            let inside = |g: &meridian_coverages::Grid| {
                g.pixel_of(p.x, p.y).is_some_and(|(col, row)| {
                    col >= 0.0 && row >= 0.0 && col < g.width as f64 && row < g.height as f64
                })
            };
            let grids = coverage
                .grids_in([p.x, p.y, p.x, p.y], 0.0)
                .map_err(failed)?;
            if let Some(grid) = grids.into_iter().find(|g| inside(g)) {
                if let Some((col, row)) = grid.pixel_of(p.x, p.y) {
                    let names: &[&str] = match grid.bands {
                        1 => &["GRAY_INDEX"],
                        3 => &["RED_BAND", "GREEN_BAND", "BLUE_BAND"],
                        4 => &["RED_BAND", "GREEN_BAND", "BLUE_BAND", "ALPHA_BAND"],
                        _ => &["BAND_1", "BAND_2"],
                    };
                    let values: Vec<(String, Value)> = names
                        .iter()
                        .enumerate()
                        .filter_map(|(b, n)| {
                            let x = grid.value(col as usize, row as usize, b)?;
                            let val = if !grid.colour && grid.is_nodata(x) {
                                Value::Null
                            } else {
                                Value::Float(f64::from(x))
                            };
                            Some((n.to_string(), val))
                        })
                        .collect();
                    if !values.is_empty() {
                        features.push(Feature {
                            id: c.name.clone(),
                            geometry: Some(geo_types::Geometry::Point(geo_types::Point::new(
                                centre.0, centre.1,
                            ))),
                            properties: values,
                        });
                    }
                }
            }
            out.push(Hits {
                prefix: c.prefix.clone(),
                uri: c.uri.clone(),
                name: c.name.clone(),
                geometry_name: "the_geom".into(),
                features,
            });
        }
        Ok(out)
    })
    .await
    .map_err(|err| wms_err(v, "NoApplicableCode", "", err.to_string()))??;
    Ok(match format.as_str() {
        "text/html" => {
            ([("content-type", "text/html; charset=UTF-8")], html(&found)).into_response()
        }
        "application/json" => {
            ([("content-type", "application/json")], json(&found, epsg)).into_response()
        }
        "application/vnd.ogc.gml" => (
            [("content-type", "application/vnd.ogc.gml")],
            gml(&found, epsg),
        )
            .into_response(),
        _ => (
            [("content-type", "text/plain; charset=UTF-8")],
            plain(&found),
        )
            .into_response(),
    })
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => other.as_text(),
    }
}

/// GeoServer's plain text: a block per layer with hits, `name = value` lines.
fn plain(found: &[Hits]) -> String {
    let mut out = String::new();
    for l in found.iter().filter(|h| !h.features.is_empty()) {
        let fs = &l.features;
        let _ = writeln!(out, "Results for FeatureType '{}:{}':", l.uri, l.name);
        for f in fs {
            out.push_str("--------------------------------------------\n");
            for (k, v) in &f.properties {
                let _ = writeln!(out, "{k} = {}", text(v));
            }
        }
        out.push_str("--------------------------------------------\n");
    }
    if out.is_empty() {
        out.push_str("no features were found\n");
    }
    out
}

/// An HTML table per layer with hits.
fn html(found: &[Hits]) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"><title>Feature info</title></head><body>\n");
    for l in found.iter().filter(|h| !h.features.is_empty()) {
        let fs = &l.features;
        let _ = write!(out, "<table class=\"featureInfo\"><caption class=\"featureInfo\">{}</caption><tr><th>fid</th>", escape(&l.name));
        for (k, _) in &fs[0].properties {
            let _ = write!(out, "<th>{}</th>", escape(k));
        }
        out.push_str("</tr>");
        for f in fs {
            let _ = write!(out, "<tr><td>{}</td>", escape(&f.id));
            for (_, v) in &f.properties {
                let _ = write!(out, "<td>{}</td>", escape(&text(v)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table><br/>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// One GeoJSON collection of every hit, geometries in the map's CRS.
fn json(found: &[Hits], epsg: u32) -> String {
    let all: Vec<Feature> = found
        .iter()
        .flat_map(|h| h.features.iter().cloned())
        .collect();
    let body = meridian_features::FeatureCollectionJson {
        features: &all,
        decimals: None,
        matched: all.len(),
        time_stamp: crate::ows::timestamp(),
        crs: Some(
            serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{epsg}")}}),
        ),
        links: None,
    };
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
}

/// The hits of the first layer with any as a GML 3.2 feature collection, geometries in the
/// map's CRS.
fn gml(found: &[Hits], epsg: u32) -> String {
    let Some(l) = found
        .iter()
        .find(|h| !h.features.is_empty())
        .or(found.first())
    else {
        return String::new();
    };
    let fs = &l.features;
    let geometry_name = l.geometry_name.clone();
    let srs = format!("urn:ogc:def:crs:EPSG::{epsg}");
    let schema_location = String::new();
    let o = meridian_features::GmlOptions {
        prefix: &l.prefix,
        uri: &l.uri,
        type_name: &l.name,
        geometry_name: &geometry_name,
        srs_name: &srs,
        swap_xy: meridian_sources::is_geographic(epsg),
        decimals: None,
        schema_location,
    };
    meridian_features::gml_feature_collection(fs, fs.len(), &o, &crate::ows::timestamp())
}
