//! Starting and talking to a `meridian` process under test.

use crate::BenchError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A script of the repository, e.g. `brokers/activemq.sh` (compiled-in path: the benchmarks run
/// from a checkout).
pub fn repo_script(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(rel)
}

/// The benchmark's temporary directory (nodes' data directories and logs). With
/// `MERIDIAN_BENCH_KEEP=1` it is kept after the run and its path printed, to read the logs.
pub fn work_dir() -> Result<tempfile::TempDir, BenchError> {
    let mut dir =
        tempfile::tempdir().map_err(|e| BenchError::Io("temporary directory".into(), e))?;
    if std::env::var("MERIDIAN_BENCH_KEEP").is_ok_and(|v| v == "1") {
        dir.disable_cleanup(true);
        println!("keeping {}", dir.path().display());
    }
    Ok(dir)
}

/// Run a repository script with bash; its output becomes the error when it fails.
pub fn run_script(script: &Path, args: &[&str]) -> Result<(), BenchError> {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| BenchError::Node(format!("{}: {e}", script.display())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BenchError::Node(format!(
            "{} {}: {}{}",
            script.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// A free loopback port, outside the range the kernel hands out itself
/// ([`meridian_testkit::try_free_port`]).
pub fn free_port() -> Result<u16, BenchError> {
    meridian_testkit::try_free_port().map_err(|e| BenchError::Node(e.to_string()))
}

/// The `meridian` binary next to this benchmark's executable (same cargo profile), unless given.
pub fn meridian_binary(given: Option<&Path>) -> Result<PathBuf, BenchError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let me = std::env::current_exe().map_err(|e| BenchError::Node(e.to_string()))?;
    let candidate = me.with_file_name("meridian");
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(BenchError::Node(format!(
            "{} not found; build it first (cargo build --release -p meridian) or pass --meridian",
            candidate.display()
        )))
    }
}

/// A running node; killed when dropped.
pub struct Node {
    /// The process.
    pub child: Child,
    /// Base URL, e.g. `http://127.0.0.1:8080/geoserver`.
    pub base: String,
    /// The port its embedded broker is told to listen on (when it runs one).
    pub broker_port: u16,
    started: Instant,
}

impl Node {
    /// Start `meridian serve` on a free port with its embedded broker on another free port.
    /// `env` adds cluster settings; output goes to `log`.
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        env: &[(&str, String)],
        log: &Path,
    ) -> Result<Node, BenchError> {
        Node::start_on(binary, data_dir, env, log, free_port()?)
    }

    /// [`Node::start`] with HTTP on `port`.
    pub fn start_on(
        binary: &Path,
        data_dir: &Path,
        env: &[(&str, String)],
        log: &Path,
        port: u16,
    ) -> Result<Node, BenchError> {
        let broker = free_port()?;
        let out =
            std::fs::File::create(log).map_err(|e| BenchError::Io(log.display().to_string(), e))?;
        let err = out
            .try_clone()
            .map_err(|e| BenchError::Io(log.display().to_string(), e))?;
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .env(
                "MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN",
                format!("127.0.0.1:{broker}"),
            )
            // MERIDIAN_BENCH_LOG sets the nodes' log filter (default: warnings only).
            .env(
                "RUST_LOG",
                std::env::var("MERIDIAN_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| BenchError::Node(format!("{}: {e}", binary.display())))?;
        Ok(Node {
            child,
            base: format!("http://127.0.0.1:{port}/geoserver"),
            broker_port: broker,
            started,
        })
    }

    /// Wait until REST answers; returns the time since the process was spawned.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<Duration, BenchError> {
        let client = client()?;
        let url = format!("{}/rest/about/version.json", self.base);
        loop {
            if let Ok(r) = client
                .get(&url)
                .basic_auth("admin", Some("geoserver"))
                .send()
            {
                if r.status().is_success() {
                    return Ok(self.started.elapsed());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::Node(format!(
                    "exited with {status} before serving"
                )));
            }
            if self.started.elapsed() > limit {
                return Err(BenchError::Node(format!("not serving after {limit:?}")));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// CPU time the process has used so far (user and system, all its threads), from
    /// /proc (in the kernel's 1/100 s ticks); `None` when /proc does not tell.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        cpu_ticks(&stat).map(|t| Duration::from_millis(t * 10))
    }

    /// Resident and peak resident memory in MB, from /proc.
    pub fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .unwrap_or(f64::NAN)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

/// utime + stime of a `/proc/<pid>/stat` line: the 12th and 13th fields after the command
/// name (in parentheses, and it may hold spaces and parentheses itself).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client for loopback requests.
pub fn client() -> Result<reqwest::blocking::Client, BenchError> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| BenchError::Http(e.to_string()))
}

/// GET a REST path with the default admin credentials; returns the status code.
pub fn get_status(
    client: &reqwest::blocking::Client,
    base: &str,
    path: &str,
) -> Result<u16, BenchError> {
    client
        .get(format!("{base}{path}"))
        .basic_auth("admin", Some("geoserver"))
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| BenchError::Http(e.to_string()))
}

/// Send a body to a URL with the default admin credentials; an unsuccessful status is an error
/// naming the URL.
pub fn send_admin(
    client: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: &str,
    content_type: &str,
    body: String,
) -> Result<(), BenchError> {
    let r = client
        .request(method, url)
        .basic_auth("admin", Some("geoserver"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .map_err(|e| BenchError::Http(e.to_string()))?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(BenchError::Http(format!("{url}: {}", r.status())))
    }
}

#[cfg(test)]
mod tests {
    use super::cpu_ticks;

    #[test]
    fn cpu_ticks_are_user_plus_system_whatever_the_command_name() {
        let line = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 1200 0 0 0 731 219 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(line), Some(731 + 219));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn a_running_process_reports_its_cpu_time() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        assert!(cpu_ticks(&stat).is_some(), "{stat}");
    }
}
