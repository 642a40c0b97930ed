//! What a PostGIS feature type reads from: a table of the store's schema, or a SQL view's
//! query (GeoServer's `JDBC_VIRTUAL_TABLE`) run as a subquery. Either resolves to the same
//! facts — the `FROM` clause, the geometry column and its SRID, the key, the columns — so
//! queries and schemas are written once for both.

use super::connection::{db_err, ident, PgParams};
use super::schema::{geometry_column, primary_key};
use meridian_sources::{SourceError, SqlView};
use postgres::types::Type;
use std::collections::HashMap;
use std::sync::Arc;

/// A table by name, or a view with the values of its parameters.
#[derive(Clone)]
pub(crate) enum Relation {
    /// A table (or database view) of the store's schema.
    Table(String),
    /// A SQL view and the request's parameter values.
    View(Arc<SqlView>, HashMap<String, String>),
}

/// A column.
#[derive(Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// The type as `information_schema` spells it (`integer`, `double precision`…).
    pub(crate) data_type: String,
    pub(crate) nullable: bool,
    pub(crate) length: Option<i32>,
}

/// A relation, resolved against the database.
#[derive(Clone)]
pub(crate) struct Resolved {
    /// What follows `FROM`.
    pub(crate) from: String,
    /// The geometry column.
    pub(crate) geom: String,
    /// Its SRID.
    pub(crate) srid: i32,
    /// Its kind (`MULTIPOLYGON`, `POINT`, `GEOMETRY`…).
    pub(crate) kind: String,
    /// The key column, when there is one.
    pub(crate) key: Option<String>,
    /// The SQL of a row's id: the key, a table's `ctid`, or a view's row number.
    pub(crate) id_sql: String,
    /// Whether rows have a stable order by `id_sql`.
    pub(crate) ordered: bool,
    /// Every column, in order (the geometry and the key included).
    pub(crate) columns: Vec<Column>,
}

/// The `information_schema` spelling of a type a prepared statement reports.
fn type_name(t: &Type) -> String {
    match *t {
        Type::INT2 => "smallint".into(),
        Type::INT4 => "integer".into(),
        Type::INT8 => "bigint".into(),
        Type::FLOAT4 => "real".into(),
        Type::FLOAT8 => "double precision".into(),
        Type::NUMERIC => "numeric".into(),
        Type::BOOL => "boolean".into(),
        Type::DATE => "date".into(),
        Type::TIMESTAMP => "timestamp without time zone".into(),
        Type::TIMESTAMPTZ => "timestamp with time zone".into(),
        _ => t.name().to_string(),
    }
}

/// Resolve a relation: a table through the database's catalogs, a view by preparing its
/// query (its columns and types, nothing run). A table's columns are read only when
/// `columns` asks for them (a count needs none).
pub(crate) fn resolve(
    c: &mut postgres::Client,
    p: &PgParams,
    rel: &Relation,
    columns: bool,
) -> Result<Resolved, SourceError> {
    if let Some(r) = kept(p, rel, columns) {
        return Ok(Resolved::clone(&r));
    }
    let r = resolve_now(c, p, rel, columns)?;
    if let Some(k) = kept_key(p, rel, columns) {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let m = kept.get_or_insert_with(Default::default);
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(k, (std::time::Instant::now(), Arc::new(r.clone())));
    }
    Ok(r)
}

// A table's description, kept a few seconds: reading the catalogs (three queries, one on
// `information_schema`) costs more than a small query itself.
type Key = (String, u16, String, String, String, String);
type Kept = std::collections::HashMap<Key, (std::time::Instant, Arc<Resolved>)>;
static KEPT: std::sync::Mutex<Option<Kept>> = std::sync::Mutex::new(None);
const KEEP: std::time::Duration = std::time::Duration::from_secs(5);

