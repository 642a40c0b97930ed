//! External brokers (ActiveMQ, Mosquitto, RabbitMQ, NATS from Debian) run as plain processes
//! on loopback by `scripts/brokers/<kind>.sh`, stopped by PID when dropped.

use std::path::PathBuf;
use std::process::Command;

/// The script that runs brokers of `kind`.
pub fn script(kind: &str) -> PathBuf {
    crate::repo_root().join(format!("scripts/brokers/{kind}.sh"))
}

/// Run the script of `kind` with `args`; its output, or its output as the error.
pub fn run(kind: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("bash")
        .arg(script(kind))
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// One broker process run by its script.
pub struct Broker {
    /// `activemq`, `mosquitto`, `rabbitmq`, `nats`.
    pub kind: &'static str,
    /// Its working directory.
    pub dir: PathBuf,
    /// Its MQTT port.
    pub port: u16,
    extra: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl Broker {
    /// A broker of `kind` on a free port, in a temporary directory.
    pub fn start(kind: &'static str) -> Broker {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(kind);
        Broker::start_in(kind, dir, crate::free_port(), vec![], Some(tmp))
    }

    /// A broker of `kind` in `dir` on `port`, with extra script arguments, not started yet
    /// (start it with [`Broker::up`]).
    pub fn not_started(kind: &'static str, dir: PathBuf, port: u16, extra: Vec<String>) -> Broker {
        Broker {
            kind,
            dir,
            port,
            extra,
            _tmp: None,
        }
    }

    /// A broker of `kind` in `dir` on `port`, with extra script arguments.
    pub fn start_in(
        kind: &'static str,
        dir: PathBuf,
        port: u16,
        extra: Vec<String>,
        tmp: Option<tempfile::TempDir>,
    ) -> Broker {
        let b = Broker {
            kind,
            dir,
            port,
            extra,
            _tmp: tmp,
        };
        b.up("start");
        b
    }

    /// Run the script's `verb` (start, restart) for this broker; a failure fails the test.
    pub fn up(&self, verb: &str) {
        let port = self.port.to_string();
        let mut args = vec![verb, self.dir.to_str().unwrap(), port.as_str()];
        args.extend(self.extra.iter().map(String::as_str));
        if let Err(e) = run(self.kind, &args) {
            panic!(
                "could not start {} with {}: {e}",
                self.kind,
                script(self.kind).display()
            );
        }
    }

    /// Stop it gracefully.
    pub fn stop(&self) {
        let _ = run(self.kind, &["stop", self.dir.to_str().unwrap()]);
    }

    /// Kill it (SIGKILL).
    pub fn kill(&self) {
        let _ = run(self.kind, &["kill", self.dir.to_str().unwrap()]);
    }

    /// Its `brokerURL`.
    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}
