//! Reading a GeoPackage feature table: the R-tree for bounding boxes, rows in key order.

use super::pool::{self, Fact, Facts};
use crate::feature::{Feature, Value};
use crate::FeatureError;
use geo_types::Geometry;
use rusqlite::{types::ValueRef, Connection, OptionalExtension};
use std::path::Path;

pub(super) fn sql_err(p: &Path) -> impl Fn(rusqlite::Error) -> FeatureError + '_ {
    move |e| FeatureError::Data(format!("{}: {e}", p.display()))
}

pub(super) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The table's geometry column, primary key and whether its R-tree exists, read once per
/// file state (see [`pool`]).
pub(super) fn table_info(
    c: &Connection,
    facts: &Facts,
    p: &Path,
    table: &str,
) -> Result<(String, Option<String>, bool), FeatureError> {
    let fact = format!("table:{table}");
    if let Some(Fact::Table(geom, pk, rtree)) = facts.recall(&fact) {
        return Ok((geom, pk, rtree));
    }
    let geom: Option<String> = c
        .query_row(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err(p))?;
    let geom = geom.ok_or_else(|| {
        FeatureError::Source(meridian_sources::SourceError::NoSuchType(table.to_string()))
    })?;
    let pk: Option<String> = c
        .query_row(
            "SELECT name FROM pragma_table_info(?1) WHERE pk > 0",
            [table],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err(p))?;
    let rtree = format!("rtree_{table}_{geom}");
    let has_rtree: bool = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = ?1",
            [&rtree],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql_err(p))?
        > 0;
    facts.remember(&fact, Fact::Table(geom.clone(), pk.clone(), has_rtree));
    Ok((geom, pk, has_rtree))
}

/// Run `f` on a pooled connection to the file.
fn with_file<R>(
    p: &Path,
    f: impl FnOnce(&Connection, &Facts) -> Result<R, FeatureError>,
) -> Result<R, FeatureError> {
    pool::with_connection(p, f).map_err(|e| FeatureError::Data(format!("{}: {e}", p.display())))?
}

/// Call `each` with the features of a table, in primary-key order, until it returns false.
/// With `bbox`, only features whose R-tree entry intersects it are read.
/// Number of rows of a feature table.
pub(crate) fn count(p: &Path, table: &str) -> Result<usize, FeatureError> {
    with_file(p, |c, facts| {
        table_info(c, facts, p, table)?;
        c.prepare_cached(&format!("SELECT COUNT(*) FROM {}", quote(table)))
            .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(sql_err(p))
    })
}

pub(crate) fn scan(
    p: &Path,
    table: &str,
    id_prefix: &str,
    bbox: Option<geo_types::Rect<f64>>,
    each: impl FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    with_file(p, |c, facts| {
        scan_on(c, facts, p, table, id_prefix, bbox, each)
    })
}

pub(super) fn scan_on(
    c: &Connection,
    facts: &Facts,
    p: &Path,
    table: &str,
    id_prefix: &str,
    bbox: Option<geo_types::Rect<f64>>,
    mut each: impl FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    let (geom, pk, has_rtree) = table_info(c, facts, p, table)?;
    let pk_col = pk.clone().unwrap_or_else(|| "rowid".into());
    let mut sql = format!(
        "SELECT {pk} AS __fid, * FROM {t}",
        pk = quote(&pk_col),
        t = quote(table)
    );
    let mut params: Vec<f64> = Vec::new();
    if let (Some(b), true) = (bbox, has_rtree) {
        sql = format!(
            "SELECT t.{pk} AS __fid, t.* FROM {t} t JOIN {r} r ON t.{pk} = r.id WHERE r.maxx >= ?1 AND r.minx <= ?2 AND r.maxy >= ?3 AND r.miny <= ?4",
            pk = quote(&pk_col),
            t = quote(table),
            r = quote(&format!("rtree_{table}_{geom}"))
        );
        params = vec![b.min().x, b.max().x, b.min().y, b.max().y];
    }
    sql.push_str(" ORDER BY __fid");
    let mut st = c.prepare_cached(&sql).map_err(sql_err(p))?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = st
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(sql_err(p))?;
    while let Some(row) = rows.next().map_err(sql_err(p))? {
        let mut id = String::new();
        let mut geometry = None;
        let mut properties = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let v = row.get_ref(i).map_err(sql_err(p))?;
            if i == 0 {
                id = match v {
                    ValueRef::Integer(n) => n.to_string(),
                    other => format!("{other:?}"),
                };
                continue;
            }
            if name.eq_ignore_ascii_case(&geom) {
                if let ValueRef::Blob(b) = v {
                    geometry = parse_gpkg_blob(b);
                }
                continue;
            }
            if pk.as_deref() == Some(name.as_str()) {
                continue;
            }
            properties.push((
                name.clone(),
                match v {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Real(f) => Value::Float(f),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Value::Null,
                },
            ));
        }
        if !each(Feature {
            id: format!("{id_prefix}.{id}"),
            geometry,
            properties,
        }) {
            break;
        }
    }
    Ok(())
}

/// Parse a GeoPackage geometry blob: `GP` header (flags, SRS id, optional envelope), then WKB.
pub(crate) fn parse_gpkg_blob(b: &[u8]) -> Option<Geometry<f64>> {
    if b.len() < 8 || &b[0..2] != b"GP" {
        return None;
    }
    let flags = b[3];
    let env_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    let start = 8 + env_len;
    if flags & 0b1_0000 != 0 {
        return None; // empty geometry
    }
    crate::wkb::parse_wkb(b.get(start..)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::Point;

    #[test]
    fn gpkg_point_blob() {
        let mut b = vec![b'G', b'P', 0, 0b0000_0001, 0xE6, 0x10, 0, 0];
        b.push(1);
        b.extend(1u32.to_le_bytes());
        b.extend(10.5f64.to_le_bytes());
        b.extend((-3.0f64).to_le_bytes());
        assert_eq!(
            parse_gpkg_blob(&b),
            Some(Geometry::Point(Point::new(10.5, -3.0)))
        );
        assert_eq!(parse_gpkg_blob(b"GP\0\x01garbage"), None);
        assert_eq!(parse_gpkg_blob(b"xx"), None);
    }
}
