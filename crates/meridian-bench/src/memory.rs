//! Memory benchmark: a node's resident memory at ready, and its peak and after-idle memory over
//! sequential and concurrent `GET /rest/layers.json` listings and peer snapshot fetches, beside
//! the catalog's XML bytes.

use crate::generate::ensure;
use crate::node::{meridian_binary, Node};
use crate::rawget::RawGet;
use crate::BenchError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Options of the memory benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    /// Layers of the generated catalog.
    pub layers: usize,
    /// Reuse (or keep) the data directory here instead of a temporary one.
    pub data_dir: Option<PathBuf>,
    /// Sequential listings.
    pub sequential: usize,
    /// Concurrent listings.
    pub concurrent: usize,
    /// Seconds the node is left idle before "after idle" is read.
    pub idle_secs: f64,
    /// The `meridian` binary.
    pub meridian: Option<PathBuf>,
    /// More environment for the node (`KEY=VALUE`).
    pub env: Vec<(String, String)>,
}

/// What one phase measured, MB.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    /// Resident before the phase.
    pub before: f64,
    /// Peak resident during it (VmHWM, reset before the phase).
    pub peak: f64,
    /// Resident once the node was idle for the set time afterwards.
    pub after_idle: f64,
    /// Wall time of the phase.
    pub secs: f64,
}

/// The catalog's XML: files and bytes of every `.xml` file (the catalog, services, security).
pub fn xml_bytes(root: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let p = e.path();
            if t.is_dir() {
                if p.file_name().is_some_and(|n| n != "data" && n != "cluster") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "xml") {
                files += 1;
                bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    (files, bytes)
}

/// Reset the process's peak resident memory (VmHWM) to its current resident memory.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn phase(
    node: &Node,
    idle: Duration,
    work: impl FnOnce() -> Result<(), BenchError>,
) -> Result<Phase, BenchError> {
    let pid = node.child.id();
    let before = node.memory_mb().0;
    reset_peak(pid);
    let t = Instant::now();
    work()?;
    let secs = t.elapsed().as_secs_f64();
    let peak = node.memory_mb().1;
    std::thread::sleep(idle);
    let after_idle = node.memory_mb().0;
    Ok(Phase {
        before,
        peak,
        after_idle,
        secs,
    })
}

/// `GET path` from `clients` threads at once, each `each` times; the body size of the first.
fn get_from(base: &str, path: &str, clients: usize, each: usize) -> Result<u64, BenchError> {
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let base = base.to_string();
            let path = path.to_string();
            std::thread::spawn(move || -> Result<u64, BenchError> {
                let mut c = RawGet::new(&base)?;
                let mut size = 0;
                for _ in 0..each {
                    let mut counter = Counter(0);
                    let status = c.get(&path, &mut counter)?;
                    if status != 200 {
                        return Err(BenchError::Http(format!("GET {path} answered {status}")));
                    }
                    size = counter.0;
                }
                Ok(size)
            })
        })
        .collect();
    let mut size = 0;
    for h in handles {
        size = h
            .join()
            .map_err(|_| BenchError::Http("a client thread panicked".into()))??;
    }
    Ok(size)
}

/// Counts the bytes written to it.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Run it; the report as text.
pub fn run(opts: &Options) -> Result<String, BenchError> {
    let tmp = crate::node::work_dir()?;
    let root = ensure(opts.data_dir.as_deref(), tmp.path(), opts.layers)?;
    let binary = meridian_binary(opts.meridian.as_deref())?;
    let (files, bytes) = xml_bytes(&root);
    let env: Vec<(&str, String)> = opts
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let mut node = Node::start(&binary, &root, &env, &tmp.path().join("node.log"))?;
    let ready = node.wait_ready(Duration::from_secs(1200))?;
    // Let loading's leftovers settle as they would on a node that just started.
    std::thread::sleep(Duration::from_secs_f64(opts.idle_secs));
    let (ready_rss, ready_peak) = node.memory_mb();
    let idle = Duration::from_secs_f64(opts.idle_secs);
    let base = node.base.clone();
    let json_size = get_from(&base, "/rest/layers.json", 1, 1)?;
    let xml_size = get_from(&base, "/rest/layers.xml", 1, 1)?;
    let snapshot_size = get_from(&base, "/rest/cluster/snapshot", 1, 1)?;
    let seq = phase(&node, idle, || {
        get_from(&base, "/rest/layers.json", 1, opts.sequential).map(|_| ())
    })?;
    let conc = phase(&node, idle, || {
        get_from(&base, "/rest/layers.json", opts.concurrent, 1).map(|_| ())
    })?;
    let conc_xml = phase(&node, idle, || {
        get_from(&base, "/rest/layers.xml", opts.concurrent, 1).map(|_| ())
    })?;
    let snap = phase(&node, idle, || {
        get_from(&base, "/rest/cluster/snapshot", 1, 4).map(|_| ())
    })?;
    // The services' documents that list every layer.
    let documents = [
        (
            "WFS capabilities",
            "/ows?service=WFS&version=2.0.0&request=GetCapabilities",
        ),
        (
            "WMS capabilities",
            "/ows?service=WMS&version=1.3.0&request=GetCapabilities",
        ),
        ("OGC API collections", "/ogc/features/v1/collections?f=json"),
    ];
    let mut services = Vec::new();
    for (what, path) in documents {
        let size = get_from(&base, path, 1, 1)?;
        let p = phase(&node, idle, || {
            get_from(&base, path, opts.concurrent, 1).map(|_| ())
        })?;
        services.push((
            format!(
                "{} concurrent {what} ({:.1} MB)",
                opts.concurrent,
                size as f64 / 1_048_576.0
            ),
            p,
        ));
    }
    let mut out = String::new();
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let _ = writeln!(
        out,
        "catalog: {} layers, {files} XML files, {:.1} MB of XML; layers.json {:.1} MB, layers.xml {:.1} MB, snapshot {:.1} MB",
        opts.layers,
        mb(bytes),
        mb(json_size),
        mb(xml_size),
        mb(snapshot_size)
    );
    let _ = writeln!(
        out,
        "ready in {:.1} s: RSS {ready_rss:.0} MB ({:.2}x the XML), peak while loading {ready_peak:.0} MB",
        ready.as_secs_f64(),
        ready_rss / mb(bytes)
    );
    let _ = writeln!(
        out,
        "{:<50} {:>9} {:>9} {:>12} {:>12} {:>8}",
        "phase", "before", "peak", "peak-ready", "after idle", "secs"
    );
    for (name, p) in [
        (format!("{} sequential layers.json", opts.sequential), seq),
        (format!("{} concurrent layers.json", opts.concurrent), conc),
        (
            format!("{} concurrent layers.xml", opts.concurrent),
            conc_xml,
        ),
        ("4 sequential snapshots".to_string(), snap),
    ]
    .into_iter()
    .chain(services)
    {
        let _ = writeln!(
            out,
            "{name:<50} {:>6.0} MB {:>6.0} MB {:>+9.0} MB {:>9.0} MB {:>8.2}",
            p.before,
            p.peak,
            p.peak - ready_rss,
            p.after_idle,
            p.secs
        );
    }
    let _ = writeln!(
        out,
        "after idle vs ready: {:+.0} % (target <= +20 %)",
        (node.memory_mb().0 / ready_rss - 1.0) * 100.0
    );
    Ok(out)
}
