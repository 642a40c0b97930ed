//! Vector tiles (`application/vnd.mapbox-vector-tile`) from the feature sources: a layer's
//! features in the tile's box (and a buffer around it), reprojected to the gridset's CRS,
//! brought to tile coordinates (4096 units a side), simplified to the tile's resolution,
//! clipped, with their attributes — or, from a source that makes vector tiles itself
//! (PostGIS: `ST_AsMVT`), its tile. A layer group is a tile of one layer per member.

use crate::layers::FeatureLayer;
use crate::OgcState;
use geo::Simplify;
use meridian_catalog::tile_layers::Tiled;
use meridian_features::{open_source, transform_bbox, Feature, Transformer, Value};
use meridian_security::LayerAccess;
use meridian_tiles::mvt::{self, LayerBuilder, MvtValue};
use meridian_tiles::GridSet;
use std::sync::Arc;

/// Units of a tile side.
const EXTENT: u32 = 4096;

/// Units kept around the tile (GeoServer's MVT buffer: 1/16 of the tile).
const BUFFER: u32 = 256;

/// The layers a tile of `tiled` holds: the layer, or a group's feature members the caller
/// may read.
fn members(
    st: &OgcState,
    tiled: &Tiled,
    access: &LayerAccess,
) -> Result<Vec<Arc<FeatureLayer>>, String> {
    let cat = st.catalog.snapshot();
    let p = &tiled.published;
    // A layer's settings, read once per catalog state (a group's members are not kept: they
    // depend on the caller).
    static KEPT: super::PerState<Arc<FeatureLayer>> = super::PerState::new();
    if let Some(l) = KEPT.peek(&cat, &p.id) {
        return Ok(vec![l]);
    }
    let mut out = Vec::new();
    match crate::wms::find_wms_layer(&cat, &st.data_dir, None, &p.name) {
        Some(crate::wms::WmsLayer::Features(l)) => {
            let l = Arc::new(l);
            KEPT.keep(&cat, &p.id, l.clone());
            out.push(l)
        }
        Some(crate::wms::WmsLayer::Coverage(_)) => {
            return Err(format!("{} is a coverage: it has no vector tiles", p.name))
        }
        None => {
            let group = crate::wms::find_group(&cat, None, &p.name)
                .ok_or_else(|| format!("no layer or group named {}", p.name))?;
            let mut skipped = Vec::new();
            for (l, _) in crate::wms::group_layers(&cat, &st.data_dir, group, &mut skipped, access)
            {
                if let crate::wms::WmsLayer::Features(l) = l {
                    out.push(Arc::new(l));
                }
            }
        }
    }
    Ok(out)
}

fn value(v: &Value) -> Option<MvtValue> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => MvtValue::Bool(*b),
        Value::Int(i) => MvtValue::Int(*i),
        Value::Float(f) => MvtValue::Double(*f),
        Value::Text(t) => MvtValue::String(t.clone()),
    })
}

/// The number at the end of a feature id (`states.12` → 12).
fn numeric_id(id: &str) -> Option<u64> {
    id.rsplit('.').next()?.parse().ok()
}

/// The vector tile `(x, y)` (internal row) of level `z`.
pub(super) async fn draw(
    st: &Arc<OgcState>,
    tiled: &Tiled,
    grid: &GridSet,
    (z, x, y): (usize, u64, u64),
    access: &LayerAccess,
) -> Result<Vec<u8>, String> {
    let layers = members(st, tiled, access)?;
    let bbox = grid.tile_bbox(z, x, y);
    let epsg = super::render::draw_epsg(grid);
    // A tile is its layers' messages one after the other.
    let mut out = Vec::new();
    for l in layers {
        let filter = l.own_filter().map_err(|e| {
            format!(
                "the layer {}'s own cqlFilter does not read: {e}",
                l.qualified()
            )
        })?;
        // A database makes the tile itself (PostGIS: ST_AsMVT), waited for without holding a
        // thread (opening a database source reads no file).
        if meridian_features::is_database(&l.store) {
            let source =
                open_source(&l.store, &l.native).map_err(|e| format!("{}: {e}", l.qualified()))?;
            let asked = meridian_features::MvtTile {
                bbox,
                epsg,
                extent: EXTENT,
                buffer: BUFFER,
                layer: &l.name,
                filter: filter.as_ref(),
            };
            if let Some(made) = source.mvt(&asked) {
                if let Some(tile) = made.await.map_err(|e| format!("{}: {e}", l.qualified()))? {
                    out.extend(tile);
                    continue;
                }
            }
        }
        // Otherwise built here from the layer's features, on a blocking thread.
        let layer = tokio::task::spawn_blocking(move || scanned(&l, filter.as_ref(), bbox, epsg))
            .await
            .map_err(|e| format!("drawing failed: {e}"))??;
        out.extend(layer);
    }
    Ok(out)
}

/// A layer's message of the tile `bbox` (in `epsg`), built from a scan of its features.
fn scanned(
    l: &FeatureLayer,
    filter: Option<&meridian_features::Filter>,
    bbox: [f64; 4],
    epsg: u32,
) -> Result<Vec<u8>, String> {
    let (w, h) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    let scale = f64::from(EXTENT);
    let pad = f64::from(BUFFER) / scale;
    let padded = [
        bbox[0] - w * pad,
        bbox[1] - h * pad,
        bbox[2] + w * pad,
        bbox[3] + h * pad,
    ];
    let source = open_source(&l.store, &l.native).map_err(|e| format!("{}: {e}", l.qualified()))?;
    let to_grid = Transformer::new(l.epsg, epsg).map_err(|e| format!("{}: {e}", l.qualified()))?;
    let native = transform_bbox(padded, epsg, l.epsg)
        .ok()
        .filter(|r| r.min().x.is_finite() && r.max().x.is_finite() && r.width() > 0.0);
    let mut builder = LayerBuilder::new(&l.name, EXTENT, BUFFER);
    source
        .scan(native, &l.name, &mut |mut f: Feature| {
            if filter.is_some_and(|flt| !flt.matches(&f)) {
                return true;
            }
            let Some(g) = f.geometry.as_mut() else {
                return true;
            };
            to_grid.geometry(g);
            use geo::MapCoordsInPlace;
            g.map_coords_in_place(|c| geo_types::Coord {
                x: (c.x - bbox[0]) / w * scale,
                y: (bbox[3] - c.y) / h * scale,
            });
            let g = match &*g {
                geo_types::Geometry::LineString(ls) => {
                    geo_types::Geometry::LineString(ls.simplify(0.5))
                }
                geo_types::Geometry::MultiLineString(ml) => {
                    geo_types::Geometry::MultiLineString(ml.simplify(0.5))
                }
                geo_types::Geometry::Polygon(p) => geo_types::Geometry::Polygon(p.simplify(0.5)),
                geo_types::Geometry::MultiPolygon(mp) => {
                    geo_types::Geometry::MultiPolygon(mp.simplify(0.5))
                }
                other => other.clone(),
            };
            let attributes: Vec<(String, MvtValue)> = f
                .properties
                .iter()
                .filter_map(|(k, v)| value(v).map(|v| (k.clone(), v)))
                .collect();
            builder.add(numeric_id(&f.id), &g, &attributes);
            true
        })
        .map_err(|e| format!("{}: {e}", l.qualified()))?;
    Ok(mvt::tile(&[builder]))
}
