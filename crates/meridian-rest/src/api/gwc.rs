//! GeoWebCache's REST API at `/geoserver/gwc/rest` (the administrator's): the tile layers
//! (`/layers`, `/layers/{name}`) kept as GeoServer's `gwc-layers/` files, and truncation
//! (`/masstruncate`), recorded so that every node truncates. Every change goes through the
//! catalog's apply path: journaled, replicated, persisted.

use crate::ctx::{method_not_allowed, Ctx};
use crate::error::{RestError, RestResult};
use crate::req::{Req, Resp};
use meridian_catalog::tile_layers::{all_tiled, find_published, tile_layer_of, TileConfig};
use meridian_catalog::{gwc_files, Change, Kind};
use meridian_tiles::TileLayer;
use meridian_xml::Element;

/// `/gwc/...`.
pub fn dispatch(c: &Ctx, req: &Req, rest: &[&str]) -> RestResult<Resp> {
    match rest {
        ["layers"] => layers(c, req),
        ["layers", name] => layer(c, req, name),
        ["masstruncate"] => mass_truncate(c, req),
        ["diskquota"] => disk_quota(c, req),
        _ => Err(RestError::NotFound(format!(
            "no such tile cache resource: /gwc/rest/{}",
            rest.join("/")
        ))),
    }
}

fn layers(c: &Ctx, req: &Req) -> RestResult<Resp> {
    if req.method != "GET" {
        return Err(method_not_allowed(req));
    }
    let cfg = TileConfig::of(&c.cat);
    let names: Vec<String> = all_tiled(&c.cat, &cfg)
        .into_iter()
        .map(|t| t.published.name)
        .collect();
    if req.ext.as_deref() == Some("json") || (req.ext.is_none() && req.accept.contains("json")) {
        return Ok(Resp {
            status: 200,
            content_type: "application/json".into(),
            body: serde_json::to_vec(&names).unwrap_or_default(),
            location: None,
            stream: None,
        });
    }
    let mut e = Element::new("layers");
    for n in names {
        e.children.push(
            Element::new("layer")
                .child(Element::with_text("name", n.as_str()))
                .child(
                    Element::new("atom:link")
                        .attr("xmlns:atom", "http://www.w3.org/2005/Atom")
                        .attr("rel", "alternate")
                        .attr("href", format!("{}/gwc/rest/layers/{n}.xml", req.base))
                        .attr("type", "text/xml"),
                ),
        );
    }
    let mut xml = req.clone();
    xml.ext = Some("xml".into());
    Ok(crate::req::render(&xml, &e, &[]))
}

/// The change that stores `layer` as its file.
fn save(c: &Ctx, layer: &TileLayer) -> Change {
    let name = gwc_files::layer_file(&layer.id);
    Change::put(&c.cat, gwc_files::object(&name, layer.to_xml()))
}

