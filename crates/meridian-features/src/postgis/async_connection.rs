//! Connections for queries run from async code (vector tiles): tokio-postgres clients whose
//! connection tasks run on the caller's runtime, so that a query waits for the database
//! without handing the request to another thread. Pooled per set of parameters, as the
//! blocking connections are, each with the statements prepared on it.

use super::connection::{connection_error, PgParams};
use meridian_sources::SourceError;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

/// A connection and the statements prepared on it.
struct Pooled {
    client: Client,
    statements: HashMap<String, Statement>,
}

static POOL: Mutex<Option<HashMap<PgParams, Vec<Pooled>>>> = Mutex::new(None);

/// Statements kept prepared on one connection at most (past this they are all forgotten).
const MAX_STATEMENTS: usize = 64;

/// A pooled connection, returned to the pool when dropped.
pub(crate) struct AsyncConn {
    key: PgParams,
    conn: Option<Pooled>,
}

impl Drop for AsyncConn {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            if !c.client.is_closed() {
                let mut g = POOL.lock().unwrap_or_else(|e| e.into_inner());
                let idle = g
                    .get_or_insert_with(HashMap::new)
                    .entry(self.key.clone())
                    .or_default();
                if idle.len() < self.key.max_connections {
                    idle.push(c);
                }
            }
        }
    }
}

/// A connection from the pool, or a new one (its connection task spawned on the current
/// runtime).
pub(crate) async fn connect(p: &PgParams) -> Result<AsyncConn, SourceError> {
    let pooled = POOL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get_mut(p)
        .and_then(Vec::pop);
    let conn = match pooled {
        Some(c) if !c.client.is_closed() => c,
        _ => {
            let (config, tls) = p.settings()?;
            let client = match tls {
                None => {
                    let (client, connection) = config
                        .connect(tokio_postgres::NoTls)
                        .await
                        .map_err(|e| connection_error(p, &e))?;
                    tokio::spawn(connection);
                    client
                }
                Some(tls) => {
                    let (client, connection) = config
                        .connect(tls)
                        .await
                        .map_err(|e| connection_error(p, &e))?;
                    tokio::spawn(connection);
                    client
                }
            };
            Pooled {
                client,
                statements: HashMap::new(),
            }
        }
    };
    Ok(AsyncConn {
        key: p.clone(),
        conn: Some(conn),
    })
}

impl AsyncConn {
    /// Run `sql` (one row expected) as a statement prepared once per connection. A
    /// statement that fails (its table changed under it) is prepared again once.
    pub(crate) async fn query_one_prepared(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let Some(c) = self.conn.as_mut() else {
            unreachable!("present until drop")
        };
        match run(c, sql, params).await {
            Err(e) if e.as_db_error().is_some() && c.statements.remove(sql).is_some() => {
                run(c, sql, params).await
            }
            r => r,
        }
    }
}

async fn run(
    c: &mut Pooled,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, tokio_postgres::Error> {
    let st = match c.statements.get(sql) {
        Some(st) => st.clone(),
        None => {
            let st = c.client.prepare(sql).await?;
            if c.statements.len() >= MAX_STATEMENTS {
                c.statements.clear();
            }
            c.statements.insert(sql.to_string(), st.clone());
            st
        }
    };
    c.client.query_one(&st, params).await
}
