//! Clustering: keeping many Meridian nodes, each with its own data directory, in the same
//! configuration through a message broker (embedded by default).
//!
//! Durability (journal, persister, files written behind, redo, stamps) is `meridian-store`'s;
//! this crate moves configuration between nodes over it.
//!
//! * [`config`]: `cluster.properties` (GeoServer's keys, Meridian's own, environment overrides).
//! * [`keys`]: the keys derived from the shared secret (messages, peer HTTP, broker, sealing).
//! * [`seal`]: connection secrets sealed (AEAD) on the wire, in peer answers and in the journal.
//! * [`envelope`]: the versioned, authenticated wire format.
//! * [`node`]: publishing, ordered exactly-once apply, catch-up, snapshots, heartbeats.
//! * [`rest`]: `/rest/cluster`, its status, and the peer endpoints.

pub mod broker;
pub mod config;
pub mod digest;
pub mod envelope;
pub mod keys;
pub mod node;
pub mod rest;
pub mod seal;

pub use config::ClusterConfig;
pub use node::Cluster;
pub use rest::ClusterRest;
