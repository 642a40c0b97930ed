//! Writing a GeoPackage's features: one read-write connection per transaction, an SQLite
//! transaction held until commit (dropped, the connection closes and SQLite rolls back).
//!
//! A GeoPackage's R-tree is kept by triggers that call `ST_MinX`, `ST_MaxX`, `ST_MinY`,
//! `ST_MaxY` and `ST_IsEmpty`; SQLite does not have them, so they are registered on the
//! connection (read from the geometry blob's header, or its WKB when the header has no box).

use super::pool::Facts;
use super::scan::{quote, scan_on, sql_err, table_info};
use crate::edit::{bounds, fit_geometry};
use crate::feature::Value;
use crate::source::{Applied, FeatureChange, StoreTransaction};
use crate::{Feature, FeatureError, Filter};
use geo_types::Geometry;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An open write to one GeoPackage.
pub(crate) struct GeoPackageTransaction {
    file: PathBuf,
    conn: Connection,
}

impl GeoPackageTransaction {
    /// Open the file for writing and start an immediate transaction (another writer waits
    /// up to five seconds).
    pub(crate) fn begin(file: &Path) -> Result<Self, FeatureError> {
        if !file.is_file() {
            return Err(FeatureError::Data(format!(
                "{}: no such GeoPackage",
                file.display()
            )));
        }
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err(file))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql_err(file))?;
        register_functions(&conn).map_err(sql_err(file))?;
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(sql_err(file))?;
        Ok(GeoPackageTransaction {
            file: file.to_path_buf(),
            conn,
        })
    }

    /// The geometry column's kind and SRS id.
    fn geometry_kind(&self, table: &str) -> Result<(String, i32), FeatureError> {
        self.conn
            .query_row(
                "SELECT geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
                [table],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i32>(1)?)),
            )
            .optional()
            .map_err(sql_err(&self.file))?
            .ok_or_else(|| FeatureError::Data(format!("no feature table '{table}'")))
    }

    /// The keys of the features `filter` selects, read through this transaction (so it sees
    /// its own earlier changes).
    fn selected(
        &self,
        facts: &Facts,
        table: &str,
        id_prefix: &str,
        filter: &Filter,
    ) -> Result<Vec<(String, i64)>, FeatureError> {
        let mut keys = Vec::new();
        let mut bad = None;
        scan_on(
            &self.conn,
            facts,
            &self.file,
            table,
            id_prefix,
            filter.bbox(),
            |f: Feature| {
                if filter.matches(&f) {
                    match f.id.rsplit('.').next().and_then(|k| k.parse::<i64>().ok()) {
                        Some(k) => keys.push((f.id.clone(), k)),
                        None => {
                            bad = Some(f.id.clone());
                            return false;
                        }
                    }
                }
                true
            },
        )?;
        if let Some(id) = bad {
            return Err(FeatureError::Data(format!(
                "feature {id} has no integer key; its table cannot be edited"
            )));
        }
        Ok(keys)
    }
}

/// A property value as SQLite stores it.
fn sql_value(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Int(i) => SqlValue::Integer(*i),
        Value::Float(f) => SqlValue::Real(*f),
        Value::Text(t) => SqlValue::Text(t.clone()),
    }
}

/// A geometry as a GeoPackage blob: the `GP` header (version 0, little-endian, an x/y
/// envelope; the empty flag when it has no coordinates), then WKB.
pub(crate) fn gpkg_blob(g: &Geometry<f64>, srs_id: i32) -> Vec<u8> {
    let b = bounds(g);
    let mut out = vec![
        b'G',
        b'P',
        0,
        if b.is_some() {
            0b0000_0011
        } else {
            0b0001_0001
        },
    ];
    out.extend_from_slice(&srs_id.to_le_bytes());
    if let Some([minx, miny, maxx, maxy]) = b {
        for v in [minx, maxx, miny, maxy] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&crate::wkb::to_wkb(g));
    out
}

/// The box of a geometry blob: its header's envelope, or its WKB's.
fn blob_box(b: &[u8]) -> Option<[f64; 4]> {
    if b.len() < 8 || &b[0..2] != b"GP" || b[3] & 0b1_0000 != 0 {
        return None;
    }
    let le = b[3] & 1 == 1;
    if (b[3] >> 1) & 0b111 != 0 {
        let f = |i: usize| -> Option<f64> {
            let s: [u8; 8] = b.get(8 + i * 8..16 + i * 8)?.try_into().ok()?;
            Some(if le {
                f64::from_le_bytes(s)
            } else {
                f64::from_be_bytes(s)
            })
        };
        return Some([f(0)?, f(2)?, f(1)?, f(3)?]);
    }
    bounds(&super::scan::parse_gpkg_blob(b)?)
}

