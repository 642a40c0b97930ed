//! Reaching a PostGIS database: GeoServer's connection parameters, and a small pool of
//! connections per set of parameters.

use super::tls::SslMode;
use meridian_sources::{SourceError, StoreParams};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Connection settings from GeoServer's parameter names (shown without the password).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PgParams {
    /// `host`
    pub host: String,
    /// `port`
    pub port: u16,
    /// `database`
    pub database: String,
    /// `schema` (default `public`)
    pub schema: String,
    /// `user`
    pub user: String,
    /// `passwd`
    pub password: String,
    /// `max connections` (pool size)
    pub max_connections: usize,
    /// `SSL mode` (GeoServer's key; libpq's `sslmode` too)
    pub ssl_mode: super::tls::SslMode,
}

impl std::fmt::Debug for PgParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("schema", &self.schema)
            .field("user", &self.user)
            .field("ssl_mode", &self.ssl_mode)
            .finish_non_exhaustive()
    }
}

impl PgParams {
    /// From a store's connection parameters.
    pub fn from_store(s: &StoreParams) -> Result<Self, SourceError> {
        let get = |k: &str| {
            s.params
                .iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let password = get("passwd").unwrap_or_default();
        if password.starts_with("crypt1:") || password.starts_with("crypt2:") {
            return Err(SourceError::Unsupported(
                "PostGIS with a GeoServer-encrypted password (crypt1:/crypt2:); set it again through REST".into(),
            ));
        }
        Ok(PgParams {
            host: get("host").unwrap_or_else(|| "localhost".into()),
            port: get("port")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(5432),
            database: get("database")
                .ok_or_else(|| SourceError::Format("PostGIS store has no 'database'".into()))?,
            schema: get("schema")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "public".into()),
            user: get("user").unwrap_or_else(|| "postgres".into()),
            password,
            max_connections: get("max connections")
                .and_then(|m| m.parse().ok())
                .unwrap_or(10)
                .clamp(1, 100),
            ssl_mode: super::tls::SslMode::parse(
                &get("SSL mode")
                    .or_else(|| get("sslmode"))
                    .unwrap_or_default(),
            )?,
        })
    }

    /// The connection settings, and the TLS connector the SSL mode asks for (none: plain).
    pub(crate) fn settings(
        &self,
    ) -> Result<
        (
            tokio_postgres::Config,
            Option<tokio_postgres_rustls::MakeRustlsConnect>,
        ),
        SourceError,
    > {
        let mut c = self.config();
        let tls = match self.ssl_mode {
            SslMode::Disable => None,
            mode => {
                c.ssl_mode(if mode == SslMode::Prefer {
                    tokio_postgres::config::SslMode::Prefer
                } else {
                    tokio_postgres::config::SslMode::Require
                });
                Some(tokio_postgres_rustls::MakeRustlsConnect::new(
                    super::tls::client_config(mode)?,
                ))
            }
        };
        Ok((c, tls))
    }

    fn config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .dbname(&self.database)
            .user(&self.user)
            .connect_timeout(std::time::Duration::from_secs(5));
        if !self.password.is_empty() {
            c.password(&self.password);
        }
        c
    }
}

/// Idle connections, per set of parameters (the blocking ones here, the async ones in
/// [`super::async_connection`]).
pub(crate) struct IdlePool<T>(Mutex<Option<HashMap<PgParams, Vec<T>>>>);

impl<T> IdlePool<T> {
    pub(crate) const fn new() -> Self {
        IdlePool(Mutex::new(None))
    }

    /// An idle connection made with `p`, if one waits.
    pub(crate) fn take(&self, p: &PgParams) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .get_mut(p)
            .and_then(Vec::pop)
    }

    /// Keep `c` for the next caller with `p`, unless `p`'s `max connections` already wait.
    pub(crate) fn give(&self, p: &PgParams, c: T) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let idle = g
            .get_or_insert_with(HashMap::new)
            .entry(p.clone())
            .or_default();
        if idle.len() < p.max_connections {
            idle.push(c);
        }
    }
}

static POOL: IdlePool<postgres::Client> = IdlePool::new();

/// A pooled connection, returned to the pool when dropped.
pub struct PgConn {
    key: PgParams,
    client: Option<postgres::Client>,
}

impl Deref for PgConn {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        // Present until drop.
        self.client.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.client.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            if !c.is_closed() {
                POOL.give(&self.key, c);
            }
        }
    }
}

/// A connection from the pool, or a new one.
pub fn connect(p: &PgParams) -> Result<PgConn, SourceError> {
    let client = match POOL.take(p) {
        Some(c) if !c.is_closed() => c,
        _ => {
            let failed = |e: postgres::Error| connection_error(p, &e);
            let (config, tls) = p.settings()?;
            let config = postgres::Config::from(config);
            match tls {
                None => config.connect(postgres::NoTls).map_err(failed)?,
                Some(tls) => config.connect(tls).map_err(failed)?,
            }
        }
    };
    Ok(PgConn {
        key: p.clone(),
        client: Some(client),
    })
}

/// Why a connection to `p` failed, with the causes a TLS failure carries.
pub(crate) fn connection_error(p: &PgParams, e: &tokio_postgres::Error) -> SourceError {
    let why = match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => {
            // "error performing TLS handshake: invalid peer certificate: …"
            let mut s = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                s = format!("{s}: {c}");
                cause = c.source();
            }
            s
        }
    };
    SourceError::Io(format!(
        "PostGIS {}:{}/{}: {why}",
        p.host, p.port, p.database
    ))
}

pub(crate) fn db_err(e: postgres::Error) -> SourceError {
    SourceError::Format(format!("PostGIS: {e}"))
}

/// Quote an identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
