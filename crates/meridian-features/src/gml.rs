//! GML 3.2 output for WFS 2.0 GetFeature.

use crate::feature::{Feature, Value};
use geo_types::{Coord, Geometry, LineString, Polygon};
use meridian_xml::escape;
use std::fmt::Write;

/// How to write a collection.
pub struct GmlOptions<'a> {
    /// Namespace prefix of the feature type (`sf`).
    pub prefix: &'a str,
    /// Namespace URI.
    pub uri: &'a str,
    /// Local type name (`archsites`).
    pub type_name: &'a str,
    /// The geometry property name (`the_geom`).
    pub geometry_name: &'a str,
    /// `srsName` to write (`urn:ogc:def:crs:EPSG::26713`).
    pub srs_name: &'a str,
    /// Write y before x (EPSG:4326 as a URN in WFS 2.0).
    pub swap_xy: bool,
    /// Decimal places, if limited.
    pub decimals: Option<u32>,
    /// DescribeFeatureType URL for `xsi:schemaLocation`.
    pub schema_location: String,
}

pub(crate) fn num(v: f64, d: Option<u32>) -> String {
    match d {
        Some(d) => {
            let s = format!("{v:.*}", d as usize);
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s.is_empty() || s == "-" {
                "0".into()
            } else {
                s.to_string()
            }
        }
        None => format!("{v}"),
    }
}

fn pos(c: Coord<f64>, o: &GmlOptions<'_>) -> String {
    if o.swap_xy {
        format!("{} {}", num(c.y, o.decimals), num(c.x, o.decimals))
    } else {
        format!("{} {}", num(c.x, o.decimals), num(c.y, o.decimals))
    }
}

fn pos_list(l: &LineString<f64>, o: &GmlOptions<'_>) -> String {
    l.0.iter().map(|c| pos(*c, o)).collect::<Vec<_>>().join(" ")
}

fn polygon(p: &Polygon<f64>, o: &GmlOptions<'_>, id: &str, out: &mut String) {
    let _ = write!(out, "<gml:Polygon gml:id=\"{id}\" srsName=\"{}\"><gml:exterior><gml:LinearRing><gml:posList>{}</gml:posList></gml:LinearRing></gml:exterior>", o.srs_name, pos_list(p.exterior(), o));
    for r in p.interiors() {
        let _ = write!(out, "<gml:interior><gml:LinearRing><gml:posList>{}</gml:posList></gml:LinearRing></gml:interior>", pos_list(r, o));
    }
    out.push_str("</gml:Polygon>");
}

/// A GML 3.2 geometry with `gml:id` `id` (WFS 2.0's GetPropertyValue of a geometry).
pub fn gml_geometry(g: &Geometry<f64>, o: &GmlOptions<'_>, id: &str, out: &mut String) {
    geometry(g, o, id, out)
}

fn geometry(g: &Geometry<f64>, o: &GmlOptions<'_>, id: &str, out: &mut String) {
    let srs = o.srs_name;
    match g {
        Geometry::Point(p) => {
            let _ = write!(
                out,
                "<gml:Point gml:id=\"{id}\" srsName=\"{srs}\"><gml:pos>{}</gml:pos></gml:Point>",
                pos(p.0, o)
            );
        }
        Geometry::LineString(l) => {
            let _ = write!(out, "<gml:LineString gml:id=\"{id}\" srsName=\"{srs}\"><gml:posList>{}</gml:posList></gml:LineString>", pos_list(l, o));
        }
        Geometry::Polygon(p) => polygon(p, o, id, out),
        Geometry::MultiPoint(m) => {
            let _ = write!(out, "<gml:MultiPoint gml:id=\"{id}\" srsName=\"{srs}\">");
            for (i, p) in m.0.iter().enumerate() {
                let _ = write!(out, "<gml:pointMember><gml:Point gml:id=\"{id}.{i}\"><gml:pos>{}</gml:pos></gml:Point></gml:pointMember>", pos(p.0, o));
            }
            out.push_str("</gml:MultiPoint>");
        }
        Geometry::MultiLineString(m) => {
            let _ = write!(out, "<gml:MultiCurve gml:id=\"{id}\" srsName=\"{srs}\">");
            for (i, l) in m.0.iter().enumerate() {
                let _ = write!(out, "<gml:curveMember><gml:LineString gml:id=\"{id}.{i}\"><gml:posList>{}</gml:posList></gml:LineString></gml:curveMember>", pos_list(l, o));
            }
            out.push_str("</gml:MultiCurve>");
        }
        Geometry::MultiPolygon(m) => {
            let _ = write!(out, "<gml:MultiSurface gml:id=\"{id}\" srsName=\"{srs}\">");
            for (i, p) in m.0.iter().enumerate() {
                out.push_str("<gml:surfaceMember>");
                polygon(p, o, &format!("{id}.{i}"), out);
                out.push_str("</gml:surfaceMember>");
            }
            out.push_str("</gml:MultiSurface>");
        }
        Geometry::GeometryCollection(gc) => {
            let _ = write!(out, "<gml:MultiGeometry gml:id=\"{id}\" srsName=\"{srs}\">");
            for (i, g) in gc.0.iter().enumerate() {
                out.push_str("<gml:geometryMember>");
                geometry(g, o, &format!("{id}.{i}"), out);
                out.push_str("</gml:geometryMember>");
            }
            out.push_str("</gml:MultiGeometry>");
        }
        Geometry::Line(l) => geometry(
            &Geometry::LineString(LineString(vec![l.start, l.end])),
            o,
            id,
            out,
        ),
        Geometry::Rect(r) => geometry(&Geometry::Polygon(r.to_polygon()), o, id, out),
        Geometry::Triangle(t) => geometry(&Geometry::Polygon(t.to_polygon()), o, id, out),
    }
}

