//! URLs and qualified names of catalog objects, as REST output shows them.

use crate::req::{Format, Req};
use meridian_catalog::{Catalog, Kind, Object};
use meridian_xml::Element;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Percent-encode one path segment.
pub fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The collection path segment of a store kind.
pub fn store_collection(kind: Kind) -> &'static str {
    match kind {
        Kind::CoverageStore => "coveragestores",
        Kind::WmsStore => "wmsstores",
        Kind::WmtsStore => "wmtsstores",
        _ => "datastores",
    }
}

/// The collection path segment of a resource kind.
pub fn resource_collection(kind: Kind) -> &'static str {
    match kind {
        Kind::Coverage => "coverages",
        Kind::WmsLayer => "wmslayers",
        Kind::WmtsLayer => "wmtslayers",
        _ => "featuretypes",
    }
}

/// The extension links carry for this request's output format.
pub fn link_ext(req: &Req) -> &'static str {
    if req.out_format() == Format::Json {
        ".json"
    } else {
        ".xml"
    }
}

/// An `atom:link` element.
pub fn atom_link(href: String, list: bool, req: &Req) -> Element {
    let ty = if req.out_format() == Format::Json {
        "application/json"
    } else if list {
        "application/atom+xml"
    } else {
        "application/xml"
    };
    Element::new("atom:link")
        .attr("xmlns:atom", "http://www.w3.org/2005/Atom")
        .attr("rel", "alternate")
        .attr("href", href)
        .attr("type", ty)
}

/// The workspace name of an object (through store or namespace for resources and layers).
pub fn ws_name<'a>(cat: &'a Catalog, o: &Object) -> Option<&'a str> {
    let id = cat.workspace_id_of(o)?;
    cat.get(&id).map(|w| w.name())
}

/// The REST URL of an object, without extension.
pub fn url_of(cat: &Catalog, o: &Object, req: &Req) -> Option<String> {
    let rest = req.rest();
    let ws = || ws_name(cat, o).map(seg);
    Some(match o.kind {
        Kind::Workspace => format!("{rest}/workspaces/{}", seg(o.name())),
        Kind::Namespace => format!("{rest}/namespaces/{}", seg(o.name())),
        k if k.is_store() => format!(
            "{rest}/workspaces/{}/{}/{}",
            ws()?,
            store_collection(k),
            seg(o.name())
        ),
        k if k.is_resource() => {
            let store = cat.get(o.ref_id("store")?)?;
            format!(
                "{}/{}/{}",
                url_of(cat, store, req)?,
                resource_collection(k),
                seg(o.name())
            )
        }
        Kind::Layer => format!("{rest}/layers/{}%3A{}", ws()?, seg(cat.layer_name(o))),
        Kind::Style | Kind::LayerGroup => {
            let coll = if o.kind == Kind::Style {
                "styles"
            } else {
                "layergroups"
            };
            match o.workspace() {
                Some(_) => format!("{rest}/workspaces/{}/{coll}/{}", ws()?, seg(o.name())),
                None => format!("{rest}/{coll}/{}", seg(o.name())),
            }
        }
        _ => return None,
    })
}

/// The name an object is referred to by: `ws:name` for workspaced objects.
pub fn qualified_name(cat: &Catalog, o: &Object) -> String {
    match o.kind {
        Kind::Workspace | Kind::Namespace => o.name().to_string(),
        Kind::Layer => match ws_name(cat, o) {
            Some(ws) => format!("{ws}:{}", cat.layer_name(o)),
            None => cat.layer_name(o).to_string(),
        },
        Kind::Style | Kind::LayerGroup if o.workspace().is_none() => o.name().to_string(),
        _ => match ws_name(cat, o) {
            Some(ws) => format!("{ws}:{}", o.name()),
            None => o.name().to_string(),
        },
    }
}
