//! `meridian-bench`: generate data directories and measure Meridian. See BENCHMARKS.md.

use clap::{Parser, Subcommand};
use meridian_bench::cluster::BrokerKind;
use meridian_bench::generate::{generate, Shape};
use meridian_bench::{
    catchup, machine, maps, mapserver, propagation, reads, startup, throughput, tiles,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "meridian-bench", about = "Benchmarks for Meridian")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// How often and how long this machine stalls a thread that only sleeps (run it on an
    /// idle machine: it explains rare latency maxima).
    Stalls {
        /// How long to watch.
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
        /// A 1 ms sleep that takes longer than this many milliseconds counts.
        #[arg(long, default_value_t = 4.0)]
        over_ms: f64,
    },
    /// An administrator's GET while connections with unfinished requests crowd the node
    /// (raise the descriptor limit first: `ulimit -n 65536`).
    Idle {
        /// Connections held.
        #[arg(long, default_value_t = 20_000)]
        connections: usize,
        /// GETs timed, idle and under the crowd.
        #[arg(long, default_value_t = 50)]
        gets: usize,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// (For `idle`.) Hold connections with unfinished requests until standard input closes.
    #[command(hide = true)]
    Hold {
        /// host:port.
        #[arg(long)]
        addr: String,
        /// Connections.
        #[arg(long)]
        connections: usize,
    },
    /// What authenticating and sealing a replicated batch costs (encode + decode, in process).
    Sealing {
        /// Rounds per batch.
        #[arg(long, default_value_t = 100_000)]
        iterations: usize,
    },
    /// Write a GeoServer data directory with N layers into an empty directory.
    Generate {
        /// Number of layers (and feature types).
        #[arg(long)]
        layers: usize,
        /// Target directory (must be empty or missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Resident memory at ready, and its peak and after-idle level over sequential and
    /// concurrent layer listings and snapshot fetches.
    Memory {
        /// Number of layers in the generated catalog.
        #[arg(long, default_value_t = 100_000)]
        layers: usize,
        /// Use (or generate once into) this data directory instead of a temporary one.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Sequential listings.
        #[arg(long, default_value_t = 20)]
        sequential: usize,
        /// Concurrent listings.
        #[arg(long, default_value_t = 16)]
        concurrent: usize,
        /// Seconds of idleness before "after idle" is read.
        #[arg(long, default_value_t = 5.0)]
        idle_secs: f64,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
        /// More environment for the node, KEY=VALUE (repeatable).
        #[arg(long)]
        env: Vec<String>,
    },
    /// Time from process start to serving REST, and resident memory.
    Startup {
        /// Number of layers in the generated catalog.
        #[arg(long, default_value_t = 100_000)]
        layers: usize,
        /// Use (or generate once into) this data directory instead of a temporary one.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// How many starts to measure.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// Write-to-visible latency on replicas, next to the broker's raw round trip.
    Propagation {
        /// `embedded` (the primary's, the replicas connect to it), `activemq`, or `mesh` (a
        /// broker on every node).
        #[arg(long, default_value = "embedded")]
        broker: String,
        /// Replicas.
        #[arg(long, default_value_t = 3)]
        replicas: usize,
        /// Writes measured.
        #[arg(long, default_value_t = 500)]
        writes: usize,
        /// The nodes' `durable` setting: `false` gives them clean broker sessions (what a
        /// node misses comes from its peers' journals).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        durable: bool,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// REST writes per second on one node, and changes per second with replicas converged.
    Throughput {
        /// `embedded` (the primary's, the replicas connect to it), `activemq`, or `mesh` (a
        /// broker on every node).
        #[arg(long, default_value = "embedded")]
        broker: String,
        /// Replicas.
        #[arg(long, default_value_t = 3)]
        replicas: usize,
        /// Writes (workspace creations).
        #[arg(long, default_value_t = 5000)]
        writes: usize,
        /// Concurrent REST clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// A replica that missed many changes comes back; time to converge.
    Catchup {
        /// Changes missed.
        #[arg(long, default_value_t = 100_000)]
        changes: usize,
        /// Concurrent REST clients writing the changes.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Journal retention (default: the node's default, 10 000).
        #[arg(long)]
        retention: Option<usize>,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// A node with an empty data directory joins a cluster with a big catalog.
    Bootstrap {
        /// Layers of the generated catalog.
        #[arg(long, default_value_t = 100_000)]
        layers: usize,
        /// Use (or generate once into) this data directory for the primary.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// REST GETs of single layers and listings at several concurrencies.
    Reads {
        /// Layers of the generated catalog.
        #[arg(long, default_value_t = 10_000)]
        layers: usize,
        /// Use (or generate once into) this data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Concurrency levels, comma-separated.
        #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
        clients: Vec<usize>,
        /// Seconds per row.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// WMS GetMap, Meridian against MapServer 8: the same layers, SLD, boxes and sizes.
    Maps {
        /// GeoServer's release data directory (copied, never written).
        #[arg(long, default_value = "tests/fixtures/geoserver-release")]
        fixture: PathBuf,
        /// Client counts, comma-separated.
        #[arg(long, default_value = "1,4")]
        clients: String,
        /// Seconds per row and server.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// MapServer FastCGI processes.
        #[arg(long, default_value_t = 4)]
        procs: usize,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// Cached tiles: Meridian's WMTS against lighttpd serving the same tile files; with
    /// `--uncached`, tiles drawn on request against MapServer behind MapCache.
    Tiles {
        /// Tiles drawn on request (a new metatile each), against MapServer behind MapCache.
        #[arg(long)]
        uncached: bool,
        /// Vector tiles of a PostGIS table drawn on request, against martin (`--martin`).
        #[arg(long)]
        vector: bool,
        /// The martin binary (`cargo install martin --version 1.14.0 --locked
        /// --no-default-features --features postgres --root target/martin`).
        #[arg(long, default_value = "target/martin/bin/martin")]
        martin: PathBuf,
        /// GeoServer's release data directory (copied, never written).
        #[arg(long, default_value = "tests/fixtures/geoserver-release")]
        fixture: PathBuf,
        /// Client counts, comma-separated.
        #[arg(long, default_value = "1,4")]
        clients: String,
        /// Seconds per row and server.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
    /// WFS and OGC API feature serving, Meridian against MapServer 8 on the same files.
    Mapserver {
        /// GeoServer's release data directory (copied, never written).
        #[arg(long, default_value = "tests/fixtures/geoserver-release")]
        fixture: PathBuf,
        /// Concurrent clients per row.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Seconds per row and server.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// MapServer FastCGI processes.
        #[arg(long, default_value_t = 2)]
        procs: usize,
        /// The meridian binary (default: next to this one).
        #[arg(long)]
        meridian: Option<PathBuf>,
    },
}

fn binary(given: Option<PathBuf>) -> Result<PathBuf, meridian_bench::BenchError> {
    meridian_bench::node::meridian_binary(given.as_deref())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Cmd::Hold { .. }) {
        println!("machine: {}", machine::describe());
    }
    if !matches!(
        cli.command,
        Cmd::Generate { .. } | Cmd::Stalls { .. } | Cmd::Hold { .. } | Cmd::Sealing { .. }
    ) {
        println!("filesystem: {}", machine::filesystem());
    }
    let result = match cli.command {
        Cmd::Idle {
            connections,
            gets,
            meridian,
        } => meridian_bench::idle::run(meridian.as_deref(), connections, gets.max(1))
            .map(|s| print!("{s}")),
        Cmd::Hold { addr, connections } => meridian_bench::idle::hold(&addr, connections),
        Cmd::Sealing { iterations } => {
            print!("{}", meridian_bench::sealing::run(iterations.max(1)));
            Ok(())
        }
        Cmd::Stalls { seconds, over_ms } => {
            println!(
                "stalls over {over_ms} ms: {}",
                machine::stalls(seconds, over_ms)
            );
            Ok(())
        }
        Cmd::Generate { layers, out } => {
            let t = Instant::now();
            generate(&out, Shape::new(layers)).map(|c| {
                println!(
                    "wrote {} layers, {} stores, {} workspaces, {} styles, {} groups to {} in {:.1} s",
                    c.layers,
                    c.stores,
                    c.workspaces,
                    c.styles,
                    c.groups,
                    out.display(),
                    t.elapsed().as_secs_f64()
                );
            })
        }
        Cmd::Memory {
            layers,
            data_dir,
            sequential,
            concurrent,
            idle_secs,
            meridian,
            env,
        } => meridian_bench::memory::run(&meridian_bench::memory::Options {
            layers,
            data_dir,
            sequential,
            concurrent,
            idle_secs,
            meridian,
            env: env
                .iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
        .map(|s| print!("{s}")),
        Cmd::Startup {
            layers,
            data_dir,
            runs,
            meridian,
        } => startup::run(&startup::Options {
            layers,
            data_dir,
            runs,
            meridian,
        })
        .map(|rs| {
            for (i, r) in rs.iter().enumerate() {
                println!(
                    "startup run {}: ready in {:.3} s, rss {:.0} MB, peak {:.0} MB",
                    i + 1,
                    r.ready.as_secs_f64(),
                    r.rss_mb,
                    r.peak_mb
                );
            }
            let mut ready: Vec<f64> = rs.iter().map(|r| r.ready.as_secs_f64()).collect();
            ready.sort_by(f64::total_cmp);
            let rss = rs.iter().map(|r| r.rss_mb).fold(0.0, f64::max);
            println!(
                "startup {layers} layers: median {:.3} s to serving REST, max rss {rss:.0} MB",
                meridian_bench::percentile(&ready, 50.0)
            );
        }),
        Cmd::Propagation {
            broker,
            replicas,
            writes,
            durable,
            meridian,
        } => BrokerKind::parse(&broker).and_then(|kind| {
            let r = propagation::run(&binary(meridian)?, kind, replicas, writes, durable)?;
            println!(
                "nodes' broker sessions: {}",
                if durable {
                    "persistent (durable=true)"
                } else {
                    "clean (durable=false)"
                }
            );
            println!("raw broker round trip ({}): {}", kind.name(), r.raw);
            println!(
                "raw broker round trip ({}, persistent session, as nodes with durable=true have; not the target's base): {}",
                kind.name(),
                r.raw_persistent
            );
            for (i, s) in r.replicas.iter().enumerate() {
                println!("write 2xx -> visible on replica {i} (polled): {s}");
            }
            let verdict = |p99: f64| if p99 < r.target_ms() { "met" } else { "missed" };
            println!(
                "propagation ({}, {replicas} replicas), polled every 0.25 ms: {}; target p99 < {:.2} ms: {}",
                kind.name(),
                r.all,
                r.target_ms(),
                verdict(r.all.p99)
            );
            println!(
                "propagation ({}, {replicas} replicas), waited for the position: {}; target p99 < {:.2} ms: {}",
                kind.name(),
                r.waited,
                r.target_ms(),
                verdict(r.waited.p99)
            );
            println!(
                "propagation ({}, {replicas} replicas), wait asked before the write: {}; target p99 < {:.2} ms: {}",
                kind.name(),
                r.parked,
                r.target_ms(),
                verdict(r.parked.p99)
            );
            Ok(())
        }),
        Cmd::Throughput {
            broker,
            replicas,
            writes,
            clients,
            meridian,
        } => binary(meridian).and_then(|b| {
            let kind = BrokerKind::parse(&broker)?;
            let r = throughput::run(&b, kind, replicas, writes, clients)?;
            println!(
                "single node: {:.0} REST writes/s ({writes} workspace creations, {clients} clients)",
                r.single_per_s
            );
            println!(
                "cluster of 1+{replicas}: primary accepted {:.0} writes/s; {} changes converged on every replica in {:.2} s = {:.0} changes/s",
                r.primary_per_s,
                r.changes,
                r.converged_in.as_secs_f64(),
                r.converged_changes_per_s
            );
            if let Some(n) = r.object_changes {
                println!(
                    "those writes were {n} catalog changes (objects added, modified, removed) = {:.0} object changes/s converged",
                    n as f64 / r.converged_in.as_secs_f64()
                );
            }
            println!(
                "files of every change on every node's disk after {:.2} s = {:.0} changes/s",
                r.files_in.as_secs_f64(),
                r.files_changes_per_s
            );
            println!(
                "replicas: {} HTTP catch-ups, {} duplicate deliveries",
                r.replica_catchups, r.replica_duplicates
            );
            let us = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0} µs"));
            println!(
                "CPU time: single node {} per write; primary {} and each replica {} (mean) per change",
                us(r.single_cpu_us),
                us(r.primary_cpu_us),
                us(r.replica_cpu_us)
            );
            Ok(())
        }),
        Cmd::Catchup {
            changes,
            clients,
            retention,
            meridian,
        } => binary(meridian).and_then(|b| {
            let r = catchup::catch_up(&b, changes, clients, retention)?;
            println!(
                "wrote {changes} workspace creations while the replica was down in {:.1} s",
                r.written_in.as_secs_f64()
            );
            println!(
                "catch-up of {changes} missed writes: converged {:.2} s after spawn ({} journal catch-ups, {} snapshots)",
                r.converged_in.as_secs_f64(),
                r.catchups,
                r.snapshots
            );
            Ok(())
        }),
        Cmd::Bootstrap {
            layers,
            data_dir,
            meridian,
        } => binary(meridian).and_then(|b| {
            let r = catchup::bootstrap(&b, layers, data_dir.as_deref())?;
            println!(
                "bootstrap of a {layers}-layer catalog: converged {:.2} s after spawn ({} snapshots, {} journal catch-ups)",
                r.converged_in.as_secs_f64(),
                r.snapshots,
                r.catchups
            );
            Ok(())
        }),
        Cmd::Reads {
            layers,
            data_dir,
            clients,
            seconds,
            meridian,
        } => reads::run(&reads::Options {
            layers,
            data_dir,
            clients,
            duration: std::time::Duration::from_secs_f64(seconds.max(0.1)),
            meridian,
        })
        .map(|rows| {
            for r in rows {
                println!(
                    "{} x{}: {:.0} req/s, {}",
                    r.what, r.clients, r.per_s, r.latency
                );
            }
        }),
        Cmd::Maps {
            fixture,
            clients,
            seconds,
            procs,
            meridian,
        } => client_counts(&clients)
            .and_then(|clients| {
                maps::run(&maps::Options {
                    fixture,
                    clients,
                    duration: std::time::Duration::from_secs_f64(seconds.max(0.1)),
                    procs,
                    meridian,
                })
            })
            .map(|(rows, memory)| {
                println!("| map | clients | Meridian maps/s | Meridian p99 ms | MapServer maps/s | MapServer p99 ms | ratio |");
                println!("|---|---|---|---|---|---|---|");
                for r in &rows {
                    println!(
                        "| {} | {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} |",
                        r.what, r.clients, r.meridian.0, r.meridian.1.p99, r.mapserver.0, r.mapserver.1.p99, r.ratio()
                    );
                }
                println!(
                    "peak memory: Meridian {:.0} MB, MapServer {:.0} MB (its FastCGI processes together)",
                    memory.meridian, memory.mapserver
                );
                let twice = rows.iter().filter(|r| r.ratio() >= 2.0).count();
                println!("Meridian at least 2× MapServer on {twice} of {} rows", rows.len());
            }),
        Cmd::Tiles {
            vector: true,
            martin,
            fixture,
            clients,
            seconds,
            meridian,
            ..
        } => client_counts(&clients)
            .and_then(|clients| {
                tiles::run_vector(
                    &tiles::Options {
                        fixture,
                        clients,
                        duration: std::time::Duration::from_secs_f64(seconds.max(0.1)),
                        meridian,
                    },
                    &martin,
                )
            })
            .map(|rows| {
                println!("| vector tiles | clients | Meridian tiles/s | Meridian p99 ms | martin tiles/s | martin p99 ms | ratio |");
                println!("|---|---|---|---|---|---|---|");
                for r in &rows {
                    println!(
                        "| PostGIS states, level {} | {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} |",
                        r.zoom, r.clients, r.meridian.0, r.meridian.1.p99, r.martin.0, r.martin.1.p99, r.ratio()
                    );
                }
            }),
        Cmd::Tiles {
            uncached: true,
            fixture,
            clients,
            seconds,
            meridian,
            ..
        } => client_counts(&clients)
            .and_then(|clients| {
                tiles::run_uncached(&tiles::Options {
                    fixture,
                    clients,
                    duration: std::time::Duration::from_secs_f64(seconds.max(0.1)),
                    meridian,
                })
            })
            .map(|rows| {
                println!("| uncached tiles | clients | Meridian tiles/s | Meridian p99 ms | MapServer+MapCache tiles/s | p99 ms | ratio |");
                println!("|---|---|---|---|---|---|---|");
                for r in &rows {
                    println!(
                        "| topp:states, EPSG:900913 level {}, a new metatile each | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} |",
                        r.zoom, r.clients, r.meridian.0, r.meridian.1.p99, r.mapcache.0, r.mapcache.1.p99, r.ratio()
                    );
                }
            }),
        Cmd::Tiles {
            fixture,
            clients,
            seconds,
            meridian,
            ..
        } => client_counts(&clients)
            .and_then(|clients| {
                tiles::run(&tiles::Options {
                    fixture,
                    clients,
                    duration: std::time::Duration::from_secs_f64(seconds.max(0.1)),
                    meridian,
                })
            })
            .map(|rows| {
                println!("| cached tiles | clients | Meridian tiles/s | Meridian p99 ms | lighttpd tiles/s | lighttpd p99 ms | ratio |");
                println!("|---|---|---|---|---|---|---|");
                for r in &rows {
                    println!(
                        "| topp:states, {} tiles in turn | {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} |",
                        r.tiles, r.clients, r.meridian.0, r.meridian.1.p99, r.static_files.0, r.static_files.1.p99, r.ratio()
                    );
                }
            }),
        Cmd::Mapserver {
            fixture,
            clients,
            seconds,
            procs,
            meridian,
        } => mapserver::run(&mapserver::Options {
            fixture,
            clients,
            duration: std::time::Duration::from_secs_f64(seconds.max(0.1)),
            procs,
            meridian,
        })
        .map(|rows| {
            println!(
                "| request | features | Meridian req/s | Meridian p99 ms | MapServer req/s | MapServer p99 ms | ratio |"
            );
            println!("|---|---|---|---|---|---|---|");
            for r in &rows {
                println!(
                    "| {} | {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.2} |",
                    r.what,
                    r.features,
                    r.meridian.0,
                    r.meridian.1.p99,
                    r.mapserver.0,
                    r.mapserver.1.p99,
                    r.ratio()
                );
            }
            let slower = rows.iter().filter(|r| r.ratio() < 1.0).count();
            println!(
                "Meridian at least as fast on {} of {} rows",
                rows.len() - slower,
                rows.len()
            );
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meridian-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `--clients` list (`1,4,16`) as numbers, or a one-line error naming it.
fn client_counts(clients: &str) -> Result<Vec<usize>, meridian_bench::BenchError> {
    clients
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            meridian_bench::BenchError::Node(format!(
                "--clients '{clients}' is not a list of numbers"
            ))
        })
}