/// A `wfs:FeatureCollection` (WFS 2.0, GML 3.2).
pub fn gml_feature_collection(
    features: &[Feature],
    matched: usize,
    o: &GmlOptions<'_>,
    timestamp: &str,
) -> String {
    let mut out = gml_head(matched, features.len(), o, timestamp);
    for f in features {
        gml_member(f, o, &mut out);
    }
    out.push_str(GML_TAIL);
    out
}

/// What ends a `wfs:FeatureCollection`.
pub const GML_TAIL: &str = "</wfs:FeatureCollection>";

/// The start of a `wfs:FeatureCollection` of `returned` features out of `matched` (then each
/// [`gml_member`], then [`GML_TAIL`]: the collection written a feature at a time).
pub fn gml_head(matched: usize, returned: usize, o: &GmlOptions<'_>, timestamp: &str) -> String {
    let p = o.prefix;
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:FeatureCollection xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:{p}=\"{}\" numberMatched=\"{matched}\" numberReturned=\"{returned}\" timeStamp=\"{timestamp}\" xsi:schemaLocation=\"http://www.opengis.net/wfs/2.0 http://schemas.opengis.net/wfs/2.0/wfs.xsd http://www.opengis.net/gml/3.2 http://schemas.opengis.net/gml/3.2.1/gml.xsd {} {}\">",
        escape(o.uri),
        escape(o.uri),
        escape(&o.schema_location)
    );
    out
}

/// One `wfs:member` of a collection, appended to `out`.
pub fn gml_member(f: &Feature, o: &GmlOptions<'_>, out: &mut String) {
    out.push_str("<wfs:member>");
    feature_element(f, o, out);
    out.push_str("</wfs:member>");
}

/// One feature as a document of its own, its element the root (WFS 2.0's
/// `GetFeatureById`).
pub fn gml_feature_document(f: &Feature, o: &GmlOptions<'_>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let ns = format!(
        " xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:{}=\"{}\"",
        o.prefix,
        escape(o.uri)
    );
    feature_element_with(f, o, &ns, &mut out);
    out
}

/// A feature as `<prefix:type gml:id="…">` with its geometry and properties (GML 3).
fn feature_element(f: &Feature, o: &GmlOptions<'_>, out: &mut String) {
    feature_element_with(f, o, "", out)
}

/// [`feature_element`] with more attributes on the element (namespace declarations).
fn feature_element_with(f: &Feature, o: &GmlOptions<'_>, attrs: &str, out: &mut String) {
    let p = o.prefix;
    let _ = write!(
        out,
        "<{p}:{t}{attrs} gml:id=\"{id}\">",
        t = o.type_name,
        id = escape(&f.id)
    );
    if let Some(g) = &f.geometry {
        let _ = write!(out, "<{p}:{gn}>", gn = o.geometry_name);
        geometry(g, o, &format!("{}.geom", escape(&f.id)), out);
        let _ = write!(out, "</{p}:{gn}>", gn = o.geometry_name);
    }
    properties(f, p, out);
    let _ = write!(out, "</{p}:{t}>", t = o.type_name);
}

/// The content type GeoServer gives GML 3.1.1 answers (WFS 1.1.0).
pub const GML31_CONTENT_TYPE: &str = "text/xml; subtype=gml/3.1.1";

/// What ends a GML 3.1.1 collection.
pub const GML31_TAIL: &str = "</gml:featureMembers></wfs:FeatureCollection>";

/// The start of a WFS 1.1.0 `wfs:FeatureCollection` in GML 3.1.1 (then each
/// [`gml31_member`], then [`GML31_TAIL`]).
pub fn gml31_head(returned: usize, o: &GmlOptions<'_>, timestamp: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:FeatureCollection xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:{p}=\"{uri}\" numberOfFeatures=\"{returned}\" timeStamp=\"{timestamp}\" xsi:schemaLocation=\"http://www.opengis.net/wfs http://schemas.opengis.net/wfs/1.1.0/wfs.xsd {uri} {schema}\"><gml:featureMembers>",
        p = o.prefix,
        uri = escape(o.uri),
        schema = escape(&o.schema_location),
    )
}

/// One feature of a GML 3.1.1 collection, appended to `out`.
pub fn gml31_member(f: &Feature, o: &GmlOptions<'_>, out: &mut String) {
    feature_element(f, o, out);
}

/// A feature's properties as `<prefix:name>value</prefix:name>` (nulls left out).
pub(crate) fn properties(f: &Feature, p: &str, out: &mut String) {
    for (k, v) in &f.properties {
        if matches!(v, Value::Null) {
            continue;
        }
        let _ = write!(out, "<{p}:{k}>{}</{p}:{k}>", escape(&v.as_text()));
    }
}
