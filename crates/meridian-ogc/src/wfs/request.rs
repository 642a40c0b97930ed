//! Reading a WFS request: parameters from KVP or a POST body, the feature types named, and a
//! GetFeature request as a query (filters, sorting, paging) with its output CRS.

use super::MAX_COUNT;
use crate::layers::{find_layer, FeatureLayer};
use crate::ows::{err, parse_crs, OwsError};
use crate::OgcState;
use axum::http::Method;
use meridian_features::filter::fes::parse_filter;
use meridian_features::FilterError;
use meridian_features::{transform_bbox, Filter, Query, SortKey, Transformer};
use meridian_security::LayerAccess;
use meridian_xml::Element;
use std::collections::HashMap;

/// A request's parameters, keys upper-cased.
pub(super) type Params = HashMap<String, String>;

/// A GetFeature request, read.
pub(super) struct FeatureRequest {
    /// The feature type asked for.
    pub(super) layer: FeatureLayer,
    /// What to read from it.
    pub(super) query: Query,
    /// The CRS of the answer.
    pub(super) out_epsg: u32,
    /// Whether the answer gives latitude first.
    pub(super) swap: bool,
    /// From the layer's CRS to the answer's.
    pub(super) transform: Transformer,
    /// `resultType=hits`: the count only.
    pub(super) hits: bool,
}

/// The parameters of a query string.
fn kvp(q: Option<String>) -> Params {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.to_ascii_uppercase(), v.into_owned()))
        .collect()
}

/// The parameters of a request (keys upper-cased), from its query string and, for a POST,
/// its XML body; and the body's `<Query>`, whose filter GetFeature reads.
pub(super) fn read_request(
    q: Option<String>,
    method: &Method,
    body: &[u8],
) -> Result<(Params, Option<Element>), OwsError> {
    let mut p = kvp(q);
    let mut post_query: Option<Element> = None;
    if *method == Method::POST && !body.is_empty() {
        let x = match meridian_xml::parse_bytes(body) {
            Ok(x) => x,
            Err(e) => {
                return Err(err(
                    "InvalidRequest",
                    "body",
                    format!("the request body is not XML: {e}"),
                ))
            }
        };
        let local = x.name.rsplit(':').next().unwrap_or(&x.name).to_string();
        p.insert("REQUEST".into(), local);
        p.insert(
            "SERVICE".into(),
            x.attr_value("service").unwrap_or("WFS").to_string(),
        );
        for (a, k) in [
            ("version", "VERSION"),
            ("count", "COUNT"),
            ("maxFeatures", "COUNT"),
            ("startIndex", "STARTINDEX"),
            ("resultType", "RESULTTYPE"),
            ("outputFormat", "OUTPUTFORMAT"),
            ("expiry", "EXPIRY"),
            ("lockAction", "LOCKACTION"),
        ] {
            if let Some(v) = x.attr_value(a) {
                p.insert(k.into(), v.to_string());
            }
        }
        // A GetFeature's `Query`, or a WFS 1.x LockFeature's `Lock`.
        if let Some(qe) = x
            .children
            .iter()
            .find(|c| c.name.ends_with("Query") || c.name.rsplit(':').next() == Some("Lock"))
        {
            if let Some(t) = qe
                .attr_value("typeNames")
                .or_else(|| qe.attr_value("typeName"))
            {
                p.insert("TYPENAMES".into(), t.to_string());
            }
            if let Some(s) = qe.attr_value("srsName") {
                p.insert("SRSNAME".into(), s.to_string());
            }
            post_query = Some(qe.clone());
        }
        for c in x.children.iter().filter(|c| c.name.ends_with("TypeName")) {
            if let Some(t) = c.text_trim() {
                p.insert("TYPENAMES".into(), t.to_string());
            }
        }
    }
    Ok((p, post_query))
}

