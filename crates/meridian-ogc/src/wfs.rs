//! WFS 2.0.0 (GetCapabilities also as 1.1.0 and 1.0.0): KVP and POST XML, GeoJSON and GML 3.2.

use crate::fes::parse_filter;
use crate::layers::{find_layer, published_layers, FeatureLayer};
use crate::oapif::bbox_to_native;
use crate::OgcState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use meridian_catalog::Kind;
use meridian_features::{
    gml_feature_collection, query, FeatureCollectionJson, Filter, GmlOptions, Query, SortKey,
    Transformer,
};
use meridian_xml::Element;
use std::collections::HashMap;
use std::sync::Arc;

/// Largest page a request may ask for.
const MAX_COUNT: usize = 100_000;

/// An OWS exception.
struct OwsError {
    code: &'static str,
    locator: String,
    text: String,
}

fn err(code: &'static str, locator: &str, text: impl Into<String>) -> OwsError {
    OwsError {
        code,
        locator: locator.into(),
        text: text.into(),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl IntoResponse for OwsError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "OperationNotSupported" => 400,
            "NoApplicableCode" => 500,
            "NotFound" => 404,
            _ => 400,
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows/1.1\" version=\"2.0.0\"><ows:Exception exceptionCode=\"{}\" locator=\"{}\"><ows:ExceptionText>{}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>",
            self.code,
            xml_escape(&self.locator),
            xml_escape(&self.text)
        );
        (
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
            [("content-type", "application/xml")],
            body,
        )
            .into_response()
    }
}

/// UTC now as `YYYY-MM-DDThh:mm:ssZ`.
pub(crate) fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A CRS named in a request: its EPSG code and whether coordinates come latitude first.
fn parse_crs(s: &str) -> Result<(u32, bool), OwsError> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    if upper.contains("CRS84") || upper == "CRS:84" {
        return Ok((4326, false));
    }
    let code: u32 = t
        .rsplit([':', '/'])
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            err(
                "InvalidParameterValue",
                "srsName",
                format!("unknown CRS '{s}'"),
            )
        })?;
    let urn = upper.starts_with("URN:") || upper.starts_with("HTTP");
    Ok((code, urn && meridian_sources::is_geographic(code)))
}

fn service_object(st: &OgcState, ws: Option<&str>) -> Option<Arc<meridian_catalog::Object>> {
    let cat = st.catalog.snapshot();
    let ws_id = ws
        .and_then(|w| cat.find(Kind::Workspace, None, w))
        .map(|w| w.id().to_string());
    ws_id
        .and_then(|id| cat.service("wfs", Some(&id)).cloned())
        .or_else(|| cat.service("wfs", None).cloned())
}

/// `/geoserver/wfs`, `/geoserver/ows`.
pub async fn global(
    State(st): State<Arc<OgcState>>,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(st, None, method, q, headers, body).await
}

/// `/geoserver/{ws}/wfs`, `/geoserver/{ws}/ows`.
pub async fn workspace(
    State(st): State<Arc<OgcState>>,
    Path(ws): Path<String>,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cat = st.catalog.snapshot();
    if cat.find(Kind::Workspace, None, &ws).is_none() {
        return err(
            "InvalidParameterValue",
            "workspace",
            format!("no workspace '{ws}'"),
        )
        .into_response();
    }
    handle(st, Some(ws), method, q, headers, body).await
}

fn kvp(q: Option<String>) -> HashMap<String, String> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.to_ascii_uppercase(), v.into_owned()))
        .collect()
}

