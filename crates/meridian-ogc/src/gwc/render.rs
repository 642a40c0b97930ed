//! A tile from the cache, or drawn: a miss draws the tile's whole metatile (the layer's
//! metatile size, with its gutter) once through the WMS renderer, cuts it into tiles,
//! stores every one and answers the one asked for. Requests for tiles of a metatile being
//! drawn wait for it rather than drawing it again.

use crate::access::Refusal;
use crate::OgcState;
use meridian_catalog::tile_layers::Tiled;
use meridian_security::LayerAccess;
use meridian_tiles::{DiskCache, GridSet, TileKey};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// The node's tile cache: the disk cache (opened on first use) and the metatiles being drawn.
#[derive(Debug)]
pub struct TileCache {
    root: PathBuf,
    /// The quota the node was started with (`--tile-cache-quota`), unless the disk quota
    /// configuration says otherwise.
    quota: Option<u64>,
    disk: OnceLock<Option<DiskCache>>,
    drawing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Cached tiles answered before the router.
    pub hot: super::hot::HotTiles,
    /// The seeding tasks.
    pub(crate) seeder: super::seed::Seeder,
}

impl TileCache {
    /// A cache under `root`, with an optional quota in bytes; `proxy_header`: the header a
    /// trusted proxy names users in, if one is configured (requests carrying it are not
    /// answered from memory).
    pub fn new(root: PathBuf, quota: Option<u64>, proxy_header: Option<String>) -> TileCache {
        let hot = super::hot::HotTiles::new(proxy_header);
        hot.set_touching(quota.is_some());
        TileCache {
            root,
            quota,
            disk: OnceLock::new(),
            drawing: Mutex::default(),
            hot,
            seeder: Default::default(),
        }
    }

    /// The disk cache, when its folder can be made.
    pub fn disk(&self) -> Option<&DiskCache> {
        self.disk
            .get_or_init(|| match DiskCache::open(&self.root, self.quota) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "the tile cache cannot be opened; tiles are drawn for every request");
                    None
                }
            })
            .as_ref()
    }

    /// Set the quota: the one `gwc/geowebcache-diskquota.xml` sets, else the node's own.
    pub fn configure_quota(&self, configured: Option<Option<u64>>) {
        let quota = configured.unwrap_or(self.quota);
        self.hot.set_touching(quota.is_some());
        if let Some(d) = self.disk() {
            d.set_quota(quota);
        }
    }

    /// Remove every cached tile of the layers or groups with these ids (`*`: of all).
    pub fn truncate_layers<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let Some(d) = self.disk() else { return };
        for id in ids {
            if id == "*" {
                if let Err(e) = d.truncate_all() {
                    tracing::warn!(error = %e, "the tile cache could not be emptied");
                }
                continue;
            }
            if let Err(e) = d.truncate_layer(id) {
                tracing::warn!(layer = id, error = %e, "cached tiles could not be truncated");
            }
        }
    }
}

impl TileCache {
    /// Truncate the tiles of layer `layer_id` — and of the groups holding it — that meet
    /// `bbox` (WGS84) or come within a tile of it (symbols drawn across tile edges), at every
    /// level of every gridset its tile layer caches: a data edit.
    pub fn invalidate(&self, cat: &meridian_catalog::Catalog, layer_id: &str, bbox: [f64; 4]) {
        self.truncate_box(cat, layer_id, None, bbox, true);
    }

    /// Truncate the tiles of layer or group `id` — and of the groups holding it — that meet
    /// a `truncateExtent`'s box: in its gridset's CRS for that gridset only, else in WGS84
    /// for every gridset.
    pub fn truncate_extent(
        &self,
        cat: &meridian_catalog::Catalog,
        id: &str,
        extent: &meridian_catalog::gwc_files::TruncatedExtent,
    ) {
        self.truncate_box(cat, id, extent.gridset.as_deref(), extent.bbox, false);
    }

