//! GeoJSON output.

use crate::feature::{Feature, Value};
use geo_types::{Coord, Geometry, LineString, Polygon};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as J;

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

impl FeatureCollectionJson<'_> {
    /// The collection's start, up to its features' array (`returned` features): the
    /// collection written a feature at a time is this, then each feature ([`FeatureJson`],
    /// comma separated), then `]}` — the same bytes as the whole.
    pub fn head(&self, returned: usize) -> Result<String, serde_json::Error> {
        let mut out = String::from("{\"type\":\"FeatureCollection\",\"numberMatched\":");
        out.push_str(&serde_json::to_string(&self.matched)?);
        out.push_str(",\"numberReturned\":");
        out.push_str(&serde_json::to_string(&returned)?);
        out.push_str(",\"timeStamp\":");
        out.push_str(&serde_json::to_string(&self.time_stamp)?);
        if let Some(crs) = &self.crs {
            out.push_str(",\"crs\":");
            out.push_str(&serde_json::to_string(crs)?);
        }
        if let Some(links) = self.links {
            out.push_str(",\"links\":");
            out.push_str(&serde_json::to_string(links)?);
        }
        out.push_str(",\"features\":[");
        Ok(out)
    }
}

/// What ends a collection written a feature at a time (see [`FeatureCollectionJson::head`]).
pub const JSON_TAIL: &str = "]}";

/// Features as a GeoJSON array, serialized straight to the output without building a JSON tree
/// (non-finite numbers as `null`).
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
            seq.serialize_element(&FeatureJson {
                feature: f,
                decimals: self.decimals,
            })?;
        }
        seq.end()
    }
}

/// One GeoJSON Feature, serialized straight to the output.
pub struct FeatureJson<'a> {
    /// The feature.
    pub feature: &'a Feature,
    /// Decimals to round coordinates to.
    pub decimals: Option<u32>,
}

