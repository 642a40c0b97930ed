//! PostGIS stores: GeoServer's connection parameters, a small connection pool, and schemas.

use crate::crs::wkt_for_epsg;
use crate::pg_tls::SslMode;
use crate::{Attribute, Bounds, Schema, SourceError, StoreParams};
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
    pub ssl_mode: crate::pg_tls::SslMode,
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
            ssl_mode: crate::pg_tls::SslMode::parse(
                &get("SSL mode")
                    .or_else(|| get("sslmode"))
                    .unwrap_or_default(),
            )?,
        })
    }

    fn config(&self) -> postgres::Config {
        let mut c = postgres::Config::new();
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

static POOL: Mutex<Option<HashMap<PgParams, Vec<postgres::Client>>>> = Mutex::new(None);

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
                if let Ok(mut g) = POOL.lock() {
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
}

/// A connection from the pool, or a new one.
pub fn connect(p: &PgParams) -> Result<PgConn, SourceError> {
    let pooled = POOL.lock().ok().and_then(|mut g| {
        g.get_or_insert_with(HashMap::new)
            .get_mut(p)
            .and_then(Vec::pop)
    });
    let client = match pooled {
        Some(c) if !c.is_closed() => c,
        _ => {
            let failed = |e: postgres::Error| {
                let why = match e.as_db_error() {
                    Some(d) => d.message().to_string(),
                    None => {
                        // "error performing TLS handshake: invalid peer certificate: …"
                        let mut s = e.to_string();
                        let mut cause = std::error::Error::source(&e);
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
            };
            let mut config = p.config();
            match p.ssl_mode {
                SslMode::Disable => config.connect(postgres::NoTls).map_err(failed)?,
                mode => {
                    config.ssl_mode(if mode == SslMode::Prefer {
                        postgres::config::SslMode::Prefer
                    } else {
                        postgres::config::SslMode::Require
                    });
                    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
                        crate::pg_tls::client_config(mode)?,
                    );
                    config.connect(tls).map_err(failed)?
                }
            }
        }
    };
    Ok(PgConn {
        key: p.clone(),
        client: Some(client),
    })
}

fn db_err(e: postgres::Error) -> SourceError {
    SourceError::Format(format!("PostGIS: {e}"))
}

/// Quote an identifier.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

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
            crate::jts_binding(&gtype)
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
