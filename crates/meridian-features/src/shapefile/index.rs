//! A spatial index of a shapefile, built on first use from the bounding boxes in its `.shp`
//! records (found through the `.shx`) and kept in memory while the files are unchanged: a
//! scan by box then reads only the shapes whose box meets it.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// Each shape's box (`None` for a null shape), in file order.
pub(crate) type Boxes = Arc<Vec<Option<[f64; 4]>>>;

/// Indexes kept at most (the least recently built is dropped first).
const KEPT: usize = 256;

type Key = (PathBuf, Option<SystemTime>, u64);

fn cache() -> &'static Mutex<Vec<(Key, Boxes)>> {
    static CACHE: OnceLock<Mutex<Vec<(Key, Boxes)>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

fn key(shp: &Path) -> Option<Key> {
    let m = std::fs::metadata(shp).ok()?;
    Some((shp.to_path_buf(), m.modified().ok(), m.len()))
}

/// The boxes of `shp`'s shapes; `None` when the shapefile has no readable `.shx`.
pub(crate) fn boxes(shp: &Path) -> Option<Boxes> {
    let k = key(shp)?;
    {
        let c = match cache().lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if let Some((_, b)) = c.iter().find(|(kk, _)| *kk == k) {
            return Some(b.clone());
        }
    }
    let built = Arc::new(build(shp)?);
    let mut c = match cache().lock() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    c.retain(|(kk, _)| kk.0 != k.0);
    if c.len() >= KEPT {
        c.remove(0);
    }
    c.push((k, built.clone()));
    Some(built)
}

fn build(shp: &Path) -> Option<Vec<Option<[f64; 4]>>> {
    let shx = std::fs::read(shp.with_extension("shx")).ok()?;
    if shx.len() < 100 {
        return None;
    }
    let mut f = std::io::BufReader::new(std::fs::File::open(shp).ok()?);
    let mut out = Vec::with_capacity((shx.len() - 100) / 8);
    for rec in shx[100..].chunks_exact(8) {
        // Offsets are in 16-bit words, big-endian, to the record header.
        let offset = u64::from(u32::from_be_bytes([rec[0], rec[1], rec[2], rec[3]])) * 2;
        f.seek(SeekFrom::Start(offset + 8)).ok()?;
        let mut head = [0u8; 36];
        let n = read_up_to(&mut f, &mut head)?;
        if n < 4 {
            out.push(None);
            continue;
        }
        let shape_type = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let num = |i: usize| -> Option<f64> {
            let b: [u8; 8] = head.get(4 + i * 8..12 + i * 8)?.try_into().ok()?;
            Some(f64::from_le_bytes(b)).filter(|v| v.is_finite())
        };
        let b = match shape_type {
            0 => None,
            // Points: the point itself.
            1 | 11 | 21 => match (num(0), num(1)) {
                (Some(x), Some(y)) => Some([x, y, x, y]),
                _ => None,
            },
            // Everything else starts with its box.
            _ => match (num(0), num(1), num(2), num(3)) {
                (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                _ => None,
            },
        };
        out.push(b);
    }
    Some(out)
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    Some(n)
}

/// Whether two boxes meet.
pub(crate) fn meets(b: &[f64; 4], r: &geo_types::Rect<f64>) -> bool {
    b[0] <= r.max().x && b[2] >= r.min().x && b[1] <= r.max().y && b[3] >= r.min().y
}
