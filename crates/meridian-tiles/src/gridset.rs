//! Gridsets as GeoWebCache defines them: a CRS, an extent, a resolution per zoom level and a
//! tile size. The built-in ones ([`builtin`]) and those of `gwc/geowebcache.xml`
//! ([`GridSet::from_xml`]). Tiles are indexed as GeoWebCache does inside: `x` from the
//! extent's left, `y` from the grid's bottom row; [`GridSet::wmts_row`] and
//! [`GridSet::from_wmts_row`] convert to WMTS rows (from the top).

use meridian_xml::Element;

/// The pixel size scale denominators are computed with (0.28 mm, always).
pub const PIXEL_SIZE: f64 = 0.00028;

/// Metres per degree on the equator, GeoWebCache's value for EPSG:4326.
pub const METERS_PER_DEGREE: f64 = 6378137.0 * 2.0 * std::f64::consts::PI / 360.0;

/// The world in EPSG:4326.
const WORLD_4326: [f64; 4] = [-180.0, -90.0, 180.0, 90.0];

/// The world in EPSG:3857, as GeoWebCache's built-in sets have it.
const WORLD_3857: [f64; 4] = [-20037508.34, -20037508.34, 20037508.34, 20037508.34];

/// Why a gridset cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gridset '{name}': {reason}")]
pub struct GridError {
    /// The gridset.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

/// A gridset.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSet {
    /// Its name (`EPSG:4326`, `EPSG:900913`, a custom name).
    pub name: String,
    /// Its CRS's EPSG code.
    pub epsg: u32,
    /// Min x, min y, max x, max y (east, north).
    pub extent: [f64; 4],
    /// Whether the grid hangs from the extent's top (else it stands on its bottom).
    pub align_top_left: bool,
    /// Units per pixel at each level, largest first.
    pub resolutions: Vec<f64>,
    /// The name of each level's matrix (empty: `<name>:<level>`).
    pub scale_names: Vec<String>,
    /// Tile width in pixels.
    pub tile_width: u32,
    /// Tile height in pixels.
    pub tile_height: u32,
    /// Metres per CRS unit.
    pub meters_per_unit: f64,
    /// Whether the CRS's first axis is north (WMTS corners are written y first).
    pub y_coordinate_first: bool,
}

