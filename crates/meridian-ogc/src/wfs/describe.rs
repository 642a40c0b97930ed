//! WFS DescribeFeatureType.

use super::request::{layer_of, type_names, Params};
use crate::layers::{published_layers, FeatureLayer};
use crate::ows::{err, OwsError};
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_xml::escape;

/// The XML Schema type of a GeoServer binding (GML 2's geometry types for WFS 1.0.0).
fn xsd_type(binding: &str, gml2: bool) -> &'static str {
    let short = binding.rsplit('.').next().unwrap_or("");
    if gml2 {
        match short {
            "LineString" => return "gml:LineStringPropertyType",
            "MultiLineString" => return "gml:MultiLineStringPropertyType",
            "Polygon" => return "gml:PolygonPropertyType",
            "MultiPolygon" => return "gml:MultiPolygonPropertyType",
            _ => {}
        }
    }
    match short {
        "String" => "xsd:string",
        "Integer" | "Short" | "Byte" => "xsd:int",
        "Long" => "xsd:long",
        "Double" | "Float" | "BigDecimal" => "xsd:double",
        "Boolean" => "xsd:boolean",
        "Date" => "xsd:date",
        "Timestamp" => "xsd:dateTime",
        "Point" => "gml:PointPropertyType",
        "MultiPoint" => "gml:MultiPointPropertyType",
        "LineString" => "gml:CurvePropertyType",
        "MultiLineString" => "gml:MultiCurvePropertyType",
        "Polygon" => "gml:SurfacePropertyType",
        "MultiPolygon" => "gml:MultiSurfacePropertyType",
        "Geometry" | "GeometryCollection" => "gml:GeometryPropertyType",
        _ => "xsd:string",
    }
}

/// DescribeFeatureType: an XML schema of the types named (or every advertised one).
pub(super) fn describe(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    access: &meridian_security::LayerAccess,
) -> Result<Response, OwsError> {
    let names = match type_names(p) {
        Ok(n) => n,
        Err(_) => {
            let cat = st.catalog.snapshot();
            published_layers(&cat, &st.data_dir, ws)
                .into_iter()
                .filter(|l| l.advertised && crate::access::listed(access, &l.prefix, &l.name))
                .map(|l| l.qualified())
                .collect()
        }
    };
    let layers: Vec<FeatureLayer> = names
        .iter()
        .map(|n| layer_of(st, ws, n, access))
        .collect::<Result<_, _>>()?;
    let Some(first) = layers.first() else {
        return Err(err(
            "InvalidParameterValue",
            "typeNames",
            "no feature type to describe",
        ));
    };
    // The GML of the version asked: 2.1.2 for 1.0.0, 3.1.1 for 1.1.0, 3.2 for 2.0.0.
    let version = p.get("VERSION").map(String::as_str).unwrap_or("2.0.0");
    let (gml2, gml_ns, gml_xsd, feature_group, content_type) = if version.starts_with("1.0") {
        (
            true,
            "http://www.opengis.net/gml",
            "http://schemas.opengis.net/gml/2.1.2/feature.xsd",
            "gml:_Feature",
            "text/xml; subtype=gml/2.1.2",
        )
    } else if version.starts_with("1.1") {
        (
            false,
            "http://www.opengis.net/gml",
            "http://schemas.opengis.net/gml/3.1.1/base/gml.xsd",
            "gml:_Feature",
            "text/xml; subtype=gml/3.1.1",
        )
    } else {
        (
            false,
            "http://www.opengis.net/gml/3.2",
            "http://schemas.opengis.net/gml/3.2.1/gml.xsd",
            "gml:AbstractFeature",
            "application/gml+xml; version=3.2",
        )
    };
    let mut types = String::new();
    for l in layers.iter().filter(|l| l.uri == first.uri) {
        let (geom, attrs) = l.attributes();
        let geom_binding = meridian_features::describe(&l.store, &l.native)
            .ok()
            .and_then(|s| {
                s.attributes
                    .into_iter()
                    .find(|a| a.name == geom)
                    .map(|a| a.binding)
            })
            .unwrap_or_default();
        let mut els = format!("<xsd:element maxOccurs=\"1\" minOccurs=\"0\" name=\"{geom}\" nillable=\"true\" type=\"{}\"/>", xsd_type(&geom_binding, gml2));
        for (a, b) in &attrs {
            els.push_str(&format!("<xsd:element maxOccurs=\"1\" minOccurs=\"0\" name=\"{}\" nillable=\"true\" type=\"{}\"/>", escape(a), xsd_type(b, gml2)));
        }
        types.push_str(&format!(
            "<xsd:complexType name=\"{n}Type\"><xsd:complexContent><xsd:extension base=\"gml:AbstractFeatureType\"><xsd:sequence>{els}</xsd:sequence></xsd:extension></xsd:complexContent></xsd:complexType><xsd:element name=\"{n}\" substitutionGroup=\"{feature_group}\" type=\"{p}:{n}Type\"/>",
            n = l.name,
            p = l.prefix
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:gml=\"{gml_ns}\" xmlns:{p}=\"{u}\" elementFormDefault=\"qualified\" targetNamespace=\"{u}\"><xsd:import namespace=\"{gml_ns}\" schemaLocation=\"{gml_xsd}\"/>{types}</xsd:schema>",
        p = first.prefix,
        u = escape(&first.uri)
    );
    Ok(([("content-type", content_type)], body).into_response())
}
