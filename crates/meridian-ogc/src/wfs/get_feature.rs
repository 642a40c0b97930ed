//! WFS GetFeature: run the request's query and write the answer.

use super::request::{feature_request, FeatureRequest, Params};
use crate::ows::{err, timestamp, OwsError};
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_features::{gml_feature_collection, query, FeatureCollectionJson, GmlOptions};
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
        let fc = FeatureCollectionJson {
            features: &r.features,
            decimals: l.num_decimals,
            matched: r.matched,
            time_stamp: timestamp(),
            crs: (out_epsg != 4326).then(|| serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{out_epsg}")}})),
            links: None,
        };
        let body =
            serde_json::to_string(&fc).map_err(|e| err("NoApplicableCode", "", e.to_string()))?;
        return Ok(([("content-type", "application/json")], body).into_response());
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
    let opts = GmlOptions {
        prefix: &l.prefix,
        uri: &l.uri,
        type_name: &l.name,
        geometry_name: &geometry_name,
        srs_name: &srs_name,
        swap_xy: swap,
        decimals: l.num_decimals,
        schema_location: format!(
            "{endpoint}?service=WFS&version=2.0.0&request=DescribeFeatureType&typeNames={}",
            l.qualified()
        ),
    };
    let body = gml_feature_collection(&r.features, r.matched, &opts, &timestamp());
    Ok(([("content-type", "application/gml+xml; version=3.2")], body).into_response())
}