/// How the levels of a gridset are given.
enum Levels<'a> {
    Resolutions(&'a [f64]),
    Scales(&'a [f64]),
    /// This many levels, the first fitting the extent in a whole number of tiles.
    Count(usize),
}

/// Metres per unit when the gridset does not say.
fn default_mpu(epsg: u32) -> f64 {
    match epsg {
        4326 => METERS_PER_DEGREE,
        _ => 1.0,
    }
}

impl GridSet {
    #[allow(clippy::too_many_arguments)]
    fn make(
        name: &str,
        epsg: u32,
        extent: [f64; 4],
        align_top_left: bool,
        levels: Levels<'_>,
        mpu: Option<f64>,
        pixel_size: f64,
        tile: (u32, u32),
        y_first: bool,
    ) -> Result<GridSet, GridError> {
        let err = |reason: String| GridError {
            name: name.to_string(),
            reason,
        };
        let [minx, miny, maxx, maxy] = extent;
        if !(minx < maxx && miny < maxy) || extent.iter().any(|v| !v.is_finite()) {
            return Err(err(format!("the extent {extent:?} is empty")));
        }
        if tile.0 == 0 || tile.1 == 0 || tile.0 > 4096 || tile.1 > 4096 {
            return Err(err(format!(
                "tiles are 1 to 4096 pixels a side, not {}×{}",
                tile.0, tile.1
            )));
        }
        let mpu = mpu
            .filter(|m| *m > 0.0)
            .unwrap_or_else(|| default_mpu(epsg));
        let mut extent = extent;
        let resolutions: Vec<f64> = match levels {
            Levels::Resolutions(r) => r.to_vec(),
            Levels::Scales(s) => s.iter().map(|s| pixel_size * s / mpu).collect(),
            Levels::Count(n) => {
                if n == 0 || n > 64 {
                    return Err(err(format!("a gridset has 1 to 64 levels, not {n}")));
                }
                let (w, h) = (maxx - minx, maxy - miny);
                let res_x = w / f64::from(tile.0);
                let res_y = h / f64::from(tile.1);
                // One tile along the short side, a whole number along the long one.
                let (res0, wide, high) = if res_x <= res_y {
                    let n = (res_y / res_x).round().max(1.0);
                    (res_y / n, 1.0, n)
                } else {
                    let n = (res_x / res_y).round().max(1.0);
                    (res_x / n, n, 1.0)
                };
                extent[2] = minx + wide * f64::from(tile.0) * res0;
                if align_top_left {
                    extent[1] = maxy - high * f64::from(tile.1) * res0;
                } else {
                    extent[3] = miny + high * f64::from(tile.1) * res0;
                }
                (0..n).map(|i| res0 / 2f64.powi(i as i32)).collect()
            }
        };
        if resolutions.is_empty() || resolutions.len() > 64 {
            return Err(err("a gridset has 1 to 64 levels".into()));
        }
        if resolutions.iter().any(|r| !(r.is_finite() && *r > 0.0))
            || resolutions.windows(2).any(|w| w[1] >= w[0])
        {
            return Err(err(
                "each level's resolution is positive and smaller than the one before".into(),
            ));
        }
        Ok(GridSet {
            name: name.to_string(),
            epsg,
            extent,
            align_top_left,
            resolutions,
            scale_names: Vec::new(),
            tile_width: tile.0,
            tile_height: tile.1,
            meters_per_unit: mpu,
            y_coordinate_first: y_first,
        })
    }

    /// The number of zoom levels.
    pub fn levels(&self) -> usize {
        self.resolutions.len()
    }

    /// The matrix name of level `z` (WMTS `TileMatrix`).
    pub fn matrix_name(&self, z: usize) -> String {
        match self.scale_names.get(z) {
            Some(n) => n.clone(),
            None => format!("{}:{z}", self.name),
        }
    }

    /// The level a matrix name names (`EPSG:4326:3`, a scale name, or a bare number).
    pub fn level_of(&self, matrix: &str) -> Option<usize> {
        if let Some(i) = self.scale_names.iter().position(|n| n == matrix) {
            return Some(i);
        }
        let n = matrix
            .strip_prefix(&self.name)
            .and_then(|r| r.strip_prefix(':'))
            .unwrap_or(matrix);
        n.parse::<usize>().ok().filter(|z| *z < self.levels())
    }

    /// The scale denominator of level `z`.
    pub fn scale_denominator(&self, z: usize) -> f64 {
        self.resolutions[z] * self.meters_per_unit / PIXEL_SIZE
    }

    fn span(&self, z: usize) -> (f64, f64) {
        let r = self.resolutions[z];
        (
            f64::from(self.tile_width) * r,
            f64::from(self.tile_height) * r,
        )
    }

    /// Columns at level `z`.
    pub fn tiles_wide(&self, z: usize) -> u64 {
        let (sw, _) = self.span(z);
        let w = self.extent[2] - self.extent[0];
        ((w - 0.01 * sw) / sw).ceil().max(1.0) as u64
    }

    /// Rows at level `z`.
    pub fn tiles_high(&self, z: usize) -> u64 {
        let (_, sh) = self.span(z);
        let h = self.extent[3] - self.extent[1];
        ((h - 0.01 * sh) / sh).ceil().max(1.0) as u64
    }

    /// The box of tile `(x, y)` at level `z` (`y` from the bottom row).
    pub fn tile_bbox(&self, z: usize, x: u64, y: u64) -> [f64; 4] {
        let (sw, sh) = self.span(z);
        let minx = self.extent[0] + x as f64 * sw;
        let miny = if self.align_top_left {
            let from_top = self.tiles_high(z) - 1 - y.min(self.tiles_high(z) - 1);
            self.extent[3] - (from_top as f64 + 1.0) * sh
        } else {
            self.extent[1] + y as f64 * sh
        };
        [minx, miny, minx + sw, miny + sh]
    }

    /// The WMTS row (from the top) of internal row `y`.
    pub fn wmts_row(&self, z: usize, y: u64) -> u64 {
        self.tiles_high(z).saturating_sub(y + 1)
    }

    /// The internal row (from the bottom) of WMTS row `row`, if on the grid.
    pub fn from_wmts_row(&self, z: usize, row: u64) -> Option<u64> {
        let high = self.tiles_high(z);
        (row < high).then(|| high - row - 1)
    }

    /// The tiles of level `z` that cover `bbox` (in the gridset's CRS): inclusive column and
    /// row (internal) ranges, or `None` when the box misses the grid.
    pub fn tiles_covering(&self, z: usize, bbox: [f64; 4]) -> Option<((u64, u64), (u64, u64))> {
        let (sw, sh) = self.span(z);
        let (wide, high) = (self.tiles_wide(z), self.tiles_high(z));
        let bottom = if self.align_top_left {
            self.extent[3] - high as f64 * sh
        } else {
            self.extent[1]
        };
        let col = |v: f64| ((v - self.extent[0]) / sw).floor();
        let row = |v: f64| ((v - bottom) / sh).floor();
        let (x0, x1) = (col(bbox[0]), col(bbox[2] - sw * 1e-9));
        let (y0, y1) = (row(bbox[1]), row(bbox[3] - sh * 1e-9));
        if x1 < 0.0 || y1 < 0.0 || x0 >= wide as f64 || y0 >= high as f64 {
            return None;
        }
        let clamp = |v: f64, n: u64| (v.max(0.0) as u64).min(n - 1);
        Some((
            (clamp(x0, wide), clamp(x1, wide)),
            (clamp(y0, high), clamp(y1, high)),
        ))
    }

    /// The level and tile a map box of `width`×`height` pixels is exactly, if it is one
    /// (GeoWebCache's tolerances: the resolution within 10 %, the corner within a tenth of
    /// a tile).
    pub fn tile_at(&self, bbox: [f64; 4], width: u32, height: u32) -> Option<(usize, u64, u64)> {
        if width != self.tile_width || height != self.tile_height {
            return None;
        }
        let res = (bbox[2] - bbox[0]) / f64::from(width);
        let (z, best) = self
            .resolutions
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - res).abs().total_cmp(&(b.1 - res).abs()))?;
        if (best - res).abs() > res * 0.1 {
            return None;
        }
        let (sw, sh) = self.span(z);
        let high = self.tiles_high(z);
        let bottom = if self.align_top_left {
            self.extent[3] - high as f64 * sh
        } else {
            self.extent[1]
        };
        let fx = (bbox[0] - self.extent[0]) / sw;
        let fy = (bbox[1] - bottom) / sh;
        if (fx - fx.round()).abs() > 0.1 || (fy - fy.round()).abs() > 0.1 {
            return None;
        }
        let (x, y) = (fx.round(), fy.round());
        (x >= 0.0 && y >= 0.0 && (x as u64) < self.tiles_wide(z) && (y as u64) < high)
            .then_some((z, x as u64, y as u64))
    }

    /// The top left corner of level `z`'s matrix as WMTS writes it: x then y, or y then x
    /// for a CRS whose first axis is north.
    pub fn top_left_corner(&self, z: usize) -> (f64, f64) {
        let top = if self.align_top_left {
            self.extent[3]
        } else {
            let (_, sh) = self.span(z);
            let t = self.extent[1] + sh * self.tiles_high(z) as f64;
            // GeoWebCache rounds a top within 0.5 % of a whole number.
            if (t - t.round()).abs() < t.abs() / 200.0 {
                t.round()
            } else {
                t
            }
        };
        if self.y_coordinate_first {
            (top, self.extent[0])
        } else {
            (self.extent[0], top)
        }
    }

    /// A gridset of `gwc/geowebcache.xml` (`<gridSet>`).
    pub fn from_xml(e: &Element) -> Result<GridSet, GridError> {
        let name = e.child_text("name").map(str::trim).unwrap_or_default();
        let err = |reason: String| GridError {
            name: name.to_string(),
            reason,
        };
        if name.is_empty() {
            return Err(err("a gridset needs a <name>".into()));
        }
        let num = |v: &str| v.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let doubles = |list: &str| -> Result<Vec<f64>, GridError> {
            e.get(list)
                .map(|l| {
                    l.all("double")
                        .map(|d| {
                            num(d.text_trim().unwrap_or_default()).ok_or_else(|| {
                                err(format!("<{list}> holds a value that is not a number"))
                            })
                        })
                        .collect()
                })
                .unwrap_or(Ok(Vec::new()))
        };
        let epsg = e
            .get("srs")
            .and_then(|s| s.child_text("number"))
            .and_then(|n| n.trim().parse::<u32>().ok())
            .ok_or_else(|| err("a gridset needs its CRS (<srs><number>)".into()))?;
        let coords: Vec<f64> = match e.get("extent").and_then(|x| x.get("coords")) {
            Some(c) => c
                .all("double")
                .filter_map(|d| num(d.text_trim().unwrap_or_default()))
                .collect(),
            None => Vec::new(),
        };
        let [minx, miny, maxx, maxy] = coords[..] else {
            return Err(err("a gridset needs an extent of four numbers".into()));
        };
        let flag = |k: &str| {
            e.child_text(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let int = |k: &str, d: u32| {
            e.child_text(k)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(d)
        };
        let resolutions = doubles("resolutions")?;
        let scales = doubles("scaleDenominators")?;
        let levels = match (resolutions.is_empty(), scales.is_empty()) {
            (false, true) => Levels::Resolutions(&resolutions),
            (true, false) => Levels::Scales(&scales),
            (false, false) => {
                return Err(err(
                    "give resolutions or scale denominators, not both".into()
                ))
            }
            (true, true) => Levels::Count(int("levels", 18) as usize),
        };
        let mut g = GridSet::make(
            name,
            epsg,
            [minx, miny, maxx, maxy],
            flag("alignTopLeft"),
            levels,
            e.child_text("metersPerUnit").and_then(num),
            e.child_text("pixelSize")
                .and_then(num)
                .filter(|p| *p > 0.0)
                .unwrap_or(PIXEL_SIZE),
            (int("tileWidth", 256), int("tileHeight", 256)),
            flag("yCoordinateFirst"),
        )?;
        if let Some(names) = e.get("scaleNames") {
            g.scale_names = names
                .all("string")
                .map(|s| s.text_trim().unwrap_or_default().to_string())
                .collect();
            if g.scale_names.len() != g.levels() {
                return Err(err(format!(
                    "{} scale names for {} levels",
                    g.scale_names.len(),
                    g.levels()
                )));
            }
        }
        Ok(g)
    }
}

/// Halving from `first`, `n` values.
fn halving(first: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| first / 2f64.powi(i as i32)).collect()
}

