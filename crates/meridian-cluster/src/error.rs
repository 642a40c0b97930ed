//! The errors of a clustered node, by what failed.

use crate::keys::KeyError;
use crate::seal::SealError;

/// Why a node could not start, reach a peer, or take what a peer sent.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The cluster's secret gives no keys.
    #[error("cluster secret: {0}")]
    Keys(#[from] KeyError),
    /// The broker settings are wrong, or the embedded broker cannot listen.
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    /// `discovery` names no usable mode.
    #[error("{0}")]
    Discovery(String),
    /// `start` was called twice.
    #[error("cluster already started")]
    AlreadyStarted,
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(reqwest::Error),
    /// A peer could not be asked, or its answer was refused.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// A peer's snapshot was refused.
    #[error("snapshot of {peer} refused: {reason}")]
    Snapshot {
        /// The peer's URL.
        peer: String,
        /// Why.
        reason: SnapshotError,
    },
    /// Records a peer sent were refused.
    #[error("records of {peer} refused: {source}")]
    Records {
        /// The peer's URL.
        peer: String,
        /// A sealed value did not open.
        source: SealError,
    },
    /// The catalog refused to take a snapshot over, or its task failed.
    #[error("taking the snapshot over: {0}")]
    Apply(String),
    /// `meridian cluster leave` reached no broker.
    #[error("{0}")]
    Leave(String),
}

/// Why a request to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The peer's URL is unusable.
    #[error("URL '{url}': {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No answer.
    #[error("{url}: {source}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// An answer other than 2xx or 410.
    #[error("{url}: HTTP {status}")]
    Status {
        /// What was asked.
        url: String,
        /// The status it answered.
        status: u16,
    },
    /// The answer is not signed with the cluster's secret.
    #[error("{url}: answer not signed with the cluster's secret")]
    Unsigned {
        /// What was asked.
        url: String,
    },
    /// The answer does not parse.
    #[error("{url}: {source}")]
    Json {
        /// What was asked.
        url: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The peer no longer holds what was asked.
    #[error("{url}: gone")]
    Gone {
        /// What was asked.
        url: String,
    },
}

/// Why a peer's snapshot is not taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Two objects share an id.
    #[error("an object id appears more than once")]
    DuplicateId,
    /// The default workspace is none of its workspaces.
    #[error("its default workspace is not one of its workspaces")]
    DefaultWorkspace,
    /// An object breaks a rule a REST write keeps.
    #[error("{0}")]
    Invalid(String),
    /// A sealed value does not open.
    #[error(transparent)]
    Sealed(#[from] SealError),
}
