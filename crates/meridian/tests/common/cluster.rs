//! A cluster of real `meridian` processes replicating through the embedded broker of one of
//! them, and an MQTT client that publishes on its topic as an intruder or a broken member would.

use super::Node;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Settings shared by the nodes of one test cluster.
pub struct Cluster {
    /// The cluster group (unique per test run).
    pub group: String,
    /// The embedded broker's port, on the node started with `embedded`.
    pub broker_port: u16,
    /// The secret every node holds.
    pub secret: String,
}

impl Cluster {
    /// A cluster named after the test, with a secret of its own.
    pub fn new(name: &str) -> Cluster {
        Cluster {
            group: format!("{name}-{}", std::process::id()),
            broker_port: free_port(),
            // Every node of a cluster holds the same secret.
            secret: format!("secret-of-{name}-{}", std::process::id()),
        }
    }

    /// The keys every node derives from the secret.
    pub fn keys(&self) -> meridian_cluster::keys::ClusterKeys {
        meridian_cluster::keys::ClusterKeys::new(&self.secret).unwrap()
    }

    /// The login a member with MQTT client id `client_id` uses on the embedded broker.
    pub fn broker_login(&self, client_id: &str) -> (String, String) {
        (
            meridian_cluster::keys::BROKER_USER.to_string(),
            self.keys().broker_password(client_id),
        )
    }

    /// The changes topic of the cluster.
    pub fn changes_topic(&self) -> String {
        format!("VirtualTopic_geoserver/{}/changes", self.group)
    }

    /// A node's environment: its name and role, the group and secret, and where the broker is.
    pub fn env(&self, instance: &str, embedded: bool, primary: bool) -> Vec<(String, String)> {
        let mut e = vec![
            ("instanceName".to_string(), instance.to_string()),
            ("group".into(), self.group.clone()),
            ("MERIDIAN_CLUSTER_HEARTBEAT_INTERVAL".into(), "300".into()),
            ("MERIDIAN_CLUSTER_CONNECTION_MAXWAIT".into(), "500".into()),
            ("toggleMaster".into(), primary.to_string()),
            ("secret".into(), self.secret.clone()),
        ];
        if embedded {
            e.push((
                "MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN".into(),
                format!("127.0.0.1:{}", self.broker_port),
            ));
            e.push(("embeddedBroker".into(), "enabled".into()));
            e.push(("brokerURL".into(), String::new()));
        } else {
            e.push(("embeddedBroker".into(), "disabled".into()));
            e.push((
                "brokerURL".into(),
                format!("tcp://127.0.0.1:{}", self.broker_port),
            ));
        }
        e
    }

    /// Start a node; `embedded`: it runs the broker the others join.
    pub fn start(&self, dir: &Path, instance: &str, embedded: bool, primary: bool) -> Node {
        self.start_with(dir, instance, embedded, primary, &[])
    }

    /// Like [`Cluster::start`], with `extra` settings after the cluster's own.
    pub fn start_with(
        &self,
        dir: &Path,
        instance: &str,
        embedded: bool,
        primary: bool,
        extra: &[(&str, &str)],
    ) -> Node {
        let env = self.env(instance, embedded, primary);
        let mut refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        refs.extend_from_slice(extra);
        Node::start_env(dir.to_path_buf(), None, &refs)
    }
}

/// A temporary folder and the data directory inside it.
pub fn tmpdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("data");
    (t, d)
}

/// Publish raw payloads on the cluster's topic through the broker at `broker_port`, logging in
/// with `login` (user, password) when given; the broker's refusal is an error.
pub fn inject(
    broker_port: u16,
    topic: &str,
    payloads: Vec<Vec<u8>>,
    client_id: &str,
    login: Option<(&str, &str)>,
) -> Result<(), String> {
    let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", broker_port);
    opts.set_keep_alive(Duration::from_secs(5));
    if let Some((u, p)) = login {
        opts.set_credentials(u, p);
    }
    let (client, mut conn) = rumqttc::Client::new(opts, 100);
    let n = payloads.len();
    for p in payloads {
        client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, p)
            .map_err(|e| e.to_string())?;
    }
    let mut acks = 0;
    for ev in conn.iter() {
        match ev {
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a)))
                if a.code != rumqttc::ConnectReturnCode::Success =>
            {
                return Err(format!("refused: {:?}", a.code));
            }
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                acks += 1;
                if acks == n {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    client.disconnect().ok();
    Ok(())
}

/// Subscribe to `topic` on the broker at `broker_port` and gather what arrives until `until`
/// says enough (or `timeout` passes); a refused login is an error.
#[allow(dead_code)]
pub fn gather(
    broker_port: u16,
    topic: &str,
    client_id: &str,
    login: (&str, &str),
    timeout: Duration,
    until: impl Fn(&[Vec<u8>]) -> bool,
) -> Result<Vec<Vec<u8>>, String> {
    let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", broker_port);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_credentials(login.0, login.1);
    let (client, mut conn) = rumqttc::Client::new(opts, 100);
    client
        .subscribe(topic, rumqttc::QoS::AtLeastOnce)
        .map_err(|e| e.to_string())?;
    let end = std::time::Instant::now() + timeout;
    let mut got = Vec::new();
    while std::time::Instant::now() < end && !until(&got) {
        match conn.recv_timeout(Duration::from_millis(200)) {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a))))
                if a.code != rumqttc::ConnectReturnCode::Success =>
            {
                return Err(format!("refused: {:?}", a.code));
            }
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))) => {
                got.push(p.payload.to_vec());
            }
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => return Err(e.to_string()),
        }
    }
    client.disconnect().ok();
    Ok(got)
}
