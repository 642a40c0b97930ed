//! GeoJSON output.

use crate::feature::{Feature, Value};
use geo_types::{Coord, Geometry, LineString, Polygon};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Map, Number, Value as J};

fn num(v: f64, decimals: Option<u32>) -> J {
    Number::from_f64(rounded(v, decimals))
        .map(J::Number)
        .unwrap_or(J::Null)
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

/// A GeoJSON FeatureCollection with `numberMatched`, `numberReturned`, `timeStamp`, optional
/// `crs` and `links`, and the features last, serialized straight to the output.
pub struct FeatureCollectionJson<'a> {
    /// The page of features.
    pub features: &'a [Feature],
    /// Decimals to round coordinates to.
    pub decimals: Option<u32>,
    /// Features matching the query, before paging.
    pub matched: usize,
    /// ISO 8601 time of the answer.
    pub time_stamp: String,
    /// A GeoJSON 2008 `crs` member, for output not in CRS84.
    pub crs: Option<J>,
    /// Links (OGC API).
    pub links: Option<&'a [J]>,
}

impl Serialize for FeatureCollectionJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "FeatureCollection")?;
        m.serialize_entry("numberMatched", &self.matched)?;
        m.serialize_entry("numberReturned", &self.features.len())?;
        m.serialize_entry("timeStamp", &self.time_stamp)?;
        if let Some(crs) = &self.crs {
            m.serialize_entry("crs", crs)?;
        }
        if let Some(links) = self.links {
            m.serialize_entry("links", links)?;
        }
        m.serialize_entry(
            "features",
            &FeaturesJson {
                features: self.features,
                decimals: self.decimals,
            },
        )?;
        m.end()
    }
}

/// Features as a GeoJSON array, serialized straight to the output without building a JSON tree
/// (the same JSON as [`feature_json`] per feature, non-finite numbers as `null`).
pub struct FeaturesJson<'a> {
    /// The features.
    pub features: &'a [Feature],
    /// Decimals to round coordinates to.
    pub decimals: Option<u32>,
}

impl Serialize for FeaturesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.features.len()))?;
        for f in self.features {
            seq.serialize_element(&FeatureSer(f, self.decimals))?;
        }
        seq.end()
    }
}

struct FeatureSer<'a>(&'a Feature, Option<u32>);

impl Serialize for FeatureSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (f, d) = (self.0, self.1);
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", "Feature")?;
        m.serialize_entry("id", &f.id)?;
        match &f.geometry {
            Some(g) => m.serialize_entry("geometry", &GeomSer(g, d))?,
            None => m.serialize_entry("geometry", &())?,
        }
        m.serialize_entry("properties", &PropsSer(&f.properties))?;
        m.end()
    }
}

struct PropsSer<'a>(&'a [(String, Value)]);

impl Serialize for PropsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // In order; a repeated name keeps its first place and its last value (as a JSON map
        // with insertion order would).
        let props = self.0;
        let mut m = s.serialize_map(None)?;
        for (i, (k, _)) in props.iter().enumerate() {
            if props[..i].iter().any(|(p, _)| p == k) {
                continue;
            }
            let last = props
                .iter()
                .rev()
                .find(|(p, _)| p == k)
                .map(|(_, v)| v)
                .unwrap_or(&Value::Null);
            m.serialize_entry(k, &ValueSer(last))?;
        }
        m.end()
    }
}

struct ValueSer<'a>(&'a Value);

impl Serialize for ValueSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_unit(),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

fn rounded(v: f64, decimals: Option<u32>) -> f64 {
    match decimals {
        Some(d) => {
            let m = 10f64.powi(d as i32);
            (v * m).round() / m
        }
        None => v,
    }
}

struct CoordSer(Coord<f64>, Option<u32>);

impl Serialize for CoordSer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(2))?;
        for v in [self.0.x, self.0.y] {
            let v = rounded(v, self.1);
            if v.is_finite() {
                seq.serialize_element(&v)?;
            } else {
                seq.serialize_element(&())?;
            }
        }
        seq.end()
    }
}

