//! WFS GetCapabilities: the service's settings and the advertised feature types, in the
//! documents of WFS 2.0.0, 1.1.0 and 1.0.0.

use super::request::Params;
use super::transaction::ServiceLevel;
use super::MAX_COUNT;
use crate::document::Document;
use crate::layers::{published_iter, FeatureLayer};
use crate::ows::OwsError;
use crate::OgcState;
use axum::response::Response;
use meridian_xml::{escape, Element};
use std::collections::BTreeSet;

/// The abstract GeoServer's sample `wfs.xml` ships with.
const STOCK_ABSTRACT: &str = "This is the reference implementation of WFS 1.0.0 and WFS 1.1.0, supports all WFS operations including Transaction.";

/// What is answered instead of [`STOCK_ABSTRACT`]: what this service does, by service level.
fn own_abstract(level: ServiceLevel) -> &'static str {
    match level {
        ServiceLevel::Basic => "Meridian's WFS 2.0.0, 1.1.0 and 1.0.0: GetCapabilities, DescribeFeatureType, GetFeature, GetPropertyValue and the GetFeatureById stored query (read only).",
        ServiceLevel::Transactional => "Meridian's WFS 2.0.0, 1.1.0 and 1.0.0: GetCapabilities, DescribeFeatureType, GetFeature, GetPropertyValue, the GetFeatureById stored query and Transaction.",
        ServiceLevel::Complete => "Meridian's WFS 2.0.0, 1.1.0 and 1.0.0: GetCapabilities, DescribeFeatureType, GetFeature, GetPropertyValue, the GetFeatureById stored query, Transaction, LockFeature and GetFeatureWithLock.",
    }
}

/// A field of the service's settings, escaped.
fn text(svc: Option<&Element>, name: &str, default: &str) -> String {
    escape(svc.and_then(|s| s.child_text(name)).unwrap_or(default))
}

/// Keywords as `<ows:Keyword>` elements.
fn ows_keywords(keywords: &[String]) -> String {
    keywords
        .iter()
        .map(|k| format!("<ows:Keyword>{}</ows:Keyword>", escape(k)))
        .collect()
}

