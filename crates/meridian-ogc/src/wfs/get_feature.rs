//! WFS GetFeature: run the request's query and write the answer.

use super::request::{feature_request, FeatureRequest, Params};
use crate::document::Document;
use crate::ows::{err, timestamp, OwsError};
use crate::OgcState;
use axum::response::Response;
use meridian_features::{
    csv_header, csv_row, gml2_head, gml2_member, gml31_head, gml31_member, gml_feature_document,
    gml_head, gml_member, kml_head, kml_placemark, query, FeatureCollectionJson, GmlOptions,
    CSV_CONTENT_TYPE, GML2_CONTENT_TYPE, GML2_TAIL, GML31_CONTENT_TYPE, GML31_TAIL, GML_TAIL,
    KML_CONTENT_TYPE, KML_TAIL,
};
use meridian_xml::Element;

/// Which GetFeature is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
    /// GetFeature.
    Plain,
    /// The GetFeatureById stored query: the feature alone, NotFound when missing.
    ById,
    /// GetFeatureWithLock: the features answered are locked.
    WithLock,
}

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

/// GetFeature: the query run on the store (off the async workers), the features
/// reprojected and written as GeoJSON or GML 3.2.
pub(super) async fn get_feature(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    post: Option<&Element>,
    endpoint: &str,
    variant: Variant,
    access: &meridian_security::LayerAccess,
) -> Result<Response, OwsError> {
    let (by_id, with_lock) = (variant == Variant::ById, variant == Variant::WithLock);
    let FeatureRequest {
        layer: l,
        query: q,
        out_epsg,
        swap,
        transform,
        hits,
    } = feature_request(st, ws, p, post, access)?;
    let mut r = run_query(&l, q).await?;
    if by_id && r.features.is_empty() {
        return Err(err(
            "NotFound",
            "ID",
            format!(
                "no feature '{}'",
                p.get("RESOURCEID").map(String::as_str).unwrap_or("")
            ),
        ));
    }
    // GetFeatureWithLock: the features answered are locked, the lock named in the answer.
    let lock_id = if with_lock {
        let g = super::lock_feature::lock_ids(
            st,
            p,
            &l.qualified(),
            r.features.iter().map(|f| f.id.clone()),
        )?;
        Some(g.lock_id)
    } else {
        None
    };
    let format = p
        .get("OUTPUTFORMAT")
        .map(|f| f.to_ascii_lowercase())
        .unwrap_or_default();
    // KML's MIME type with its `+` read as a space from a query string too.
    if format == "kml" || format.replace(' ', "+") == KML_CONTENT_TYPE {
        // KML is longitude/latitude whatever the request's CRS.
        meridian_features::Transformer::new(l.epsg, 4326)
            .map_err(|e| err("NoApplicableCode", "", e.to_string()))?
            .features(&mut r.features);
        let doc = Document {
            head: kml_head(&l.qualified()),
            items: Box::new(r.features.into_iter().map(|f| kml_placemark(&f))),
            tail: KML_TAIL.into(),
        };
        return Ok(doc.response(st, KML_CONTENT_TYPE));
    }
    transform.features(&mut r.features);
    if format == "shape-zip" || format == "application/zip" {
        return shape_zip_answer(&l, &r.features, out_epsg);
    }
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
    // GML 2 for WFS 1.0.0 and GML 3.1.1 for 1.1.0 (unless another format is asked), and
    // whenever one is asked by name; GML 3.2 otherwise.
    let version = p.get("VERSION").map(String::as_str).unwrap_or("2.0.0");
    let dialect = match format.replace(' ', "").as_str() {
        "gml2" | "text/xml;subtype=gml/2.1.2" => Dialect::Gml2,
        "gml3" | "text/xml;subtype=gml/3.1.1" => Dialect::Gml31,
        "" if version.starts_with("1.0") => Dialect::Gml2,
        "" if version.starts_with("1.1") => Dialect::Gml31,
        _ => Dialect::Gml32,
    };
    let (srs_name, swap, describe) = match dialect {
        Dialect::Gml2 => (
            format!("http://www.opengis.net/gml/srs/epsg.xml#{out_epsg}"),
            false,
            "version=1.0.0&request=DescribeFeatureType&typeName",
        ),
        // 1.1.0's URN form names the CRS as GeoServer writes it there.
        // The URN form unless the request named the CRS as `EPSG:n` (then x/y and the
        // `http://www.opengis.net/gml/srs/epsg.xml#n` name, as GeoServer writes them).
        Dialect::Gml31 => (
            if p.get("SRSNAME")
                .is_some_and(|s| s.to_ascii_uppercase().starts_with("EPSG:"))
            {
                format!("http://www.opengis.net/gml/srs/epsg.xml#{out_epsg}")
            } else {
                format!("urn:x-ogc:def:crs:EPSG:{out_epsg}")
            },
            swap,
            "version=1.1.0&request=DescribeFeatureType&typeName",
        ),
        Dialect::Gml32 => (
            srs_name,
            swap,
            "version=2.0.0&request=DescribeFeatureType&typeNames",
        ),
    };
    let owned = OwnedGml {
        prefix: l.prefix.clone(),
        uri: l.uri.clone(),
        type_name: l.name.clone(),
        geometry_name,
        srs_name,
        swap,
        decimals: l.num_decimals,
        schema_location: format!(
            "{}service=WFS&{describe}={}",
            crate::access::query_base(endpoint),
            l.qualified()
        ),
    };
    // GetFeatureById answers the feature alone, not in a collection.
    if let (true, Dialect::Gml32, Some(f)) = (by_id, dialect, r.features.first()) {
        let body = gml_feature_document(f, &owned.options());
        return Ok(axum::response::IntoResponse::into_response((
            [("content-type", "application/gml+xml; version=3.2")],
            body,
        )));
    }
    // Written a feature at a time; the page goes as it is written.
    let returned = r.features.len();
    // WFS 1.1.0's hits name how many match in numberOfFeatures (GDAL counts by them).
    let (head, tail, content_type) = match dialect {
        Dialect::Gml2 => (gml2_head(&owned.options()), GML2_TAIL, GML2_CONTENT_TYPE),
        Dialect::Gml31 => (
            gml31_head(
                if hits { r.matched } else { returned },
                &owned.options(),
                &timestamp(),
            ),
            GML31_TAIL,
            GML31_CONTENT_TYPE,
        ),
        Dialect::Gml32 => (
            gml_head(r.matched, returned, &owned.options(), &timestamp()),
            GML_TAIL,
            "application/gml+xml; version=3.2",
        ),
    };
    let head = match &lock_id {
        Some(id) => head.replacen(
            "FeatureCollection ",
            &format!("FeatureCollection lockId=\"{}\" ", meridian_xml::escape(id)),
            1,
        ),
        None => head,
    };
    let items = r.features.into_iter().map(move |f| {
        let mut piece = String::new();
        let o = owned.options();
        match dialect {
            Dialect::Gml2 => gml2_member(&f, &o, &mut piece),
            Dialect::Gml31 => gml31_member(&f, &o, &mut piece),
            Dialect::Gml32 => gml_member(&f, &o, &mut piece),
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

/// A SHAPE-ZIP answer of features in EPSG:`out_epsg`: the `.prj` the store's own WKT when
/// they are in the native CRS (WGS 84's when they are in EPSG:4326).
fn shape_zip_answer(
    l: &crate::layers::FeatureLayer,
    features: &[meridian_features::Feature],
    out_epsg: u32,
) -> Result<Response, OwsError> {
    let prj = if out_epsg == 4326 {
        Some(WGS84_PRJ.to_string())
    } else if out_epsg == l.epsg {
        tokio::task::block_in_place(|| meridian_features::describe(&l.store, &l.native))
            .ok()
            .and_then(|s| s.native_wkt)
    } else {
        None
    };
    let zip = meridian_features::shape_zip(&l.qualified(), features, prj.as_deref())
        .map_err(|e| err("NoApplicableCode", "", e.to_string()))?;
    let file = format!("{}.zip", l.name.replace(['"', '\\', '/'], "_"));
    Ok(axum::response::IntoResponse::into_response((
        [
            (
                "content-type",
                meridian_features::SHAPE_ZIP_CONTENT_TYPE.to_string(),
            ),
            (
                "content-disposition",
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        zip,
    )))
}

/// The `.prj` of WGS 84 (EPSG:4326), as ESRI software writes it.
const WGS84_PRJ: &str = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

/// Run a request's query on the layer's store, off the async workers.
pub(super) async fn run_query(
    l: &crate::layers::FeatureLayer,
    q: meridian_features::Query,
) -> Result<meridian_features::QueryResult, OwsError> {
    let (store, native, prefix) = (l.store.clone(), l.native.clone(), l.name.clone());
    tokio::task::spawn_blocking(move || query(&store, &native, &prefix, &q))
        .await
        .map_err(|e| err("NoApplicableCode", "", e.to_string()))?
        .map_err(|e| err("NoApplicableCode", "", e.to_string()))
}

/// The GML a GetFeature answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// GML 2.1.2 (WFS 1.0.0).
    Gml2,
    /// GML 3.1.1 (WFS 1.1.0).
    Gml31,
    /// GML 3.2 (WFS 2.0.0).
    Gml32,
}
