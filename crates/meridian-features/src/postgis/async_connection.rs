//! Connections for queries run from async code (vector tiles): tokio-postgres clients whose
//! connection tasks run on the caller's runtime, so that a query waits for the database
//! without handing the request to another thread. Pooled per set of parameters, as the
//! blocking connections are, each with the statements prepared on it.

use super::connection::{connection_error, IdlePool, PgParams};
use meridian_sources::SourceError;
use std::collections::HashMap;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::ToSql;
use tokio_postgres::Socket;
use tokio_postgres::{Client, Row, Statement};

/// A connection and the statements prepared on it.
struct Pooled {
    client: Client,
    statements: HashMap<String, Statement>,
}

static POOL: IdlePool<Pooled> = IdlePool::new();

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
                POOL.give(&self.key, c);
            }
        }
    }
}

/// A connection from the pool, or a new one (its connection task spawned on the current
/// runtime).
pub(crate) async fn connect(p: &PgParams) -> Result<AsyncConn, SourceError> {
    let conn = match POOL.take(p) {
        Some(c) if !c.client.is_closed() => c,
        _ => {
            let (config, tls) = p.settings()?;
            let client = match tls {
                None => open(&config, tokio_postgres::NoTls, p).await?,
                Some(tls) => open(&config, tls, p).await?,
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

/// A new connection, its connection task spawned on the current runtime.
async fn open<T>(
    config: &tokio_postgres::Config,
    tls: T,
    p: &PgParams,
) -> Result<Client, SourceError>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config
        .connect(tls)
        .await
        .map_err(|e| connection_error(p, &e))?;
    tokio::spawn(connection);
    Ok(client)
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
