//! GeoPackage schemas: `gpkg_contents`, `gpkg_geometry_columns`, `gpkg_spatial_ref_sys` and the
//! table's columns.

use super::pool::{self, Fact, Facts};
use meridian_sources::{jts_binding, Attribute, Bounds, Schema, SourceError};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

/// Run `f` on a pooled connection to the GeoPackage at `p`.
fn with_file<R>(
    p: &Path,
    f: impl FnOnce(&Connection, &Facts) -> Result<R, SourceError>,
) -> Result<R, SourceError> {
    if !p.is_file() {
        return Err(SourceError::Io(format!(
            "{}: no such GeoPackage",
            p.display()
        )));
    }
    pool::with_connection(p, f).map_err(|e| SourceError::Io(format!("{}: {e}", p.display())))?
}

fn sql(p: &Path) -> impl Fn(rusqlite::Error) -> SourceError + '_ {
    move |e| SourceError::Format(format!("{}: {e}", p.display()))
}

/// A `gpkg_contents` row: min_x, min_y, max_x, max_y, srs_id.
type ContentsRow = (
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<i64>,
);

/// Feature tables listed in `gpkg_contents`.
pub(crate) fn list(p: &Path) -> Result<Vec<String>, SourceError> {
    with_file(p, |c, _| list_on(c, p))
}

fn list_on(c: &Connection, p: &Path) -> Result<Vec<String>, SourceError> {
    let mut st = c
        .prepare(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name",
        )
        .map_err(sql(p))?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql(p))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql(p))
}

/// The schema of one feature table (read once per file state).
pub(crate) fn describe(p: &Path, table: &str) -> Result<Schema, SourceError> {
    let fact = format!("schema:{table}");
    with_file(p, |c, facts| {
        if let Some(Fact::Schema(s)) = facts.recall(&fact) {
            return Ok(*s);
        }
        let schema = describe_on(c, p, table)?;
        facts.remember(&fact, Fact::Schema(Box::new(schema.clone())));
        Ok(schema)
    })
}

fn describe_on(c: &Connection, p: &Path, table: &str) -> Result<Schema, SourceError> {
    let contents: Option<ContentsRow> = c
        .query_row(
            "SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents WHERE table_name = ?1 AND data_type = 'features'",
            [table],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(sql(p))?;
    let Some((minx, miny, maxx, maxy, srs_id)) = contents else {
        return Err(SourceError::NoSuchType(table.to_string()));
    };
    let geom: Option<(String, String, i64)> = c
        .query_row(
            "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
            [table],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sql(p))?;
    let srs_id = geom.as_ref().map(|g| g.2).or(srs_id);
    let (srs, native_wkt) = match srs_id {
        Some(id) => c
            .query_row(
                "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
                [id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
            )
            .optional()
            .map_err(sql(p))?
            .map(|(org, code, def)| {
                let srs = org.eq_ignore_ascii_case("epsg").then(|| format!("EPSG:{code}"));
                (srs, Some(def).filter(|d| d != "undefined"))
            })
            .unwrap_or((None, None)),
        None => (None, None),
    };
    let mut st = c
        .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
        .map_err(sql(p))?;
    let cols = st
        .query_map([table], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .map_err(sql(p))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql(p))?;
    let mut attributes = Vec::new();
    for (name, ty, notnull, pk) in cols {
        if pk > 0 {
            // GeoServer hides primary keys unless "Expose primary keys" is set.
            continue;
        }
        let is_geom = geom
            .as_ref()
            .is_some_and(|g| g.0.eq_ignore_ascii_case(&name));
        let binding = if is_geom {
            let gt = geom.as_ref().map(|g| g.1.as_str()).unwrap_or("GEOMETRY");
            jts_binding(gt)
        } else {
            sqlite_binding(&ty).to_string()
        };
        let length = (!is_geom)
            .then(|| {
                ty.split_once('(')
                    .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
            })
            .flatten();
        attributes.push(Attribute {
            name,
            binding,
            nillable: notnull == 0,
            length,
        });
    }
    let bounds = match (minx, miny, maxx, maxy) {
        (Some(minx), Some(miny), Some(maxx), Some(maxy)) => Some(Bounds {
            minx,
            miny,
            maxx,
            maxy,
        }),
        _ => None,
    };
    Ok(Schema {
        name: table.to_string(),
        attributes,
        srs,
        native_wkt,
        bounds,
    })
}

fn sqlite_binding(ty: &str) -> &'static str {
    let t = ty.to_uppercase();
    let base = t.split('(').next().unwrap_or("").trim();
    match base {
        "INTEGER" | "INT" | "MEDIUMINT" => "java.lang.Integer",
        "BIGINT" => "java.lang.Long",
        "SMALLINT" => "java.lang.Short",
        "TINYINT" => "java.lang.Byte",
        "BOOLEAN" => "java.lang.Boolean",
        "FLOAT" => "java.lang.Float",
        "DOUBLE" | "REAL" => "java.lang.Double",
        "DATE" => "java.sql.Date",
        "DATETIME" => "java.sql.Timestamp",
        "BLOB" => "[B",
        _ => "java.lang.String",
    }
}