    fn truncate_box(
        &self,
        cat: &meridian_catalog::Catalog,
        layer_id: &str,
        only: Option<&str>,
        bbox: [f64; 4],
        pad_a_tile: bool,
    ) {
        use meridian_catalog::tile_layers::{tile_layer_of, TileConfig};
        let Some(disk) = self.disk() else { return };
        let cfg = TileConfig::of(cat);
        // The layer and every group holding it, directly or not.
        let mut ids = vec![layer_id.to_string()];
        let mut i = 0;
        while i < ids.len() && ids.len() < 10_000 {
            for g in cat.groups_containing(&ids[i]) {
                if !ids.iter().any(|x| x == g.id()) {
                    ids.push(g.id().to_string());
                }
            }
            i += 1;
        }
        for id in &ids {
            let Some(published) = meridian_catalog::tile_layers::published_by_id(cat, id) else {
                continue;
            };
            let Some(layer) = tile_layer_of(cat, &cfg, &published) else {
                continue;
            };
            for sub in &layer.gridsets {
                if only.is_some_and(|g| g != sub.gridset) {
                    continue;
                }
                let Some(grid) = cfg.gridset(&sub.gridset) else {
                    continue;
                };
                let b = if only.is_some() {
                    bbox
                } else {
                    let Ok(r) = meridian_features::transform_bbox(bbox, 4326, draw_epsg(grid))
                    else {
                        continue;
                    };
                    [r.min().x, r.min().y, r.max().x, r.max().y]
                };
                if !b.iter().all(|v| v.is_finite()) {
                    continue;
                }
                for z in 0..grid.levels() {
                    // A tile's width around the box: symbols drawn across tile edges.
                    let pad = if pad_a_tile {
                        grid.resolutions[z] * f64::from(grid.tile_width)
                    } else {
                        0.0
                    };
                    let padded = [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad];
                    if let Some((xs, ys)) = grid.tiles_covering(z, padded) {
                        if let Err(e) = disk.truncate_range(id, &grid.name, z as u32, xs, ys) {
                            tracing::warn!(layer = %id, error = %e, "edited tiles could not be truncated");
                        }
                    }
                }
            }
        }
    }
}

/// One tile asked for.
#[derive(Debug, Clone)]
pub(crate) struct TileRequest<'a> {
    pub tiled: &'a Tiled,
    pub grid: &'a GridSet,
    pub z: usize,
    /// Column from the left.
    pub x: u64,
    /// Row from the bottom (GeoWebCache's internal order).
    pub y: u64,
    /// Its format (`image/png`, …).
    pub format: &'static str,
    /// The style asked for (`""`: the default).
    pub style: String,
}

/// A tile, with where it came from.
#[derive(Debug)]
pub(crate) struct Tile {
    pub bytes: Vec<u8>,
    pub format: &'static str,
    /// Found in the cache.
    pub hit: bool,
    /// When it was drawn.
    pub modified: SystemTime,
    /// The cached file it was read from, and its size (hits only).
    pub file: Option<(PathBuf, u64)>,
}

/// Why a tile is not given.
#[derive(Debug)]
pub(crate) enum TileError {
    /// A parameter names something the layer does not serve (`locator`: the parameter).
    Invalid {
        code: &'static str,
        locator: &'static str,
        text: String,
    },
    /// The caller may not read the layer.
    Refused(Refusal),
    /// Drawing failed.
    Draw(String),
}

impl TileError {
    pub(crate) fn invalid(
        code: &'static str,
        locator: &'static str,
        text: impl Into<String>,
    ) -> Self {
        TileError::Invalid {
            code,
            locator,
            text: text.into(),
        }
    }
}

/// The CRS the renderer draws a gridset's tiles in (GeoWebCache's 900913 is 3857).
pub(super) fn draw_epsg(grid: &GridSet) -> u32 {
    match grid.epsg {
        900913 => 3857,
        e => e,
    }
}

/// Check what a tile request asks against its tile layer: the style, the gridset and its
/// levels, the format, the row and column.
fn check(r: &TileRequest<'_>) -> Result<String, TileError> {
    let layer = &r.tiled.layer;
    let published = &r.tiled.published;
    if !layer.enabled {
        return Err(TileError::invalid(
            "InvalidParameterValue",
            "layer",
            format!(
                "the layer {} has no tiles (its tile layer is disabled)",
                published.name
            ),
        ));
    }
    if !layer.formats.iter().any(|f| f == r.format) {
        return Err(TileError::invalid(
            "InvalidParameterValue",
            "format",
            format!(
                "the layer {} is not cached as {} (it is as {})",
                published.name,
                r.format,
                layer.formats.join(", ")
            ),
        ));
    }
    let Some(subset) = layer.subset(&r.grid.name) else {
        return Err(TileError::invalid(
            "InvalidParameterValue",
            "tilematrixset",
            format!(
                "the layer {} has no tiles in the gridset {}",
                published.name, r.grid.name
            ),
        ));
    };
    let start = subset.zoom_start.unwrap_or(0) as usize;
    let stop = subset.zoom_stop.map_or(r.grid.levels() - 1, |z| {
        (z as usize).min(r.grid.levels() - 1)
    });
    if r.z < start || r.z > stop {
        return Err(TileError::invalid(
            "InvalidParameterValue",
            "tilematrix",
            format!(
                "the layer {} has tiles of levels {start} to {stop} of {}, not {}",
                published.name, r.grid.name, r.z
            ),
        ));
    }
    if r.x >= r.grid.tiles_wide(r.z) {
        return Err(TileError::invalid(
            "TileOutOfRange",
            "tilecol",
            format!(
                "column {} is outside level {} ({} columns)",
                r.x,
                r.z,
                r.grid.tiles_wide(r.z)
            ),
        ));
    }
    if r.y >= r.grid.tiles_high(r.z) {
        return Err(TileError::invalid(
            "TileOutOfRange",
            "tilerow",
            format!(
                "the row is outside level {} ({} rows)",
                r.z,
                r.grid.tiles_high(r.z)
            ),
        ));
    }
    // The style: the tile layer's default when none is asked, the layer's default shares its
    // tiles with no style at all.
    let asked = match (&r.style, &layer.styles) {
        (s, Some(f)) if s.is_empty() => f.default.clone(),
        (s, _) => s.clone(),
    };
    if !layer.style_allowed(&asked, &published.styles) {
        return Err(TileError::invalid(
            "InvalidParameterValue",
            "style",
            format!("the layer {} has no cached style '{asked}'", published.name),
        ));
    }
    Ok(if published.styles.first() == Some(&asked) {
        String::new()
    } else {
        asked
    })
}

