//! WFS 2.0 GetPropertyValue: one property of the features a query selects, as a
//! `wfs:ValueCollection` (a geometry as GML 3.2, any other value as its text).

use super::request::{feature_request, FeatureRequest, Params};
use crate::document::Document;
use crate::ows::{err, OwsError};
use crate::OgcState;
use axum::response::Response;
use meridian_features::{gml_geometry, GmlOptions};
use meridian_xml::escape;

/// GetPropertyValue of `valueReference` (a property name, prefixed or not).
pub(super) async fn get_property_value(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    access: &meridian_security::LayerAccess,
) -> Result<Response, OwsError> {
    let reference = p.get("VALUEREFERENCE").ok_or_else(|| {
        err(
            "MissingParameterValue",
            "valueReference",
            "GetPropertyValue needs a valueReference",
        )
    })?;
    let req: FeatureRequest = feature_request(st, ws, p, None, access)?;
    let (l, q, out_epsg, swap, transform) =
        (req.layer, req.query, req.out_epsg, req.swap, req.transform);
    // `prefix:name` or `name`; no other XPath.
    let prop = match reference.split_once(':') {
        Some((prefix, name)) if prefix == l.prefix => name,
        None => reference.as_str(),
        _ => "",
    };
    let (geometry_name, attrs) = tokio::task::block_in_place(|| l.attributes());
    let is_geometry = prop == geometry_name;
    if !is_geometry && !attrs.iter().any(|(a, _)| a == prop) {
        return Err(err(
            "InvalidParameterValue",
            "valueReference",
            format!("{reference} is not a property of {}", l.qualified()),
        ));
    }
    let r = super::get_feature::run_query(&l, q).await?;
    let srs_name = format!("urn:ogc:def:crs:EPSG::{out_epsg}");
    let o = GmlOptions {
        prefix: &l.prefix,
        uri: &l.uri,
        type_name: &l.name,
        geometry_name: &geometry_name,
        srs_name: &srs_name,
        swap_xy: swap,
        decimals: l.num_decimals,
        schema_location: String::new(),
    };
    let mut members = Vec::with_capacity(r.features.len());
    for mut f in r.features {
        let mut m = String::from("<wfs:member>");
        if is_geometry {
            let Some(g) = f.geometry.as_mut() else {
                continue;
            };
            transform.geometry(g);
            gml_geometry(g, &o, &format!("{}.geom", escape(&f.id)), &mut m);
        } else {
            match f.properties.iter().rev().find(|(k, _)| k == prop) {
                Some((_, v)) if !matches!(v, meridian_features::Value::Null) => {
                    m.push_str(&escape(&v.as_text()))
                }
                _ => continue,
            }
        }
        m.push_str("</wfs:member>");
        members.push(m);
    }
    let head = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:ValueCollection xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:{p}=\"{u}\" numberMatched=\"{m}\" numberReturned=\"{n}\" timeStamp=\"{t}\">",
        p = l.prefix,
        u = escape(&l.uri),
        m = r.matched,
        n = members.len(),
        t = crate::ows::timestamp(),
    );
    let doc = Document {
        head,
        items: Box::new(members.into_iter()),
        tail: "</wfs:ValueCollection>".into(),
    };
    Ok(doc.response(st, "application/xml"))
}
