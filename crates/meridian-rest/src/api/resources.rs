//! Feature types and coverages: listing, publishing (with a layer), reading, updating, deleting.

use crate::api::stores::find_store;
use crate::ctx::{list_objects, method_not_allowed, not_found, Ctx};
use crate::decode::{strip_links, Resolver};
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::links::{resource_collection, seg, store_collection};
use crate::req::{render, Format, Req, Resp};
use meridian_catalog::{cascade_remove, new_id, reference, Change, Kind, Object};
use meridian_features::{describe, list_types, FeatureError};
use meridian_sources::{
    is_geographic, lat_lon_bounds, wkt_for_epsg, Bounds, Schema, SourceError, StoreParams,
};
use meridian_xml::Element;
use serde_json::json;
use std::sync::Arc;

/// The store kind that holds resources of `kind`.
/// The parameters for reading the feature type `res` from `store`: the store's, with the SQL
/// view the feature type declares (`JDBC_VIRTUAL_TABLE`), if any.
fn resource_params(c: &Ctx, store: &Object, res: &Element) -> RestResult<StoreParams> {
    let mut p = store_params(c, store);
    if let Some(v) = meridian_sources::SqlView::of_resource(res)
        .map_err(|e| RestError::BadRequest(e.to_string()))?
    {
        p.view = Some((Arc::new(v), Default::default()));
    }
    Ok(p)
}

fn store_kind_of(kind: Kind) -> Kind {
    if kind == Kind::Coverage {
        Kind::CoverageStore
    } else {
        Kind::DataStore
    }
}

/// How Meridian reads a store's data.
pub fn store_params(c: &Ctx, store: &Object) -> StoreParams {
    StoreParams {
        params: store.connection_parameters(),
        store_type: store.xml().child_text("type").map(str::to_string),
        data_dir: c.st.data_dir.clone(),
        view: None,
    }
}

/// `…/featuretypes` or `…/coverages`, under a store (`store` = Some) or a workspace.
pub fn collection(
    c: &Ctx,
    req: &Req,
    ws_name: &str,
    store: Option<&str>,
    kind: Kind,
) -> RestResult<Resp> {
    let ws = c.workspace(req, ws_name)?;
    let store_kind = store_kind_of(kind);
    let store = match store {
        Some(s) => Some(find_store(c, req, &ws, store_kind, s)?),
        None => None,
    };
    let (root, item) = if kind == Kind::Coverage {
        ("coverages", "coverage")
    } else {
        ("featureTypes", "featureType")
    };
    match req.method.as_str() {
        "GET" => {
            let mode = req.q("list").unwrap_or("configured").to_ascii_lowercase();
            if mode != "configured" && kind == Kind::FeatureType {
                let Some(store) = &store else {
                    return Err(RestError::BadRequest(
                        "list=available needs a store in the URL".into(),
                    ));
                };
                return available(c, req, store, &mode);
            }
            let ns = c.namespace_of(&ws)?;
            let mut resources: Vec<&Arc<Object>> = c
                .cat
                .objects()
                .filter(|o| o.kind == kind)
                .filter(|o| match &store {
                    Some(s) => o.ref_id("store") == Some(s.id()),
                    None => o.ref_id("namespace") == Some(ns.id()),
                })
                .collect();
            // A caller who is not the administrator lists only what they may read.
            if let Some(a) = crate::ctx::readers_access(c.st, req) {
                resources.retain(|o| crate::ctx::may_read(&a, &c.cat, o));
            }
            resources.sort_by_cached_key(|o| o.name());
            Ok(list_objects(c, req, root, item, resources))
        }
        "POST" => {
            let store = match store {
                Some(s) => s,
                None => default_store(c, req, &ws, store_kind)?,
            };
            publish(c, req, &ws, &store, kind)
        }
        _ => Err(method_not_allowed(req)),
    }
}

