//! Writing a shapefile's features. A shapefile has no transactions: the first change to a
//! type reads the whole file into memory (each record's `.shp` content and `.dbf` bytes as
//! they are, beside the feature they read as); changes edit that copy; commit writes new
//! `.shp`, `.shx` and `.dbf` files beside the old ones and renames them over. Dropped
//! uncommitted, nothing on disk has changed.
//!
//! Untouched records are written back byte for byte (whatever their shape type or field
//! kinds); new shapes are written in the file's 2D type (points, multipoints, polylines,
//! polygons with clockwise outer rings). Feature ids are positions, as GeoServer numbers
//! them: deleting a feature renumbers those after it.
//!
//! One transaction at a time edits a shapefile (an [`EditLock`] from its first change until
//! it commits or is dropped): two would each rewrite the file from what they read, and the
//! first one's changes would be lost.

use crate::edit::bounds;
use crate::feature::Value;
use crate::source::{Applied, FeatureChange, StoreTransaction};
use crate::{Feature, FeatureError};
use geo_types::{Geometry, LineString, Polygon};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A field of the `.dbf`: where it sits in a record and how it is written.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    kind: u8,
    offset: usize,
    len: usize,
    decimals: usize,
}

/// One record: its shape content (type and data, no record header), its `.dbf` bytes (the
/// deletion flag first) and the feature it reads as.
struct Row {
    shape: Vec<u8>,
    record: Vec<u8>,
    feature: Feature,
}

/// A shapefile read for editing.
struct Table {
    shp: PathBuf,
    /// The `.shp` header (100 bytes), kept for its shape type and Z/M ranges.
    shp_header: Vec<u8>,
    /// The `.dbf` header and field descriptors, as they are.
    dbf_header: Vec<u8>,
    fields: Vec<Field>,
    record_len: usize,
    rows: Vec<Row>,
    /// Whether text may be written as UTF-8 (the `.cpg` says so, or there is none).
    utf8: bool,
    /// Held while this transaction edits the file.
    _lock: EditLock,
}

