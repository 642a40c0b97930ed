//! WFS 2.0 stored queries: GeoServer's built-in one, `GetFeatureById`, run as the ad hoc
//! query it stands for; `ListStoredQueries` and `DescribeStoredQueries` describe it.

use super::request::Params;
use crate::document::Document;
use crate::layers::published_iter;
use crate::ows::{err, OwsError};
use crate::OgcState;
use axum::response::Response;
use meridian_xml::escape;

/// The id of the one stored query every WFS 2.0 server has.
pub(super) const GET_FEATURE_BY_ID: &str = "urn:ogc:def:query:OGC-WFS::GetFeatureById";

/// A GetFeature naming a stored query, as the ad hoc query it stands for (`None` when it
/// names none): `GetFeatureById`'s `ID` (`<type>.<key>`) becomes the type and resource id.
pub(super) fn as_ad_hoc(p: &Params) -> Result<Option<Params>, OwsError> {
    let Some(id) = p.get("STOREDQUERY_ID") else {
        return Ok(None);
    };
    if !id.eq_ignore_ascii_case(GET_FEATURE_BY_ID) {
        return Err(err(
            "InvalidParameterValue",
            "STOREDQUERY_ID",
            format!("no stored query '{id}'; this service has {GET_FEATURE_BY_ID}"),
        ));
    }
    let fid = p
        .get("ID")
        .ok_or_else(|| err("MissingParameterValue", "ID", "GetFeatureById needs an ID"))?;
    let Some((type_name, _)) = fid.rsplit_once('.') else {
        return Err(err(
            "InvalidParameterValue",
            "ID",
            format!("'{fid}' is not a feature id (<type>.<key>)"),
        ));
    };
    let mut q = p.clone();
    q.remove("STOREDQUERY_ID");
    q.entry("TYPENAMES".into())
        .or_insert_with(|| type_name.to_string());
    q.insert("RESOURCEID".into(), fid.clone());
    Ok(Some(q))
}

/// `ListStoredQueries`: the one stored query, returning any of the advertised types.
pub(super) fn list(
    st: &OgcState,
    ws: Option<&str>,
    access: &meridian_security::LayerAccess,
) -> Result<Response, OwsError> {
    let cat = st.catalog.snapshot();
    let order = st.order.of(&cat);
    let access = access.clone();
    let types = published_iter(cat, order, st.data_dir.clone(), ws.map(str::to_string))
        .filter(move |l| l.advertised && crate::access::listed(&access, &l.prefix, &l.name))
        .map(|l| {
            format!(
                "<wfs:ReturnFeatureType xmlns:{p}=\"{u}\">{p}:{n}</wfs:ReturnFeatureType>",
                p = l.prefix,
                u = escape(&l.uri),
                n = l.name
            )
        });
    let doc = Document {
        head: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:ListStoredQueriesResponse xmlns:wfs=\"http://www.opengis.net/wfs/2.0\"><wfs:StoredQuery id=\"{GET_FEATURE_BY_ID}\"><wfs:Title>Get feature by identifier</wfs:Title>"
        ),
        items: Box::new(types),
        tail: "</wfs:StoredQuery></wfs:ListStoredQueriesResponse>".into(),
    };
    Ok(doc.response(st, "application/xml"))
}

/// `DescribeStoredQueries`: `GetFeatureById` and its one parameter.
pub(super) fn describe(st: &OgcState, p: &Params) -> Result<Response, OwsError> {
    if let Some(ids) = p.get("STOREDQUERY_ID") {
        if let Some(other) = ids
            .split(',')
            .map(str::trim)
            .find(|i| !i.eq_ignore_ascii_case(GET_FEATURE_BY_ID))
        {
            return Err(err(
                "InvalidParameterValue",
                "STOREDQUERY_ID",
                format!("no stored query '{other}'; this service has {GET_FEATURE_BY_ID}"),
            ));
        }
    }
    let doc = Document {
        head: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wfs:DescribeStoredQueriesResponse xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><wfs:StoredQueryDescription id=\"{GET_FEATURE_BY_ID}\"><wfs:Title>Get feature by identifier</wfs:Title><wfs:Abstract>The feature whose identifier is ID, alone.</wfs:Abstract><wfs:Parameter name=\"ID\" type=\"xs:string\"/><wfs:QueryExpressionText isPrivate=\"true\" language=\"urn:ogc:def:queryLanguage:OGC-WFS::WFS_QueryExpression\" returnFeatureTypes=\"\"/></wfs:StoredQueryDescription></wfs:DescribeStoredQueriesResponse>"
        ),
        items: Box::new(std::iter::empty()),
        tail: String::new(),
    };
    Ok(doc.response(st, "application/xml"))
}
