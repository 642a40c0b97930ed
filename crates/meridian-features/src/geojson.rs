//! GeoJSON output.

use crate::feature::{Feature, Value};
use geo_types::{Coord, Geometry, LineString, Polygon};
use serde_json::{json, Map, Number, Value as J};

fn num(v: f64, decimals: Option<u32>) -> J {
    let v = match decimals {
        Some(d) => {
            let m = 10f64.powi(d as i32);
            (v * m).round() / m
        }
        None => v,
    };
    Number::from_f64(v).map(J::Number).unwrap_or(J::Null)
}

fn c(p: Coord<f64>, d: Option<u32>) -> J {
    J::Array(vec![num(p.x, d), num(p.y, d)])
}

fn ls(l: &LineString<f64>, d: Option<u32>) -> J {
    J::Array(l.0.iter().map(|p| c(*p, d)).collect())
}

fn poly(p: &Polygon<f64>, d: Option<u32>) -> J {
    let mut v = vec![ls(p.exterior(), d)];
    v.extend(p.interiors().iter().map(|r| ls(r, d)));
    J::Array(v)
}

/// A geometry as a GeoJSON object, coordinates rounded to `decimals` when given.
pub fn geometry_json(g: &Geometry<f64>, d: Option<u32>) -> J {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": c(p.0, d)}),
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": ls(l, d)}),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": poly(p, d)}),
        Geometry::MultiPoint(m) => {
            json!({"type": "MultiPoint", "coordinates": m.0.iter().map(|p| c(p.0, d)).collect::<Vec<_>>()})
        }
        Geometry::MultiLineString(m) => {
            json!({"type": "MultiLineString", "coordinates": m.0.iter().map(|l| ls(l, d)).collect::<Vec<_>>()})
        }
        Geometry::MultiPolygon(m) => {
            json!({"type": "MultiPolygon", "coordinates": m.0.iter().map(|p| poly(p, d)).collect::<Vec<_>>()})
        }
        Geometry::GeometryCollection(gc) => {
            json!({"type": "GeometryCollection", "geometries": gc.0.iter().map(|g| geometry_json(g, d)).collect::<Vec<_>>()})
        }
        Geometry::Line(l) => {
            json!({"type": "LineString", "coordinates": [c(l.start, d), c(l.end, d)]})
        }
        Geometry::Rect(r) => geometry_json(&Geometry::Polygon(r.to_polygon()), d),
        Geometry::Triangle(t) => geometry_json(&Geometry::Polygon(t.to_polygon()), d),
    }
}

fn value(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::Number((*i).into()),
        Value::Float(f) => Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
        Value::Text(t) => J::String(t.clone()),
    }
}

/// A feature as a GeoJSON Feature.
pub fn feature_json(f: &Feature, decimals: Option<u32>) -> J {
    let mut props = Map::new();
    for (k, v) in &f.properties {
        props.insert(k.clone(), value(v));
    }
    json!({
        "type": "Feature",
        "id": f.id,
        "geometry": f.geometry.as_ref().map(|g| geometry_json(g, decimals)).unwrap_or(J::Null),
        "properties": props,
    })
}

/// A FeatureCollection with `numberMatched` and `numberReturned`.
pub fn feature_collection(
    features: &[Feature],
    matched: usize,
    decimals: Option<u32>,
) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("type".into(), J::String("FeatureCollection".into()));
    m.insert(
        "features".into(),
        J::Array(features.iter().map(|f| feature_json(f, decimals)).collect()),
    );
    m.insert("numberMatched".into(), J::Number(matched.into()));
    m.insert("numberReturned".into(), J::Number(features.len().into()));
    m
}
