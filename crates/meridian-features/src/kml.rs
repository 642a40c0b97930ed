//! KML output for WFS GetFeature (`outputFormat=KML`), as GeoServer's: a `Document` with a
//! `Folder` named after the type, one `Placemark` per feature with its attributes as
//! `ExtendedData`, geometries in longitude/latitude (the caller reprojects to EPSG:4326).

use crate::feature::{Feature, Value};
use geo_types::{Coord, Geometry, LineString, Polygon};
use meridian_xml::escape;
use std::fmt::Write;

/// The content type GeoServer gives KML.
pub const KML_CONTENT_TYPE: &str = "application/vnd.google-earth.kml+xml";

/// What ends a KML answer.
pub const KML_TAIL: &str = "</Folder></Document></kml>";

/// The start of a KML answer for the type `name`.
pub fn kml_head(name: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><Folder><name>{}</name>",
        escape(name)
    )
}

/// One feature as a `Placemark`.
pub fn kml_placemark(f: &Feature) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "<Placemark id=\"{}\"><name>{}</name>",
        escape(&f.id),
        escape(&f.id)
    );
    let props: Vec<&(String, Value)> = f
        .properties
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Null))
        .collect();
    if !props.is_empty() {
        out.push_str("<ExtendedData>");
        for (k, v) in props {
            let _ = write!(
                out,
                "<Data name=\"{}\"><value>{}</value></Data>",
                escape(k),
                escape(&v.as_text())
            );
        }
        out.push_str("</ExtendedData>");
    }
    if let Some(g) = &f.geometry {
        geometry(g, &mut out);
    }
    out.push_str("</Placemark>");
    out
}

fn coordinates<'a>(cs: impl Iterator<Item = &'a Coord<f64>>, out: &mut String) {
    out.push_str("<coordinates>");
    for (i, c) in cs.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{},{}", c.x, c.y);
    }
    out.push_str("</coordinates>");
}

fn line(l: &LineString<f64>, out: &mut String) {
    out.push_str("<LineString>");
    coordinates(l.0.iter(), out);
    out.push_str("</LineString>");
}

fn polygon(p: &Polygon<f64>, out: &mut String) {
    out.push_str("<Polygon><outerBoundaryIs><LinearRing>");
    coordinates(p.exterior().0.iter(), out);
    out.push_str("</LinearRing></outerBoundaryIs>");
    for r in p.interiors() {
        out.push_str("<innerBoundaryIs><LinearRing>");
        coordinates(r.0.iter(), out);
        out.push_str("</LinearRing></innerBoundaryIs>");
    }
    out.push_str("</Polygon>");
}

fn geometry(g: &Geometry<f64>, out: &mut String) {
    match g {
        Geometry::Point(p) => {
            out.push_str("<Point>");
            coordinates(std::iter::once(&p.0), out);
            out.push_str("</Point>");
        }
        Geometry::Line(l) => line(&LineString::new(vec![l.start, l.end]), out),
        Geometry::LineString(l) => line(l, out),
        Geometry::Polygon(p) => polygon(p, out),
        Geometry::Rect(r) => polygon(&r.to_polygon(), out),
        Geometry::Triangle(t) => polygon(&t.to_polygon(), out),
        Geometry::MultiPoint(m) => {
            out.push_str("<MultiGeometry>");
            for p in m {
                geometry(&Geometry::Point(*p), out);
            }
            out.push_str("</MultiGeometry>");
        }
        Geometry::MultiLineString(m) => {
            out.push_str("<MultiGeometry>");
            for l in m {
                line(l, out);
            }
            out.push_str("</MultiGeometry>");
        }
        Geometry::MultiPolygon(m) => {
            out.push_str("<MultiGeometry>");
            for p in m {
                polygon(p, out);
            }
            out.push_str("</MultiGeometry>");
        }
        Geometry::GeometryCollection(c) => {
            out.push_str("<MultiGeometry>");
            for g in c {
                geometry(g, out);
            }
            out.push_str("</MultiGeometry>");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::{point, MultiPolygon};

    #[test]
    fn placemarks_carry_attributes_and_lon_lat_geometries() {
        let f = Feature {
            id: "states.1".into(),
            geometry: Some(Geometry::Point(point!(x: -99.5, y: 31.5))),
            properties: vec![
                ("STATE_NAME".into(), Value::Text("Texas & co".into())),
                ("n".into(), Value::Null),
            ],
        };
        let p = kml_placemark(&f);
        assert!(
            p.contains("<Data name=\"STATE_NAME\"><value>Texas &amp; co</value></Data>"),
            "{p}"
        );
        assert!(!p.contains("name=\"n\""), "{p}");
        assert!(
            p.contains("<Point><coordinates>-99.5,31.5</coordinates></Point>"),
            "{p}"
        );
        let square = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        );
        let mut out = String::new();
        geometry(
            &Geometry::MultiPolygon(MultiPolygon::new(vec![square.clone(), square])),
            &mut out,
        );
        assert_eq!(out.matches("<Polygon>").count(), 2);
        let doc = format!("{}{p}{KML_TAIL}", kml_head("topp:states"));
        meridian_xml::parse(&doc).unwrap();
    }
}