/// The tile `r` asks for, for `access`'s caller.
pub(crate) async fn tile(
    st: &Arc<OgcState>,
    r: TileRequest<'_>,
    access: &LayerAccess,
) -> Result<Tile, TileError> {
    let p = &r.tiled.published;
    crate::access::read(access, &p.workspace, &p.local).map_err(TileError::Refused)?;
    let style = check(&r)?;
    let ext = meridian_tiles::extension(r.format).unwrap_or("png");
    let key = |x: u64, y: u64| TileKey {
        layer: p.id.clone(),
        gridset: r.grid.name.clone(),
        style: style.clone(),
        ext,
        z: r.z as u32,
        x,
        y,
    };
    let disk = st.tiles.disk();
    let cached = || {
        let d = disk?;
        let path = d.path(&key(r.x, r.y));
        d.get_at(&path).map(|(bytes, modified)| Tile {
            file: Some((path, bytes.len() as u64)),
            bytes,
            format: r.format,
            hit: true,
            modified,
        })
    };
    if let Some(t) = cached() {
        return Ok(t);
    }
    // One drawing of a metatile at a time; the others wait, then find their tile cached.
    let (mw, mh) = r.tiled.layer.meta;
    let (x0, y0) = (r.x - r.x % u64::from(mw), r.y - r.y % u64::from(mh));
    let meta_id = format!("{}/{}/{}/{ext}/{}/{x0}/{y0}", p.id, r.grid.name, style, r.z);
    let gate = {
        let mut drawing = st.tiles.drawing.lock().unwrap_or_else(|e| e.into_inner());
        drawing.entry(meta_id.clone()).or_default().clone()
    };
    let _drawing = gate.lock().await;
    if let Some(t) = cached() {
        return Ok(t);
    }
    let drawn = if r.format == "application/vnd.mapbox-vector-tile" {
        // Vector tiles are cut one by one (no metatile: nothing to cut across).
        super::vector::draw(st, r.tiled, r.grid, (r.z, r.x, r.y), access)
            .await
            .map(|bytes| {
                if let Some(d) = disk {
                    if let Err(e) = d.put(&key(r.x, r.y), &bytes) {
                        tracing::warn!(error = %e, "a drawn tile could not be cached");
                    }
                }
                vec![((r.x, r.y), bytes)]
            })
            .map_err(TileError::Draw)
    } else {
        // Encoded and stored by the drawing.
        draw_metatile(st, &r, (x0, y0), key(0, 0), access).await
    };
    st.tiles
        .drawing
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&meta_id);
    let tiles = drawn?;
    let bytes = tiles
        .into_iter()
        .find(|(at, _)| *at == (r.x, r.y))
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| TileError::Draw("the metatile missed its own tile".into()))?;
    // The cached file's time, so that its later hits carry the same ETag.
    let modified = disk
        .and_then(|d| std::fs::metadata(d.path(&key(r.x, r.y))).ok())
        .and_then(|m| m.modified().ok())
        .unwrap_or_else(SystemTime::now);
    Ok(Tile {
        bytes,
        format: r.format,
        hit: false,
        modified,
        file: None,
    })
}

