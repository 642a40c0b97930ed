//! PostGIS schemas: the store's geometry tables, a table's columns (the primary key hidden, as
//! GeoServer does), SRID and extent.

use super::connection::{connect, db_err, ident, PgParams};
use super::relation::{resolve, Relation};
use meridian_sources::{jts_binding, wkt_for_epsg, Attribute, Bounds, Schema, SourceError};

/// The geometry tables of the store's schema.
pub fn list(p: &PgParams) -> Result<Vec<String>, SourceError> {
    let mut c = connect(p)?;
    let rows = c
        .query("SELECT DISTINCT f_table_name::text FROM geometry_columns WHERE f_table_schema = $1 ORDER BY 1", &[&p.schema])
        .map_err(db_err)?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// Geometry column, SRID and geometry type of a table.
pub fn geometry_column(
    c: &mut postgres::Client,
    schema: &str,
    table: &str,
) -> Result<(String, i32, String), SourceError> {
    let row = c
        .query_opt(
            "SELECT f_geometry_column::text, srid, type::text FROM geometry_columns WHERE f_table_schema = $1 AND f_table_name = $2 LIMIT 1",
            &[&schema, &table],
        )
        .map_err(db_err)?
        .ok_or_else(|| SourceError::NoSuchType(table.to_string()))?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// The single-column primary key of a table, if any.
pub fn primary_key(
    c: &mut postgres::Client,
    schema: &str,
    table: &str,
) -> Result<Option<String>, SourceError> {
    let rows = c
        .query(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND i.indisprimary",
            &[&schema, &table],
        )
        .map_err(db_err)?;
    Ok((rows.len() == 1).then(|| rows[0].get(0)))
}

fn binding(data_type: &str) -> &'static str {
    match data_type {
        "integer" => "java.lang.Integer",
        "smallint" => "java.lang.Short",
        "bigint" => "java.lang.Long",
        "real" => "java.lang.Float",
        "double precision" => "java.lang.Double",
        "numeric" => "java.math.BigDecimal",
        "boolean" => "java.lang.Boolean",
        "date" => "java.sql.Date",
        "timestamp without time zone" | "timestamp with time zone" => "java.sql.Timestamp",
        _ => "java.lang.String",
    }
}

/// The schema of a table or SQL view: columns (the key hidden, as GeoServer does), SRID,
/// extent.
pub(crate) fn describe(p: &PgParams, rel: &Relation) -> Result<Schema, SourceError> {
    let mut c = connect(p)?;
    let r = resolve(&mut c, p, rel, true)?;
    let attributes = r
        .columns
        .iter()
        .filter(|col| Some(&col.name) != r.key.as_ref())
        .map(|col| Attribute {
            name: col.name.clone(),
            binding: if col.name == r.geom {
                jts_binding(&r.kind)
            } else {
                binding(&col.data_type).to_string()
            },
            nillable: col.nullable,
            length: col.length.and_then(|l| u32::try_from(l).ok()),
        })
        .collect();
    let ext = c
        .query_opt(
            &format!(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent({}) AS e FROM {}) x WHERE e IS NOT NULL",
                ident(&r.geom),
                r.from
            ),
            &[],
        )
        .map_err(db_err)?;
    let bounds = ext.map(|row| Bounds {
        minx: row.get(0),
        miny: row.get(1),
        maxx: row.get(2),
        maxy: row.get(3),
    });
    let code = u32::try_from(r.srid).ok().filter(|s| *s > 0);
    Ok(Schema {
        name: match rel {
            Relation::Table(t) => t.clone(),
            Relation::View(v, _) => v.name.clone(),
        },
        attributes,
        srs: code.map(|c| format!("EPSG:{c}")),
        native_wkt: code.and_then(wkt_for_epsg).map(str::to_string),
        bounds,
    })
}
