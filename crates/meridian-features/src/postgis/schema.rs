//! PostGIS schemas: the store's geometry tables, a table's columns (the primary key hidden, as
//! GeoServer does), SRID and extent.

use super::connection::{connect, db_err, ident, PgParams};
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

/// The schema of a table: columns (primary key hidden, as GeoServer does), SRID, extent.
pub fn describe(p: &PgParams, table: &str) -> Result<Schema, SourceError> {
    let mut c = connect(p)?;
    let (geom, srid, gtype) = geometry_column(&mut c, &p.schema, table)?;
    let pk = primary_key(&mut c, &p.schema, table)?;
    let rows = c
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text, character_maximum_length FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&p.schema, &table],
        )
        .map_err(db_err)?;
    let mut attributes = Vec::new();
    for r in rows {
        let name: String = r.get(0);
        if pk.as_deref() == Some(name.as_str()) {
            continue;
        }
        let dt: String = r.get(1);
        let nullable: String = r.get(2);
        let len: Option<i32> = r.get(3);
        let b = if name == geom {
            jts_binding(&gtype)
        } else {
            binding(&dt).to_string()
        };
        attributes.push(Attribute {
            name,
            binding: b,
            nillable: nullable == "YES",
            length: len.and_then(|l| u32::try_from(l).ok()),
        });
    }
    let ext = c
        .query_opt(
            &format!(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent({}) AS e FROM {}.{}) x WHERE e IS NOT NULL",
                ident(&geom),
                ident(&p.schema),
                ident(table)
            ),
            &[],
        )
        .map_err(db_err)?;
    let bounds = ext.map(|r| Bounds {
        minx: r.get(0),
        miny: r.get(1),
        maxx: r.get(2),
        maxy: r.get(3),
    });
    let code = u32::try_from(srid).ok().filter(|s| *s > 0);
    Ok(Schema {
        name: table.to_string(),
        attributes,
        srs: code.map(|c| format!("EPSG:{c}")),
        native_wkt: code.and_then(wkt_for_epsg).map(str::to_string),
        bounds,
    })
}
