//! A one-line description of the machine a benchmark ran on.

use std::fs;

/// CPU model, core count, memory and kernel, from /proc.
pub fn describe() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gb = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {mem_gb:.0} GB RAM, Linux {kernel}")
}

/// How fast the filesystem of the temporary directory (where benchmarks put their nodes)
/// creates what a new workspace needs: a directory and two small files, each written to a
/// temporary name and renamed, as Meridian writes them; and how long an fdatasync of a small
/// append takes. File-heavy figures follow these two numbers (ext4 slows down for minutes after
/// many files were deleted), so they are printed next to the machine.
pub fn filesystem() -> String {
    match probe_filesystem() {
        Ok((create_us, sync_us)) => format!(
            "{create_us:.0} µs per new workspace directory (mkdir + 2 files), {sync_us:.0} µs per fdatasync"
        ),
        Err(e) => format!("not measured ({e})"),
    }
}

fn probe_filesystem() -> std::io::Result<(f64, f64)> {
    use std::io::Write;
    let dir = tempfile::tempdir()?;
    let n = 200;
    let t = std::time::Instant::now();
    for i in 0..n {
        let ws = dir.path().join(format!("ws{i}"));
        fs::create_dir(&ws)?;
        for name in ["workspace.xml", "namespace.xml"] {
            let tmp = ws.join(format!(".{name}.tmp"));
            fs::File::create(&tmp)?.write_all(b"<workspace><name>probe</name></workspace>")?;
            fs::rename(&tmp, ws.join(name))?;
        }
    }
    let create_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let mut f = fs::File::create(dir.path().join("journal"))?;
    let syncs = 50;
    let t = std::time::Instant::now();
    for _ in 0..syncs {
        f.write_all(&[b'x'; 600])?;
        f.sync_data()?;
    }
    let sync_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(syncs);
    Ok((create_us, sync_us))
}

/// Sleeps of 1 ms that overran, found by [`stalls`].
#[derive(Debug, Clone)]
pub struct Stalls {
    /// Sleeps made.
    pub sleeps: usize,
    /// (seconds since the start, milliseconds the sleep took) of each sleep that overran.
    pub over: Vec<(f64, f64)>,
}

impl std::fmt::Display for Stalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let max = self.over.iter().map(|o| o.1).fold(0.0, f64::max);
        let mut gaps: Vec<f64> = self.over.windows(2).map(|w| w[1].0 - w[0].0).collect();
        gaps.sort_by(f64::total_cmp);
        write!(
            f,
            "{} sleeps of 1 ms, {} overran",
            self.sleeps,
            self.over.len()
        )?;
        if !self.over.is_empty() {
            write!(f, " (max {max:.1} ms")?;
            if !gaps.is_empty() {
                let g = crate::percentile(&gaps, 50.0);
                write!(f, ", median {g:.2} s apart")?;
            }
            write!(f, "):")?;
            for (at, ms) in self.over.iter().take(20) {
                write!(f, " {ms:.1} ms at {at:.2} s;")?;
            }
        }
        Ok(())
    }
}

/// Sleep 1 ms over and over for `seconds` and note every sleep that took longer than
/// `over_ms`: how often and how long this machine holds a ready thread back when nothing else
/// runs (a VM's host taking its cores, say). Such stalls, not the nodes, make the rare
/// maxima of latency figures.
pub fn stalls(seconds: f64, over_ms: f64) -> Stalls {
    let start = std::time::Instant::now();
    let mut report = Stalls {
        sleeps: 0,
        over: Vec::new(),
    };
    while start.elapsed().as_secs_f64() < seconds {
        let t = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(1));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        report.sleeps += 1;
        if ms > over_ms {
            report.over.push((start.elapsed().as_secs_f64(), ms));
        }
    }
    report
}
