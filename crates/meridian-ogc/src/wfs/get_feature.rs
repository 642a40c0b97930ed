//! WFS GetFeature: run the request's query and write the answer.

use super::request::{feature_request, FeatureRequest, Params};
use crate::ows::{err, timestamp, OwsError};
use crate::OgcState;
use axum::response::Response;

/// What a GML answer's options borrow, owned by the answer while it is written.
struct OwnedGml {
    prefix: String,
    uri: String,
    type_name: String,
    geometry_name: String,
    srs_name: String,
    swap: bool,
    decimals: Option<u32>,
    schema_location: String,
}

impl OwnedGml {
    fn options(&self) -> GmlOptions<'_> {
        GmlOptions {
            prefix: &self.prefix,
            uri: &self.uri,
            type_name: &self.type_name,
            geometry_name: &self.geometry_name,
            srs_name: &self.srs_name,
            swap_xy: self.swap,
            decimals: self.decimals,
            schema_location: self.schema_location.clone(),
        }
    }
}
use crate::document::Document;
use meridian_features::{
    csv_header, csv_row, gml2_head, gml2_member, gml_head, gml_member, query,
    FeatureCollectionJson, GmlOptions, CSV_CONTENT_TYPE, GML2_CONTENT_TYPE, GML2_TAIL, GML_TAIL,
};
use meridian_xml::Element;

/// GetFeature: the query run on the store (off the async workers), the features
/// reprojected and written as GeoJSON or GML 3.2.
pub(super) async fn get_feature(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    post: Option<&Element>,
    endpoint: &str,
) -> Result<Response, OwsError> {
    let FeatureRequest {
        layer: l,
        query: q,
        out_epsg,
        swap,
        transform,
    } = feature_request(st, ws, p, post)?;
    let (store, native, prefix) = (l.store.clone(), l.native.clone(), l.name.clone());
    let mut r = tokio::task::spawn_blocking(move || query(&store, &native, &prefix, &q))
        .await
        .map_err(|e| err("NoApplicableCode", "", e.to_string()))?
        .map_err(|e| err("NoApplicableCode", "", e.to_string()))?;
    if !transform.is_identity() {
        for f in r.features.iter_mut() {
            if let Some(g) = f.geometry.as_mut() {
                transform.geometry(g);
            }
        }
    }
    let format = p
        .get("OUTPUTFORMAT")
        .map(|f| f.to_ascii_lowercase())
        .unwrap_or_default();
    if format.contains("json") {
        let meta = FeatureCollectionJson {
            features: &[],
            decimals: l.num_decimals,
            matched: r.matched,
            time_stamp: timestamp(),
            crs: (out_epsg != 4326).then(|| serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{out_epsg}")}})),
            links: None,
        };
        // Written a feature at a time; the page goes as it is written.
        let doc = Document::geojson(&meta, r.features)
            .map_err(|e| err("NoApplicableCode", "", e.to_string()))?;
        return Ok(doc.response(st, "application/json"));
    }
    if format == "csv" || format == "text/csv" {
        // Written a feature at a time, the columns in the type's order.
        let (geometry_name, attrs) = tokio::task::block_in_place(|| l.attributes());
        let others: Vec<String> = attrs.into_iter().map(|(n, _)| n).collect();
        let head = csv_header(&geometry_name, &others);
        let items = r.features.into_iter().map(move |f| csv_row(&f, &others));
        let doc = Document {
            head,
            items: Box::new(items),
            tail: String::new(),
        };
        return Ok(doc.response(st, CSV_CONTENT_TYPE));
    }
    if !format.is_empty() && !format.contains("gml") && !format.contains("xml") {
        return Err(err(
            "InvalidParameterValue",
            "outputFormat",
            format!("unsupported outputFormat '{format}'"),
        ));
    }
    let (geometry_name, _) = tokio::task::block_in_place(|| l.attributes());
    let srs_name = if swap
        || p.get("SRSNAME")
            .is_none_or(|s| s.to_ascii_lowercase().starts_with("urn"))
    {
        format!("urn:ogc:def:crs:EPSG::{out_epsg}")
    } else {
        format!("EPSG:{out_epsg}")
    };
    // GML 2 for WFS 1.0.0 (unless another format is asked) and whenever it is asked by name.
    let v1_0 = p.get("VERSION").is_some_and(|v| v.starts_with("1.0"));
    let gml2 = matches!(
        format.replace(' ', "").as_str(),
        "gml2" | "text/xml;subtype=gml/2.1.2" | "gml2-gzip"
    ) || (v1_0 && format.is_empty());
    let (srs_name, swap, schema_location) = if gml2 {
        (
            format!("http://www.opengis.net/gml/srs/epsg.xml#{out_epsg}"),
            false,
            format!(
                "{endpoint}?service=WFS&version=1.0.0&request=DescribeFeatureType&typeName={}",
                l.qualified()
            ),
        )
    } else {
        (
            srs_name,
            swap,
            format!(
                "{endpoint}?service=WFS&version=2.0.0&request=DescribeFeatureType&typeNames={}",
                l.qualified()
            ),
        )
    };
    let owned = OwnedGml {
        prefix: l.prefix.clone(),
        uri: l.uri.clone(),
        type_name: l.name.clone(),
        geometry_name,
        srs_name,
        swap,
        decimals: l.num_decimals,
        schema_location,
    };
    // Written a feature at a time; the page goes as it is written.
    let (head, tail, content_type) = if gml2 {
        (gml2_head(&owned.options()), GML2_TAIL, GML2_CONTENT_TYPE)
    } else {
        let head = gml_head(r.matched, r.features.len(), &owned.options(), &timestamp());
        (head, GML_TAIL, "application/gml+xml; version=3.2")
    };
    let items = r.features.into_iter().map(move |f| {
        let mut piece = String::new();
        if gml2 {
            gml2_member(&f, &owned.options(), &mut piece);
        } else {
            gml_member(&f, &owned.options(), &mut piece);
        }
        piece
    });
    let doc = Document {
        head,
        items: Box::new(items),
        tail: tail.into(),
    };
    Ok(doc.response(st, content_type))
}