/// Draw the metatile whose bottom left tile is `(x0, y0)`, cut it into encoded tiles and
/// store them in the cache (under `key` with each tile's column and row). The tiles are
/// encoded and written on as many threads as the node has cores: a request that draws a
/// metatile does not wait for sixteen encodings and writes in turn.
async fn draw_metatile(
    st: &Arc<OgcState>,
    r: &TileRequest<'_>,
    (x0, y0): (u64, u64),
    key: TileKey,
    access: &LayerAccess,
) -> Result<Vec<((u64, u64), Vec<u8>)>, TileError> {
    let style = key.style.as_str();
    let g = r.grid;
    let (mw, mh) = r.tiled.layer.meta;
    let w = u64::from(mw).min(g.tiles_wide(r.z) - x0);
    let h = u64::from(mh).min(g.tiles_high(r.z) - y0);
    let low = g.tile_bbox(r.z, x0, y0);
    let high = g.tile_bbox(r.z, x0 + w - 1, y0 + h - 1);
    let res = g.resolutions[r.z];
    // The gutter, where the metatile does not touch the gridset's edge.
    let gut = f64::from(r.tiled.layer.gutter);
    let side = |inside: bool| if inside { gut } else { 0.0 };
    let (gl, gb) = (side(x0 > 0), side(y0 > 0));
    let (gr, gt) = (
        side(x0 + w < g.tiles_wide(r.z)),
        side(y0 + h < g.tiles_high(r.z)),
    );
    let bbox = [
        low[0] - gl * res,
        low[1] - gb * res,
        high[2] + gr * res,
        high[3] + gt * res,
    ];
    let (tw, th) = (g.tile_width, g.tile_height);
    let width = w as u32 * tw + (gl + gr) as u32;
    let height = h as u32 * th + (gb + gt) as u32;
    let jpeg = r.format == "image/jpeg";
    let mut p: crate::wms::Params = HashMap::new();
    for (k, v) in [
        ("SERVICE", "WMS".to_string()),
        ("VERSION", "1.1.1".to_string()),
        ("REQUEST", "GetMap".to_string()),
        ("LAYERS", r.tiled.published.name.clone()),
        ("STYLES", style.to_string()),
        ("SRS", format!("EPSG:{}", draw_epsg(g))),
        (
            "BBOX",
            format!("{},{},{},{}", bbox[0], bbox[1], bbox[2], bbox[3]),
        ),
        ("WIDTH", width.to_string()),
        ("HEIGHT", height.to_string()),
        ("FORMAT", "image/png".to_string()),
        ("TRANSPARENT", (!jpeg).to_string()),
    ] {
        p.insert(k.to_string(), v);
    }
    let map = crate::wms::draw_for_tiles(st, &p, access)
        .await
        .map_err(|e| match e.status {
            Some(_) => TileError::Refused(Refusal::Hidden),
            None => TileError::Draw(e.text),
        })?;
    let format = r.format;
    let st = st.clone();
    tokio::task::spawn_blocking(move || {
        let pixmap = map.pixmap();
        let cells: Vec<(u64, u64)> = (0..h).flat_map(|j| (0..w).map(move |i| (i, j))).collect();
        // One tile: cut, encoded, stored.
        let one = |(i, j): (u64, u64)| -> Result<((u64, u64), Vec<u8>), TileError> {
            // Image rows run from the top; internal rows from the bottom.
            let left = gl as u32 + i as u32 * tw;
            let top = gt as u32 + (h - 1 - j) as u32 * th;
            let rect = tiny_skia::IntRect::from_xywh(left as i32, top as i32, tw, th)
                .ok_or_else(|| TileError::Draw("a tile outside its metatile".into()))?;
            let tile = pixmap
                .clone_rect(rect)
                .ok_or_else(|| TileError::Draw("a tile outside its metatile".into()))?;
            let bytes = match format {
                "image/jpeg" => {
                    meridian_render::encode::jpeg(&tile, 75, meridian_render::Color::WHITE)
                }
                "image/png8" => meridian_render::encode::png8(&tile),
                _ => meridian_render::encode::png(&tile),
            }
            .map_err(|e| TileError::Draw(e.to_string()))?;
            let at = (x0 + i, y0 + j);
            if let Some(d) = st.tiles.disk() {
                let k = TileKey {
                    x: at.0,
                    y: at.1,
                    ..key.clone()
                };
                if let Err(e) = d.put(&k, &bytes) {
                    tracing::warn!(error = %e, "a drawn tile could not be cached");
                }
            }
            Ok((at, bytes))
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(cells.len())
            .max(1);
        if threads == 1 {
            return cells.into_iter().map(one).collect();
        }
        let per = cells.len().div_ceil(threads);
        std::thread::scope(|s| {
            let parts: Vec<_> = cells
                .chunks(per)
                .map(|part| s.spawn(|| part.iter().map(|&c| one(c)).collect::<Vec<_>>()))
                .collect();
            let mut out = Vec::with_capacity(cells.len());
            for p in parts {
                let done = p
                    .join()
                    .map_err(|_| TileError::Draw("encoding a tile failed".into()))?;
                for t in done {
                    out.push(t?);
                }
            }
            Ok(out)
        })
    })
    .await
    .map_err(|e| TileError::Draw(format!("drawing failed: {e}")))?
}