fn layer(c: &Ctx, req: &Req, name: &str) -> RestResult<Resp> {
    let cfg = TileConfig::of(&c.cat);
    let published = find_published(&c.cat, name)
        .ok_or_else(|| RestError::NotFound(format!("Unknown layer: {name}")))?;
    let current = tile_layer_of(&c.cat, &cfg, &published).filter(|l| l.enabled);
    match req.method.as_str() {
        "GET" => {
            let t = current.ok_or_else(|| RestError::NotFound(format!("Unknown layer: {name}")))?;
            let mut t = t;
            t.name = published.name.clone();
            Ok(crate::req::render(
                req,
                &t.to_element("GeoServerLayer"),
                &[],
            ))
        }
        "PUT" | "POST" => {
            if req.method == "POST" && current.is_none() {
                return Err(RestError::BadRequest(format!(
                    "there is no tile layer {name} to change; PUT it to add it"
                )));
            }
            let body = req.body_element("GeoServerLayer")?;
            if !matches!(body.name.as_str(), "GeoServerLayer" | "GeoServerTileLayer") {
                return Err(RestError::BadRequest(format!(
                    "expected a <GeoServerLayer> body, got <{}>",
                    body.name
                )));
            }
            let mut t =
                TileLayer::from_element(&body).map_err(|e| RestError::BadRequest(e.to_string()))?;
            if !t.name.is_empty() && t.name != published.name {
                return Err(RestError::BadRequest(format!(
                    "the body names the layer '{}', the path '{}'",
                    t.name, published.name
                )));
            }
            // Bound to the published layer by its id, whatever the body says.
            t.id = published.id.clone();
            t.name = published.name.clone();
            if let Some(g) = t
                .gridsets
                .iter()
                .find(|g| cfg.gridset(&g.gridset).is_none())
            {
                return Err(RestError::BadRequest(format!(
                    "there is no gridset named '{}'",
                    g.gridset
                )));
            }
            if t.gridsets.is_empty() {
                let defaults = TileLayer::new_for(&t.id, &t.name, &cfg.settings, published.kind);
                t.gridsets = defaults.gridsets;
            }
            if t.formats.is_empty() {
                t.formats = current
                    .as_ref()
                    .map(|l| l.formats.clone())
                    .unwrap_or_else(|| {
                        TileLayer::new_for(&t.id, &t.name, &cfg.settings, published.kind).formats
                    });
            }
            c.apply(vec![save(c, &t)])?;
            let mut r = Resp::text(200, "layer saved");
            if req.method == "POST" {
                r.content_type = "text/plain".into();
            }
            Ok(r)
        }
        "DELETE" => {
            let mut t =
                current.ok_or_else(|| RestError::NotFound(format!("Unknown layer: {name}")))?;
            // Kept as a disabled tile layer: without a file the settings would cache it again.
            t.enabled = false;
            t.name = published.name.clone();
            c.apply(vec![save(c, &t)])?;
            Ok(Resp::text(200, &format!("{name} deleted")))
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `POST /masstruncate`: `truncateLayer` and `truncateParameters` truncate the layer's tiles
/// (all of them: Meridian truncates whole layers for parameters), `truncateExtent` those
/// meeting its `<bounds>` (in the `<gridSetId>`'s CRS for that gridset, else in WGS84 for
/// every gridset; without bounds the whole layer), `truncateAll` every layer's. Recorded in
/// the truncations file, so every node truncates.
fn mass_truncate(c: &Ctx, req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => {
            let mut e = Element::new("massTruncateRequests")
                .attr("href", format!("{}/gwc/rest/masstruncate", req.base));
            for t in [
                "truncateLayer",
                "truncateParameters",
                "truncateExtent",
                "truncateAll",
            ] {
                e.children.push(Element::with_text("requestType", t));
            }
            let mut xml = req.clone();
            xml.ext = Some("xml".into());
            Ok(crate::req::render(&xml, &e, &[]))
        }
        "POST" => {
            let body = req.body_element("truncateLayer")?;
            let ids: Vec<String> = match body.name.as_str() {
                "truncateAll" => vec!["*".into()],
                "truncateLayer" | "truncateExtent" | "truncateParameters" | "truncateOrphans" => {
                    let name = body
                        .child_text("layerName")
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| {
                            RestError::BadRequest(format!("<{}> needs a <layerName>", body.name))
                        })?;
                    let p = find_published(&c.cat, name)
                        .ok_or_else(|| RestError::BadRequest(format!("Could not find layer {name}")))?;
                    vec![p.id]
                }
                other => {
                    return Err(RestError::BadRequest(format!(
                        "<{other}> is not a truncate request (truncateLayer, truncateParameters, truncateExtent, truncateOrphans, truncateAll)"
                    )))
                }
            };
            let current = c
                .cat
                .get_kind(Kind::TileCache, &gwc_files::id_of(gwc_files::TRUNCATIONS))
                .and_then(|o| o.body.clone());
            let text = match (body.name.as_str(), body.get("bounds"), ids.as_slice()) {
                ("truncateExtent", Some(bounds), [id]) => gwc_files::truncated_extent(
                    current.as_deref(),
                    id,
                    extent_of(c, bounds, body.child_text("gridSetId"))?,
                ),
                _ => {
                    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                    gwc_files::truncated(current.as_deref(), &refs)
                }
            };
            let object = gwc_files::object(gwc_files::TRUNCATIONS, text);
            let change = Change::put(&c.cat, object);
            c.apply(vec![change])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// A `truncateExtent`'s box: `<bounds><coords>` with four numbers (min x, min y, max x, max
/// y), in the named gridset's CRS (which must exist), else in WGS84.
fn extent_of(
    c: &Ctx,
    bounds: &Element,
    gridset: Option<&str>,
) -> RestResult<gwc_files::TruncatedExtent> {
    let bad = || {
        RestError::BadRequest(
            "<bounds> needs <coords> with four numbers: min x, min y, max x, max y".into(),
        )
    };
    let values: Vec<f64> = bounds
        .get("coords")
        .ok_or_else(bad)?
        .all("double")
        .map(|d| {
            d.text_trim()
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or_else(bad)
        })
        .collect::<RestResult<_>>()?;
    let bbox: [f64; 4] = values.try_into().map_err(|_| bad())?;
    if !bbox.iter().all(|v| v.is_finite()) || bbox[0] > bbox[2] || bbox[1] > bbox[3] {
        return Err(RestError::BadRequest(format!(
            "the bounds {bbox:?} are not a box (min x ≤ max x, min y ≤ max y)"
        )));
    }
    let gridset = match gridset.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => {
            if TileConfig::of(&c.cat).gridset(g).is_none() {
                return Err(RestError::BadRequest(format!("no gridset named '{g}'")));
            }
            Some(g.to_string())
        }
        None => None,
    };
    Ok(gwc_files::TruncatedExtent { gridset, bbox })
}

/// `/diskquota`: GeoWebCache's disk quota configuration (`gwc/geowebcache-diskquota.xml`):
/// whether quotas apply and the global quota, which every node's cache keeps under (the least
/// recently used tiles go first). Without the file, the node's `--tile-cache-quota` applies.
fn disk_quota(c: &Ctx, req: &Req) -> RestResult<Resp> {
    let current = c
        .cat
        .get_kind(Kind::TileCache, &gwc_files::id_of(gwc_files::DISKQUOTA))
        .and_then(|o| o.body.clone());
    let shown = |text: Option<&str>| -> Element {
        let parsed = text.and_then(|t| meridian_xml::parse(t).ok());
        let get = |k: &str| {
            parsed
                .as_ref()
                .and_then(|x| x.child_text(k))
                .map(str::to_string)
        };
        let quota = parsed.as_ref().and_then(|x| {
            x.get("globalQuota").map(|q| {
                (
                    q.child_text("value").unwrap_or("500").trim().to_string(),
                    q.child_text("units").unwrap_or("MiB").trim().to_string(),
                )
            })
        });
        let (value, units) = quota.unwrap_or_else(|| ("500".into(), "MiB".into()));
        Element::new("gwcQuotaConfiguration")
            .child(Element::with_text(
                "enabled",
                get("enabled").unwrap_or_else(|| "false".into()),
            ))
            .child(Element::with_text(
                "cacheCleanUpFrequency",
                get("cacheCleanUpFrequency").unwrap_or_else(|| "10".into()),
            ))
            .child(Element::with_text(
                "cacheCleanUpUnits",
                get("cacheCleanUpUnits").unwrap_or_else(|| "SECONDS".into()),
            ))
            .child(Element::with_text(
                "maxConcurrentCleanUps",
                get("maxConcurrentCleanUps").unwrap_or_else(|| "2".into()),
            ))
            .child(Element::with_text("globalExpirationPolicyName", "LRU"))
            .child(
                Element::new("globalQuota")
                    .child(Element::with_text("value", value))
                    .child(Element::with_text("units", units)),
            )
    };
    match req.method.as_str() {
        "GET" => Ok(crate::req::render(req, &shown(current.as_deref()), &[])),
        "PUT" => {
            let body = req.body_element("gwcQuotaConfiguration")?;
            if body.name.as_str() != "gwcQuotaConfiguration" {
                return Err(RestError::BadRequest(format!(
                    "expected a <gwcQuotaConfiguration> body, got <{}>",
                    body.name
                )));
            }
            // What the body leaves out keeps its value (GeoWebCache applies non-null fields).
            let mut merged = shown(current.as_deref());
            for child in &body.children {
                if let Some(slot) = merged.children.iter_mut().find(|c| c.name == child.name) {
                    *slot = child.clone();
                }
            }
            let text = merged.to_xml();
            gwc_files::quota_bytes(&text).map_err(RestError::BadRequest)?;
            let object = gwc_files::object(gwc_files::DISKQUOTA, text);
            let change = Change::put(&c.cat, object);
            c.apply(vec![change])?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}