fn kept_key(p: &PgParams, rel: &Relation, columns: bool) -> Option<Key> {
    match rel {
        Relation::Table(t) if columns => Some((
            p.host.clone(),
            p.port,
            p.database.clone(),
            p.user.clone(),
            p.schema.clone(),
            t.clone(),
        )),
        _ => None,
    }
}

/// The description of a table read less than a few seconds ago, with its columns.
pub(crate) fn kept(p: &PgParams, rel: &Relation, columns: bool) -> Option<Arc<Resolved>> {
    let k = kept_key(p, rel, columns)?;
    let kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.as_ref()
        .and_then(|m| m.get(&k))
        .filter(|(at, _)| at.elapsed() < KEEP)
        .map(|(_, r)| r.clone())
}

fn resolve_now(
    c: &mut postgres::Client,
    p: &PgParams,
    rel: &Relation,
    columns: bool,
) -> Result<Resolved, SourceError> {
    match rel {
        Relation::Table(table) => {
            let (geom, srid, kind) = geometry_column(c, &p.schema, table)?;
            let key = primary_key(c, &p.schema, table)?;
            let rows = if columns {
                c
                .query(
                    "SELECT column_name::text, data_type::text, is_nullable::text, character_maximum_length FROM information_schema.columns \
                     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                    &[&p.schema, &table],
                )
                .map_err(db_err)?
            } else {
                Vec::new()
            };
            let columns = rows
                .iter()
                .map(|r| Column {
                    name: r.get(0),
                    data_type: r.get(1),
                    nullable: r.get::<_, String>(2) == "YES",
                    length: r.get(3),
                })
                .collect();
            Ok(Resolved {
                from: format!("{}.{}", ident(&p.schema), ident(table)),
                id_sql: key.as_deref().map_or_else(|| "ctid".to_string(), ident),
                ordered: true,
                geom,
                srid,
                kind,
                key,
                columns,
            })
        }
        Relation::View(view, values) => {
            let sql = view
                .expand(values)
                .map_err(|e| SourceError::Format(e.to_string()))?;
            let from = format!("({sql}) AS vtable");
            let st = c
                .prepare(&format!("SELECT * FROM {from} LIMIT 0"))
                .map_err(|e| {
                    SourceError::Format(format!(
                        "the SQL view {} does not run: {}",
                        view.name,
                        e.as_db_error()
                            .map_or_else(|| e.to_string(), |d| d.message().to_string())
                    ))
                })?;
            let declared = view.geometries.first();
            let geom = match declared {
                Some(g) => g.name.clone(),
                None => st
                    .columns()
                    .iter()
                    .find(|col| col.type_().name() == "geometry")
                    .map(|col| col.name().to_string())
                    .ok_or_else(|| {
                        SourceError::Format(format!(
                            "the SQL view {} has no geometry column",
                            view.name
                        ))
                    })?,
            };
            if !st.columns().iter().any(|col| col.name() == geom) {
                return Err(SourceError::Format(format!(
                    "the SQL view {} declares the geometry {geom}, which its query does not give",
                    view.name
                )));
            }
            let key = view.key_columns.first().cloned();
            if let Some(k) = &key {
                if !st.columns().iter().any(|col| col.name() == k) {
                    return Err(SourceError::Format(format!(
                        "the SQL view {} declares the key {k}, which its query does not give",
                        view.name
                    )));
                }
            }
            let columns = st
                .columns()
                .iter()
                .map(|col| Column {
                    name: col.name().to_string(),
                    data_type: type_name(col.type_()),
                    nullable: true,
                    length: None,
                })
                .collect();
            Ok(Resolved {
                from,
                id_sql: key
                    .as_deref()
                    .map_or_else(|| "row_number() OVER ()".to_string(), ident),
                ordered: key.is_some(),
                geom,
                srid: declared
                    .and_then(|g| i32::try_from(g.srid).ok())
                    .unwrap_or(4326),
                kind: declared
                    .map(|g| g.kind.to_ascii_uppercase())
                    .unwrap_or_else(|| "GEOMETRY".into()),
                key,
                columns,
            })
        }
    }
}
