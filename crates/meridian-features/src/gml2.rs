//! GML 2.1.2 output for WFS 1.0.0 GetFeature: a `wfs:FeatureCollection` of
//! `gml:featureMember`s, geometries as `gml:coordinates` in x/y order, as GeoServer answers
//! 1.0.0 clients (GDAL's WFS driver pinned to 1.0.0, OWSLib's 1.0.0 requests).

use crate::feature::Feature;
use crate::gml::{num, properties, GmlOptions};
use geo_types::{Geometry, LineString, Polygon};
use meridian_xml::escape;
use std::fmt::Write;

/// The content type GeoServer gives GML 2 answers.
pub const GML2_CONTENT_TYPE: &str = "text/xml; subtype=gml/2.1.2";

/// What ends a GML 2 collection.
pub const GML2_TAIL: &str = "</wfs:FeatureCollection>";

/// The start of a GML 2 `wfs:FeatureCollection` (then each [`gml2_member`], then
/// [`GML2_TAIL`]).
pub fn gml2_head(o: &GmlOptions<'_>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:FeatureCollection xmlns=\"http://www.opengis.net/wfs\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:{p}=\"{uri}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.opengis.net/wfs http://schemas.opengis.net/wfs/1.0.0/WFS-basic.xsd {uri} {schema}\"><gml:boundedBy><gml:null>unknown</gml:null></gml:boundedBy>",
        p = o.prefix,
        uri = escape(o.uri),
        schema = escape(&o.schema_location),
    )
}

/// One `gml:featureMember`, appended to `out`.
pub fn gml2_member(f: &Feature, o: &GmlOptions<'_>, out: &mut String) {
    let p = o.prefix;
    let _ = write!(
        out,
        "<gml:featureMember><{p}:{t} fid=\"{id}\">",
        t = o.type_name,
        id = escape(&f.id)
    );
    if let Some(g) = &f.geometry {
        let _ = write!(out, "<{p}:{gn}>", gn = o.geometry_name);
        geometry(g, o, true, out);
        let _ = write!(out, "</{p}:{gn}>", gn = o.geometry_name);
    }
    properties(f, p, out);
    let _ = write!(out, "</{p}:{t}></gml:featureMember>", t = o.type_name);
}

fn coordinates(points: impl Iterator<Item = geo_types::Coord<f64>>, o: &GmlOptions<'_>) -> String {
    let text: Vec<String> = points
        .map(|c| format!("{},{}", num(c.x, o.decimals), num(c.y, o.decimals)))
        .collect();
    format!(
        "<gml:coordinates xmlns:gml=\"http://www.opengis.net/gml\" decimal=\".\" cs=\",\" ts=\" \">{}</gml:coordinates>",
        text.join(" ")
    )
}

fn srs(o: &GmlOptions<'_>, top: bool) -> String {
    if top {
        format!(" srsName=\"{}\"", escape(o.srs_name))
    } else {
        String::new()
    }
}

fn line(l: &LineString<f64>, o: &GmlOptions<'_>, top: bool, out: &mut String) {
    let _ = write!(
        out,
        "<gml:LineString{}>{}</gml:LineString>",
        srs(o, top),
        coordinates(l.0.iter().copied(), o)
    );
}

fn polygon(p: &Polygon<f64>, o: &GmlOptions<'_>, top: bool, out: &mut String) {
    let _ = write!(
        out,
        "<gml:Polygon{}><gml:outerBoundaryIs><gml:LinearRing>{}</gml:LinearRing></gml:outerBoundaryIs>",
        srs(o, top),
        coordinates(p.exterior().0.iter().copied(), o)
    );
    for r in p.interiors() {
        let _ = write!(
            out,
            "<gml:innerBoundaryIs><gml:LinearRing>{}</gml:LinearRing></gml:innerBoundaryIs>",
            coordinates(r.0.iter().copied(), o)
        );
    }
    out.push_str("</gml:Polygon>");
}

