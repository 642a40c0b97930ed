//! `meridian-bench`: generate data directories and measure Meridian. See BENCHMARKS.md.

use clap::{Parser, Subcommand};
use meridian_bench::generate::{generate, Shape};
use meridian_bench::{machine, startup};
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
    /// Write a GeoServer data directory with N layers into an empty directory.
    Generate {
        /// Number of layers (and feature types).
        #[arg(long)]
        layers: usize,
        /// Target directory (must be empty or missing).
        #[arg(long)]
        out: PathBuf,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    println!("machine: {}", machine::describe());
    let result = match cli.command {
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meridian-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
