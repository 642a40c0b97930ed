//! GetCapabilities, 1.1.1 and 1.3.0: the service's metadata from `wms.xml`, the operations and
//! formats, and a root layer holding every advertised layer with its CRS, bounds and styles.

use super::error::Version;
use super::request::Format;
use crate::document::Document;
use crate::layers::{published_iter, FeatureLayer};
use crate::OgcState;
use axum::response::Response;
use meridian_catalog::Catalog;
use meridian_xml::{escape, Element};
use std::fmt::Write;

/// CRSs every layer is offered in, besides its own.
const COMMON_CRS: &[u32] = &[4326, 3857, 900_913];

fn service_text(svc: Option<&Element>, key: &str, default: &str) -> String {
    svc.and_then(|s| s.child_text(key))
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(default)
        .to_string()
}

/// The capabilities document of `version`.
pub(super) fn capabilities(
    st: &OgcState,
    ws: Option<&str>,
    version: Version,
    svc: Option<&Element>,
    endpoint: &str,
    caller: &meridian_security::LayerAccess,
) -> Response {
    let cat = st.catalog.snapshot();
    let order = st.order.of(&cat);
    let (data_dir, only) = (st.data_dir.clone(), ws.map(str::to_string));
    // The advertised feature types, made one at a time each time they are walked.
    // Only what the caller may see.
    let advertised = {
        let (cat, caller) = (cat.clone(), caller.clone());
        move || {
            let caller = caller.clone();
            published_iter(cat.clone(), order.clone(), data_dir.clone(), only.clone())
                .filter(move |l| l.advertised && crate::access::listed(&caller, &l.prefix, &l.name))
        }
    };
    let coverages: Vec<crate::coverages::CoverageLayer> =
        crate::coverages::published_coverages(&cat, &st.data_dir, ws)
            .into_iter()
            .filter(|c| c.advertised && crate::access::listed(caller, &c.prefix, &c.name))
            .collect();
    let update_sequence = cat
        .global()
        .and_then(|g| g.xml().child_text("updateSequence").map(str::to_string))
        .unwrap_or_else(|| "0".into());
    let title = service_text(svc, "title", "Meridian Web Map Service");
    let abstract_ = service_text(svc, "abstrct", "");
    let keywords: Vec<String> = svc
        .and_then(|s| s.get("keywords"))
        .map(|k| {
            k.children
                .iter()
                .filter_map(|c| {
                    c.text_trim()
                        .map(|t| t.split("\\@").next().unwrap_or(t).to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let fees = service_text(svc, "fees", "NONE");
    let access = service_text(svc, "accessConstraints", "NONE");
    let v13 = version == Version::V130;
    let crs_tag = if v13 { "CRS" } else { "SRS" };
    let href = escape(&crate::access::query_base(endpoint));
    let mut x = String::with_capacity(8192);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if v13 {
        let _ = write!(
            x,
            "<WMS_Capabilities version=\"1.3.0\" updateSequence=\"{}\" xmlns=\"http://www.opengis.net/wms\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://www.opengis.net/wms http://schemas.opengis.net/wms/1.3.0/capabilities_1_3_0.xsd\">",
            escape(&update_sequence)
        );
    } else {
        x.push_str("<!DOCTYPE WMT_MS_Capabilities SYSTEM \"http://schemas.opengis.net/wms/1.1.1/WMS_MS_Capabilities.dtd\">\n");
        let _ = write!(
            x,
            "<WMT_MS_Capabilities version=\"1.1.1\" updateSequence=\"{}\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">",
            escape(&update_sequence)
        );
    }
    let _ = write!(
        x,
        "<Service><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><KeywordList>",
        if v13 { "WMS" } else { "OGC:WMS" },
        escape(&title),
        escape(&abstract_)
    );
    for k in &keywords {
        let _ = write!(x, "<Keyword>{}</Keyword>", escape(k));
    }
    let _ = write!(
        x,
        "</KeywordList><OnlineResource xlink:type=\"simple\" xlink:href=\"{href}\"/><Fees>{}</Fees><AccessConstraints>{}</AccessConstraints>",
        escape(&fees),
        escape(&access)
    );
    if v13 {
        let _ = write!(
            x,
            "<MaxWidth>{0}</MaxWidth><MaxHeight>{0}</MaxHeight>",
            super::request::MAX_SIDE
        );
    }
    x.push_str("</Service><Capability><Request>");
    let caps_format = if v13 {
        "text/xml"
    } else {
        "application/vnd.ogc.wms_xml"
    };
    let dcp = format!(
        "<DCPType><HTTP><Get><OnlineResource xlink:type=\"simple\" xlink:href=\"{href}\"/></Get></HTTP></DCPType>"
    );
    let _ = write!(
        x,
        "<GetCapabilities><Format>{caps_format}</Format>{dcp}</GetCapabilities><GetMap>"
    );
    for f in Format::ADVERTISED {
        let _ = write!(x, "<Format>{}</Format>", escape(f));
    }
    let _ = write!(x, "{dcp}</GetMap><GetFeatureInfo>");
    for f in super::feature_info::INFO_FORMATS {
        let _ = write!(x, "<Format>{f}</Format>");
    }
    let _ = write!(x, "{dcp}</GetFeatureInfo>");
    if !v13 {
        // 1.3.0's schema has no place for it (GeoServer lists it as an extended operation).
        let _ = write!(x, "<GetLegendGraphic><Format>image/png</Format><Format>image/jpeg</Format>{dcp}</GetLegendGraphic>");
    }
    x.push_str("</Request><Exception>");
    let exceptions: &[&str] = if v13 {
        &["XML", "INIMAGE", "BLANK"]
    } else {
        &[
            "application/vnd.ogc.se_xml",
            "application/vnd.ogc.se_inimage",
            "application/vnd.ogc.se_blank",
        ]
    };
    for e in exceptions {
        let _ = write!(x, "<Format>{e}</Format>");
    }
    x.push_str("</Exception>");
    // The root layer: every CRS the layers are offered in, and the union of their bounds.
    let _ = write!(
        x,
        "<Layer><Title>{}</Title><Abstract>{}</Abstract>",
        escape(&title),
        escape(&abstract_)
    );
    // One walk over the layers for what the root layer states of them all.
    let mut codes: Vec<u32> = COMMON_CRS.to_vec();
    let mut union: Option<meridian_sources::Bounds> = None;
    for l in advertised() {
        if !codes.contains(&l.epsg) {
            codes.push(l.epsg);
        }
        if let Some(b) = l.lat_lon {
            union = Some(match union {
                None => b,
                Some(a) => meridian_sources::Bounds {
                    minx: a.minx.min(b.minx),
                    miny: a.miny.min(b.miny),
                    maxx: a.maxx.max(b.maxx),
                    maxy: a.maxy.max(b.maxy),
                },
            });
        }
    }
    for e in coverages.iter().map(|c| c.epsg) {
        if !codes.contains(&e) {
            codes.push(e);
        }
    }
    for c in &codes {
        let _ = write!(x, "<{crs_tag}>EPSG:{c}</{crs_tag}>");
    }
    if v13 {
        let _ = write!(x, "<CRS>CRS:84</CRS>");
    }
    let all = union.unwrap_or(meridian_sources::Bounds {
        minx: -180.0,
        miny: -90.0,
        maxx: 180.0,
        maxy: 90.0,
    });
    geographic_box(&mut x, v13, &all);
    // The layers, then the coverages and the groups, each written when its turn comes.
    let endpoint_owned = endpoint.to_string();
    let layers = {
        let (cat, endpoint) = (cat.clone(), endpoint_owned.clone());
        advertised().map(move |l| {
            let mut piece = String::new();
            layer(&mut piece, &cat, &l, v13, crs_tag, &endpoint);
            piece
        })
    };
    let mut rest = String::new();
    for c in &coverages {
        coverage(&mut rest, &cat, c, v13, crs_tag, endpoint);
    }
    for g in cat.list(meridian_catalog::Kind::LayerGroup) {
        let ws_name = g.workspace().and_then(|id| cat.get(id)).map(|w| w.name());
        // A global group's rules are `group.r` (workspace "").
        if crate::access::listed(caller, ws_name.unwrap_or(""), g.name()) {
            group(&mut rest, &cat, g, ws, v13, crs_tag);
        }
    }
    rest.push_str("</Layer></Capability>");
    rest.push_str(if v13 {
        "</WMS_Capabilities>"
    } else {
        "</WMT_MS_Capabilities>"
    });
    let content_type = if v13 {
        "text/xml"
    } else {
        "application/vnd.ogc.wms_xml"
    };
    Document {
        head: x,
        items: Box::new(layers),
        tail: rest,
    }
    .response(st, content_type)
}

fn geographic_box(x: &mut String, v13: bool, b: &meridian_sources::Bounds) {
    if v13 {
        let _ = write!(
            x,
            "<EX_GeographicBoundingBox><westBoundLongitude>{}</westBoundLongitude><eastBoundLongitude>{}</eastBoundLongitude><southBoundLatitude>{}</southBoundLatitude><northBoundLatitude>{}</northBoundLatitude></EX_GeographicBoundingBox><BoundingBox CRS=\"CRS:84\" minx=\"{}\" miny=\"{}\" maxx=\"{}\" maxy=\"{}\"/>",
            b.minx, b.maxx, b.miny, b.maxy, b.minx, b.miny, b.maxx, b.maxy
        );
    } else {
        let _ = write!(
            x,
            "<LatLonBoundingBox minx=\"{}\" miny=\"{}\" maxx=\"{}\" maxy=\"{}\"/>",
            b.minx, b.miny, b.maxx, b.maxy
        );
    }
}

fn layer(
    x: &mut String,
    cat: &Catalog,
    l: &FeatureLayer,
    v13: bool,
    crs_tag: &str,
    endpoint: &str,
) {
    let _ = write!(
        x,
        "<Layer queryable=\"1\" opaque=\"0\"><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><KeywordList>",
        escape(&l.qualified()),
        escape(&l.title),
        escape(&l.abstract_)
    );
    for k in &l.keywords {
        let _ = write!(x, "<Keyword>{}</Keyword>", escape(k));
    }
    let _ = write!(x, "</KeywordList><{crs_tag}>EPSG:{}</{crs_tag}>", l.epsg);
    if v13 {
        x.push_str("<CRS>CRS:84</CRS>");
    }
    if let Some(b) = &l.lat_lon {
        geographic_box(x, v13, b);
        // The box in EPSG:4326 too; 1.3.0 writes it latitude first.
        let (a, b2, c, d) = if v13 {
            (b.miny, b.minx, b.maxy, b.maxx)
        } else {
            (b.minx, b.miny, b.maxx, b.maxy)
        };
        let _ = write!(x, "<BoundingBox {crs_tag}=\"EPSG:4326\" minx=\"{a}\" miny=\"{b2}\" maxx=\"{c}\" maxy=\"{d}\"/>");
    }
    if let Some(n) = &l.native_bounds {
        if l.epsg != 4326 {
            let lat_first = v13 && meridian_sources::is_geographic(l.epsg);
            let (a, b2, c, d) = if lat_first {
                (n.miny, n.minx, n.maxy, n.maxx)
            } else {
                (n.minx, n.miny, n.maxx, n.maxy)
            };
            let _ = write!(x, "<BoundingBox {crs_tag}=\"EPSG:{}\" minx=\"{a}\" miny=\"{b2}\" maxx=\"{c}\" maxy=\"{d}\"/>", l.epsg);
        }
    }
    for id in &l.styles {
        let Some(s) = cat.get(id) else { continue };
        // The style's name as its title (reading every style's SLD would cost each request).
        let title = s.name().to_string();
        let legend = format!(
            "{}service=WMS&request=GetLegendGraphic&format=image%2Fpng&width=20&height=20&layer={}&style={}",
            crate::access::query_base(endpoint),
            l.qualified(),
            s.name()
        );
        let _ = write!(
            x,
            "<Style><Name>{}</Name><Title>{}</Title><LegendURL width=\"20\" height=\"20\"><Format>image/png</Format><OnlineResource xlink:type=\"simple\" xlink:href=\"{}\"/></LegendURL></Style>",
            escape(s.name()),
            escape(&title),
            escape(&legend)
        );
    }
    x.push_str("</Layer>");
}

/// A layer group as one named layer (CONTAINER groups, which have no name of their own, and
/// EO groups are left out).
fn group(
    x: &mut String,
    cat: &Catalog,
    g: &meridian_catalog::Object,
    ws: Option<&str>,
    v13: bool,
    crs_tag: &str,
) {
    let mode = g.group_mode();
    if matches!(mode, "CONTAINER" | "EO")
        || !g.enabled()
        || g.xml().child_text("advertised") == Some("false")
    {
        return;
    }
    let ws_name = g
        .workspace()
        .and_then(|id| cat.get(id))
        .map(|w| w.name().to_string());
    if ws.is_some() && ws_name.as_deref() != ws {
        return;
    }
    let name = match (&ws_name, ws) {
        (Some(w), None) => format!("{w}:{}", g.name()),
        _ => g.name().to_string(),
    };
    let title = g.xml().child_text("title").unwrap_or(g.name()).to_string();
    let abstract_ = g.xml().child_text("abstractTxt").unwrap_or("").to_string();
    let _ = write!(
        x,
        "<Layer queryable=\"1\" opaque=\"0\"><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract>",
        escape(&name),
        escape(&title),
        escape(&abstract_)
    );
    let bounds = g.xml().get("bounds").map(|b| b.to_element());
    let num = |k: &str| {
        bounds
            .as_ref()
            .and_then(|b| b.child_text(k))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let code = bounds
        .as_ref()
        .and_then(|b| b.child_text("crs"))
        .and_then(|c| c.rsplit(':').next())
        .and_then(|c| c.parse::<u32>().ok());
    if let (Some(minx), Some(miny), Some(maxx), Some(maxy), Some(code)) =
        (num("minx"), num("miny"), num("maxx"), num("maxy"), code)
    {
        let _ = write!(x, "<{crs_tag}>EPSG:{code}</{crs_tag}>");
        let native = meridian_sources::Bounds {
            minx,
            miny,
            maxx,
            maxy,
        };
        if let Some(ll) = meridian_sources::lat_lon_bounds(code, native) {
            geographic_box(x, v13, &ll);
        }
        let lat_first = v13 && meridian_sources::is_geographic(code);
        let (a, b, c, d) = if lat_first {
            (miny, minx, maxy, maxx)
        } else {
            (minx, miny, maxx, maxy)
        };
        let _ = write!(x, "<BoundingBox {crs_tag}=\"EPSG:{code}\" minx=\"{a}\" miny=\"{b}\" maxx=\"{c}\" maxy=\"{d}\"/>");
    }
    x.push_str("</Layer>");
}

/// A coverage as a layer (not queryable yet).
fn coverage(
    x: &mut String,
    cat: &Catalog,
    c: &crate::coverages::CoverageLayer,
    v13: bool,
    crs_tag: &str,
    endpoint: &str,
) {
    let _ = write!(
        x,
        "<Layer queryable=\"0\" opaque=\"1\"><Name>{}</Name><Title>{}</Title><Abstract>{}</Abstract><{crs_tag}>EPSG:{}</{crs_tag}>",
        escape(&c.qualified()),
        escape(&c.title),
        escape(&c.abstract_),
        c.epsg
    );
    if v13 {
        x.push_str("<CRS>CRS:84</CRS>");
    }
    if let Some(b) = &c.lat_lon {
        geographic_box(x, v13, b);
    }
    if let Some(n) = &c.native_bounds {
        let lat_first = v13 && meridian_sources::is_geographic(c.epsg);
        let (a, b2, cc, d) = if lat_first {
            (n.miny, n.minx, n.maxy, n.maxx)
        } else {
            (n.minx, n.miny, n.maxx, n.maxy)
        };
        let _ = write!(x, "<BoundingBox {crs_tag}=\"EPSG:{}\" minx=\"{a}\" miny=\"{b2}\" maxx=\"{cc}\" maxy=\"{d}\"/>", c.epsg);
    }
    for id in &c.styles {
        let Some(s) = cat.get(id) else { continue };
        let legend = format!(
            "{}service=WMS&request=GetLegendGraphic&format=image%2Fpng&width=20&height=20&layer={}&style={}",
            crate::access::query_base(endpoint),
            c.qualified(),
            s.name()
        );
        let _ = write!(
            x,
            "<Style><Name>{0}</Name><Title>{0}</Title><LegendURL width=\"20\" height=\"20\"><Format>image/png</Format><OnlineResource xlink:type=\"simple\" xlink:href=\"{1}\"/></LegendURL></Style>",
            escape(s.name()),
            escape(&legend)
        );
    }
    x.push_str("</Layer>");
}