fn geometry(g: &Geometry<f64>, o: &GmlOptions<'_>, top: bool, out: &mut String) {
    match g {
        Geometry::Point(p) => {
            let _ = write!(
                out,
                "<gml:Point{}>{}</gml:Point>",
                srs(o, top),
                coordinates(std::iter::once(p.0), o)
            );
        }
        Geometry::LineString(l) => line(l, o, top, out),
        Geometry::Polygon(p) => polygon(p, o, top, out),
        Geometry::MultiPoint(m) => {
            let _ = write!(out, "<gml:MultiPoint{}>", srs(o, top));
            for p in &m.0 {
                out.push_str("<gml:pointMember>");
                geometry(&Geometry::Point(*p), o, false, out);
                out.push_str("</gml:pointMember>");
            }
            out.push_str("</gml:MultiPoint>");
        }
        Geometry::MultiLineString(m) => {
            let _ = write!(out, "<gml:MultiLineString{}>", srs(o, top));
            for l in &m.0 {
                out.push_str("<gml:lineStringMember>");
                line(l, o, false, out);
                out.push_str("</gml:lineStringMember>");
            }
            out.push_str("</gml:MultiLineString>");
        }
        Geometry::MultiPolygon(m) => {
            let _ = write!(out, "<gml:MultiPolygon{}>", srs(o, top));
            for p in &m.0 {
                out.push_str("<gml:polygonMember>");
                polygon(p, o, false, out);
                out.push_str("</gml:polygonMember>");
            }
            out.push_str("</gml:MultiPolygon>");
        }
        Geometry::GeometryCollection(gc) => {
            let _ = write!(out, "<gml:MultiGeometry{}>", srs(o, top));
            for g in &gc.0 {
                out.push_str("<gml:geometryMember>");
                geometry(g, o, false, out);
                out.push_str("</gml:geometryMember>");
            }
            out.push_str("</gml:MultiGeometry>");
        }
        Geometry::Line(l) => line(&LineString(vec![l.start, l.end]), o, top, out),
        Geometry::Rect(r) => polygon(&r.to_polygon(), o, top, out),
        Geometry::Triangle(t) => polygon(&t.to_polygon(), o, top, out),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::feature::Value;
    use geo_types::{point, polygon, MultiPolygon};

    fn opts() -> GmlOptions<'static> {
        GmlOptions {
            prefix: "topp",
            uri: "http://www.openplans.org/topp",
            type_name: "states",
            geometry_name: "the_geom",
            srs_name: "http://www.opengis.net/gml/srs/epsg.xml#4326",
            swap_xy: false,
            decimals: None,
            schema_location: "http://h/wfs?request=DescribeFeatureType&typeName=topp:states".into(),
        }
    }

    #[test]
    fn features_are_gml2_members_in_x_y_order() {
        let f = Feature {
            id: "states.1".into(),
            geometry: Some(
                MultiPolygon(vec![polygon![(x: -105.99, y: 31.39), (x: -94.0, y: 31.39), (x: -94.0, y: 36.5), (x: -105.99, y: 31.39)]]).into(),
            ),
            properties: vec![("STATE_NAME".into(), Value::Text("Texas & co".into()))],
        };
        let mut out = gml2_head(&opts());
        gml2_member(&f, &opts(), &mut out);
        out.push_str(GML2_TAIL);
        let doc = meridian_xml::parse(&out).unwrap();
        assert_eq!(doc.name, "wfs:FeatureCollection");
        let member = doc
            .get("gml:featureMember")
            .unwrap()
            .get("topp:states")
            .unwrap();
        assert_eq!(member.attr_value("fid"), Some("states.1"));
        assert_eq!(member.child_text("topp:STATE_NAME"), Some("Texas & co"));
        let mp = member
            .get("topp:the_geom")
            .unwrap()
            .get("gml:MultiPolygon")
            .unwrap();
        assert_eq!(
            mp.attr_value("srsName"),
            Some("http://www.opengis.net/gml/srs/epsg.xml#4326")
        );
        let coords = mp
            .path(&[
                "gml:polygonMember",
                "gml:Polygon",
                "gml:outerBoundaryIs",
                "gml:LinearRing",
                "gml:coordinates",
            ])
            .unwrap();
        // Longitude first: Texas is at -105.99, 31.39, not 31.39, -105.99.
        assert!(
            coords
                .text_trim()
                .unwrap()
                .starts_with("-105.99,31.39 -94,31.39"),
            "{out}"
        );
        let mut out = String::new();
        gml2_member(
            &Feature {
                id: "p.1".into(),
                geometry: Some(point!(x: 1.5, y: 2.0).into()),
                properties: vec![],
            },
            &opts(),
            &mut out,
        );
        assert!(out.contains("<gml:Point srsName="), "{out}");
        assert!(out.contains(">1.5,2</gml:coordinates>"), "{out}");
    }
}
