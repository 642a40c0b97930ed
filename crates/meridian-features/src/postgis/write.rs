//! Writing PostGIS features: one pooled connection holds a database transaction until commit;
//! dropped uncommitted, it is rolled back before the connection goes back to the pool.
//! Values travel as quoted literals the column's type reads (the same coercion a plain
//! `INSERT` makes); geometries as WKB, made multi where the column is.

use super::connection::{connect, ident, PgConn, PgParams};
use super::query::{literal, to_sql};
use super::schema::{geometry_column, primary_key};
use crate::edit::fit_geometry;
use crate::feature::Value;
use crate::source::{Applied, FeatureChange, StoreTransaction};
use crate::FeatureError;
use geo_types::Geometry;

/// An open write to one PostGIS schema.
pub(crate) struct PostGisTransaction {
    params: PgParams,
    conn: PgConn,
    open: bool,
    /// The SQL view of the layer, which takes no writes.
    view: Option<String>,
}

impl PostGisTransaction {
    /// Take a connection and start a transaction.
    pub(crate) fn begin(params: &PgParams, view: Option<String>) -> Result<Self, FeatureError> {
        let mut conn = connect(params)?;
        conn.batch_execute("BEGIN")
            .map_err(|e| FeatureError::Data(format!("PostGIS: {e}")))?;
        Ok(PostGisTransaction {
            params: params.clone(),
            conn,
            open: true,
            view,
        })
    }
}

impl Drop for PostGisTransaction {
    fn drop(&mut self) {
        if self.open && self.conn.batch_execute("ROLLBACK").is_err() {
            // A connection that cannot roll back must not go back to the pool.
            let _ = self.conn.batch_execute("DISCARD ALL");
        }
    }
}

/// A value as an SQL literal.
fn value_sql(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => literal(&b.to_string()),
        Value::Int(i) => literal(&i.to_string()),
        Value::Float(f) => literal(&f.to_string()),
        Value::Text(t) => literal(t),
    }
}

/// A geometry as SQL: WKB in hex, in the column's SRID.
fn geometry_sql(g: &Geometry<f64>, srid: i32) -> String {
    let hex: String = crate::wkb::to_wkb(g)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ST_GeomFromWKB(decode('{hex}', 'hex'), {srid})")
}

/// A database error as the caller's mistake (a value the column refuses) or the store's.
fn db_error(table: &str, e: postgres::Error) -> FeatureError {
    match e.as_db_error() {
        // Class 22 (data exception) and 23 (integrity constraint violation): the values.
        Some(d) if d.code().code().starts_with("22") || d.code().code().starts_with("23") => {
            FeatureError::Invalid(format!("{table}: {}", d.message()))
        }
        Some(d) => FeatureError::Data(format!("PostGIS {table}: {}", d.message())),
        None => FeatureError::Data(format!("PostGIS {table}: {e}")),
    }
}

impl StoreTransaction for PostGisTransaction {
    fn apply(
        &mut self,
        table: &str,
        id_prefix: &str,
        change: &FeatureChange,
    ) -> Result<Applied, FeatureError> {
        if self.view.as_deref() == Some(table) {
            return Err(FeatureError::ReadOnly);
        }
        let schema = self.params.schema.clone();
        let (geom, srid, kind) = geometry_column(&mut self.conn, &schema, table)?;
        let pk = primary_key(&mut self.conn, &schema, table)?.ok_or_else(|| {
            FeatureError::Data(format!(
                "{table} has no single-column primary key; it cannot be edited"
            ))
        })?;
        let from = format!("{}.{}", ident(&schema), ident(table));
        let ids = |rows: Vec<postgres::Row>| -> Vec<String> {
            rows.iter()
                .map(|r| format!("{id_prefix}.{}", r.get::<_, String>(0)))
                .collect()
        };
        let mut applied = Applied::default();
        match change {
            FeatureChange::Insert(f) => {
                let mut cols = Vec::new();
                let mut vals = Vec::new();
                if let Some(g) = &f.geometry {
                    cols.push(ident(&geom));
                    vals.push(geometry_sql(&fit_geometry(g.clone(), &kind)?, srid));
                }
                for (k, v) in &f.properties {
                    cols.push(ident(k));
                    vals.push(value_sql(v));
                }
                let sql = if cols.is_empty() {
                    format!(
                        "INSERT INTO {from} DEFAULT VALUES RETURNING {}::text",
                        ident(&pk)
                    )
                } else {
                    format!(
                        "INSERT INTO {from} ({}) VALUES ({}) RETURNING {}::text",
                        cols.join(", "),
                        vals.join(", "),
                        ident(&pk)
                    )
                };
                let rows = self.conn.query(&sql, &[]).map_err(|e| db_error(table, e))?;
                applied.inserted = ids(rows);
            }
            FeatureChange::Update {
                filter,
                properties,
                geometry,
            } => {
                let wher =
                    to_sql(filter, &geom, srid, &ident(&pk), id_prefix).ok_or_else(|| {
                        FeatureError::Invalid("this filter cannot select PostGIS features".into())
                    })?;
                let mut sets = Vec::new();
                if let Some(g) = geometry {
                    sets.push(format!(
                        "{} = {}",
                        ident(&geom),
                        geometry_sql(&fit_geometry(g.clone(), &kind)?, srid)
                    ));
                }
                for (k, v) in properties {
                    sets.push(format!("{} = {}", ident(k), value_sql(v)));
                }
                let sql = if sets.is_empty() {
                    format!("SELECT {}::text FROM {from} WHERE {wher}", ident(&pk))
                } else {
                    format!(
                        "UPDATE {from} SET {} WHERE {wher} RETURNING {}::text",
                        sets.join(", "),
                        ident(&pk)
                    )
                };
                let rows = self.conn.query(&sql, &[]).map_err(|e| db_error(table, e))?;
                applied.updated = ids(rows);
            }
            FeatureChange::Delete(filter) => {
                let wher =
                    to_sql(filter, &geom, srid, &ident(&pk), id_prefix).ok_or_else(|| {
                        FeatureError::Invalid("this filter cannot select PostGIS features".into())
                    })?;
                let rows = self
                    .conn
                    .query(
                        &format!(
                            "DELETE FROM {from} WHERE {wher} RETURNING {}::text",
                            ident(&pk)
                        ),
                        &[],
                    )
                    .map_err(|e| db_error(table, e))?;
                applied.deleted = ids(rows);
            }
        }
        Ok(applied)
    }

    fn commit(mut self: Box<Self>) -> Result<(), FeatureError> {
        self.conn
            .batch_execute("COMMIT")
            .map_err(|e| FeatureError::Data(format!("PostGIS: {e}")))?;
        self.open = false;
        Ok(())
    }
}