fn default_store(c: &Ctx, req: &Req, ws: &Object, kind: Kind) -> RestResult<Arc<Object>> {
    let body = req.body_as(
        kind.resource_kind()
            .map(Kind::root)
            .unwrap_or("featureType"),
    )?;
    if let Some(s) = body.get("store") {
        let r = Resolver {
            cat: &c.cat,
            ws: Some(ws.id()),
        };
        if let Some(o) = r.lookup(s, kind)? {
            return Ok(o);
        }
    }
    // The workspace's default store (`<__default>true`), else its first store.
    let stores = c.cat.stores_in(ws.id(), kind);
    stores
        .iter()
        .find(|s| s.xml().child_text("__default") == Some("true"))
        .or(stores.first())
        .map(|s| (*s).clone())
        .ok_or_else(|| {
            RestError::NotFound(format!(
                "No default {} in workspace '{}'",
                kind.label(),
                ws.name()
            ))
        })
}

fn available(c: &Ctx, req: &Req, store: &Object, mode: &str) -> RestResult<Resp> {
    let params = store_params(c, store);
    let all = list_types(&params)
        .map_err(|e| RestError::BadRequest(format!("cannot read store '{}': {e}", store.name())))?;
    let configured: Vec<String> = c
        .cat
        .resources_of(store.id())
        .iter()
        .map(|r| {
            r.xml()
                .child_text("nativeName")
                .unwrap_or(r.name())
                .to_string()
        })
        .collect();
    let names: Vec<String> = if mode == "all" {
        all
    } else {
        all.into_iter()
            .filter(|n| !configured.contains(n))
            .collect()
    };
    if req.out_format() == Format::Json {
        let body = json!({"list": {"string": names}});
        return Ok(Resp {
            status: 200,
            content_type: "application/json".into(),
            body: body.to_string().into_bytes(),
            location: None,
            stream: None,
        });
    }
    let mut e = Element::new("list");
    for n in names {
        e.children.push(Element::with_text("featureTypeName", n));
    }
    Ok(crate::req::render(req, &e, &[]))
}

fn bbox_element(name: &str, b: Bounds, srs: &str) -> Element {
    let mut crs = Element::with_text("crs", srs);
    let code = srs
        .strip_prefix("EPSG:")
        .and_then(|c| c.parse::<u32>().ok());
    if code.is_some_and(|c| !is_geographic(c)) {
        crs.set_attr("class", "projected");
    }
    Element::new(name)
        .child(Element::with_text("minx", fmt_f64(b.minx)))
        .child(Element::with_text("maxx", fmt_f64(b.maxx)))
        .child(Element::with_text("miny", fmt_f64(b.miny)))
        .child(Element::with_text("maxy", fmt_f64(b.maxy)))
        .child(crs)
}

/// Doubles as Java prints them (`1.0`, not `1`).
fn fmt_f64(v: f64) -> String {
    format!("{v:?}")
}

fn epsg_code(srs: &str) -> Option<u32> {
    srs.rsplit(':').next().and_then(|c| c.parse().ok())
}

/// The default style for a geometry binding.
fn style_for(schema: Option<&Schema>, kind: Kind) -> &'static str {
    if kind == Kind::Coverage {
        return "raster";
    }
    let geom = schema
        .and_then(|s| {
            s.attributes
                .iter()
                .find(|a| a.binding.starts_with("org.locationtech.jts.geom."))
        })
        .map(|a| a.binding.as_str())
        .unwrap_or("");
    if geom.ends_with("Point") {
        "point"
    } else if geom.ends_with("LineString") {
        "line"
    } else if geom.ends_with("Polygon") {
        "polygon"
    } else {
        "generic"
    }
}

/// Publish a feature type or coverage from a REST body, reading what is missing from the store,
/// and create its layer.
fn publish(c: &Ctx, req: &Req, ws: &Object, store: &Object, kind: Kind) -> RestResult<Resp> {
    let body = req.body_as(kind.root())?;
    publish_element(c, req, ws, store, kind, body)
}

