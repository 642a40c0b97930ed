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
//! * [`node`]: the node at run time, a module per concern (transport, replication, repair,
//!   heartbeats, peers).
//! * [`status`]: the node's status, computed once; [`metrics`]: the same as Prometheus metrics.
//! * [`rest`]: `/rest/cluster`, its status, and the peer endpoints.
//! * [`error`]: what fails, as types.

pub mod broker;
pub mod config;
pub mod digest;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod node;
pub mod rest;
pub mod seal;
pub mod status;

pub use config::ClusterConfig;
pub use error::ClusterError;
pub use node::Cluster;
pub use rest::ClusterRest;
pub use status::ClusterStatus;