impl Serialize for FeatureJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (f, d) = (self.feature, self.decimals);
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
            Geometry::Line(l) => {
                let pts = [l.start, l.end];
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &CoordsSer(Coords::Points(&pts), d))?;
                return map.end();
            }
            Geometry::Rect(r) => {
                return GeomSer(&Geometry::Polygon(r.to_polygon()), d).serialize(s)
            }
            Geometry::Triangle(t) => {
                return GeomSer(&Geometry::Polygon(t.to_polygon()), d).serialize(s)
            }
            Geometry::GeometryCollection(gc) => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("type", "GeometryCollection")?;
                let members: Vec<GeomSer> = gc.0.iter().map(|g| GeomSer(g, d)).collect();
                map.serialize_entry("geometries", &members)?;
                return map.end();
            }
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
    use geo_types::{
        line_string, point, polygon, GeometryCollection, MultiLineString, MultiPoint, MultiPolygon,
    };
    use serde_json::json;

    #[test]
    fn a_collection_written_a_feature_at_a_time_is_the_whole() {
        let features: Vec<Feature> = (0..3)
            .map(|i| Feature {
                id: format!("t.{i}"),
                geometry: Some(point!(x: i as f64, y: 0.5).into()),
                properties: vec![
                    ("n".into(), Value::Int(i)),
                    ("s".into(), Value::Text("a\"b".into())),
                ],
            })
            .collect();
        let links = [json!({"href": "x", "rel": "self"})];
        for (crs, links) in [
            (None, None),
            (Some(json!({"type": "name"})), Some(&links[..])),
        ] {
            for n in [0, 1, 3] {
                let fc = FeatureCollectionJson {
                    features: &features[..n],
                    decimals: Some(3),
                    matched: 7,
                    time_stamp: "2026-12-07T00:00:00Z".into(),
                    crs: crs.clone(),
                    links,
                };
                let whole = serde_json::to_string(&fc).unwrap();
                let mut parts = fc.head(n).unwrap();
                for (i, f) in features[..n].iter().enumerate() {
                    if i > 0 {
                        parts.push(',');
                    }
                    parts.push_str(
                        &serde_json::to_string(&FeatureJson {
                            feature: f,
                            decimals: Some(3),
                        })
                        .unwrap(),
                    );
                }
                parts.push_str(JSON_TAIL);
                assert_eq!(parts, whole);
            }
        }
    }

    #[test]
    fn every_geometry_and_value_is_written_as_geojson() {
        let poly = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let line = line_string![(x: 1.123456, y: 2.5), (x: f64::NAN, y: -3.0)];
        let square = json!([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]);
        let geoms: Vec<(Option<Geometry<f64>>, J, J)> = vec![
            (
                Some(point!(x: 1.5, y: -2.25).into()),
                json!({"type": "Point", "coordinates": [1.5, -2.25]}),
                json!({"type": "Point", "coordinates": [1.5, -2.25]}),
            ),
            (
                Some(line.clone().into()),
                json!({"type": "LineString", "coordinates": [[1.123456, 2.5], [null, -3.0]]}),
                json!({"type": "LineString", "coordinates": [[1.12, 2.5], [null, -3.0]]}),
            ),
            (
                Some(poly.clone().into()),
                json!({"type": "Polygon", "coordinates": square}),
                json!({"type": "Polygon", "coordinates": square}),
            ),
            (
                Some(MultiPoint::new(vec![point!(x: 1.0, y: 2.0)]).into()),
                json!({"type": "MultiPoint", "coordinates": [[1.0, 2.0]]}),
                json!({"type": "MultiPoint", "coordinates": [[1.0, 2.0]]}),
            ),
            (
                Some(MultiLineString::new(vec![line]).into()),
                json!({"type": "MultiLineString", "coordinates": [[[1.123456, 2.5], [null, -3.0]]]}),
                json!({"type": "MultiLineString", "coordinates": [[[1.12, 2.5], [null, -3.0]]]}),
            ),
            (
                Some(MultiPolygon::new(vec![poly]).into()),
                json!({"type": "MultiPolygon", "coordinates": [square]}),
                json!({"type": "MultiPolygon", "coordinates": [square]}),
            ),
            (
                Some(geo_types::Rect::new((0.0, 0.0), (2.0, 3.0)).into()),
                json!({"type": "Polygon", "coordinates": [[[2.0, 0.0], [2.0, 3.0], [0.0, 3.0], [0.0, 0.0], [2.0, 0.0]]]}),
                json!({"type": "Polygon", "coordinates": [[[2.0, 0.0], [2.0, 3.0], [0.0, 3.0], [0.0, 0.0], [2.0, 0.0]]]}),
            ),
            (
                Some(geo_types::Line::new((0.0, 1.0), (2.0, 3.0)).into()),
                json!({"type": "LineString", "coordinates": [[0.0, 1.0], [2.0, 3.0]]}),
                json!({"type": "LineString", "coordinates": [[0.0, 1.0], [2.0, 3.0]]}),
            ),
            (
                Some(Geometry::GeometryCollection(GeometryCollection::new_from(
                    vec![point!(x: 0.125, y: 1.0).into()],
                ))),
                json!({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0.125, 1.0]}]}),
                json!({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0.13, 1.0]}]}),
            ),
            (None, J::Null, J::Null),
        ];
        let properties = vec![
            ("NAME".into(), Value::Text("a \"quoted\" é".into())),
            ("N".into(), Value::Int(-4)),
            ("F".into(), Value::Float(0.1)),
            ("NAME".into(), Value::Text("last".into())),
            ("B".into(), Value::Bool(true)),
            ("Z".into(), Value::Null),
            ("INF".into(), Value::Float(f64::INFINITY)),
        ];
        // A repeated name keeps its first place and its last value; non-finite numbers are null.
        let props = json!({"NAME": "last", "N": -4, "F": 0.1, "B": true, "Z": null, "INF": null});
        let features: Vec<Feature> = geoms
            .iter()
            .enumerate()
            .map(|(i, (geometry, _, _))| Feature {
                id: format!("t.{i}"),
                geometry: geometry.clone(),
                properties: properties.clone(),
            })
            .collect();
        for (d, pick) in [(None, 1), (Some(2), 2)] {
            let expected: Vec<J> = geoms
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let geometry = if pick == 1 { &g.1 } else { &g.2 };
                    json!({"type": "Feature", "id": format!("t.{i}"), "geometry": geometry, "properties": props})
                })
                .collect();
            let streamed = serde_json::to_string(&FeaturesJson {
                features: &features,
                decimals: d,
            })
            .unwrap();
            let parsed: J = serde_json::from_str(&streamed).unwrap();
            assert_eq!(parsed, J::Array(expected), "decimals {d:?}");
            let one = serde_json::to_string(&FeatureJson {
                feature: &features[0],
                decimals: d,
            })
            .unwrap();
            assert!(
                one.starts_with("{\"type\":\"Feature\",\"id\":\"t.0\""),
                "{one}"
            );
        }
    }
}
