//! Seeding as GeoWebCache's REST API has it (`/geoserver/gwc/rest/seed`): a `seedRequest`
//! (`seed`, `reseed` or `truncate`; gridset, levels, box, format, threads) becomes a task that
//! draws (or removes) the layer's tiles metatile by metatile on a bounded number of workers;
//! `GET /seed[/{layer}].json` gives each task's progress as GeoWebCache's `long-array-array`
//! (`[done, total, seconds left, id, status]`, status 0 pending, 1 running, 2 done, -1
//! aborted), and `kill_all` stops them.

use super::render::{tile, TileRequest};
use crate::OgcState;
use meridian_catalog::tile_layers::{find_tiled, TileConfig};
use meridian_rest::{AsyncResp, Req, Resp, RestError, RestExtension, RestResult};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Most workers one task runs.
const MAX_THREADS: u32 = 8;

/// One seeding task.
#[derive(Debug)]
struct Task {
    id: u64,
    layer: String,
    total: u64,
    done: AtomicU64,
    started: Instant,
    /// 0 pending, 1 running, 2 done, -1 aborted.
    status: AtomicI64,
    cancel: AtomicBool,
}

impl Task {
    fn row(&self) -> [i64; 5] {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed().as_secs_f64();
        let left = if done == 0 {
            -2
        } else {
            ((self.total.saturating_sub(done)) as f64 * elapsed / done as f64) as i64
        };
        [
            done.min(self.total) as i64,
            self.total as i64,
            left,
            self.id as i64,
            self.status.load(Ordering::Relaxed),
        ]
    }
}

/// The seeding tasks of a node.
#[derive(Debug, Default)]
pub struct Seeder {
    tasks: Mutex<Vec<Arc<Task>>>,
    next: AtomicU64,
}

/// GeoWebCache's seeding REST API, as an extension of the REST service (the administrator's,
/// like the rest of `/gwc/rest`).
pub struct SeedRest(pub Arc<OgcState>);

impl RestExtension for SeedRest {
    fn handle(&self, _req: &Req) -> Option<RestResult<Resp>> {
        None
    }

    fn handle_async(&self, req: &Req) -> Option<AsyncResp> {
        let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
        let layer = match segs.as_slice() {
            ["gwc", "seed"] => None,
            ["gwc", "seed", layer] => Some(layer.to_string()),
            _ => return None,
        };
        let st = self.0.clone();
        let req = req.clone();
        Some(Box::pin(async move { seed(st, req, layer) }))
    }
}

fn json(v: serde_json::Value) -> Resp {
    Resp {
        status: 200,
        content_type: "application/json".into(),
        body: v.to_string().into_bytes(),
        location: None,
        stream: None,
    }
}

fn seed(st: Arc<OgcState>, req: Req, layer: Option<String>) -> RestResult<Resp> {
    let seeder = &st.tiles.seeder;
    match req.method.as_str() {
        "GET" => {
            let tasks = seeder.tasks.lock().unwrap_or_else(|e| e.into_inner());
            let rows: Vec<[i64; 5]> = tasks
                .iter()
                .filter(|t| layer.as_ref().is_none_or(|l| *l == t.layer))
                .filter(|t| {
                    t.status.load(Ordering::Relaxed) >= 0 && t.status.load(Ordering::Relaxed) < 2
                })
                .map(|t| t.row())
                .collect();
            Ok(json(serde_json::json!({ "long-array-array": rows })))
        }
        "POST" => {
            let form: std::collections::HashMap<String, String> =
                form_urlencoded::parse(&req.body).into_owned().collect();
            if let Some(which) = form.get("kill_all") {
                let which = which.to_ascii_lowercase();
                let tasks = seeder.tasks.lock().unwrap_or_else(|e| e.into_inner());
                for t in tasks.iter() {
                    if layer.as_ref().is_some_and(|l| *l != t.layer) {
                        continue;
                    }
                    let s = t.status.load(Ordering::Relaxed);
                    let hit = match which.as_str() {
                        "running" | "1" => s == 1,
                        "pending" => s == 0,
                        _ => s == 0 || s == 1,
                    };
                    if hit {
                        t.cancel.store(true, Ordering::Relaxed);
                    }
                }
                return Ok(Resp {
                    content_type: "text/html".into(),
                    ..Resp::text(
                        200,
                        "<html><body>Requested to terminate tasks.</body></html>",
                    )
                });
            }
            let Some(layer) = layer else {
                return Err(RestError::BadRequest(
                    "POST /seed/{layer} with a <seedRequest>, or kill_all".into(),
                ));
            };
            let mut body = req.body_element("seedRequest")?;
            start(&st, &body, &layer, false)?;
            // Recorded through the catalog: every node seeds its own cache (a shared cache
            // once), as it applies the record.
            body.children.retain(|c| c.name.as_str() != "name");
            body.children
                .insert(0, meridian_xml::Element::with_text("name", layer.as_str()));
            record(&st, body)?;
            Ok(Resp::ok())
        }
        _ => Err(RestError::MethodNotAllowed(format!(
            "{} is not allowed on /gwc/rest/seed",
            req.method
        ))),
    }
}