/// GeoWebCache's built-in gridsets, as GeoServer names them.
pub fn builtin() -> Vec<GridSet> {
    let mut out = Vec::new();
    let mut add = |g: Result<GridSet, GridError>| {
        if let Ok(g) = g {
            out.push(g);
        }
    };
    for (name, tile) in [("EPSG:4326", 256), ("EPSG:4326x2", 512)] {
        add(GridSet::make(
            name,
            4326,
            WORLD_4326,
            false,
            Levels::Resolutions(&halving(0.703125 * 256.0 / f64::from(tile), 22)),
            None,
            PIXEL_SIZE,
            (tile, tile),
            true,
        ));
    }
    for (name, tile) in [("EPSG:900913", 256), ("EPSG:900913x2", 512)] {
        add(GridSet::make(
            name,
            900913,
            WORLD_3857,
            false,
            Levels::Resolutions(&halving(156543.03390625 * 256.0 / f64::from(tile), 31)),
            Some(1.0),
            PIXEL_SIZE,
            (tile, tile),
            false,
        ));
    }
    let pixel = [
        2.0,
        1.0,
        0.5,
        1.0 / 3.0,
        1.0 / 6.0,
        1.0 / 12.0,
        1.0 / 30.0,
        1.0 / 60.0,
        1.0 / 120.0,
        1.0 / 240.0,
        1.0 / 720.0,
        1.0 / 1200.0,
        1.0 / 3600.0,
        1.0 / 7200.0,
        1.0 / 12000.0,
        1.0 / 36000.0,
        1.0 / 120000.0,
        1.0 / 360000.0,
    ];
    add(GridSet::make(
        "GlobalCRS84Pixel",
        4326,
        WORLD_4326,
        true,
        Levels::Resolutions(&pixel),
        None,
        PIXEL_SIZE,
        (256, 256),
        true,
    ));
    let scale = [
        500e6, 250e6, 100e6, 50e6, 25e6, 10e6, 5e6, 2.5e6, 1e6, 500e3, 250e3, 100e3, 50e3, 25e3,
        10e3, 5e3, 2.5e3, 1e3, 500.0, 250.0, 100.0,
    ];
    add(GridSet::make(
        "GlobalCRS84Scale",
        4326,
        WORLD_4326,
        true,
        Levels::Scales(&scale),
        None,
        PIXEL_SIZE,
        (256, 256),
        true,
    ));
    add(GridSet::make(
        "GoogleCRS84Quad",
        4326,
        WORLD_4326,
        true,
        Levels::Scales(&halving(559082264.0287178, 19)),
        None,
        PIXEL_SIZE,
        (256, 256),
        true,
    ));
    // The OGC two-dimensional tile matrix sets (level names "0", "1", …).
    let named = |mut g: GridSet| {
        g.scale_names = (0..g.levels()).map(|i| i.to_string()).collect();
        g
    };
    add(GridSet::make(
        "WebMercatorQuad",
        3857,
        WORLD_3857,
        true,
        Levels::Scales(&halving(559082264.028717, 25)),
        Some(1.0),
        PIXEL_SIZE,
        (256, 256),
        false,
    )
    .map(named));
    add(GridSet::make(
        "WorldCRS84Quad",
        4326,
        WORLD_4326,
        true,
        Levels::Scales(&halving(279541132.0143589, 18)),
        None,
        PIXEL_SIZE,
        (256, 256),
        true,
    )
    .map(named));
    out
}

