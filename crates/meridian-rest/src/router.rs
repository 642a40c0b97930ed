//! Mapping `/rest/...` paths to handlers. Paths are matched as segment slices, which keeps
//! GeoServer's quirks (extensions, trailing slashes, `ws:name`, dots in names) in one place.

use crate::api::{
    about, coverage_upload, groups, layers, resources, security, settings, stores, styles, upload,
    workspaces,
};
use crate::ctx::Ctx;
use crate::error::{RestError, RestResult};
use crate::req::{Req, Resp, EXTENSIONS};
use meridian_catalog::Kind;
use percent_encoding::percent_decode_str;

/// Split a path under `/rest` into decoded segments and a recognised extension.
pub fn split_path(path: &str) -> RestResult<(Vec<String>, Option<String>)> {
    let mut segs = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let s = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| RestError::BadRequest("the path is not valid UTF-8".into()))?
            .to_string();
        if s == "."
            || s == ".."
            || s.contains('/')
            || s.contains('\\')
            || s.chars().any(char::is_control)
        {
            return Err(RestError::BadRequest(format!("invalid path segment '{s}'")));
        }
        segs.push(s);
    }
    let mut ext = None;
    if let Some(last) = segs.last_mut() {
        if let Some((stem, e)) = last.rsplit_once('.') {
            let lower = e.to_ascii_lowercase();
            if !stem.is_empty() && EXTENSIONS.contains(&lower.as_str()) {
                ext = Some(lower);
                *last = stem.to_string();
            }
        }
    }
    Ok((segs, ext))
}

/// Whether a request only reads one object of the catalog snapshot: a GET of a workspace,
/// namespace, store, layer or layer group. Such a request touches neither the disk nor a
/// data source and takes microseconds, so it is answered on the runtime's worker instead of
/// being handed to a blocking thread. Listings (whose cost grows with the catalog), feature
/// types (which read their store's live attributes), styles (SLD files) and writes are not.
pub fn reads_one_object(req: &Req) -> bool {
    if req.method != "GET" {
        return false;
    }
    let s: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["workspaces", _] | ["namespaces", _] | ["layers", _] | ["layers", _, "styles"] => true,
        ["layergroups", _] | ["workspaces", _, "layers" | "layergroups", _] => true,
        ["workspaces", _, coll, _] => stores::store_kind(coll).is_some(),
        _ => false,
    }
}