/// The coordinates member of each geometry type.
enum Coords<'a> {
    Point(Coord<f64>),
    Points(&'a [Coord<f64>]),
    Line(&'a LineString<f64>),
    Lines(&'a [LineString<f64>]),
    Polygon(&'a Polygon<f64>),
    Polygons(&'a [Polygon<f64>]),
}

struct CoordsSer<'a>(Coords<'a>, Option<u32>);

impl Serialize for CoordsSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.1;
        match &self.0 {
            Coords::Point(p) => CoordSer(*p, d).serialize(s),
            Coords::Points(ps) => s.collect_seq(ps.iter().map(|p| CoordSer(*p, d))),
            Coords::Line(l) => s.collect_seq(l.0.iter().map(|p| CoordSer(*p, d))),
            Coords::Lines(ls) => s.collect_seq(ls.iter().map(|l| CoordsSer(Coords::Line(l), d))),
            Coords::Polygon(p) => s.collect_seq(
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| CoordsSer(Coords::Line(r), d)),
            ),
            Coords::Polygons(ps) => {
                s.collect_seq(ps.iter().map(|p| CoordsSer(Coords::Polygon(p), d)))
            }
        }
    }
}

struct GeomSer<'a>(&'a Geometry<f64>, Option<u32>);

impl Serialize for GeomSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.1;
        let (kind, coords) = match self.0 {
            Geometry::Point(p) => ("Point", Coords::Point(p.0)),
            Geometry::LineString(l) => ("LineString", Coords::Line(l)),
            Geometry::Polygon(p) => ("Polygon", Coords::Polygon(p)),
            Geometry::MultiPoint(m) => {
                let pts: Vec<Coord<f64>> = m.0.iter().map(|p| p.0).collect();
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("type", "MultiPoint")?;
                map.serialize_entry("coordinates", &CoordsSer(Coords::Points(&pts), d))?;
                return map.end();
            }
            Geometry::MultiLineString(m) => ("MultiLineString", Coords::Lines(&m.0)),
            Geometry::MultiPolygon(m) => ("MultiPolygon", Coords::Polygons(&m.0)),
            // Rare shapes go through the JSON tree.
            other => return geometry_json(other, d).serialize(s),
        };
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("type", kind)?;
        map.serialize_entry("coordinates", &CoordsSer(coords, d))?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::{line_string, point, polygon, MultiLineString, MultiPoint, MultiPolygon};

    #[test]
    fn streamed_features_are_the_same_json_as_the_json_tree() {
        let poly = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let line = line_string![(x: 1.123456, y: 2.5), (x: f64::NAN, y: -3.0)];
        let geoms: Vec<Option<Geometry<f64>>> = vec![
            Some(point!(x: 1.5, y: -2.25).into()),
            Some(line.clone().into()),
            Some(poly.clone().into()),
            Some(MultiPoint::new(vec![point!(x: 1.0, y: 2.0)]).into()),
            Some(MultiLineString::new(vec![line]).into()),
            Some(MultiPolygon::new(vec![poly]).into()),
            Some(geo_types::Rect::new((0.0, 0.0), (2.0, 3.0)).into()),
            None,
        ];
        let features: Vec<Feature> = geoms
            .into_iter()
            .enumerate()
            .map(|(i, geometry)| Feature {
                id: format!("t.{i}"),
                geometry,
                properties: vec![
                    ("NAME".into(), Value::Text("a \"quoted\" é".into())),
                    ("N".into(), Value::Int(-4)),
                    ("F".into(), Value::Float(0.1)),
                    ("NAME".into(), Value::Text("last".into())),
                    ("B".into(), Value::Bool(true)),
                    ("Z".into(), Value::Null),
                    ("INF".into(), Value::Float(f64::INFINITY)),
                ],
            })
            .collect();
        for d in [None, Some(2)] {
            let tree: Vec<J> = features.iter().map(|f| feature_json(f, d)).collect();
            let streamed = serde_json::to_string(&FeaturesJson {
                features: &features,
                decimals: d,
            })
            .unwrap();
            // The same JSON (key order aside: serde_json's map order depends on its features).
            let parsed: J = serde_json::from_str(&streamed).unwrap();
            assert_eq!(parsed, J::Array(tree));
        }
    }
}
