//! A test cluster: nodes of one group and secret, replicating through the embedded broker of
//! one of them or through an external broker.

use crate::node::{Node, NodeBuilder};
use std::path::Path;

/// Where a cluster's broker is.
#[derive(Debug, Clone)]
enum BrokerAt {
    /// The embedded broker of the member started with [`Member::embedded`], on this port.
    Embedded(u16),
    /// An external broker (`brokerURL`).
    External(String),
}

/// Settings shared by the nodes of one test cluster.
pub struct Cluster {
    /// The cluster group (unique per test run).
    pub group: String,
    /// The address of the embedded broker's host (loopback, or a test network's host).
    pub broker_host: String,
    /// The embedded broker's port, on the node started with `embedded` (0 with an external
    /// broker).
    pub broker_port: u16,
    /// The secret every node holds.
    pub secret: String,
    /// The longest reconnection back-off of its nodes, in milliseconds.
    pub reconnect_max_ms: u64,
    broker: BrokerAt,
}

impl Cluster {
    /// A cluster named after the test, with a secret of its own, on the embedded broker of
    /// one of its members.
    pub fn new(name: &str) -> Cluster {
        let port = crate::free_port();
        Cluster {
            group: format!("{name}-{}", std::process::id()),
            broker_host: "127.0.0.1".into(),
            broker_port: port,
            // Every node of a cluster holds the same secret.
            secret: format!("secret-of-{name}-{}", std::process::id()),
            reconnect_max_ms: 500,
            broker: BrokerAt::Embedded(port),
        }
    }

    /// A cluster of group `group` on the external broker at `broker_url`.
    pub fn on_broker(group: &str, broker_url: &str) -> Cluster {
        Cluster {
            group: group.to_string(),
            broker_host: String::new(),
            broker_port: 0,
            secret: format!("secret-of-{group}"),
            reconnect_max_ms: 500,
            broker: BrokerAt::External(broker_url.to_string()),
        }
    }

    /// The changes topic of the cluster.
    pub fn changes_topic(&self) -> String {
        format!("VirtualTopic_geoserver/{}/changes", self.group)
    }

    /// A member named `instance` (a replica, joining the broker, until told otherwise).
    pub fn member(&self, instance: &str) -> Member<'_> {
        Member {
            cluster: self,
            host: None,
            instance: instance.to_string(),
            embedded: false,
            primary: false,
            extra: Vec::new(),
        }
    }

    /// A node's environment: its name and role, the group and secret, and where the broker is.
    pub fn env(&self, instance: &str, embedded: bool, primary: bool) -> Vec<(String, String)> {
        let mut e = vec![
            ("instanceName".to_string(), instance.to_string()),
            ("group".into(), self.group.clone()),
            ("MERIDIAN_CLUSTER_HEARTBEAT_INTERVAL".into(), "300".into()),
            (
                "MERIDIAN_CLUSTER_CONNECTION_MAXWAIT".into(),
                self.reconnect_max_ms.to_string(),
            ),
            ("toggleMaster".into(), primary.to_string()),
            ("secret".into(), self.secret.clone()),
            // Test clusters share a host: each finds its peers as its test says (an empty
            // `discovery` leaves the default, multicast).
            ("discovery".into(), "none".into()),
        ];
        match (&self.broker, embedded) {
            (BrokerAt::Embedded(port), true) => {
                e.push((
                    "MERIDIAN_CLUSTER_EMBEDDEDBROKER_LISTEN".into(),
                    format!("{}:{port}", self.broker_host),
                ));
                e.push(("embeddedBroker".into(), "enabled".into()));
                e.push(("brokerURL".into(), String::new()));
            }
            (BrokerAt::Embedded(port), false) => {
                e.push(("embeddedBroker".into(), "disabled".into()));
                e.push((
                    "brokerURL".into(),
                    format!("tcp://{}:{port}", self.broker_host),
                ));
            }
            (BrokerAt::External(url), _) => {
                e.push(("embeddedBroker".into(), "disabled".into()));
                e.push(("brokerURL".into(), url.clone()));
            }
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
        let mut m = self.member(instance).primary(primary).envs(extra);
        if embedded {
            m = m.embedded();
        }
        m.start(dir)
    }
}

/// A member of a test cluster, about to start.
pub struct Member<'a> {
    cluster: &'a Cluster,
    host: Option<crate::netns::Host>,
    instance: String,
    embedded: bool,
    primary: bool,
    extra: Vec<(String, String)>,
}

impl Member<'_> {
    /// It runs the embedded broker the others join.
    pub fn embedded(mut self) -> Self {
        self.embedded = true;
        self
    }

    /// On a host of a test network.
    pub fn on(mut self, host: &crate::netns::Host) -> Self {
        self.host = Some(host.clone());
        self
    }

    /// Whether it is a primary.
    pub fn primary(mut self, primary: bool) -> Self {
        self.primary = primary;
        self
    }

    /// A setting after the cluster's own (it wins).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_string(), value.to_string()));
        self
    }

    /// Several settings after the cluster's own.
    pub fn envs(mut self, vars: &[(&str, &str)]) -> Self {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// The node, not started yet.
    pub fn builder(self, dir: &Path) -> NodeBuilder {
        let env = self
            .cluster
            .env(&self.instance, self.embedded, self.primary);
        let b = Node::builder().dir(dir).envs(&env).envs(&self.extra);
        match &self.host {
            Some(h) => b.on(h),
            None => b,
        }
    }

    /// Start it on `dir`.
    pub fn start(self, dir: &Path) -> Node {
        self.builder(dir).start()
    }
}