/// GetCapabilities, as 2.0.0, 1.1.0 or 1.0.0.
pub(super) fn capabilities(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    svc: Option<&Element>,
    endpoint: &str,
    access: &meridian_security::LayerAccess,
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
    let order = st.order.of(&cat);
    let (data_dir, only) = (st.data_dir.clone(), ws.map(str::to_string));
    let access = access.clone();
    let writer = access.clone();
    // The advertised feature types the caller may see, made one at a time each time they
    // are walked.
    let advertised = move || {
        let access = access.clone();
        published_iter(cat.clone(), order.clone(), data_dir.clone(), only.clone())
            .filter(move |l| l.advertised && crate::access::listed(&access, &l.prefix, &l.name))
    };
    let ns: BTreeSet<(String, String)> = advertised().map(|l| (l.prefix, l.uri)).collect();
    let xmlns: String = ns
        .iter()
        .map(|(p, u)| format!(" xmlns:{p}=\"{}\"", escape(u)))
        .collect();
    let title = text(svc, "title", "Meridian Web Feature Service");
    // Where GET requests go (the endpoint may carry the caller's authkey already).
    let get = escape(&crate::access::query_base(endpoint));
    let level = ServiceLevel::of(svc);
    let writes = level >= ServiceLevel::Transactional;
    let locks = level >= ServiceLevel::Complete;
    let abstract_ = match svc.and_then(|s| s.child_text("abstrct")) {
        // GeoServer's stock text describes GeoServer; say what this service does.
        Some(STOCK_ABSTRACT) => escape(own_abstract(level)),
        _ => text(svc, "abstrct", ""),
    };
    // The service's keywords, without GeoServer's `\@language` suffixes.
    let plain_keywords: Vec<String> = svc
        .and_then(|s| s.get("keywords"))
        .map(|k| {
            k.children
                .iter()
                .filter_map(|c| c.text_trim())
                .map(|t| t.split("\\@").next().unwrap_or(t).to_string())
                .collect()
        })
        .unwrap_or_default();
    let keywords = ows_keywords(&plain_keywords);
    let by_ws = ws.is_some();
    let name = move |l: &FeatureLayer| {
        if by_ws {
            l.name.clone()
        } else {
            l.qualified()
        }
    };
    // Where the feature types go in the document; each is written when its turn comes.
    let fts = SPLIT;
    let piece: Box<dyn Fn(&FeatureLayer) -> String + Send>;
    let formats = "<wfs:OutputFormats><wfs:Format>application/gml+xml; version=3.2</wfs:Format><wfs:Format>application/json</wfs:Format></wfs:OutputFormats>";
    let body = match version.as_str() {
        "1.0.0" => {
            piece = Box::new(move |l: &FeatureLayer| {
                let bb = l
                    .lat_lon
                    .map(|b| {
                        format!(
                            "<LatLongBoundingBox minx=\"{}\" miny=\"{}\" maxx=\"{}\" maxy=\"{}\"/>",
                            b.minx, b.miny, b.maxx, b.maxy
                        )
                    })
                    .unwrap_or_default();
                format!("<FeatureType><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><Keywords>{}</Keywords><SRS>EPSG:{}</SRS>{ro}{bb}</FeatureType>", name(l), escape(&l.title), escape(&l.abstract_), escape(&l.keywords.join(", ")), l.epsg, ro = if writes && !writer.can(&l.prefix, &l.name, meridian_security::Mode::Write) { "<Operations><Query/></Operations>" } else { "" })
            });
            format!("<WFS_Capabilities version=\"1.0.0\" xmlns=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\"{xmlns}><Service><Name>WFS</Name><Title>{title}</Title><Abstract>{abstract_}</Abstract><Keywords>{kw10}</Keywords><OnlineResource>{endpoint}</OnlineResource><Fees>{fees}</Fees><AccessConstraints>{ac}</AccessConstraints></Service><Capability><Request><GetCapabilities><DCPType><HTTP><Get onlineResource=\"{get}\"/></HTTP></DCPType><DCPType><HTTP><Post onlineResource=\"{endpoint}\"/></HTTP></DCPType></GetCapabilities><DescribeFeatureType><SchemaDescriptionLanguage><XMLSCHEMA/></SchemaDescriptionLanguage><DCPType><HTTP><Get onlineResource=\"{get}\"/></HTTP></DCPType><DCPType><HTTP><Post onlineResource=\"{endpoint}\"/></HTTP></DCPType></DescribeFeatureType><GetFeature><ResultFormat><GML2/><GML3/><SHAPE-ZIP/><CSV/><JSON/><KML/></ResultFormat><DCPType><HTTP><Get onlineResource=\"{get}\"/></HTTP></DCPType><DCPType><HTTP><Post onlineResource=\"{endpoint}\"/></HTTP></DCPType></GetFeature>{t}{lk}</Request></Capability><FeatureTypeList>{ops}{fts}</FeatureTypeList><ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:Spatial_Operators><ogc:Disjoint/><ogc:Intersect/><ogc:Within/><ogc:Contains/><ogc:BBOX/></ogc:Spatial_Operators></ogc:Spatial_Capabilities><ogc:Scalar_Capabilities><ogc:Logical_Operators/><ogc:Comparison_Operators><ogc:Simple_Comparisons/><ogc:Between/><ogc:Like/><ogc:NullCheck/></ogc:Comparison_Operators></ogc:Scalar_Capabilities></ogc:Filter_Capabilities></WFS_Capabilities>",
                fees = text(svc, "fees", "NONE"),
                ac = text(svc, "accessConstraints", "NONE"),
                kw10 = escape(&plain_keywords.join(", ")),
                t = if writes { format!("<Transaction><DCPType><HTTP><Post onlineResource=\"{endpoint}\"/></HTTP></DCPType></Transaction>") } else { String::new() },
                lk = if locks { format!("<LockFeature><DCPType><HTTP><Get onlineResource=\"{get}\"/></HTTP></DCPType><DCPType><HTTP><Post onlineResource=\"{endpoint}\"/></HTTP></DCPType></LockFeature><GetFeatureWithLock><ResultFormat><GML2/></ResultFormat><DCPType><HTTP><Get onlineResource=\"{get}\"/></HTTP></DCPType><DCPType><HTTP><Post onlineResource=\"{endpoint}\"/></HTTP></DCPType></GetFeatureWithLock>") } else { String::new() },
                ops = match level {
                    ServiceLevel::Basic => "<Operations><Query/></Operations>",
                    ServiceLevel::Transactional => "<Operations><Query/><Insert/><Update/><Delete/></Operations>",
                    ServiceLevel::Complete => "<Operations><Query/><Insert/><Update/><Delete/><Lock/></Operations>",
                },
            )
        }
        "1.1.0" => {
            piece = Box::new(move |l: &FeatureLayer| {
                let bb = l.lat_lon.map(|b| format!("<ows:WGS84BoundingBox><ows:LowerCorner>{} {}</ows:LowerCorner><ows:UpperCorner>{} {}</ows:UpperCorner></ows:WGS84BoundingBox>", b.minx, b.miny, b.maxx, b.maxy)).unwrap_or_default();
                let kw = ows_keywords(&l.keywords);
                format!("<FeatureType><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><ows:Keywords>{kw}</ows:Keywords><DefaultSRS>urn:x-ogc:def:crs:EPSG:{}</DefaultSRS>{ro}<OutputFormats><Format>text/xml; subtype=gml/3.1.1</Format></OutputFormats>{bb}</FeatureType>", name(l), escape(&l.title), escape(&l.abstract_), l.epsg, ro = if writes && !writer.can(&l.prefix, &l.name, meridian_security::Mode::Write) { "<Operations><Operation>Query</Operation></Operations>" } else { "" })
            });
            format!("<wfs:WFS_Capabilities version=\"1.1.0\" xmlns=\"http://www.opengis.net/wfs\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ows=\"http://www.opengis.net/ows\" xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"{xmlns}><ows:ServiceIdentification><ows:Title>{title}</ows:Title><ows:Abstract>{abstract_}</ows:Abstract><ows:Keywords>{keywords}</ows:Keywords><ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>1.1.0</ows:ServiceTypeVersion><ows:Fees>{fees}</ows:Fees><ows:AccessConstraints>{ac}</ows:AccessConstraints></ows:ServiceIdentification><ows:ServiceProvider><ows:ProviderName>Meridian</ows:ProviderName></ows:ServiceProvider><ows:OperationsMetadata><ows:Operation name=\"GetCapabilities\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP><ows:Parameter name=\"AcceptVersions\"><ows:Value>1.0.0</ows:Value><ows:Value>1.1.0</ows:Value><ows:Value>2.0.0</ows:Value></ows:Parameter><ows:Parameter name=\"AcceptFormats\"><ows:Value>text/xml</ows:Value></ows:Parameter></ows:Operation><ows:Operation name=\"DescribeFeatureType\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP><ows:Parameter name=\"outputFormat\"><ows:Value>text/xml; subtype=gml/3.1.1</ows:Value></ows:Parameter></ows:Operation><ows:Operation name=\"GetFeature\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP><ows:Parameter name=\"resultType\"><ows:Value>results</ows:Value><ows:Value>hits</ows:Value></ows:Parameter><ows:Parameter name=\"outputFormat\"><ows:Value>text/xml; subtype=gml/3.1.1</ows:Value><ows:Value>GML2</ows:Value><ows:Value>gml3</ows:Value><ows:Value>gml32</ows:Value><ows:Value>application/json</ows:Value><ows:Value>csv</ows:Value><ows:Value>KML</ows:Value><ows:Value>SHAPE-ZIP</ows:Value></ows:Parameter></ows:Operation>{t}{lk}</ows:OperationsMetadata><FeatureTypeList>{ops}{fts}</FeatureTypeList><ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:GeometryOperands><ogc:GeometryOperand>gml:Envelope</ogc:GeometryOperand><ogc:GeometryOperand>gml:Point</ogc:GeometryOperand><ogc:GeometryOperand>gml:LineString</ogc:GeometryOperand><ogc:GeometryOperand>gml:Polygon</ogc:GeometryOperand></ogc:GeometryOperands><ogc:SpatialOperators><ogc:SpatialOperator name=\"Disjoint\"/><ogc:SpatialOperator name=\"Intersects\"/><ogc:SpatialOperator name=\"Within\"/><ogc:SpatialOperator name=\"Contains\"/><ogc:SpatialOperator name=\"BBOX\"/></ogc:SpatialOperators></ogc:Spatial_Capabilities><ogc:Scalar_Capabilities><ogc:LogicalOperators/><ogc:ComparisonOperators><ogc:ComparisonOperator>LessThan</ogc:ComparisonOperator><ogc:ComparisonOperator>GreaterThan</ogc:ComparisonOperator><ogc:ComparisonOperator>LessThanEqualTo</ogc:ComparisonOperator><ogc:ComparisonOperator>GreaterThanEqualTo</ogc:ComparisonOperator><ogc:ComparisonOperator>EqualTo</ogc:ComparisonOperator><ogc:ComparisonOperator>NotEqualTo</ogc:ComparisonOperator><ogc:ComparisonOperator>Like</ogc:ComparisonOperator><ogc:ComparisonOperator>Between</ogc:ComparisonOperator><ogc:ComparisonOperator>NullCheck</ogc:ComparisonOperator></ogc:ComparisonOperators></ogc:Scalar_Capabilities><ogc:Id_Capabilities><ogc:EID/><ogc:FID/></ogc:Id_Capabilities></ogc:Filter_Capabilities></wfs:WFS_Capabilities>",
                fees = text(svc, "fees", "NONE"),
                ac = text(svc, "accessConstraints", "NONE"),
                t = if writes { format!("<ows:Operation name=\"Transaction\"><ows:DCP><ows:HTTP><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP><ows:Parameter name=\"inputFormat\"><ows:Value>text/xml; subtype=gml/3.1.1</ows:Value></ows:Parameter></ows:Operation>") } else { String::new() },
                lk = if locks { format!("<ows:Operation name=\"LockFeature\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP></ows:Operation><ows:Operation name=\"GetFeatureWithLock\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP></ows:Operation>") } else { String::new() },
                ops = match level {
                    ServiceLevel::Basic => "<Operations><Operation>Query</Operation></Operations>",
                    ServiceLevel::Transactional => "<Operations><Operation>Query</Operation><Operation>Insert</Operation><Operation>Update</Operation><Operation>Delete</Operation></Operations>",
                    ServiceLevel::Complete => "<Operations><Operation>Query</Operation><Operation>Insert</Operation><Operation>Update</Operation><Operation>Delete</Operation><Operation>Lock</Operation></Operations>",
                },
            )
        }
        _ => {
            piece = Box::new(move |l: &FeatureLayer| {
                let bb = l.lat_lon.map(|b| format!("<ows:WGS84BoundingBox><ows:LowerCorner>{} {}</ows:LowerCorner><ows:UpperCorner>{} {}</ows:UpperCorner></ows:WGS84BoundingBox>", b.minx, b.miny, b.maxx, b.maxy)).unwrap_or_default();
                let kw = ows_keywords(&l.keywords);
                format!("<wfs:FeatureType><wfs:Name>{}</wfs:Name><wfs:Title>{}</wfs:Title><wfs:Abstract>{}</wfs:Abstract><ows:Keywords>{kw}</ows:Keywords><wfs:DefaultCRS>urn:ogc:def:crs:EPSG::{}</wfs:DefaultCRS>{formats}{bb}</wfs:FeatureType>", name(l), escape(&l.title), escape(&l.abstract_), l.epsg)
            });
            let op = |n: &str, extra: &str| {
                format!("<ows:Operation name=\"{n}\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"{endpoint}\"/><ows:Post xlink:href=\"{endpoint}\"/></ows:HTTP></ows:DCP>{extra}</ows:Operation>")
            };
            let gf_formats = "<ows:Parameter name=\"outputFormat\"><ows:AllowedValues><ows:Value>application/gml+xml; version=3.2</ows:Value><ows:Value>application/json</ows:Value><ows:Value>GML2</ows:Value><ows:Value>text/xml; subtype=gml/2.1.2</ows:Value><ows:Value>csv</ows:Value><ows:Value>KML</ows:Value><ows:Value>application/vnd.google-earth.kml+xml</ows:Value><ows:Value>SHAPE-ZIP</ows:Value><ows:Value>gml3</ows:Value><ows:Value>gml32</ows:Value><ows:Value>text/xml; subtype=gml/3.1.1</ows:Value><ows:Value>text/xml; subtype=gml/3.2</ows:Value><ows:Value>json</ows:Value></ows:AllowedValues></ows:Parameter><ows:Parameter name=\"resultType\"><ows:AllowedValues><ows:Value>results</ows:Value><ows:Value>hits</ows:Value></ows:AllowedValues></ows:Parameter>";
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
<ows:OperationsMetadata>{gc}{dft}{gf}{gpv}{lsq}{dsq}{t}{lk}{c1}{c2}{c3}{c4}{c5}{c6}</ows:OperationsMetadata>\
<wfs:FeatureTypeList>{fts}</wfs:FeatureTypeList>\
<fes:Filter_Capabilities><fes:Conformance>{f1}{f2}{f3}{f4}{f5}{f6}{f7}{f8}{f9}</fes:Conformance><fes:Id_Capabilities><fes:ResourceIdentifier name=\"fes:ResourceId\"/></fes:Id_Capabilities><fes:Scalar_Capabilities><fes:LogicalOperators/><fes:ComparisonOperators>{cmp}</fes:ComparisonOperators></fes:Scalar_Capabilities><fes:Spatial_Capabilities><fes:GeometryOperands><fes:GeometryOperand name=\"gml:Envelope\"/><fes:GeometryOperand name=\"gml:Point\"/><fes:GeometryOperand name=\"gml:LineString\"/><fes:GeometryOperand name=\"gml:Polygon\"/></fes:GeometryOperands><fes:SpatialOperators><fes:SpatialOperator name=\"BBOX\"/><fes:SpatialOperator name=\"Intersects\"/><fes:SpatialOperator name=\"Disjoint\"/><fes:SpatialOperator name=\"Within\"/><fes:SpatialOperator name=\"Contains\"/></fes:SpatialOperators></fes:Spatial_Capabilities></fes:Filter_Capabilities>\
</wfs:WFS_Capabilities>",
                fees = text(svc, "fees", "NONE"),
                ac = text(svc, "accessConstraints", "NONE"),
                gc = op("GetCapabilities", "<ows:Parameter name=\"AcceptVersions\"><ows:AllowedValues><ows:Value>2.0.0</ows:Value><ows:Value>1.1.0</ows:Value><ows:Value>1.0.0</ows:Value></ows:AllowedValues></ows:Parameter>"),
                dft = op("DescribeFeatureType", ""),
                gf = op("GetFeature", gf_formats),
                gpv = op("GetPropertyValue", ""),
                lsq = op("ListStoredQueries", ""),
                dsq = op("DescribeStoredQueries", ""),
                c1 = constraint("ImplementsBasicWFS", "TRUE"),
                c2 = constraint("ImplementsResultPaging", "TRUE"),
                c3 = constraint("KVPEncoding", "TRUE"),
                c4 = count_default,
                t = if writes { op("Transaction", "") } else { String::new() },
                lk = if locks { format!("{}{}", op("LockFeature", ""), op("GetFeatureWithLock", "")) } else { String::new() },
                c5 = constraint("ImplementsTransactionalWFS", if writes { "TRUE" } else { "FALSE" }),
                c6 = constraint("ImplementsLockingWFS", if locks { "TRUE" } else { "FALSE" }),
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
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}");
    let (head, tail) = body.split_once(SPLIT).unwrap_or((&body, ""));
    let doc = Document {
        head: head.to_string(),
        items: Box::new(advertised().map(move |l| piece(&l))),
        tail: tail.to_string(),
    };
    Ok(doc.response(st, "application/xml"))
}

/// Marks where the feature types go in a document's text (no text of a document holds it).
const SPLIT: &str = "\u{0}feature types\u{0}";