/// The GeoPackage SQL functions the R-tree triggers call.
fn register_functions(c: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for (name, i) in [
        ("ST_MinX", 0),
        ("ST_MinY", 1),
        ("ST_MaxX", 2),
        ("ST_MaxY", 3),
    ] {
        c.create_scalar_function(name, 1, flags, move |ctx| {
            let v = match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Blob(b) => blob_box(b).map(|bx| bx[i]),
                _ => None,
            };
            Ok(v.map_or(ToSqlOutput::Owned(SqlValue::Null), |x| {
                ToSqlOutput::Owned(SqlValue::Real(x))
            }))
        })?;
    }
    c.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Blob(b) => Some(i64::from(blob_box(b).is_none())),
            _ => None,
        })
    })?;
    Ok(())
}

impl StoreTransaction for GeoPackageTransaction {
    fn apply(
        &mut self,
        table: &str,
        id_prefix: &str,
        change: &FeatureChange,
    ) -> Result<Applied, FeatureError> {
        let facts = Facts::of(&self.file)
            .map_err(|e| FeatureError::Data(format!("{}: {e}", self.file.display())))?;
        let (geom_col, pk, _) = table_info(&self.conn, &facts, &self.file, table)?;
        let pk = pk.unwrap_or_else(|| "rowid".into());
        let (kind, srs_id) = self.geometry_kind(table)?;
        let err = sql_err(&self.file);
        let mut applied = Applied::default();
        match change {
            FeatureChange::Insert(f) => {
                let mut cols = Vec::new();
                let mut vals: Vec<SqlValue> = Vec::new();
                if let Some(g) = &f.geometry {
                    cols.push(quote(&geom_col));
                    vals.push(SqlValue::Blob(gpkg_blob(
                        &fit_geometry(g.clone(), &kind)?,
                        srs_id,
                    )));
                }
                for (k, v) in &f.properties {
                    cols.push(quote(k));
                    vals.push(sql_value(v));
                }
                let sql = if cols.is_empty() {
                    format!("INSERT INTO {} DEFAULT VALUES", quote(table))
                } else {
                    format!(
                        "INSERT INTO {} ({}) VALUES ({})",
                        quote(table),
                        cols.join(", "),
                        vec!["?"; cols.len()].join(", ")
                    )
                };
                self.conn
                    .execute(&sql, rusqlite::params_from_iter(vals.iter()))
                    .map_err(|e| FeatureError::Invalid(format!("{table}: {e}")))?;
                applied
                    .inserted
                    .push(format!("{id_prefix}.{}", self.conn.last_insert_rowid()));
            }
            FeatureChange::Update {
                filter,
                properties,
                geometry,
            } => {
                let keys = self.selected(&facts, table, id_prefix, filter)?;
                let mut sets = Vec::new();
                let mut vals: Vec<SqlValue> = Vec::new();
                if let Some(g) = geometry {
                    sets.push(format!("{} = ?", quote(&geom_col)));
                    vals.push(SqlValue::Blob(gpkg_blob(
                        &fit_geometry(g.clone(), &kind)?,
                        srs_id,
                    )));
                }
                for (k, v) in properties {
                    sets.push(format!("{} = ?", quote(k)));
                    vals.push(sql_value(v));
                }
                if !sets.is_empty() {
                    let sql = format!(
                        "UPDATE {} SET {} WHERE {} = ?",
                        quote(table),
                        sets.join(", "),
                        quote(&pk)
                    );
                    let mut st = self.conn.prepare(&sql).map_err(&err)?;
                    for (id, key) in &keys {
                        let mut row = vals.clone();
                        row.push(SqlValue::Integer(*key));
                        st.execute(rusqlite::params_from_iter(row.iter()))
                            .map_err(|e| FeatureError::Invalid(format!("{id}: {e}")))?;
                    }
                }
                applied.updated = keys.into_iter().map(|(id, _)| id).collect();
            }
            FeatureChange::Delete(filter) => {
                let keys = self.selected(&facts, table, id_prefix, filter)?;
                let sql = format!("DELETE FROM {} WHERE {} = ?", quote(table), quote(&pk));
                let mut st = self.conn.prepare(&sql).map_err(&err)?;
                for (_, key) in &keys {
                    st.execute([key]).map_err(&err)?;
                }
                applied.deleted = keys.into_iter().map(|(id, _)| id).collect();
            }
        }
        Ok(applied)
    }