fn io_err(p: &Path) -> impl Fn(std::io::Error) -> FeatureError + '_ {
    move |e| FeatureError::Data(format!("{}: {e}", p.display()))
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Table {
    /// Read a shapefile whole: its records' bytes and the features they read as.
    fn read(shp: &Path, id_prefix: &str) -> Result<Table, FeatureError> {
        let lock = EditLock::take(shp)?;
        let bad = |why: &str| FeatureError::Data(format!("{}: {why}", shp.display()));
        let shp_bytes = std::fs::read(shp).map_err(io_err(shp))?;
        if shp_bytes.len() < 100 || be_i32(&shp_bytes, 0) != Some(9994) {
            return Err(bad("not a shapefile"));
        }
        let mut shapes = Vec::new();
        let mut at = 100;
        while at + 8 <= shp_bytes.len() {
            let words = be_i32(&shp_bytes, at + 4).ok_or_else(|| bad("truncated record"))?;
            let len = usize::try_from(words).map_err(|_| bad("bad record length"))? * 2;
            let content = shp_bytes
                .get(at + 8..at + 8 + len)
                .ok_or_else(|| bad("truncated record"))?;
            shapes.push(content.to_vec());
            at += 8 + len;
        }
        let dbf = shp.with_extension("dbf");
        let dbf_bytes = std::fs::read(&dbf).map_err(io_err(&dbf))?;
        let bad_dbf = |why: &str| FeatureError::Data(format!("{}: {why}", dbf.display()));
        if dbf_bytes.len() < 32 {
            return Err(bad_dbf("not a dBASE file"));
        }
        let count =
            u32::from_le_bytes([dbf_bytes[4], dbf_bytes[5], dbf_bytes[6], dbf_bytes[7]]) as usize;
        let header_len = usize::from(u16::from_le_bytes([dbf_bytes[8], dbf_bytes[9]]));
        let record_len = usize::from(u16::from_le_bytes([dbf_bytes[10], dbf_bytes[11]]));
        if header_len < 33 || record_len == 0 || dbf_bytes.len() < header_len {
            return Err(bad_dbf("bad dBASE header"));
        }
        let mut fields = Vec::new();
        let mut offset = 1;
        for d in dbf_bytes[32..header_len].chunks_exact(32) {
            if d[0] == 0x0d {
                break;
            }
            let end = d[..11].iter().position(|b| *b == 0).unwrap_or(11);
            let len = usize::from(d[16]);
            fields.push(Field {
                name: String::from_utf8_lossy(&d[..end]).trim().to_string(),
                kind: d[11],
                offset,
                len,
                decimals: usize::from(d[17]),
            });
            offset += len;
        }
        if offset != record_len {
            return Err(bad_dbf("the fields do not fill a record"));
        }
        if count != shapes.len() {
            return Err(bad(&format!(
                "{} shapes but {count} attribute records; the shapefile cannot be edited",
                shapes.len()
            )));
        }
        let records: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                dbf_bytes
                    .get(header_len + i * record_len..header_len + (i + 1) * record_len)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| bad_dbf("truncated records"))
            })
            .collect::<Result<_, _>>()?;
        // The features as the reader makes them (ids, values, geometries).
        let mut features = Vec::with_capacity(count);
        super::scan::scan_all(shp, id_prefix, true, |f| {
            features.push(f);
            true
        })?;
        if features.len() != count {
            return Err(bad("the shapes did not all read"));
        }
        let utf8 = match std::fs::read_to_string(shp.with_extension("cpg")) {
            Ok(label) => {
                let l = label.trim().to_ascii_uppercase().replace(['-', '_'], "");
                l == "UTF8" || l.is_empty()
            }
            Err(_) => true,
        };
        Ok(Table {
            shp: shp.to_path_buf(),
            shp_header: shp_bytes[..100].to_vec(),
            dbf_header: dbf_bytes[..header_len].to_vec(),
            fields,
            record_len,
            rows: shapes
                .into_iter()
                .zip(records)
                .zip(features)
                .map(|((shape, record), feature)| Row {
                    shape,
                    record,
                    feature,
                })
                .collect(),
            utf8,
            _lock: lock,
        })
    }

    /// The file's shape type.
    fn shape_type(&self) -> i32 {
        le_i32(&self.shp_header, 32).unwrap_or(0)
    }

    /// Number the features by position.
    fn renumber(&mut self, id_prefix: &str) {
        for (i, r) in self.rows.iter_mut().enumerate() {
            r.feature.id = format!("{id_prefix}.{}", i + 1);
        }
    }

    /// Write `v` into field `f` of `record`.
    fn put(&self, record: &mut [u8], f: &Field, v: &Value) -> Result<(), FeatureError> {
        let text: Vec<u8> = match (f.kind, v) {
            (_, Value::Null) => Vec::new(),
            (b'C', v) => {
                let t = v.as_text();
                if !self.utf8 && !t.is_ascii() {
                    return Err(FeatureError::Invalid(format!(
                        "{}: its .cpg names an encoding other than UTF-8; only ASCII text can be written to {}",
                        self.shp.display(),
                        f.name
                    )));
                }
                let mut end = t.len().min(f.len);
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.as_bytes()[..end].to_vec()
            }
            (b'N' | b'F', v) => {
                let n = v.as_f64().ok_or_else(|| {
                    FeatureError::Invalid(format!(
                        "{} takes a number, not '{}'",
                        f.name,
                        v.as_text()
                    ))
                })?;
                let s = format!("{n:>w$.d$}", w = f.len, d = f.decimals);
                if s.len() > f.len {
                    return Err(FeatureError::Invalid(format!(
                        "{n} does not fit in {} ({} characters)",
                        f.name, f.len
                    )));
                }
                s.into_bytes()
            }
            (b'L', v) => {
                let t = v.as_text().to_ascii_lowercase();
                match t.as_str() {
                    "true" | "t" | "1" | "y" => b"T".to_vec(),
                    "false" | "f" | "0" | "n" => b"F".to_vec(),
                    _ => {
                        return Err(FeatureError::Invalid(format!(
                            "{} takes true or false, not '{t}'",
                            f.name
                        )))
                    }
                }
            }
            (b'D', v) => {
                let t = v.as_text();
                let digits: String = t.chars().filter(char::is_ascii_digit).collect();
                if digits.len() < 8 {
                    return Err(FeatureError::Invalid(format!(
                        "{} takes a date (YYYY-MM-DD), not '{t}'",
                        f.name
                    )));
                }
                digits.as_bytes()[..8].to_vec()
            }
            (k, _) => {
                return Err(FeatureError::Invalid(format!(
                    "the dBASE field {} (type {}) cannot be written",
                    f.name,
                    char::from(k)
                )))
            }
        };
        let slot = &mut record[f.offset..f.offset + f.len];
        slot.fill(b' ');
        if matches!(f.kind, b'N' | b'F') || text.len() == f.len {
            let start = f.len - text.len();
            slot[start..].copy_from_slice(&text);
        } else {
            slot[..text.len()].copy_from_slice(&text);
        }
        Ok(())
    }

    /// Set properties of a row (record bytes and feature alike).
    fn set(&self, row: &mut Row, properties: &[(String, Value)]) -> Result<(), FeatureError> {
        for (k, v) in properties {
            let f = self
                .fields
                .iter()
                .find(|f| f.name == *k)
                .ok_or_else(|| FeatureError::Invalid(format!("no attribute '{k}'")))?;
            self.put(&mut row.record, f, v)?;
            let stored = match (f.kind, v) {
                (_, Value::Null) => Value::Null,
                (b'C', v) => Value::Text(v.as_text()),
                (_, v) => v.clone(),
            };
            match row.feature.properties.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = stored,
                None => row.feature.properties.push((k.clone(), stored)),
            }
        }
        Ok(())
    }

    /// A geometry as shape content in the file's type.
    fn shape(&self, g: Option<&Geometry<f64>>) -> Result<Vec<u8>, FeatureError> {
        let Some(g) = g else {
            return Ok(0i32.to_le_bytes().to_vec());
        };
        let t = self.shape_type();
        let refuse = |what: &str| {
            FeatureError::Invalid(format!(
                "{}: a {what} cannot be written to a shapefile of type {t}",
                self.shp.display()
            ))
        };
        let mut out = Vec::new();
        let b = bounds(g).unwrap_or([0.0; 4]);
        let head = |out: &mut Vec<u8>, kind: i32| {
            out.extend_from_slice(&kind.to_le_bytes());
            for v in b {
                out.extend_from_slice(&v.to_le_bytes());
            }
        };
        let parts = |out: &mut Vec<u8>, lines: &[&LineString<f64>]| {
            let n: usize = lines.iter().map(|l| l.0.len()).sum();
            out.extend_from_slice(&(lines.len() as i32).to_le_bytes());
            out.extend_from_slice(&(n as i32).to_le_bytes());
            let mut start = 0i32;
            for l in lines {
                out.extend_from_slice(&start.to_le_bytes());
                start += l.0.len() as i32;
            }
            for l in lines {
                for c in &l.0 {
                    out.extend_from_slice(&c.x.to_le_bytes());
                    out.extend_from_slice(&c.y.to_le_bytes());
                }
            }
        };
        match (t, g) {
            (1, Geometry::Point(p)) => {
                out.extend_from_slice(&1i32.to_le_bytes());
                out.extend_from_slice(&p.x().to_le_bytes());
                out.extend_from_slice(&p.y().to_le_bytes());
            }
            (8, Geometry::MultiPoint(_) | Geometry::Point(_)) => {
                let pts: Vec<geo_types::Point<f64>> = match g {
                    Geometry::MultiPoint(m) => m.0.clone(),
                    Geometry::Point(p) => vec![*p],
                    _ => Vec::new(),
                };
                head(&mut out, 8);
                out.extend_from_slice(&(pts.len() as i32).to_le_bytes());
                for p in pts {
                    out.extend_from_slice(&p.x().to_le_bytes());
                    out.extend_from_slice(&p.y().to_le_bytes());
                }
            }
            (3, Geometry::LineString(l)) => {
                head(&mut out, 3);
                parts(&mut out, &[l]);
            }
            (3, Geometry::MultiLineString(m)) => {
                head(&mut out, 3);
                parts(&mut out, &m.0.iter().collect::<Vec<_>>());
            }
            (5, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) => {
                use geo::orient::{Direction, Orient};
                let polys: Vec<Polygon<f64>> = match g {
                    Geometry::Polygon(p) => vec![p.orient(Direction::Reversed)],
                    Geometry::MultiPolygon(m) => {
                        m.0.iter().map(|p| p.orient(Direction::Reversed)).collect()
                    }
                    _ => Vec::new(),
                };
                let rings: Vec<&LineString<f64>> = polys
                    .iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .collect();
                head(&mut out, 5);
                parts(&mut out, &rings);
            }
            (1 | 3 | 5 | 8, g) => return Err(refuse(crate::edit::kind_name(g))),
            _ => return Err(refuse("new shape (only 2D shapefiles take new geometries)")),
        }
        Ok(out)
    }

    /// Write the three files beside the old ones, then rename them over.
    fn save(&self) -> Result<(), FeatureError> {
        let mut shp = self.shp_header.clone();
        let mut shx = self.shp_header.clone();
        let mut boxes: Option<[f64; 4]> = None;
        for (i, r) in self.rows.iter().enumerate() {
            let words = i32::try_from(r.shape.len() / 2)
                .map_err(|_| FeatureError::Invalid("a shape too large for a shapefile".into()))?;
            let offset = i32::try_from(shp.len() / 2)
                .map_err(|_| FeatureError::Invalid("the shapefile would pass 2 GB".into()))?;
            shx.extend_from_slice(&offset.to_be_bytes());
            shx.extend_from_slice(&words.to_be_bytes());
            shp.extend_from_slice(&(i as i32 + 1).to_be_bytes());
            shp.extend_from_slice(&words.to_be_bytes());
            shp.extend_from_slice(&r.shape);
            if let Some(b) = r.feature.geometry.as_ref().and_then(bounds) {
                boxes = Some(match boxes {
                    None => b,
                    Some(a) => [
                        a[0].min(b[0]),
                        a[1].min(b[1]),
                        a[2].max(b[2]),
                        a[3].max(b[3]),
                    ],
                });
            }
        }
        let shp_words = i32::try_from(shp.len() / 2)
            .map_err(|_| FeatureError::Invalid("the shapefile would pass 2 GB".into()))?;
        let shx_words = i32::try_from(shx.len() / 2).unwrap_or(i32::MAX);
        shp[24..28].copy_from_slice(&shp_words.to_be_bytes());
        shx[24..28].copy_from_slice(&shx_words.to_be_bytes());
        let b = boxes.unwrap_or([0.0; 4]);
        for head in [&mut shp, &mut shx] {
            for (i, v) in b.iter().enumerate() {
                head[36 + i * 8..44 + i * 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        let mut dbf = self.dbf_header.clone();
        dbf[4..8].copy_from_slice(&(self.rows.len() as u32).to_le_bytes());
        for r in &self.rows {
            dbf.extend_from_slice(&r.record);
        }
        dbf.push(0x1a);
        let files = [
            (self.shp.clone(), shp),
            (self.shp.with_extension("shx"), shx),
            (self.shp.with_extension("dbf"), dbf),
        ];
        let temp = |p: &Path| {
            let mut name = p.as_os_str().to_os_string();
            name.push(format!(".meridian-{}", std::process::id()));
            PathBuf::from(name)
        };
        for (p, bytes) in &files {
            let t = temp(p);
            let mut f = std::fs::File::create(&t).map_err(io_err(&t))?;
            f.write_all(bytes).map_err(io_err(&t))?;
            f.sync_all().map_err(io_err(&t))?;
        }
        // The attribute table first, the shapes last: a reader keyed on the .shp sees the
        // new files once it changes.
        for (p, _) in files.iter().rev() {
            std::fs::rename(temp(p), p).map_err(io_err(p))?;
        }
        // GeoServer's spatial index of the old file would now point at the wrong records.
        for ext in ["qix", "fix"] {
            let _ = std::fs::remove_file(self.shp.with_extension(ext));
        }
        Ok(())
    }
}

/// How long a transaction waits for another one editing the same shapefile.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The shapefiles being edited in this process.
fn editing() -> &'static (
    std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    std::sync::Condvar,
) {
    static EDITING: std::sync::OnceLock<(
        std::sync::Mutex<std::collections::HashSet<PathBuf>>,
        std::sync::Condvar,
    )> = std::sync::OnceLock::new();
    EDITING.get_or_init(Default::default)
}

/// The right to edit one shapefile, held until dropped.
struct EditLock(PathBuf);

impl EditLock {
    /// Wait (at most [`LOCK_WAIT`]) until no other transaction edits `shp`.
    fn take(shp: &Path) -> Result<EditLock, FeatureError> {
        let (set, freed) = editing();
        let mut held = match set.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        while held.contains(shp) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(FeatureError::Data(format!(
                    "{}: another transaction is editing this shapefile; try again",
                    shp.display()
                )));
            }
            held = match freed.wait_timeout(held, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        held.insert(shp.to_path_buf());
        Ok(EditLock(shp.to_path_buf()))
    }
}

impl Drop for EditLock {
    fn drop(&mut self) {
        let (set, freed) = editing();
        let mut held = match set.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        held.remove(&self.0);
        freed.notify_all();
    }
}

/// Finds the `.shp` of a type by name, as the store does.
pub(crate) type Locate = Box<dyn Fn(&str) -> Option<PathBuf> + Send>;

/// An open write to the shapefiles of one store.
pub(crate) struct ShapefileTransaction {
    /// The `.shp` of a type by name, as the store finds it.
    locate: Locate,
    tables: HashMap<String, Table>,
}

impl ShapefileTransaction {
    /// A write to the store whose types `locate` finds.
    pub(crate) fn new(locate: Locate) -> Self {
        ShapefileTransaction {
            locate,
            tables: HashMap::new(),
        }
    }
}

impl StoreTransaction for ShapefileTransaction {
    fn apply(
        &mut self,
        type_name: &str,
        id_prefix: &str,
        change: &FeatureChange,
    ) -> Result<Applied, FeatureError> {
        if !self.tables.contains_key(type_name) {
            let shp = (self.locate)(type_name).ok_or_else(|| {
                FeatureError::Source(meridian_sources::SourceError::NoSuchType(
                    type_name.to_string(),
                ))
            })?;
            self.tables
                .insert(type_name.to_string(), Table::read(&shp, id_prefix)?);
        }
        let Some(t) = self.tables.get_mut(type_name) else {
            return Err(FeatureError::Data(format!("no shapefile {type_name}")));
        };
        t.renumber(id_prefix);
        let mut applied = Applied::default();
        match change {
            FeatureChange::Insert(f) => {
                let mut row = Row {
                    shape: t.shape(f.geometry.as_ref())?,
                    record: {
                        let mut r = vec![b' '; t.record_len];
                        r[0] = b' ';
                        r
                    },
                    feature: Feature {
                        id: format!("{id_prefix}.{}", t.rows.len() + 1),
                        geometry: f.geometry.clone(),
                        properties: t
                            .fields
                            .iter()
                            .map(|x| (x.name.clone(), Value::Null))
                            .collect(),
                    },
                };
                t.set(&mut row, &f.properties)?;
                applied.inserted.push(row.feature.id.clone());
                t.rows.push(row);
            }
            FeatureChange::Update {
                filter,
                properties,
                geometry,
            } => {
                let shape = match geometry {
                    Some(g) => Some(t.shape(Some(g))?),
                    None => None,
                };
                let hits: Vec<usize> = (0..t.rows.len())
                    .filter(|&i| filter.matches(&t.rows[i].feature))
                    .collect();
                for i in hits {
                    let mut row = std::mem::replace(
                        &mut t.rows[i],
                        Row {
                            shape: Vec::new(),
                            record: Vec::new(),
                            feature: Feature {
                                id: String::new(),
                                geometry: None,
                                properties: Vec::new(),
                            },
                        },
                    );
                    let r = t.set(&mut row, properties);
                    if let (Some(s), Some(g)) = (&shape, geometry) {
                        row.shape = s.clone();
                        row.feature.geometry = Some(g.clone());
                    }
                    applied.updated.push(row.feature.id.clone());
                    t.rows[i] = row;
                    r?;
                }
            }
            FeatureChange::Delete(filter) => {
                t.rows.retain(|r| {
                    let hit = filter.matches(&r.feature);
                    if hit {
                        applied.deleted.push(r.feature.id.clone());
                    }
                    !hit
                });
                t.renumber(id_prefix);
            }
        }
        Ok(applied)
    }

    fn commit(self: Box<Self>) -> Result<(), FeatureError> {
        for t in self.tables.values() {
            t.save()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::filter::{Compare, Filter};
    use geo_types::Point;

    fn copy_of(name: &str, dir: &Path) -> PathBuf {
        let src = meridian_testkit::fixture_datadir().join("data/sf");
        for ext in ["shp", "shx", "dbf", "prj"] {
            let from = src.join(format!("{name}.{ext}"));
            if from.exists() {
                std::fs::copy(&from, dir.join(format!("{name}.{ext}"))).unwrap();
            }
        }
        dir.join(format!("{name}.shp"))
    }

    fn read_all(shp: &Path) -> Vec<Feature> {
        let mut v = Vec::new();
        super::super::scan::scan(shp, "bugsites", |f| {
            v.push(f);
            true
        })
        .unwrap();
        v
    }

    #[test]
    fn insert_update_delete_round_trip_and_untouched_records_stay_as_they_were() {
        let d = tempfile::tempdir().unwrap();
        let shp = copy_of("bugsites", d.path());
        let before = read_all(&shp);
        assert_eq!(before.len(), 90);
        let shp2 = shp.clone();
        let mut tx = Box::new(ShapefileTransaction::new(Box::new(move |_| {
            Some(shp2.clone())
        })));
        let ins = tx
            .apply(
                "bugsites",
                "bugsites",
                &FeatureChange::Insert(Feature {
                    id: String::new(),
                    geometry: Some(Geometry::Point(Point::new(590000.0, 4920000.0))),
                    properties: vec![
                        ("cat".into(), Value::Int(4242)),
                        ("str1".into(), Value::Text("Ünïcode".into())),
                    ],
                }),
            )
            .unwrap();
        assert_eq!(ins.inserted, vec!["bugsites.91".to_string()]);
        let up = tx
            .apply(
                "bugsites",
                "bugsites",
                &FeatureChange::Update {
                    filter: Filter::Cmp("cat".into(), Compare::Eq, "1".into()),
                    properties: vec![("str1".into(), Value::Text("changed".into()))],
                    geometry: None,
                },
            )
            .unwrap();
        assert_eq!(up.updated, vec!["bugsites.1".to_string()]);
        let del = tx
            .apply(
                "bugsites",
                "bugsites",
                &FeatureChange::Delete(Filter::Ids(vec!["bugsites.2".into()])),
            )
            .unwrap();
        assert_eq!(del.deleted, vec!["bugsites.2".to_string()]);
        assert_eq!(read_all(&shp), before, "nothing is written before commit");
        tx.commit().unwrap();
        let after = read_all(&shp);
        assert_eq!(after.len(), 90);
        assert_eq!(after[0].get("str1"), Some(&Value::Text("changed".into())));
        assert_eq!(after[1].properties, before[2].properties);
        assert_eq!(after[1].geometry, before[2].geometry);
        let last = after.last().unwrap();
        assert_eq!(last.get("cat"), Some(&Value::Int(4242)));
        assert_eq!(last.get("str1"), Some(&Value::Text("Ünïcode".into())));
        assert_eq!(
            last.geometry,
            Some(Geometry::Point(Point::new(590000.0, 4920000.0)))
        );
        // The header's box and the index agree with the records.
        let r = shapefile::ShapeReader::from_path(&shp).unwrap();
        assert_eq!(r.shape_count().unwrap(), 90);
    }

    #[test]
    fn a_second_transaction_waits_for_the_first_and_sees_its_changes() {
        let d = tempfile::tempdir().unwrap();
        let shp = copy_of("bugsites", d.path());
        let tx = |shp: &PathBuf| {
            let s = shp.clone();
            Box::new(ShapefileTransaction::new(Box::new(move |_| {
                Some(s.clone())
            })))
        };
        let mut first = tx(&shp);
        first
            .apply(
                "bugsites",
                "bugsites",
                &FeatureChange::Delete(Filter::Ids(vec!["bugsites.1".into()])),
            )
            .unwrap();
        let shp2 = shp.clone();
        let second = std::thread::spawn(move || {
            let mut t = tx(&shp2);
            let gone = t
                .apply(
                    "bugsites",
                    "bugsites",
                    &FeatureChange::Delete(Filter::Ids(vec!["bugsites.1".into()])),
                )
                .unwrap();
            t.commit().unwrap();
            gone.deleted
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!second.is_finished(), "the second waits for the first");
        first.commit().unwrap();
        assert_eq!(second.join().unwrap(), vec!["bugsites.1".to_string()]);
        // Both deletes happened: the second read the file the first wrote.
        assert_eq!(read_all(&shp).len(), 88);
    }

    #[test]
    fn a_geometry_of_another_kind_or_a_bad_number_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let shp = copy_of("bugsites", d.path());
        let shp2 = shp.clone();
        let mut tx = Box::new(ShapefileTransaction::new(Box::new(move |_| {
            Some(shp2.clone())
        })));
        let line = Geometry::LineString(LineString::from(vec![(0.0, 0.0), (1.0, 1.0)]));
        let e = tx
            .apply(
                "bugsites",
                "bugsites",
                &FeatureChange::Insert(Feature {
                    id: String::new(),
                    geometry: Some(line),
                    properties: vec![],
                }),
            )
            .unwrap_err();
        assert!(matches!(e, FeatureError::Invalid(_)), "{e}");
        let e = tx
            .apply(
                "bugsites",
                "bugsites",
                &FeatureChange::Update {
                    filter: Filter::All,
                    properties: vec![("cat".into(), Value::Text("many".into()))],
                    geometry: None,
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("number"), "{e}");
    }
}
