//! `meridian`: a GeoServer-compatible geospatial server.

mod health;
mod http;
mod memory;
mod node;
mod status;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "meridian",
    version,
    about = "A GeoServer-compatible geospatial server with clustering"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node.
    Serve {
        /// The GeoServer data directory (default: $GEOSERVER_DATA_DIR, else ./data).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Seconds a request head may take to arrive, counted from when a connection waits
        /// for one (kept-alive connections idle that long close too).
        #[arg(
            long,
            value_name = "SECONDS",
            env = "MERIDIAN_HEADER_READ_TIMEOUT",
            default_value_t = 30
        )]
        header_read_timeout: u64,
        /// Seconds without traffic after which a connection is closed.
        #[arg(
            long,
            value_name = "SECONDS",
            env = "MERIDIAN_IDLE_TIMEOUT",
            default_value_t = 120
        )]
        idle_timeout: u64,
        /// Connections held open at most (also bounded by the descriptor limit); at the cap
        /// the longest-idle connection makes room for a new one.
        #[arg(
            long,
            value_name = "N",
            env = "MERIDIAN_MAX_CONNECTIONS",
            default_value_t = 100_000
        )]
        max_connections: usize,
        /// Failed logins from one client address within a minute before its logins are
        /// refused (429) for the rest of that minute.
        #[arg(
            long,
            value_name = "N",
            env = "MERIDIAN_MAX_FAILED_LOGINS",
            default_value_t = 20
        )]
        max_failed_logins: u32,
        /// HTTP header pass-through: the request header in which a trusted proxy (an
        /// OpenID Connect proxy, say) names the authenticated user of OGC, REST and web
        /// interface requests.
        /// Off unless set.
        #[arg(long, value_name = "HEADER", env = "MERIDIAN_AUTH_PROXY_HEADER")]
        auth_proxy_header: Option<String>,
        /// The addresses the trusted proxy connects from (comma-separated; loopback when
        /// not set). The header of any other client is ignored.
        #[arg(
            long,
            value_name = "IPS",
            env = "MERIDIAN_AUTH_PROXY_FROM",
            value_delimiter = ',',
            default_value = "127.0.0.1,::1"
        )]
        auth_proxy_from: Vec<std::net::IpAddr>,
        /// Largest total size, in bytes, the files of one data upload may unpack to (413
        /// beyond).
        #[arg(
            long,
            value_name = "BYTES",
            env = "MERIDIAN_MAX_UPLOAD_UNPACKED",
            default_value_t = 2 * 1024 * 1024 * 1024
        )]
        max_upload_unpacked: u64,
        /// Largest ratio of a zip entry's unpacked size to its compressed size in a data
        /// upload (entries up to 16 MiB excepted; 413 beyond).
        #[arg(
            long,
            value_name = "N",
            env = "MERIDIAN_MAX_UPLOAD_RATIO",
            default_value_t = 100
        )]
        max_upload_ratio: u64,
        /// Where the tile cache keeps its tiles (relative paths are under the data
        /// directory; GeoServer's variable). Several nodes may share one folder.
        #[arg(
            long,
            value_name = "DIR",
            env = "GEOWEBCACHE_CACHE_DIR",
            default_value = "gwc"
        )]
        tile_cache_dir: PathBuf,
        /// Most bytes the tile cache may take: beyond, the least recently used tiles are
        /// removed (0: no limit).
        #[arg(
            long,
            value_name = "BYTES",
            env = "MERIDIAN_TILE_CACHE_QUOTA",
            default_value_t = 0
        )]
        tile_cache_quota: u64,
    },
    /// Cluster tools.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Load a data directory, report what does not load, and exit (non-zero on problems).
    Check {
        /// The GeoServer data directory (default: $GEOSERVER_DATA_DIR, else ./data).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Leave the cluster for good (run with the node stopped): drop this node's session on the
    /// broker and tell the peers to forget it.
    Leave {
        /// The node's data directory (default: $GEOSERVER_DATA_DIR, else ./data).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Print the node's cluster secret (generating it if the node has none yet): every node of a
    /// cluster needs the same `secret` in its cluster.properties.
    Secret {
        /// The node's data directory (default: $GEOSERVER_DATA_DIR, else ./data).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Print a node's view of the cluster as a table.
    Status {
        /// The node's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080/geoserver")]
        url: String,
        /// REST user.
        #[arg(long, default_value = "admin")]
        user: String,
        /// REST password (default: $MERIDIAN_PASSWORD, else geoserver).
        #[arg(long)]
        password: Option<String>,
    },
}

fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("GEOSERVER_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve {
            data_dir: d,
            bind,
            header_read_timeout,
            idle_timeout,
            max_connections,
            max_failed_logins,
            auth_proxy_header,
            auth_proxy_from,
            max_upload_unpacked,
            max_upload_ratio,
            tile_cache_dir,
            tile_cache_quota,
        } => {
            let limits = http::HttpLimits {
                header_read_timeout: std::time::Duration::from_secs(header_read_timeout.max(1)),
                idle_timeout: std::time::Duration::from_secs(idle_timeout.max(1)),
                max_connections: http::connection_cap(max_connections),
            };
            let uploads = meridian_rest::UploadLimits {
                max_unpacked: max_upload_unpacked,
                max_ratio: max_upload_ratio.max(1),
            };
            let proxy = auth_proxy_header
                .filter(|h| !h.trim().is_empty())
                .map(|header| meridian_ogc::ProxyAuth {
                    header: header.trim().to_ascii_lowercase(),
                    from: auth_proxy_from,
                });
            let dir = data_dir(d);
            let tiles = node::TileCacheOptions {
                dir: dir.join(tile_cache_dir),
                quota: (tile_cache_quota > 0).then_some(tile_cache_quota),
            };
            node::serve(dir, bind, limits, max_failed_logins, uploads, proxy, tiles)
        }
        Command::Check { data_dir: d } => node::check(data_dir(d)),
        Command::Cluster {
            command: ClusterCommand::Leave { data_dir: d },
        } => node::leave(data_dir(d)),
        Command::Cluster {
            command: ClusterCommand::Secret { data_dir: d },
        } => node::secret(data_dir(d)),
        Command::Cluster {
            command:
                ClusterCommand::Status {
                    url,
                    user,
                    password,
                },
        } => {
            let pw = password
                .or_else(|| std::env::var("MERIDIAN_PASSWORD").ok())
                .unwrap_or_else(|| "geoserver".into());
            status::print(&url, &user, &pw)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meridian: {e}");
            ExitCode::FAILURE
        }
    }
}
