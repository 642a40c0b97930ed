//! `cluster.properties`: GeoServer's JMS-cluster keys with their defaults, Meridian's own keys,
//! environment overrides and the aliases the GeoServer documentation uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// GeoServer's keys and defaults (`instanceName` and `CLUSTER_CONFIG_DIR` are filled in).
pub const GEOSERVER_DEFAULTS: &[(&str, &str)] = &[
    ("group", "geoserver-cluster"),
    ("topicName", "VirtualTopic.geoserver"),
    ("brokerURL", ""),
    ("connection", "enabled"),
    ("connection.retry", "3"),
    ("connection.maxwait", "10000"),
    ("toggleMaster", "true"),
    ("toggleSlave", "true"),
    ("readOnly", "disabled"),
    ("embeddedBroker", "enabled"),
    ("embeddedBrokerProperties", "embedded-broker.properties"),
    ("xbeanURL", "./broker.xml"),
    ("durable", "true"),
];

/// Whether a `discovery` value names a way to find peers: anything but empty or `none`.
pub fn discovery_named(value: &str) -> bool {
    let v = value.trim();
    !v.is_empty() && !v.eq_ignore_ascii_case("none")
}

/// Where the embedded broker listens unless told otherwise.
pub const DEFAULT_EMBEDDED_LISTEN: &str = "127.0.0.1:1883";

/// Meridian's own keys and defaults.
pub const MERIDIAN_DEFAULTS: &[(&str, &str)] = &[
    ("embeddedBroker.listen", DEFAULT_EMBEDDED_LISTEN),
    ("embeddedBroker.advertise", ""),
    ("node.url", ""),
    ("secret", ""),
    ("peer.token.validity", "60000"),
    ("heartbeat.interval", "2000"),
    ("journal.retention", "10000"),
    ("peer.expiry", "600000"),
    ("ready.wait", "30000"),
    ("discovery", "multicast"),
    ("multicast.group", "239.255.60.60"),
    ("multicast.port", "6060"),
    ("multicast.interface", ""),
    ("multicast.ttl", "1"),
    ("broker.username", ""),
    ("broker.password", ""),
    ("broker.tls.ca", ""),
    ("broker.tls.cert", ""),
    ("broker.tls.key", ""),
];

const ALIASES: &[(&str, &str)] = &[
    ("instance.name", "instanceName"),
    ("broker.url", "brokerURL"),
];

/// Errors reading or writing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// I/O on the properties file.
    #[error("{0}: {1}")]
    Io(String, String),
}