/// A number as GeoWebCache writes it in capabilities (Java's `Double.toString`: a decimal
/// between 10⁻³ and 10⁷, else scientific, always with a fraction digit).
pub fn java_double(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') || s.contains("inf") || s.contains("NaN") {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(name: &str) -> GridSet {
        builtin().into_iter().find(|g| g.name == name).unwrap()
    }

    #[test]
    fn the_builtin_gridsets_have_geowebcaches_matrices() {
        let g = grid("EPSG:4326");
        assert_eq!(g.levels(), 22);
        assert_eq!((g.tiles_wide(0), g.tiles_high(0)), (2, 1));
        assert_eq!((g.tiles_wide(3), g.tiles_high(3)), (16, 8));
        assert_eq!(java_double(g.scale_denominator(0)), "2.795411320143589E8");
        assert_eq!(g.top_left_corner(0), (90.0, -180.0));
        assert_eq!(g.tile_bbox(0, 1, 0), [0.0, -90.0, 180.0, 90.0]);
        assert_eq!(g.matrix_name(3), "EPSG:4326:3");
        assert_eq!(g.level_of("EPSG:4326:3"), Some(3));
        let m = grid("EPSG:900913");
        assert_eq!(m.levels(), 31);
        assert_eq!((m.tiles_wide(0), m.tiles_high(0)), (1, 1));
        assert_eq!((m.tiles_wide(5), m.tiles_high(5)), (32, 32));
        assert_eq!(java_double(m.scale_denominator(0)), "5.590822639508929E8");
        assert_eq!(m.top_left_corner(0), (-20037508.34, 20037508.0));
        let q = grid("GoogleCRS84Quad");
        assert_eq!((q.tiles_wide(0), q.tiles_high(0)), (1, 1));
        assert_eq!((q.tiles_wide(1), q.tiles_high(1)), (2, 1));
        assert!((q.resolutions[0] - 1.40625).abs() < 1e-9);
        let w = grid("WebMercatorQuad");
        assert_eq!(w.matrix_name(4), "4");
        assert_eq!(w.level_of("4"), Some(4));
    }

    #[test]
    fn rows_convert_between_geowebcache_and_wmts_and_map_boxes_find_their_tile() {
        let g = grid("EPSG:4326");
        // WMTS row 0 is the top row.
        assert_eq!(g.wmts_row(1, 1), 0);
        assert_eq!(g.from_wmts_row(1, 0), Some(1));
        assert_eq!(g.from_wmts_row(1, 2), None);
        let b = g.tile_bbox(2, 3, 1);
        assert_eq!(g.tile_at(b, 256, 256), Some((2, 3, 1)));
        assert_eq!(g.tile_at(b, 256, 255), None);
        assert_eq!(
            g.tile_at([b[0] + 5.0, b[1], b[2] + 5.0, b[3]], 256, 256),
            None
        );
        assert_eq!(
            g.tiles_covering(2, [-180.0, -90.0, -90.0, 0.0]),
            Some(((0, 1), (0, 1)))
        );
        assert_eq!(g.tiles_covering(2, [200.0, 0.0, 210.0, 1.0]), None);
        // A top-aligned grid: row 0 (internal) is the bottom row.
        let q = grid("GoogleCRS84Quad");
        assert_eq!(q.tile_bbox(0, 0, 0), [-180.0, -270.0, 180.0, 90.0]);
        assert_eq!(q.tile_bbox(1, 0, 0), [-180.0, -90.0, 0.0, 90.0]);
    }

    #[test]
    fn custom_gridsets_read_from_geowebcache_xml() {
        let x = meridian_xml::parse(
            "<gridSet><name>EPSG:2163</name><srs><number>2163</number></srs>\
             <extent><coords><double>-2495667.977678598</double><double>-2223677.196231552</double>\
             <double>3291070.6104286816</double><double>959189.3312465074</double></coords></extent>\
             <scaleDenominators><double>25000000</double><double>1000000</double><double>100000</double><double>25000</double></scaleDenominators>\
             <tileHeight>200</tileHeight><tileWidth>200</tileWidth></gridSet>",
        )
        .unwrap();
        let g = GridSet::from_xml(&x).unwrap();
        assert_eq!(g.levels(), 4);
        assert_eq!(g.tile_width, 200);
        assert!((g.resolutions[0] - 7000.0).abs() < 1e-6);
        let bad = meridian_xml::parse(
            "<gridSet><name>x</name><srs><number>4326</number></srs><extent><coords><double>1</double><double>1</double><double>0</double><double>0</double></coords></extent></gridSet>",
        )
        .unwrap();
        assert!(GridSet::from_xml(&bad).is_err());
        let levels = meridian_xml::parse(
            "<gridSet><name>L</name><srs><number>4326</number></srs><extent><coords><double>-180</double><double>-90</double><double>180</double><double>90</double></coords></extent><levels>3</levels></gridSet>",
        )
        .unwrap();
        let l = GridSet::from_xml(&levels).unwrap();
        assert_eq!(l.levels(), 3);
        assert!((l.resolutions[0] - 0.703125).abs() < 1e-12);
    }
}