/// Publish a resource described by `body` (at least a `<name>`), and its layer.
pub fn publish_element(
    c: &Ctx,
    req: &Req,
    ws: &Object,
    store: &Object,
    kind: Kind,
    mut body: Element,
) -> RestResult<Resp> {
    strip_links(&mut body);
    let name = body
        .child_text("name")
        .ok_or_else(|| RestError::BadRequest(format!("{} has no <name>", kind.label())))?
        .to_string();
    meridian_catalog::check_name(&name).map_err(|e| RestError::BadRequest(e.to_string()))?;
    check_cql_filter(&body)?;
    let ns = c.namespace_of(ws)?;
    if c.cat.find(kind, Some(ns.id()), &name).is_some() {
        return Err(RestError::Conflict(format!(
            "Resource named '{name}' already exists in namespace: '{}'",
            ns.name()
        )));
    }
    let params = resource_params(c, store, &body)?;
    // A SQL view's feature type is the view, whatever the layer is called.
    let native = body
        .child_text("nativeName")
        .map(str::to_string)
        .or_else(|| params.view.as_ref().map(|(v, _)| v.name.clone()))
        .unwrap_or_else(|| name.clone());
    let schema = if kind == Kind::FeatureType {
        match describe(&params, &native) {
            Ok(s) => Some(s),
            Err(FeatureError::Source(SourceError::NoSuchType(t)))
                if body.get("attributes").is_none() =>
            {
                return Err(RestError::BadRequest(format!(
                    "Trying to configure '{t}', but it is not a feature type of store '{}'",
                    store.name()
                )))
            }
            Err(FeatureError::Source(SourceError::NoSuchType(t))) => {
                return Err(RestError::BadRequest(format!(
                    "'{t}' does not exist in store '{}', and creating new schemas is not supported",
                    store.name()
                )))
            }
            // A SQL view whose query does not run is the caller's mistake.
            Err(FeatureError::Source(SourceError::Format(m))) if params.view.is_some() => {
                return Err(RestError::BadRequest(m))
            }
            Err(e) => {
                tracing::info!(store = store.name(), error = %e, "publishing without reading the store");
                None
            }
        }
    } else {
        None
    };
    // A coverage's CRS and bounds come from its grid when the body does not give them.
    let grid = if kind == Kind::Coverage && body.get("nativeBoundingBox").is_none() {
        let params = store_params(c, store);
        let url = store.xml().child_text("url").unwrap_or("").to_string();
        let store_type = store.xml().child_text("type").unwrap_or("").to_string();
        match meridian_coverages::open_coverage(&store_type, &params.resolve_path(&url)) {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::info!(store = store.name(), error = %e, "publishing a coverage without reading its grid");
                None
            }
        }
    } else {
        None
    };
    let schema = schema.or_else(|| {
        grid.as_ref().map(|g| {
            let epsg = g.epsg();
            Schema {
                srs: epsg.map(|e| format!("EPSG:{e}")),
                native_wkt: epsg.and_then(wkt_for_epsg).map(str::to_string),
                bounds: g.bounds().map(|b| Bounds {
                    minx: b[0],
                    miny: b[1],
                    maxx: b[2],
                    maxy: b[3],
                }),
                name: String::new(),
                attributes: Vec::new(),
            }
        })
    });
    let text = |k: &str| body.child_text(k).map(str::to_string);
    let srs = text("srs")
        .or_else(|| schema.as_ref().and_then(|s| s.srs.clone()))
        .unwrap_or_else(|| {
            if kind == Kind::Coverage {
                "EPSG:4326".into()
            } else {
                "EPSG:404000".into()
            }
        });
    let native_crs = match body.get("nativeCRS") {
        Some(n) => {
            let t = n.text_trim().unwrap_or("").to_string();
            match epsg_code(&t)
                .filter(|_| t.to_uppercase().starts_with("EPSG:"))
                .and_then(wkt_for_epsg)
            {
                Some(w) => Some(w.to_string()),
                None => Some(t),
            }
        }
        None => schema
            .as_ref()
            .and_then(|s| s.native_wkt.clone())
            .or_else(|| epsg_code(&srs).and_then(wkt_for_epsg).map(str::to_string)),
    };
    let native_srs = schema
        .as_ref()
        .and_then(|s| s.srs.clone())
        .unwrap_or_else(|| srs.clone());
    let native_bbox = body
        .get("nativeBoundingBox")
        .and_then(Bounds::from_xml)
        .or_else(|| schema.as_ref().and_then(|s| s.bounds));
    let latlon = body
        .get("latLonBoundingBox")
        .and_then(Bounds::from_xml)
        .or_else(|| {
            native_bbox
                .and_then(|b| epsg_code(&native_srs).and_then(|code| lat_lon_bounds(code, b)))
        });

    let mut x = Element::new(kind.root())
        .child(Element::with_text("id", new_id(kind)))
        .child(Element::with_text("name", name.clone()))
        .child(Element::with_text("nativeName", native.clone()))
        .child(reference("namespace", ns.id()))
        .child(Element::with_text(
            "title",
            text("title").unwrap_or_else(|| name.clone()),
        ));
    for k in [
        "abstract",
        "description",
        "keywords",
        "metadataLinks",
        "dataLinks",
    ] {
        if let Some(e) = body.get(k) {
            x.children.push(e.clone());
        }
    }
    if let Some(w) = native_crs {
        let mut n = Element::with_text("nativeCRS", w.clone());
        if w.trim_start().starts_with("PROJCS") {
            n.set_attr("class", "projected");
        }
        x.children.push(n);
    }
    x.children.push(Element::with_text("srs", srs.clone()));
    if let Some(b) = native_bbox {
        x.children
            .push(bbox_element("nativeBoundingBox", b, &native_srs));
    }
    if let Some(b) = latlon {
        x.children
            .push(bbox_element("latLonBoundingBox", b, "EPSG:4326"));
    }
    let policy = text("projectionPolicy").unwrap_or_else(|| {
        if native_srs == srs {
            "FORCE_DECLARED".into()
        } else {
            "REPROJECT_TO_DECLARED".into()
        }
    });
    x.children
        .push(Element::with_text("projectionPolicy", policy));
    x.children.push(Element::with_text(
        "enabled",
        text("enabled").unwrap_or_else(|| "true".into()),
    ));
    if let Some(m) = body.get("metadata") {
        x.children.push(m.clone());
    }
    let mut store_ref = reference("store", store.id());
    store_ref.set_attr(
        "class",
        if kind == Kind::Coverage {
            "coverageStore"
        } else {
            "dataStore"
        },
    );
    x.children.push(store_ref);
    let handled = [
        "id",
        "name",
        "nativeName",
        "namespace",
        "title",
        "abstract",
        "description",
        "keywords",
        "metadataLinks",
        "dataLinks",
        "nativeCRS",
        "srs",
        "nativeBoundingBox",
        "latLonBoundingBox",
        "projectionPolicy",
        "enabled",
        "metadata",
        "store",
        "advertised",
    ];
    for e in &body.children {
        if !handled.contains(&e.name.as_str()) {
            x.children.push(e.clone());
        }
    }
    if kind == Kind::FeatureType {
        for (k, v) in [
            ("maxFeatures", "0"),
            ("numDecimals", "0"),
            ("overridingServiceSRS", "false"),
            ("skipNumberMatched", "false"),
            ("circularArcPresent", "false"),
        ] {
            if x.get(k).is_none() {
                x.children.push(Element::with_text(k, v));
            }
        }
    }
    let resource = Object::new(kind, x);
    let style_name = style_for(schema.as_ref(), kind);
    let style = c
        .cat
        .find(Kind::Style, None, style_name)
        .or_else(|| c.cat.find(Kind::Style, None, "generic"));
    let mut layer = Element::new("layer")
        .child(Element::with_text("name", name.clone()))
        .child(Element::with_text("id", new_id(Kind::Layer)))
        .child(Element::with_text(
            "type",
            if kind == Kind::Coverage {
                "RASTER"
            } else {
                "VECTOR"
            },
        ));
    if let Some(s) = style {
        layer.children.push(reference("defaultStyle", s.id()));
    }
    let mut rref = reference("resource", resource.id());
    rref.set_attr("class", kind.root());
    layer.children.push(rref);
    layer.children.push(Element::with_text("enabled", "true"));
    if let Some(a) = body.child_text("advertised") {
        layer.children.push(Element::with_text("advertised", a));
    }
    layer.children.push(
        Element::new("attribution")
            .child(Element::with_text("logoWidth", "0"))
            .child(Element::with_text("logoHeight", "0")),
    );
    c.apply(vec![
        Change::Add { object: resource },
        Change::Add {
            object: Object::new(Kind::Layer, layer),
        },
    ])?;
    let loc = format!(
        "{}/workspaces/{}/{}/{}/{}/{}",
        req.rest(),
        seg(ws.name()),
        store_collection(store.kind),
        seg(store.name()),
        resource_collection(kind),
        seg(&name)
    );
    // GeoServer answers the new resource's name, as for the other collections.
    Ok(Resp::created(&name, Some(loc)))
}