    fn commit(self: Box<Self>) -> Result<(), FeatureError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(sql_err(&self.file))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::filter::Compare;
    use geo_types::Point;

    /// A GeoPackage with an R-tree kept by GDAL's triggers, made with SQL alone.
    fn sample(dir: &Path) -> PathBuf {
        let p = dir.join("t.gpkg");
        let c = Connection::open(&p).unwrap();
        c.execute_batch(
            "CREATE TABLE gpkg_contents (table_name TEXT, data_type TEXT, identifier TEXT, srs_id INTEGER);
             CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, geometry_type_name TEXT, srs_id INTEGER, z INTEGER, m INTEGER);
             INSERT INTO gpkg_contents VALUES ('pts', 'features', 'pts', 4326);
             INSERT INTO gpkg_geometry_columns VALUES ('pts', 'geom', 'POINT', 4326, 0, 0);
             CREATE TABLE pts (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom BLOB, name TEXT, n INTEGER);
             CREATE VIRTUAL TABLE rtree_pts_geom USING rtree(id, minx, maxx, miny, maxy);
             CREATE TRIGGER rtree_pts_geom_insert AFTER INSERT ON pts WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
             BEGIN INSERT OR REPLACE INTO rtree_pts_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
             CREATE TRIGGER rtree_pts_geom_delete AFTER DELETE ON pts WHEN old.geom NOT NULL
             BEGIN DELETE FROM rtree_pts_geom WHERE id = OLD.fid; END;",
        )
        .unwrap();
        p
    }

    fn point(name: &str, x: f64) -> Feature {
        Feature {
            id: String::new(),
            geometry: Some(Geometry::Point(Point::new(x, 1.0))),
            properties: vec![
                ("name".into(), Value::Text(name.into())),
                ("n".into(), Value::Int(7)),
            ],
        }
    }

    #[test]
    fn inserts_update_the_rtree_and_a_dropped_transaction_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = sample(d.path());
        let mut tx = Box::new(GeoPackageTransaction::begin(&p).unwrap());
        let a = tx
            .apply("pts", "pts", &FeatureChange::Insert(point("a", 3.0)))
            .unwrap();
        assert_eq!(a.inserted, vec!["pts.1".to_string()]);
        tx.apply("pts", "pts", &FeatureChange::Insert(point("b", 5.0)))
            .unwrap();
        let u = tx
            .apply(
                "pts",
                "pts",
                &FeatureChange::Update {
                    filter: Filter::Cmp("name".into(), Compare::Eq, "b".into()),
                    properties: vec![("n".into(), Value::Int(9))],
                    geometry: None,
                },
            )
            .unwrap();
        assert_eq!(u.updated, vec!["pts.2".to_string()]);
        tx.commit().unwrap();
        let c = Connection::open(&p).unwrap();
        let boxes: Vec<(i64, f64)> = c
            .prepare("SELECT id, minx FROM rtree_pts_geom ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(boxes, vec![(1, 3.0), (2, 5.0)]);
        let n: i64 = c
            .query_row("SELECT n FROM pts WHERE fid = 2", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 9);
        drop(c);

        let mut tx = Box::new(GeoPackageTransaction::begin(&p).unwrap());
        let gone = tx
            .apply("pts", "pts", &FeatureChange::Delete(Filter::All))
            .unwrap();
        assert_eq!(gone.deleted.len(), 2);
        drop(tx);
        let c = Connection::open(&p).unwrap();
        let left: i64 = c
            .query_row("SELECT count(*) FROM pts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 2, "a dropped transaction leaves the rows");
    }

    #[test]
    fn a_value_the_column_refuses_fails_the_change() {
        let d = tempfile::tempdir().unwrap();
        let p = sample(d.path());
        let mut tx = Box::new(GeoPackageTransaction::begin(&p).unwrap());
        let mut f = point("a", 1.0);
        f.properties.push(("missing".into(), Value::Int(1)));
        let e = tx
            .apply("pts", "pts", &FeatureChange::Insert(f))
            .unwrap_err();
        assert!(matches!(e, FeatureError::Invalid(_)), "{e}");
    }
}