/// The cluster configuration of one node.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    props: BTreeMap<String, String>,
    file: PathBuf,
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn escape(s: &str, key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ':' | '=' | '#' | '!' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if key => out.push_str("\\ "),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Parse Java properties text (`key=value`, `key: value`, `#` comments, `\` escapes).
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        let mut split = None;
        let mut esc = false;
        for (i, c) in l.char_indices() {
            if esc {
                esc = false;
                continue;
            }
            match c {
                '\\' => esc = true,
                '=' | ':' => {
                    split = Some((i, 1));
                    break;
                }
                _ => {}
            }
        }
        let (k, v) = match split {
            Some((i, n)) => (&l[..i], &l[i + n..]),
            None => (l, ""),
        };
        m.insert(unescape(k.trim()), unescape(v.trim_start()));
    }
    m
}

impl ClusterConfig {
    /// Load `cluster.properties` from `CLUSTER_CONFIG_DIR` or `<data dir>/cluster`, fill
    /// defaults, apply environment overrides, and write the file back (sorted), as GeoServer
    /// does at every start. The instance name is generated once and kept.
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let dir = env("CLUSTER_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("cluster"));
        let file = dir.join("cluster.properties");
        let mut props = match std::fs::read_to_string(&file) {
            Ok(t) => parse_properties(&t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(ConfigError::Io(file.display().to_string(), e.to_string())),
        };
        for (alias, key) in ALIASES {
            if let Some(v) = props.remove(*alias) {
                props.entry(key.to_string()).or_insert(v);
            }
        }
        for (k, v) in GEOSERVER_DEFAULTS.iter().chain(MERIDIAN_DEFAULTS) {
            props.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        // Environment overrides: the key itself, an alias, or MERIDIAN_CLUSTER_<KEY>.
        let keys: Vec<String> = props
            .keys()
            .cloned()
            .chain(["instanceName".to_string()])
            .collect();
        for k in keys {
            let upper = format!("MERIDIAN_CLUSTER_{}", k.to_uppercase().replace('.', "_"));
            let alias = ALIASES.iter().find(|(_, key)| *key == k).map(|(a, _)| *a);
            if let Some(v) = env(&k)
                .or_else(|| alias.and_then(env))
                .or_else(|| env(&upper))
            {
                props.insert(k, v);
            }
        }
        if props
            .get("instanceName")
            .is_none_or(|v| v.trim().is_empty())
        {
            let r: u64 = rand::random();
            props.insert("instanceName".into(), format!("meridian-{r:016x}"));
        }
        // A cluster is authenticated by default: a node given no secret makes one and keeps
        // it (peers join with `meridian cluster secret` of this node).
        if props.get("secret").is_none_or(|v| v.is_empty()) {
            props.insert("secret".into(), crate::keys::generate_secret());
            tracing::info!(file = %file.display(), "no cluster secret configured: generated one; put the same `secret` on every node of the cluster (`meridian cluster secret` prints it)");
        }
        props.insert("CLUSTER_CONFIG_DIR".into(), dir.display().to_string());
        let c = ClusterConfig { props, file };
        c.save()?;
        Ok(c)
    }

    /// Write the file, keys sorted, values escaped as Java does.
    pub fn save(&self) -> Result<(), ConfigError> {
        let mut text =
            String::from("# Meridian cluster configuration (GeoServer cluster.properties keys)\n");
        for (k, v) in &self.props {
            text.push_str(&format!("{}={}\n", escape(k, true), escape(v, false)));
        }
        // The file holds the secret and the broker password: readable by the node's user only.
        meridian_datadir::write_private(&self.file, text.as_bytes())
            .map_err(|e| ConfigError::Io(self.file.display().to_string(), e.to_string()))
    }

    /// A value.
    pub fn get(&self, key: &str) -> &str {
        let key = ALIASES
            .iter()
            .find(|(a, _)| *a == key)
            .map(|(_, k)| *k)
            .unwrap_or(key);
        self.props.get(key).map(String::as_str).unwrap_or("")
    }

    /// Set a value (aliases accepted); call [`ClusterConfig::save`] to persist.
    pub fn set(&mut self, key: &str, value: &str) {
        let key = ALIASES
            .iter()
            .find(|(a, _)| *a == key)
            .map(|(_, k)| *k)
            .unwrap_or(key);
        self.props.insert(key.to_string(), value.to_string());
    }

    /// All properties.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.props
    }

    fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key).trim().to_ascii_lowercase().as_str(),
            "true" | "enabled" | "yes" | "1"
        )
    }

    /// This node's instance name.
    pub fn instance(&self) -> &str {
        self.get("instanceName")
    }
    /// The cluster group.
    pub fn group(&self) -> &str {
        self.get("group")
    }
    /// Publishes local changes (primary).
    pub fn is_primary(&self) -> bool {
        self.flag("toggleMaster")
    }
    /// Applies remote changes (replica).
    pub fn is_replica(&self) -> bool {
        self.flag("toggleSlave")
    }
    /// Refuses local writes.
    pub fn read_only(&self) -> bool {
        self.flag("readOnly")
    }
    /// Connects to the broker.
    pub fn connection_enabled(&self) -> bool {
        self.flag("connection")
    }
    /// Runs the in-process broker.
    pub fn embedded_broker(&self) -> bool {
        self.flag("embeddedBroker")
    }
    /// The cluster's shared secret (never empty once loaded: one is generated).
    pub fn secret(&self) -> &str {
        self.get("secret")
    }
    /// How long a peer's HTTP token is valid, in milliseconds (it bounds how long a captured
    /// one could be replayed, and how far the nodes' clocks may differ).
    pub fn peer_token_validity_ms(&self) -> u64 {
        self.get("peer.token.validity")
            .parse()
            .unwrap_or(60_000)
            .clamp(1000, 3_600_000)
    }
    /// Milliseconds between heartbeats.
    pub fn heartbeat_ms(&self) -> u64 {
        self.get("heartbeat.interval")
            .parse()
            .unwrap_or(2000)
            .clamp(100, 60_000)
    }

    /// How the node finds its peers (`discovery`: `multicast`, `none`, `static:<url,...>`,
    /// `dns:<name>`).
    pub fn discovery(&self) -> &str {
        self.get("discovery").trim()
    }

    /// Whether `discovery` names a way to find peers (anything but empty or `none`).
    pub fn discovery_on(&self) -> bool {
        discovery_named(self.discovery())
    }

    /// Milliseconds a restarted node waits, at most, to hear from the peers it knew before it
    /// counts itself ready without them (`ready.wait`).
    pub fn ready_wait_ms(&self) -> u64 {
        self.get("ready.wait").parse().unwrap_or(30_000)
    }

    /// Milliseconds after which a silent peer is forgotten.
    pub fn peer_expiry_ms(&self) -> u64 {
        self.get("peer.expiry").parse().unwrap_or(600_000).max(1000)
    }

    /// Records kept per origin in the journal.
    pub fn journal_retention(&self) -> usize {
        self.get("journal.retention")
            .parse()
            .unwrap_or(10_000)
            .max(1)
    }

    /// Whether the node's session on the broker outlives its connection (`durable`, GeoServer's
    /// key, default true): the broker then keeps what is published while the node is away.
    /// With `false` the node connects with a clean session and gets what it missed from its
    /// peers' journals over HTTP only; the broker keeps no backlog for it.
    pub fn durable(&self) -> bool {
        self.get("durable").trim().is_empty() || self.flag("durable")
    }

    /// Base delay between broker reconnection attempts.
    pub fn retry_wait_ms(&self) -> u64 {
        self.get("connection.maxwait")
            .parse()
            .unwrap_or(10_000)
            .clamp(100, 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geoserver_file_with_escapes_and_aliases_loads() {
        let p = parse_properties("# c\ninstance.name=node-a\nbrokerURL=tcp\\://127.0.0.1\\:61616\ntoggleMaster = false\nconnection.retry:5\n");
        assert_eq!(p["brokerURL"], "tcp://127.0.0.1:61616");
        assert_eq!(p["toggleMaster"], "false");
        assert_eq!(p["connection.retry"], "5");
        assert_eq!(p["instance.name"], "node-a");
        assert_eq!(escape("tcp://a:1", false), "tcp\\://a\\:1");
    }

    #[test]
    fn defaults_are_written_and_the_instance_name_is_kept() {
        let d = std::env::temp_dir().join(format!("meridian-cfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let a = ClusterConfig::load(&d).unwrap();
        assert!(a.instance().starts_with("meridian-"));
        assert_eq!(a.group(), "geoserver-cluster");
        assert!(a.is_primary() && a.is_replica() && !a.read_only() && a.embedded_broker());
        assert!(a.durable());
        let mut b = ClusterConfig::load(&d).unwrap();
        for (value, durable) in [("false", false), ("disabled", false), ("TRUE", true)] {
            b.set("durable", value);
            assert_eq!(b.durable(), durable, "durable={value}");
        }
        let b = ClusterConfig::load(&d).unwrap();
        assert_eq!(a.instance(), b.instance());
        let file = d.join("cluster/cluster.properties");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("topicName=VirtualTopic.geoserver"));
        // A secret was generated, kept across loads, and the file is the node user's only.
        assert_eq!(a.secret().len(), 64);
        assert_eq!(a.secret(), b.secret());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        assert!(text.contains("embeddedBroker.listen=127.0.0.1\\:1883"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
