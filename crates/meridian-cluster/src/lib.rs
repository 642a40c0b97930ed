//! Clustering: keeping many Meridian nodes, each with its own data directory, in the same
//! configuration through a message broker (embedded by default).
//!
//! * [`config`]: `cluster.properties` (GeoServer's keys, Meridian's own, environment overrides).
//! * [`journal`]: the durable per-origin journal every applied batch goes to.
//! * [`persist`]: journal first, then files, then the applied marker (redo on start).
//! * [`behind`]: files written on a thread behind the journal (replicated batches, snapshots).
//! * [`keys`]: the keys derived from the shared secret (messages, peer HTTP, broker, sealing).
//! * [`seal`]: connection secrets sealed (AEAD) on the wire, in peer answers and in the journal.
//! * [`envelope`]: the versioned, authenticated wire format.
//! * [`node`]: publishing, ordered exactly-once apply, catch-up, snapshots, heartbeats.
//! * [`rest`]: `/rest/cluster`, its status, and the peer endpoints.

pub mod behind;
pub mod broker;
pub mod config;
pub mod conflict;
pub mod digest;
pub mod envelope;
pub mod hlc;
pub mod journal;
pub mod keys;
pub mod node;
pub mod persist;
pub mod rest;
pub mod seal;

pub use config::ClusterConfig;
pub use node::Cluster;
pub use rest::ClusterRest;