async fn handle(
    st: Arc<OgcState>,
    ws: Option<String>,
    method: Method,
    q: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let endpoint = match &ws {
        Some(w) => format!("http://{host}/geoserver/{w}/wfs"),
        None => format!("http://{host}/geoserver/wfs"),
    };
    let mut p = kvp(q);
    let mut post_query: Option<Element> = None;
    if method == Method::POST && !body.is_empty() {
        let x = match meridian_xml::parse_bytes(&body) {
            Ok(x) => x,
            Err(e) => {
                return err(
                    "InvalidRequest",
                    "body",
                    format!("the request body is not XML: {e}"),
                )
                .into_response()
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
        ] {
            if let Some(v) = x.attr_value(a) {
                p.insert(k.into(), v.to_string());
            }
        }
        if let Some(qe) = x.children.iter().find(|c| c.name.ends_with("Query")) {
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
    if let Some(svc) = p.get("SERVICE") {
        if !svc.eq_ignore_ascii_case("WFS") {
            return err(
                "InvalidParameterValue",
                "service",
                format!("this endpoint serves WFS, not '{svc}'"),
            )
            .into_response();
        }
    }
    let svc = service_object(&st, ws.as_deref());
    if svc.as_ref().and_then(|s| s.xml().child_text("enabled")) == Some("false") {
        return err(
            "ServiceNotEnabled",
            "service",
            "the WFS service is disabled",
        )
        .into_response();
    }
    let request = p.get("REQUEST").cloned().unwrap_or_default();
    let result = match request.to_ascii_lowercase().as_str() {
        "getcapabilities" => {
            let svc = svc.map(|o| o.element());
            capabilities(&st, ws.as_deref(), &p, svc.as_ref(), &endpoint)
        }
        "describefeaturetype" => tokio::task::block_in_place(|| describe(&st, ws.as_deref(), &p)),
        "getfeature" => get_feature(&st, ws.as_deref(), &p, post_query.as_ref(), &endpoint).await,
        "" => Err(err(
            "MissingParameterValue",
            "request",
            "the REQUEST parameter is missing",
        )),
        other => Err(err(
            "OperationNotSupported",
            "request",
            format!("the operation '{other}' is not supported"),
        )),
    };
    match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn text(svc: Option<&Element>, name: &str, default: &str) -> String {
    xml_escape(svc.and_then(|s| s.child_text(name)).unwrap_or(default))
}

fn capabilities(
    st: &OgcState,
    ws: Option<&str>,
    p: &HashMap<String, String>,
    svc: Option<&Element>,
    endpoint: &str,
) -> Result<Response, OwsError> {
    let version = p
        .get("ACCEPTVERSIONS")
        .and_then(|v| {
            v.split(',')
                .find(|x| ["2.0.0", "1.1.0", "1.0.0"].contains(&x.trim()))
        })
        .map(|v| v.trim().to_string())
        .or_else(|| p.get("VERSION").cloned())
        .unwrap_or_else(|| "2.0.0".into());
    let cat = st.catalog.snapshot();
    let layers: Vec<FeatureLayer> = published_layers(&cat, &st.data_dir, ws)
        .into_iter()
        .filter(|l| l.advertised)
        .collect();
    let mut ns: Vec<(String, String)> = layers
        .iter()
        .map(|l| (l.prefix.clone(), l.uri.clone()))
        .collect();
    ns.sort();
    ns.dedup();
    let xmlns: String = ns
        .iter()
        .map(|(p, u)| format!(" xmlns:{p}=\"{}\"", xml_escape(u)))
        .collect();
    let title = text(svc, "title", "Meridian Web Feature Service");
    let abstract_ = text(svc, "abstrct", "");
    let keywords: String = svc
        .and_then(|s| s.get("keywords"))
        .map(|k| {
            k.children
                .iter()
                .filter_map(|c| c.text_trim())
                .map(|t| format!("<ows:Keyword>{}</ows:Keyword>", xml_escape(t)))
                .collect()
        })
        .unwrap_or_default();
    let name = |l: &FeatureLayer| {
        if ws.is_some() {
            l.name.clone()
        } else {
            l.qualified()
        }
    };
    let formats = "<wfs:OutputFormats><wfs:Format>application/gml+xml; version=3.2</wfs:Format><wfs:Format>application/json</wfs:Format></wfs:OutputFormats>";
    let body = match version.as_str() {
        "1.0.0" => {
            let fts: String = layers
                .iter()
                .map(|l| {
                    let bb = l.lat_lon.map(|b| format!("<LatLongBoundingBox minx=\"{}\" miny=\"{}\" maxx=\"{}\" maxy=\"{}\"/>", b.minx, b.miny, b.maxx, b.maxy)).unwrap_or_default();
                    format!("<FeatureType><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><SRS>EPSG:{}</SRS>{bb}</FeatureType>", name(l), xml_escape(&l.title), xml_escape(&l.abstract_), l.epsg)
                })
                .collect();
            format!("<WFS_Capabilities version=\"1.0.0\" xmlns=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\"{xmlns}><Service><Name>WFS</Name><Title>{title}</Title><Abstract>{abstract_}</Abstract><OnlineResource>{endpoint}</OnlineResource></Service><Capability><Request><GetCapabilities><DCPType><HTTP><Get onlineResource=\"{endpoint}?\"/></HTTP></DCPType></GetCapabilities><DescribeFeatureType><SchemaDescriptionLanguage><XMLSCHEMA/></SchemaDescriptionLanguage><DCPType><HTTP><Get onlineResource=\"{endpoint}?\"/></HTTP></DCPType></DescribeFeatureType><GetFeature><ResultFormat><GML2/></ResultFormat><DCPType><HTTP><Get onlineResource=\"{endpoint}?\"/></HTTP></DCPType></GetFeature></Request></Capability><FeatureTypeList>{fts}</FeatureTypeList></WFS_Capabilities>")
        }
        "1.1.0" => {
            let fts: String = layers
                .iter()
                .map(|l| {
                    let bb = l.lat_lon.map(|b| format!("<ows:WGS84BoundingBox><ows:LowerCorner>{} {}</ows:LowerCorner><ows:UpperCorner>{} {}</ows:UpperCorner></ows:WGS84BoundingBox>", b.minx, b.miny, b.maxx, b.maxy)).unwrap_or_default();
                    format!("<FeatureType><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><DefaultSRS>urn:x-ogc:def:crs:EPSG:{}</DefaultSRS>{bb}</FeatureType>", name(l), xml_escape(&l.title), xml_escape(&l.abstract_), l.epsg)
                })
                .collect();
            format!("<wfs:WFS_Capabilities version=\"1.1.0\" xmlns=\"http://www.opengis.net/wfs\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ows=\"http://www.opengis.net/ows\" xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"{xmlns}><ows:ServiceIdentification><ows:Title>{title}</ows:Title><ows:Abstract>{abstract_}</ows:Abstract><ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>1.1.0</ows:ServiceTypeVersion></ows:ServiceIdentification><ows:OperationsMetadata><ows:Operation name=\"GetCapabilities\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP></ows:Operation><ows:Operation name=\"DescribeFeatureType\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP></ows:Operation><ows:Operation name=\"GetFeature\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP></ows:Operation></ows:OperationsMetadata><FeatureTypeList>{fts}</FeatureTypeList><ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:GeometryOperands><ogc:GeometryOperand>gml:Envelope</ogc:GeometryOperand></ogc:GeometryOperands><ogc:SpatialOperators><ogc:SpatialOperator name=\"BBOX\"/></ogc:SpatialOperators></ogc:Spatial_Capabilities><ogc:Scalar_Capabilities><ogc:LogicalOperators/><ogc:ComparisonOperators><ogc:ComparisonOperator>EqualTo</ogc:ComparisonOperator><ogc:ComparisonOperator>LessThan</ogc:ComparisonOperator><ogc:ComparisonOperator>GreaterThan</ogc:ComparisonOperator><ogc:ComparisonOperator>Like</ogc:ComparisonOperator><ogc:ComparisonOperator>Between</ogc:ComparisonOperator><ogc:ComparisonOperator>NullCheck</ogc:ComparisonOperator></ogc:ComparisonOperators></ogc:Scalar_Capabilities><ogc:Id_Capabilities><ogc:FID/></ogc:Id_Capabilities></ogc:Filter_Capabilities></wfs:WFS_Capabilities>")
        }
        _ => {
            let fts: String = layers
                .iter()
                .map(|l| {
                    let bb = l.lat_lon.map(|b| format!("<ows:WGS84BoundingBox><ows:LowerCorner>{} {}</ows:LowerCorner><ows:UpperCorner>{} {}</ows:UpperCorner></ows:WGS84BoundingBox>", b.minx, b.miny, b.maxx, b.maxy)).unwrap_or_default();
                    let kw: String = l.keywords.iter().map(|k| format!("<ows:Keyword>{}</ows:Keyword>", xml_escape(k))).collect();
                    format!("<wfs:FeatureType><wfs:Name>{}</wfs:Name><wfs:Title>{}</wfs:Title><wfs:Abstract>{}</wfs:Abstract><ows:Keywords>{kw}</ows:Keywords><wfs:DefaultCRS>urn:ogc:def:crs:EPSG::{}</wfs:DefaultCRS>{formats}{bb}</wfs:FeatureType>", name(l), xml_escape(&l.title), xml_escape(&l.abstract_), l.epsg)
                })
                .collect();
            let op = |n: &str, extra: &str| {
                format!("<ows:Operation name=\"{n}\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP>{extra}</ows:Operation>")
            };
            let gf_formats = "<ows:Parameter name=\"outputFormat\"><ows:AllowedValues><ows:Value>application/gml+xml; version=3.2</ows:Value><ows:Value>application/json</ows:Value></ows:AllowedValues></ows:Parameter><ows:Parameter name=\"resultType\"><ows:AllowedValues><ows:Value>results</ows:Value><ows:Value>hits</ows:Value></ows:AllowedValues></ows:Parameter>";
            let constraint = |n: &str, v: &str| {
                format!("<ows:Constraint name=\"{n}\"><ows:NoValues/><ows:DefaultValue>{v}</ows:DefaultValue></ows:Constraint>")
            };
            let conf = |n: &str, v: &str| {
                format!("<fes:Constraint name=\"{n}\"><ows:NoValues/><ows:DefaultValue>{v}</ows:DefaultValue></fes:Constraint>")
            };
            let count_default = constraint("CountDefault", &MAX_COUNT.to_string());
            let cmp: String = [
                "PropertyIsEqualTo",
                "PropertyIsNotEqualTo",
                "PropertyIsLessThan",
                "PropertyIsGreaterThan",
                "PropertyIsLessThanOrEqualTo",
                "PropertyIsGreaterThanOrEqualTo",
                "PropertyIsLike",
                "PropertyIsNull",
                "PropertyIsBetween",
            ]
            .iter()
            .map(|c| format!("<fes:ComparisonOperator name=\"{c}\"/>"))
            .collect();
            format!(
                "<wfs:WFS_Capabilities version=\"2.0.0\" xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:ows=\"http://www.opengis.net/ows/1.1\" xmlns:fes=\"http://www.opengis.net/fes/2.0\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.opengis.net/wfs/2.0 http://schemas.opengis.net/wfs/2.0/wfs.xsd\"{xmlns}>\
<ows:ServiceIdentification><ows:Title>{title}</ows:Title><ows:Abstract>{abstract_}</ows:Abstract><ows:Keywords>{keywords}</ows:Keywords><ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion><ows:ServiceTypeVersion>1.1.0</ows:ServiceTypeVersion><ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion><ows:Fees>{fees}</ows:Fees><ows:AccessConstraints>{ac}</ows:AccessConstraints></ows:ServiceIdentification>\
<ows:ServiceProvider><ows:ProviderName>Meridian</ows:ProviderName></ows:ServiceProvider>\
<ows:OperationsMetadata>{gc}{dft}{gf}{c1}{c2}{c3}{c4}</ows:OperationsMetadata>\
<wfs:FeatureTypeList>{fts}</wfs:FeatureTypeList>\
<fes:Filter_Capabilities><fes:Conformance>{f1}{f2}{f3}{f4}{f5}{f6}{f7}{f8}{f9}</fes:Conformance><fes:Id_Capabilities><fes:ResourceIdentifier name=\"fes:ResourceId\"/></fes:Id_Capabilities><fes:Scalar_Capabilities><fes:LogicalOperators/><fes:ComparisonOperators>{cmp}</fes:ComparisonOperators></fes:Scalar_Capabilities><fes:Spatial_Capabilities><fes:GeometryOperands><fes:GeometryOperand name=\"gml:Envelope\"/><fes:GeometryOperand name=\"gml:Point\"/><fes:GeometryOperand name=\"gml:LineString\"/><fes:GeometryOperand name=\"gml:Polygon\"/></fes:GeometryOperands><fes:SpatialOperators><fes:SpatialOperator name=\"BBOX\"/><fes:SpatialOperator name=\"Intersects\"/><fes:SpatialOperator name=\"Disjoint\"/><fes:SpatialOperator name=\"Within\"/><fes:SpatialOperator name=\"Contains\"/></fes:SpatialOperators></fes:Spatial_Capabilities></fes:Filter_Capabilities>\
</wfs:WFS_Capabilities>",
                fees = text(svc, "fees", "NONE"),
                ac = text(svc, "accessConstraints", "NONE"),
                gc = op("GetCapabilities", "<ows:Parameter name=\"AcceptVersions\"><ows:AllowedValues><ows:Value>2.0.0</ows:Value><ows:Value>1.1.0</ows:Value><ows:Value>1.0.0</ows:Value></ows:AllowedValues></ows:Parameter>"),
                dft = op("DescribeFeatureType", ""),
                gf = op("GetFeature", gf_formats),
                c1 = constraint("ImplementsBasicWFS", "TRUE"),
                c2 = constraint("ImplementsResultPaging", "TRUE"),
                c3 = constraint("KVPEncoding", "TRUE"),
                c4 = count_default,
                f1 = conf("ImplementsQuery", "TRUE"),
                f2 = conf("ImplementsAdHocQuery", "TRUE"),
                f3 = conf("ImplementsResourceId", "TRUE"),
                f4 = conf("ImplementsMinStandardFilter", "TRUE"),
                f5 = conf("ImplementsStandardFilter", "TRUE"),
                f6 = conf("ImplementsMinSpatialFilter", "TRUE"),
                f7 = conf("ImplementsSorting", "TRUE"),
                f8 = conf("ImplementsMinimumXPath", "TRUE"),
                f9 = conf("ImplementsSpatialFilter", "TRUE"),
            )
        }
    };
    Ok((
        [("content-type", "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
        .into_response())
}

fn type_names(p: &HashMap<String, String>) -> Result<Vec<String>, OwsError> {
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

fn layer_of(st: &OgcState, ws: Option<&str>, name: &str) -> Result<FeatureLayer, OwsError> {
    let cat = st.catalog.snapshot();
    find_layer(&cat, &st.data_dir, ws, name).ok_or_else(|| {
        err(
            "InvalidParameterValue",
            "typeNames",
            format!("Feature type {name} unknown"),
        )
    })
}

fn xsd_type(binding: &str) -> &'static str {
    match binding.rsplit('.').next().unwrap_or("") {
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

fn describe(
    st: &OgcState,
    ws: Option<&str>,
    p: &HashMap<String, String>,
) -> Result<Response, OwsError> {
    let names = match type_names(p) {
        Ok(n) => n,
        Err(_) => {
            let cat = st.catalog.snapshot();
            published_layers(&cat, &st.data_dir, ws)
                .into_iter()
                .filter(|l| l.advertised)
                .map(|l| l.qualified())
                .collect()
        }
    };
    let layers: Vec<FeatureLayer> = names
        .iter()
        .map(|n| layer_of(st, ws, n))
        .collect::<Result<_, _>>()?;
    let Some(first) = layers.first() else {
        return Err(err(
            "InvalidParameterValue",
            "typeNames",
            "no feature type to describe",
        ));
    };
    let mut types = String::new();
    for l in layers.iter().filter(|l| l.uri == first.uri) {
        let (geom, attrs) = l.attributes();
        let geom_binding = meridian_sources::describe(&l.store, &l.native)
            .ok()
            .and_then(|s| {
                s.attributes
                    .into_iter()
                    .find(|a| a.name == geom)
                    .map(|a| a.binding)
            })
            .unwrap_or_default();
        let mut els = format!("<xsd:element maxOccurs=\"1\" minOccurs=\"0\" name=\"{geom}\" nillable=\"true\" type=\"{}\"/>", xsd_type(&geom_binding));
        for (a, b) in &attrs {
            els.push_str(&format!("<xsd:element maxOccurs=\"1\" minOccurs=\"0\" name=\"{}\" nillable=\"true\" type=\"{}\"/>", xml_escape(a), xsd_type(b)));
        }
        types.push_str(&format!(
            "<xsd:complexType name=\"{n}Type\"><xsd:complexContent><xsd:extension base=\"gml:AbstractFeatureType\"><xsd:sequence>{els}</xsd:sequence></xsd:extension></xsd:complexContent></xsd:complexType><xsd:element name=\"{n}\" substitutionGroup=\"gml:AbstractFeature\" type=\"{p}:{n}Type\"/>",
            n = l.name,
            p = l.prefix
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xsd:schema xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:{p}=\"{u}\" elementFormDefault=\"qualified\" targetNamespace=\"{u}\"><xsd:import namespace=\"http://www.opengis.net/gml/3.2\" schemaLocation=\"http://schemas.opengis.net/gml/3.2.1/gml.xsd\"/>{types}</xsd:schema>",
        p = first.prefix,
        u = xml_escape(&first.uri)
    );
    Ok(([("content-type", "application/gml+xml; version=3.2")], body).into_response())
}

async fn get_feature(
    st: &OgcState,
    ws: Option<&str>,
    p: &HashMap<String, String>,
    post: Option<&Element>,
    endpoint: &str,
) -> Result<Response, OwsError> {
    let names = type_names(p)?;
    if names.len() != 1 {
        return Err(err(
            "InvalidParameterValue",
            "typeNames",
            "one feature type per GetFeature request",
        ));
    }
    let l = layer_of(st, ws, &names[0])?;
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
    let envelope = move |b: [f64; 4], crs: Option<&str>| -> Result<geo_types::Rect<f64>, String> {
        // Without a CRS, WFS 2.0 means the type's default CRS in URN form: latitude first
        // for geographic CRSs (as GDAL sends its FES envelopes).
        let (code, latlon) = match crs {
            Some(c) => parse_crs(c).map_err(|e| e.text)?,
            None => (epsg, meridian_sources::is_geographic(epsg)),
        };
        let b = if latlon { [b[1], b[0], b[3], b[2]] } else { b };
        if b[0] > b[2] || b[1] > b[3] {
            return Err("the bbox's lower corner is above its upper corner".into());
        }
        bbox_to_native(b, code, epsg)
    };
    let geometry_env = move |mut g: geo_types::Geometry<f64>,
                             crs: Option<&str>|
          -> Result<geo_types::Geometry<f64>, String> {
        let (code, latlon) = match crs {
            Some(c) => parse_crs(c).map_err(|e| e.text)?,
            None => (epsg, meridian_sources::is_geographic(epsg)),
        };
        if latlon {
            use geo::MapCoordsInPlace;
            g.map_coords_in_place(|c| geo_types::Coord { x: c.y, y: c.x });
        }
        let t = Transformer::new(code, epsg).map_err(|e| e.to_string())?;
        t.geometry(&mut g);
        Ok(g)
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
            .map_err(|e| err("InvalidParameterValue", "bbox", e))?;
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
                .map_err(|e| err("InvalidParameterValue", "filter", e))?,
        );
    }
    if let Some(qe) = post {
        if let Some(fx) = qe.children.iter().find(|c| c.name.ends_with("Filter")) {
            filters.push(
                parse_filter(fx, &envelope, &geometry_env)
                    .map_err(|e| err("InvalidParameterValue", "filter", e))?,
            );
        }
    }
    if let Some(c) = p.get("CQL_FILTER") {
        // ECQL's BBOX without a CRS is in the layer's CRS, x before y.
        let cql_env = |b: [f64; 4], crs: Option<&str>| match crs {
            None => bbox_to_native(b, epsg, epsg),
            Some(_) => envelope(b, crs),
        };
        let f = crate::cql::parse_cql(c, &cql_env).map_err(|e| {
            err(
                "InvalidParameterValue",
                "cql_filter",
                format!("bad CQL_FILTER: {e}"),
            )
        })?;
        filters.push(f);
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
    let properties: Option<Vec<String>> = p.get("PROPERTYNAME").map(|s| {
        s.split(',')
            .map(|x| {
                x.trim()
                    .trim_matches(['(', ')'])
                    .rsplit(':')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    });
    let filter = Filter::all_of(filters);
    let q = Query {
        filter,
        sort,
        offset,
        limit: if hits { 0 } else { count },
        properties,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_and_axis_order() {
        assert_eq!(parse_crs("EPSG:4326").ok(), Some((4326, false)));
        assert_eq!(
            parse_crs("urn:ogc:def:crs:EPSG::4326").ok(),
            Some((4326, true))
        );
        assert_eq!(
            parse_crs("http://www.opengis.net/def/crs/EPSG/0/26713").ok(),
            Some((26713, false))
        );
        assert_eq!(
            parse_crs("urn:ogc:def:crs:OGC:1.3:CRS84").ok(),
            Some((4326, false))
        );
        assert!(parse_crs("nonsense").is_err());
        assert!(timestamp().ends_with('Z') && timestamp().len() == 20);
    }
}