/// Read a `seedRequest` and start its task (`launch` false: only check it).
fn start(
    st: &Arc<OgcState>,
    body: &meridian_xml::Element,
    layer: &str,
    launch: bool,
) -> RestResult<()> {
    if body.name.as_str() != "seedRequest" {
        return Err(RestError::BadRequest(format!(
            "expected a <seedRequest>, got <{}>",
            body.name
        )));
    }
    let cat = st.catalog.snapshot();
    let cfg = TileConfig::of(&cat);
    let tiled = find_tiled(&cat, &cfg, layer)
        .ok_or_else(|| RestError::NotFound(format!("Unknown layer: {layer}")))?;
    if let Some(n) = body
        .child_text("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if n != tiled.published.name {
            return Err(RestError::BadRequest(format!(
                "the body names the layer '{n}', the path '{layer}'"
            )));
        }
    }
    let gridset = body
        .child_text("gridSetId")
        .map(|g| g.trim().to_string())
        .or_else(|| {
            let srs = body.get("srs")?.child_text("number")?.trim().to_string();
            tiled
                .layer
                .gridsets
                .iter()
                .find(|g| {
                    cfg.gridset(&g.gridset)
                        .is_some_and(|s| s.epsg.to_string() == srs)
                })
                .map(|g| g.gridset.clone())
        })
        .or_else(|| tiled.layer.gridsets.first().map(|g| g.gridset.clone()))
        .ok_or_else(|| RestError::BadRequest("the seed request names no gridset".into()))?;
    let grid = cfg
        .gridset(&gridset)
        .ok_or_else(|| RestError::BadRequest(format!("there is no gridset named '{gridset}'")))?
        .clone();
    let num = |k: &str| {
        body.child_text(k)
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let last = grid.levels() as i64 - 1;
    let zs = num("zoomStart").unwrap_or(0);
    let ze = num("zoomStop").unwrap_or(last);
    if zs < 0 || ze < zs || ze > last {
        return Err(RestError::BadRequest(format!(
            "the levels {zs} to {ze} are not within 0 to {last} of {gridset}"
        )));
    }
    let format = body
        .child_text("format")
        .map(|f| f.trim().to_string())
        .or_else(|| tiled.layer.formats.first().cloned())
        .unwrap_or_else(|| "image/png".into());
    let format = meridian_tiles::FORMATS
        .iter()
        .find(|f| **f == format)
        .copied()
        .ok_or_else(|| RestError::BadRequest(format!("'{format}' is not a tile format")))?;
    let bounds = match body.get("bounds").and_then(|b| b.get("coords")) {
        Some(c) => {
            let v: Vec<f64> = c
                .all("double")
                .filter_map(|d| d.text_trim().and_then(|t| t.parse::<f64>().ok()))
                .collect();
            match v[..] {
                [a, b, c, d] if a < c && b < d => [a, b, c, d],
                _ => {
                    return Err(RestError::BadRequest(
                        "the bounds are four numbers min x, min y, max x, max y".into(),
                    ))
                }
            }
        }
        None => grid.extent,
    };
    let kind = body
        .child_text("type")
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "seed".into());
    let threads = (num("threadCount")
        .unwrap_or(1)
        .clamp(1, i64::from(MAX_THREADS))) as usize;
    // The metatiles to draw, level by level.
    let (mw, mh) = (u64::from(tiled.layer.meta.0), u64::from(tiled.layer.meta.1));
    let mut work: Vec<(usize, u64, u64)> = Vec::new();
    let mut total = 0u64;
    for z in zs as usize..=ze as usize {
        let Some(((x0, x1), (y0, y1))) = grid.tiles_covering(z, bounds) else {
            continue;
        };
        total += (x1 - x0 + 1) * (y1 - y0 + 1);
        if total > 50_000_000 {
            return Err(RestError::BadRequest(
                "more than 50 million tiles: seed fewer levels or a smaller box".into(),
            ));
        }
        if kind == "truncate" {
            work.push((z, x0, y0));
            continue;
        }
        let mut y = y0 - y0 % mh;
        while y <= y1 {
            let mut x = x0 - x0 % mw;
            while x <= x1 {
                work.push((z, x.max(x0), y.max(y0)));
                x += mw;
            }
            y += mh;
        }
    }
    if !launch {
        return Ok(());
    }
    let seeder = &st.tiles.seeder;
    let task = Arc::new(Task {
        id: seeder.next.fetch_add(1, Ordering::Relaxed) + 1,
        layer: tiled.published.name.clone(),
        total,
        done: AtomicU64::new(0),
        started: Instant::now(),
        status: AtomicI64::new(0),
        cancel: AtomicBool::new(false),
    });
    {
        let mut tasks = seeder.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Finished tasks are forgotten.
        tasks.retain(|t| (0..2).contains(&t.status.load(Ordering::Relaxed)));
        tasks.push(task.clone());
    }
    tracing::info!(layer = %task.layer, kind, tiles = total, threads, "tile seeding started");
    let st = st.clone();
    tokio::spawn(async move {
        task.status.store(1, Ordering::Relaxed);
        if kind == "truncate" {
            if let Some(d) = st.tiles.disk() {
                for (z, _, _) in &work {
                    if let Some((xs, ys)) = grid.tiles_covering(*z, bounds) {
                        let _ =
                            d.truncate_range(&tiled.published.id, &grid.name, *z as u32, xs, ys);
                    }
                }
            }
            task.done.store(total, Ordering::Relaxed);
            task.status.store(2, Ordering::Relaxed);
            return;
        }
        let queue = Arc::new(Mutex::new(work.into_iter()));
        let tiled = Arc::new(tiled);
        let grid = Arc::new(grid);
        let mut workers = Vec::new();
        for _ in 0..threads {
            let (queue, task, st, tiled, grid) = (
                queue.clone(),
                task.clone(),
                st.clone(),
                tiled.clone(),
                grid.clone(),
            );
            let reseed = kind == "reseed";
            workers.push(tokio::spawn(async move {
                let admin = meridian_security::LayerAccess::administrator();
                loop {
                    if task.cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((z, x, y)) = next else { break };
                    let (mw, mh) = (u64::from(tiled.layer.meta.0), u64::from(tiled.layer.meta.1));
                    let n = mw.min(grid.tiles_wide(z) - x) * mh.min(grid.tiles_high(z) - y);
                    if reseed {
                        if let Some(d) = st.tiles.disk() {
                            let _ = d.truncate_range(
                                &tiled.published.id,
                                &grid.name,
                                z as u32,
                                (x, x + mw - 1),
                                (y, y + mh - 1),
                            );
                        }
                    }
                    let r = TileRequest {
                        tiled: &tiled,
                        grid: &grid,
                        z,
                        x,
                        y,
                        format,
                        style: String::new(),
                    };
                    if let Err(e) = tile(&st, r, &admin).await {
                        tracing::warn!(layer = %tiled.published.name, z, x, y, error = ?e, "a tile could not be seeded");
                    }
                    task.done.fetch_add(n, Ordering::Relaxed);
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
        let end = if task.cancel.load(Ordering::Relaxed) {
            -1
        } else {
            2
        };
        task.status.store(end, Ordering::Relaxed);
        tracing::info!(layer = %task.layer, done = task.done.load(Ordering::Relaxed), aborted = end < 0, "tile seeding ended");
    });
    Ok(())
}

/// Most seed requests the record keeps (the oldest are dropped; they have run).
const RECORDED: usize = 100;

/// Record a seed request in `gwc/meridian-seeds.xml` through the catalog's apply path.
fn record(st: &Arc<OgcState>, request: meridian_xml::Element) -> RestResult<()> {
    use meridian_catalog::{gwc_files, Change, Kind};
    let cat = st.catalog.snapshot();
    let current = cat
        .get_kind(Kind::TileCache, &gwc_files::id_of(gwc_files::SEEDS))
        .and_then(|o| o.body.clone());
    let mut root = current
        .as_deref()
        .and_then(|t| meridian_xml::parse(t).ok())
        .unwrap_or_else(|| meridian_xml::Element::new("meridianSeeds"));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let id = format!("{nanos:x}-{}", st.tiles.seeder.next.load(Ordering::Relaxed));
    root.children.push(
        meridian_xml::Element::new("seed")
            .attr("id", id)
            .child(request),
    );
    let excess = root.children.len().saturating_sub(RECORDED);
    root.children.drain(..excess);
    let object = gwc_files::object(gwc_files::SEEDS, root.to_xml());
    let change = Change::put(&cat, object);
    st.catalog.apply(vec![change]).map_err(|e| match e {
        meridian_catalog::ApplyError::ReadOnly(m) => RestError::Forbidden(m),
        other => RestError::BadRequest(other.to_string()),
    })?;
    Ok(())
}

/// The seed requests recorded in `after` and not in `before` (by id): each node runs them as
/// its catalog takes them.
pub fn recorded_since(
    before: &meridian_catalog::Catalog,
    after: &meridian_catalog::Catalog,
) -> Vec<(String, meridian_xml::Element)> {
    use meridian_catalog::{gwc_files, Kind};
    let seeds = |c: &meridian_catalog::Catalog| -> Vec<(String, meridian_xml::Element)> {
        c.get_kind(Kind::TileCache, &gwc_files::id_of(gwc_files::SEEDS))
            .and_then(|o| o.body.as_deref().and_then(|t| meridian_xml::parse(t).ok()))
            .map(|root| {
                root.all("seed")
                    .filter_map(|s| {
                        let id = s.attr_value("id")?.to_string();
                        let req = s.get("seedRequest")?.clone();
                        Some((id, req))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let old: std::collections::HashSet<String> =
        seeds(before).into_iter().map(|(id, _)| id).collect();
    seeds(after)
        .into_iter()
        .filter(|(id, _)| !old.contains(id))
        .collect()
}

/// Run a recorded seed request on this node — once per cache: a node sharing its cache
/// folder with another that took the request already leaves it.
pub fn run_recorded(st: &Arc<OgcState>, id: &str, request: &meridian_xml::Element) {
    if let Some(d) = st.tiles.disk() {
        let marks = d.root().join(".seeds");
        let _ = std::fs::create_dir_all(&marks);
        let mark = marks.join(id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
        if std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&mark)
            .is_err()
        {
            tracing::info!(
                seed = id,
                "a seed request another node sharing this cache runs"
            );
            return;
        }
    }
    let layer = request.child_text("name").unwrap_or_default().to_string();
    if let Err(e) = start(st, request, &layer, true) {
        tracing::warn!(seed = id, error = %e, "a recorded seed request does not run here");
    }
}