/// Dispatch a request to its handler.
pub fn dispatch(c: &Ctx, req: &Req) -> RestResult<Resp> {
    for ext in &c.st.extensions {
        if let Some(r) = ext.handle(req) {
            return r;
        }
    }
    let s: Vec<&str> = req.segs.iter().map(String::as_str).collect();
    let fk = Kind::FeatureType;
    let ck = Kind::Coverage;
    match s.as_slice() {
        [] => Ok(Resp::text(
            200,
            "Meridian REST configuration API (GeoServer compatible)",
        )),
        ["about", what] => about::about(c, req, what),
        ["reload"] => about::reload(c, req),
        ["reset"] => about::reset(c, req),
        ["workspaces"] => workspaces::collection(c, req),
        ["workspaces", ws] => workspaces::item(c, req, ws),
        ["workspaces", ws, "settings"] => settings::workspace_settings(c, req, ws),
        ["workspaces", ws, "featuretypes"] => resources::collection(c, req, ws, None, fk),
        ["workspaces", ws, "featuretypes", ft] => resources::item(c, req, ws, None, fk, ft),
        ["workspaces", ws, "coverages"] => resources::collection(c, req, ws, None, ck),
        ["workspaces", ws, "coverages", cv] => resources::item(c, req, ws, None, ck, cv),
        ["workspaces", ws, "layers"] => layers::collection(c, req, Some(ws)),
        ["workspaces", ws, "layers", l] => layers::item(c, req, Some(ws), l),
        ["workspaces", ws, "styles"] => styles::collection(c, req, Some(ws)),
        ["workspaces", ws, "styles", st] => styles::item(c, req, Some(ws), st),
        ["workspaces", ws, "layergroups"] => groups::collection(c, req, Some(ws)),
        ["workspaces", ws, "layergroups", g] => groups::item(c, req, Some(ws), g),
        ["workspaces", ws, coll] if stores::store_kind(coll).is_some() => stores::collection(
            c,
            req,
            ws,
            stores::store_kind(coll).unwrap_or(Kind::DataStore),
        ),
        ["workspaces", ws, coll, st] if stores::store_kind(coll).is_some() => stores::item(
            c,
            req,
            ws,
            stores::store_kind(coll).unwrap_or(Kind::DataStore),
            st,
        ),
        ["workspaces", ws, "datastores", st, "featuretypes"] => {
            resources::collection(c, req, ws, Some(st), fk)
        }
        ["workspaces", ws, "datastores", st, "featuretypes", ft] => {
            resources::item(c, req, ws, Some(st), fk, ft)
        }
        ["workspaces", ws, "coveragestores", st, "coverages"] => {
            resources::collection(c, req, ws, Some(st), ck)
        }
        ["workspaces", ws, "coveragestores", st, "coverages", cv] => {
            resources::item(c, req, ws, Some(st), ck, cv)
        }
        ["workspaces", ws, "datastores", st, up] if up.contains('.') => {
            let (method, format) = up.split_once('.').unwrap_or((up, ""));
            upload::upload(c, req, ws, st, method, format)
        }
        ["workspaces", ws, "coveragestores", st, up] if up.contains('.') => {
            let (method, format) = up.split_once('.').unwrap_or((up, ""));
            coverage_upload::upload(c, req, ws, st, method, format)
        }
        ["namespaces"] => workspaces::namespaces(c, req),
        ["namespaces", p] => workspaces::namespace(c, req, p),
        ["layers"] => layers::collection(c, req, None),
        ["layers", l] => layers::item(c, req, None, l),
        ["layers", l, "styles"] => layers::styles(c, req, l),
        ["styles"] => styles::collection(c, req, None),
        ["styles", st] => styles::item(c, req, None, st),
        ["layergroups"] => groups::collection(c, req, None),
        ["layergroups", g] => groups::item(c, req, None, g),
        ["security", rest @ ..] => security::dispatch(c, req, rest),
        ["gwc", rest @ ..] => crate::api::gwc::dispatch(c, req, rest),
        ["settings"] => settings::global_settings(c, req),
        ["settings", "contact"] => settings::contact(c, req),
        ["logging"] => settings::logging(c, req),
        ["services", svc, "settings"] => settings::service(c, req, svc, None),
        ["services", svc, "workspaces", ws, "settings"] => settings::service(c, req, svc, Some(ws)),
        _ => Err(RestError::NotFound(format!(
            "No such resource: /rest/{}",
            req.segs.join("/")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_segments_and_known_extensions() {
        let (s, e) = split_path("/workspaces/it.geosolutions/").unwrap();
        assert_eq!(s, ["workspaces", "it.geosolutions"]);
        assert_eq!(e, None);
        let (s, e) = split_path("/layers/sf%3Aroads.json").unwrap();
        assert_eq!(s, ["layers", "sf:roads"]);
        assert_eq!(e.as_deref(), Some("json"));
        let (s, _) = split_path("/workspaces/w/datastores/d/file.shp").unwrap();
        assert_eq!(s.last().map(String::as_str), Some("file.shp"));
        assert!(split_path("/workspaces/%2e%2e/x").is_err());
        assert!(split_path("/workspaces/a%2Fb").is_err());
    }

    fn request(method: &str, path: &str) -> Req {
        let (segs, ext) = split_path(path).unwrap();
        Req {
            method: method.into(),
            segs,
            ext,
            query: Default::default(),
            accept: String::new(),
            content_type: String::new(),
            body: Vec::new(),
            base: "http://localhost/geoserver".into(),
            user: None,
            peer: false,
        }
    }

    #[test]
    fn only_reads_of_one_catalog_object_are_answered_in_place() {
        for path in [
            "/workspaces/sf.json",
            "/namespaces/sf.xml",
            "/layers/sf:roads",
            "/layers/sf:roads/styles.json",
            "/layergroups/base.json",
            "/workspaces/sf/layers/roads.json",
            "/workspaces/sf/layergroups/g",
            "/workspaces/sf/datastores/shapes.json",
            "/workspaces/sf/coveragestores/dem.xml",
        ] {
            assert!(reads_one_object(&request("GET", path)), "{path}");
        }
        for (method, path) in [
            ("PUT", "/workspaces/sf"),
            ("DELETE", "/layers/sf:roads"),
            ("POST", "/workspaces/sf/datastores"),
            // Listings grow with the catalog.
            ("GET", "/workspaces.json"),
            ("GET", "/layers"),
            ("GET", "/workspaces/sf/datastores.json"),
            // A feature type reads its store's attributes; a style may read its SLD file.
            ("GET", "/workspaces/sf/featuretypes/roads.json"),
            (
                "GET",
                "/workspaces/sf/datastores/shapes/featuretypes/roads.json",
            ),
            ("GET", "/styles/line.sld"),
            ("GET", "/workspaces/sf/settings.json"),
            ("GET", "/workspaces/sf/unknown/x"),
        ] {
            assert!(!reads_one_object(&request(method, path)), "{method} {path}");
        }
    }
}
