#![allow(unused_imports)]
//! A test cluster (`meridian-testkit`), and the keys its members derive from its secret, to
//! speak on its topic as a member would.

pub use meridian_testkit::mqtt::{gather, inject};
pub use meridian_testkit::{free_port, tmpdir, Cluster};

/// What a test derives from a cluster's secret.
pub trait ClusterKeysExt {
    /// The keys every node derives from the secret.
    fn keys(&self) -> meridian_cluster::keys::ClusterKeys;
    /// The login a member with MQTT client id `client_id` uses on the embedded broker.
    fn broker_login(&self, client_id: &str) -> (String, String);
}

impl ClusterKeysExt for Cluster {
    fn keys(&self) -> meridian_cluster::keys::ClusterKeys {
        meridian_cluster::keys::ClusterKeys::new(&self.secret).unwrap()
    }

    fn broker_login(&self, client_id: &str) -> (String, String) {
        (
            meridian_cluster::keys::BROKER_USER.to_string(),
            self.keys().broker_password(client_id),
        )
    }
}