/// Find a resource under a store or, without one, in the workspace's namespace.
fn find_resource(
    c: &Ctx,
    req: &Req,
    ws: &Object,
    store: Option<&Object>,
    kind: Kind,
    name: &str,
) -> RestResult<Arc<Object>> {
    let ns = c.namespace_of(ws)?;
    // A resource the caller may not read does not exist for them.
    let readable = |r: &Arc<Object>| {
        crate::ctx::readers_access(c.st, req).is_none_or(|a| crate::ctx::may_read(&a, &c.cat, r))
    };
    c.cat
        .find(kind, Some(ns.id()), name)
        .filter(|r| r.kind == kind)
        .filter(|r| store.is_none_or(|s| r.ref_id("store") == Some(s.id())))
        .filter(|r| readable(r))
        .cloned()
        .ok_or_else(|| {
            not_found(
                req,
                format!(
                    "No such {} '{name}' in workspace '{}'",
                    kind.label(),
                    ws.name()
                ),
            )
        })
}

/// `…/featuretypes/{ft}` and `…/coverages/{cov}`.
pub fn item(
    c: &Ctx,
    req: &Req,
    ws_name: &str,
    store: Option<&str>,
    kind: Kind,
    name: &str,
) -> RestResult<Resp> {
    let ws = c.workspace(req, ws_name)?;
    let store_kind = store_kind_of(kind);
    let store = match store {
        Some(s) => Some(find_store(c, req, &ws, store_kind, s)?),
        None => None,
    };
    let res = find_resource(c, req, &ws, store.as_deref(), kind, name)?;
    match req.method.as_str() {
        "GET" => {
            let mut e = encode(&c.cat, &res, req);
            if kind == Kind::FeatureType {
                live_attributes(c, &res, &mut e);
            }
            Ok(render(req, &e, &[]))
        }
        "PUT" => {
            let mut body = req.body_as(kind.root())?;
            strip_links(&mut body);
            body.remove("id");
            let r = Resolver {
                cat: &c.cat,
                ws: Some(ws.id()),
            };
            if let Some(s) = body.get("store") {
                if let Some(target) = r.lookup(s, store_kind)? {
                    if Some(target.id()) != res.ref_id("store") {
                        return Err(RestError::Forbidden(
                            "changing the store of a resource is not allowed".into(),
                        ));
                    }
                }
                body.remove("store");
            }
            r.resolve_field(&mut body, "namespace", Kind::Namespace)?;
            check_cql_filter(&body)?;
            let mut updated = (*res).clone();
            updated.edit_xml(|x| x.merge_from(&body));
            if let Some(what) = req.q("recalculate") {
                recalculate(c, &mut updated, what)?;
            }
            let mut changes = vec![Change::Modify {
                object: updated.clone(),
            }];
            if updated.name() != res.name() {
                if let Some(l) = c.cat.layer_of(res.id()) {
                    let mut l2 = (**l).clone();
                    l2.edit_xml(|x| x.set_child_text("name", updated.name()));
                    changes.push(Change::Modify { object: l2 });
                }
            }
            c.apply(changes)?;
            Ok(Resp::ok())
        }
        "DELETE" => {
            if c.cat.layer_of(res.id()).is_some() && !req.flag("recurse") {
                return Err(RestError::Forbidden(format!(
                    "{} '{name}' is referenced by a layer; use recurse=true",
                    kind.label()
                )));
            }
            c.apply(cascade_remove(&c.cat, kind, res.id()))?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// A resource's `cqlFilter` must read as CQL: a filter the services could not apply is
/// refused when it is given, not when a map or a feature request meets it.
fn check_cql_filter(body: &Element) -> RestResult<()> {
    let Some(text) = body.child_text("cqlFilter") else {
        return Ok(());
    };
    let envelope = |b: [f64; 4], _: Option<&str>| {
        Ok(geo_types::Rect::new(
            geo_types::coord! { x: b[0], y: b[1] },
            geo_types::coord! { x: b[2], y: b[3] },
        ))
    };
    meridian_features::filter::cql::parse_cql(text, &envelope)
        .map(|_| ())
        .map_err(|e| RestError::BadRequest(format!("cqlFilter '{text}': {e}")))
}

fn recalculate(c: &Ctx, res: &mut Object, what: &str) -> RestResult<()> {
    let store = res.ref_id("store").and_then(|s| c.cat.get(s)).cloned();
    let Some(store) = store else { return Ok(()) };
    let native = res
        .xml()
        .child_text("nativeName")
        .unwrap_or(res.name())
        .to_string();
    let schema = describe(&resource_params(c, &store, &res.element())?, &native)
        .map_err(|e| RestError::BadRequest(format!("cannot recalculate: {e}")))?;
    let srs = schema.srs.clone().unwrap_or_else(|| {
        res.xml()
            .child_text("srs")
            .unwrap_or("EPSG:4326")
            .to_string()
    });
    if let Some(b) = schema.bounds {
        if what.contains("nativebbox") {
            res.edit_xml(|x| x.put_child(bbox_element("nativeBoundingBox", b, &srs)));
        }
        if what.contains("latlonbbox") {
            if let Some(ll) = epsg_code(&srs).and_then(|code| lat_lon_bounds(code, b)) {
                res.edit_xml(|x| x.put_child(bbox_element("latLonBoundingBox", ll, "EPSG:4326")));
            }
        }
    }
    Ok(())
}

/// Replace stored attributes with the live schema, as GeoServer's GET does.
fn live_attributes(c: &Ctx, res: &Object, e: &mut Element) {
    let Some(store) = res.ref_id("store").and_then(|s| c.cat.get(s)) else {
        return;
    };
    let native = res.xml().child_text("nativeName").unwrap_or(res.name());
    let Ok(params) = resource_params(c, store, e) else {
        return;
    };
    let Ok(schema) = describe(&params, native) else {
        return;
    };
    let mut attrs = Element::new("attributes");
    for a in schema.attributes {
        let mut at = Element::new("attribute")
            .child(Element::with_text("name", a.name))
            .child(Element::with_text("minOccurs", "0"))
            .child(Element::with_text("maxOccurs", "1"))
            .child(Element::with_text("nillable", a.nillable.to_string()))
            .child(Element::with_text("binding", a.binding));
        if let Some(l) = a.length {
            at.children
                .push(Element::with_text("length", l.to_string()));
        }
        attrs.children.push(at);
    }
    match e.children.iter().position(|c| c.name == "attributes") {
        Some(p) => e.children[p] = attrs,
        None => {
            let p = e
                .children
                .iter()
                .position(|c| c.name == "store")
                .map(|p| p + 1)
                .unwrap_or(e.children.len());
            e.children.insert(p, attrs);
        }
    }
}