/// The feature types a request names.
pub(super) fn type_names(p: &Params) -> Result<Vec<String>, OwsError> {
    let t = p
        .get("TYPENAMES")
        .or_else(|| p.get("TYPENAME"))
        .ok_or_else(|| {
            err(
                "MissingParameterValue",
                "typeNames",
                "the typeNames parameter is missing",
            )
        })?;
    Ok(t.split(',')
        .map(|s| s.trim().trim_matches(['(', ')']).to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

/// A published feature type by name.
pub(super) fn layer_of(
    st: &OgcState,
    ws: Option<&str>,
    name: &str,
    access: &LayerAccess,
) -> Result<FeatureLayer, OwsError> {
    let cat = st.catalog.snapshot();
    let unknown = || {
        err(
            "InvalidParameterValue",
            "typeNames",
            format!("Feature type {name} unknown"),
        )
    };
    let l = find_layer(&cat, &st.data_dir, ws, name).ok_or_else(unknown)?;
    crate::access::read(access, &l.prefix, &l.name)
        .map_err(|r| crate::access::ows_refusal(r, unknown()))?;
    Ok(l)
}

/// A box as a request wrote it (`[x1, y1, x2, y2]` in document order), in the layer's CRS
/// (EPSG:`epsg`): `crs` is its `srsName`; without one, WFS 2.0 and 1.1.0 mean the layer's CRS
/// in URN form (latitude first for geographic CRSs, as GDAL sends its FES envelopes) and WFS
/// 1.0.0 (`v1_0`) x/y.
pub(super) fn box_in_layer_crs(
    b: [f64; 4],
    crs: Option<&str>,
    epsg: u32,
    v1_0: bool,
) -> Result<geo_types::Rect<f64>, FilterError> {
    let (code, latlon) = match crs {
        Some(c) => parse_crs(c).map_err(|e| FilterError::Geometry(e.text))?,
        None => (epsg, !v1_0 && meridian_sources::is_geographic(epsg)),
    };
    let b = if latlon && !v1_0 {
        [b[1], b[0], b[3], b[2]]
    } else {
        b
    };
    if b[0] > b[2] || b[1] > b[3] {
        return Err(FilterError::Geometry(
            "the bbox's lower corner is above its upper corner".into(),
        ));
    }
    transform_bbox(b, code, epsg).map_err(|e| FilterError::Geometry(e.to_string()))
}

/// A geometry as a request wrote it, in the layer's CRS (EPSG:`epsg`): `crs` is its
/// `srsName`; without one, WFS 2.0 and 1.1.0 mean the layer's CRS in URN form (latitude first
/// for geographic CRSs) and WFS 1.0.0 (`v1_0`) x/y.
pub(super) fn to_layer_crs(
    mut g: geo_types::Geometry<f64>,
    crs: Option<&str>,
    epsg: u32,
    v1_0: bool,
) -> Result<geo_types::Geometry<f64>, FilterError> {
    let (code, latlon) = match crs {
        Some(c) => parse_crs(c).map_err(|e| FilterError::Geometry(e.text))?,
        None => (epsg, !v1_0 && meridian_sources::is_geographic(epsg)),
    };
    if latlon && !v1_0 {
        use geo::MapCoordsInPlace;
        g.map_coords_in_place(|c| geo_types::Coord { x: c.y, y: c.x });
    }
    let t = Transformer::new(code, epsg).map_err(|e| FilterError::Geometry(e.to_string()))?;
    t.geometry(&mut g);
    Ok(g)
}

/// Read a GetFeature request: its one feature type, paging, output CRS, filters (BBOX,
/// resource ids, FES, CQL), sorting and properties.
pub(super) fn feature_request(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    post: Option<&Element>,
    access: &LayerAccess,
) -> Result<FeatureRequest, OwsError> {
    let names = type_names(p)?;
    if names.len() != 1 {
        return Err(err(
            "InvalidParameterValue",
            "typeNames",
            "one feature type per GetFeature request",
        ));
    }
    let l = layer_of(st, ws, &names[0], access)?
        .with_view_params(p.get("VIEWPARAMS").map(String::as_str), 0)
        .map_err(|e| err("InvalidParameterValue", "viewparams", e.to_string()))?;
    let num = |k: &str| -> Result<Option<usize>, OwsError> {
        match p.get(k) {
            None => Ok(None),
            Some(v) => v.trim().parse::<usize>().map(Some).map_err(|_| {
                err(
                    "InvalidParameterValue",
                    &k.to_ascii_lowercase(),
                    format!("{k} must be a non-negative integer, got '{v}'"),
                )
            }),
        }
    };
    let mut count = num("COUNT")?
        .or(num("MAXFEATURES")?)
        .unwrap_or(MAX_COUNT)
        .min(MAX_COUNT);
    if l.max_features > 0 {
        count = count.min(l.max_features);
    }
    let offset = num("STARTINDEX")?.unwrap_or(0);
    // Stores take offsets as signed 64-bit numbers (SQL OFFSET).
    if i64::try_from(offset).is_err() {
        return Err(err(
            "InvalidParameterValue",
            "startindex",
            format!("STARTINDEX must be below 2^63, got {offset}"),
        ));
    }
    let hits = p
        .get("RESULTTYPE")
        .is_some_and(|r| r.eq_ignore_ascii_case("hits"));
    // WFS 1.0.0 is always x/y; 1.1.0 and 2.0.0 default to the URN form (latitude first for
    // geographic CRSs).
    let v1_0 = p.get("VERSION").is_some_and(|v| v.starts_with("1.0"));
    let (out_epsg, swap) = match p.get("SRSNAME") {
        Some(s) => parse_crs(s)?,
        None => (l.epsg, !v1_0 && meridian_sources::is_geographic(l.epsg)),
    };
    let swap = swap && !v1_0;
    let transform = Transformer::new(l.epsg, out_epsg)
        .map_err(|e| err("InvalidParameterValue", "srsName", e.to_string()))?;
    let epsg = l.epsg;
    let envelope = move |b: [f64; 4], crs: Option<&str>| box_in_layer_crs(b, crs, epsg, v1_0);
    let geometry_env = move |g: geo_types::Geometry<f64>,
                             crs: Option<&str>|
          -> Result<geo_types::Geometry<f64>, FilterError> {
        to_layer_crs(g, crs, epsg, v1_0)
    };
    let mut filters = Vec::new();
    if let Some(b) = p.get("BBOX") {
        let parts: Vec<&str> = b.split(',').collect();
        if parts.len() != 4 && parts.len() != 5 {
            return Err(err(
                "InvalidParameterValue",
                "bbox",
                "BBOX must be minx,miny,maxx,maxy[,crs]",
            ));
        }
        let v: Vec<f64> = parts[..4]
            .iter()
            .map(|x| x.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| err("InvalidParameterValue", "bbox", format!("bad BBOX '{b}'")))?;
        let r = envelope([v[0], v[1], v[2], v[3]], parts.get(4).copied())
            .map_err(|e| err("InvalidParameterValue", "bbox", e.to_string()))?;
        filters.push(Filter::BBox(r));
    }
    if let Some(ids) = p.get("RESOURCEID").or_else(|| p.get("FEATUREID")) {
        filters.push(Filter::Ids(
            ids.split(',').map(|s| s.trim().to_string()).collect(),
        ));
    }
    if let Some(f) = p.get("FILTER") {
        let x = meridian_xml::parse(f).map_err(|e| {
            err(
                "InvalidParameterValue",
                "filter",
                format!("the filter is not XML: {e}"),
            )
        })?;
        filters.push(
            parse_filter(&x, &envelope, &geometry_env)
                .map_err(|e| err("InvalidParameterValue", "filter", e.to_string()))?,
        );
    }
    if let Some(qe) = post {
        if let Some(fx) = qe.children.iter().find(|c| c.name.ends_with("Filter")) {
            filters.push(
                parse_filter(fx, &envelope, &geometry_env)
                    .map_err(|e| err("InvalidParameterValue", "filter", e.to_string()))?,
            );
        }
    }
    if let Some(c) = p.get("CQL_FILTER") {
        // ECQL's BBOX without a CRS is in the layer's CRS, x before y.
        let cql_env = |b: [f64; 4], crs: Option<&str>| match crs {
            None => transform_bbox(b, epsg, epsg).map_err(|e| FilterError::Geometry(e.to_string())),
            Some(_) => envelope(b, crs),
        };
        let f = meridian_features::filter::cql::parse_cql(c, &cql_env).map_err(|e| {
            err(
                "InvalidParameterValue",
                "cql_filter",
                format!("bad CQL_FILTER: {e}"),
            )
        })?;
        filters.push(f);
    }
    // The layer's own filter: only what it selects is served.
    match l.own_filter() {
        Ok(Some(f)) => filters.push(f),
        Ok(None) => {}
        Err(e) => {
            return Err(err(
                "NoApplicableCode",
                "",
                format!(
                    "the layer {}'s own cqlFilter does not read: {e}",
                    l.qualified()
                ),
            ))
        }
    }
    let sort: Vec<SortKey> = p
        .get("SORTBY")
        .map(|s| {
            s.split(',')
                .filter(|x| !x.trim().is_empty())
                .map(|x| {
                    let mut it = x.split_whitespace();
                    let prop = it
                        .next()
                        .unwrap_or("")
                        .rsplit(':')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let dir = it.next().unwrap_or("ASC").to_ascii_uppercase();
                    SortKey {
                        property: prop,
                        descending: dir == "DESC" || dir == "D",
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // `*` (OWSLib's default on 1.0 and 1.1) or nothing: every property.
    let properties: Option<Vec<String>> = p
        .get("PROPERTYNAME")
        .map(|s| {
            s.split(',')
                .map(|x| {
                    x.trim()
                        .trim_matches(['(', ')'])
                        .rsplit(':')
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .collect::<Vec<String>>()
        })
        .filter(|names| !names.iter().all(|n| n.is_empty() || n == "*"));
    let filter = Filter::all_of(filters);
    Ok(FeatureRequest {
        query: Query {
            filter,
            sort,
            offset,
            limit: if hits { 0 } else { count },
            properties,
        },
        layer: l,
        out_epsg,
        swap,
        transform,
        hits,
    })
}
