//! Prometheus metrics of a node (`/geoserver/metrics`), from its counters and its
//! [`ClusterStatus`], encoded by `prometheus-client` in the OpenMetrics text format.

use crate::node::Cluster;
use crate::status::ClusterStatus;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The content type of [`Cluster::metrics_text`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// A gauge holding `v`.
fn gauge(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    g
}

/// A family of gauges, one per label value.
fn family(
    label: &'static str,
    values: impl IntoIterator<Item = (String, u64)>,
) -> Family<Labels, Gauge> {
    let f = Family::<Labels, Gauge>::default();
    for (l, v) in values {
        f.get_or_create(&vec![(label, l)])
            .set(i64::try_from(v).unwrap_or(i64::MAX));
    }
    f
}

/// The registry of a node's metrics as they are now.
fn registry(c: &Cluster, status: &ClusterStatus) -> Registry {
    let mut r = Registry::default();
    let n = c.counters();
    for (name, help, counter) in [
        (
            "meridian_cluster_published",
            "Batches published",
            &n.published,
        ),
        (
            "meridian_cluster_applied",
            "Batches applied from other nodes",
            &n.applied,
        ),
        (
            "meridian_cluster_duplicates",
            "Deliveries skipped as already applied",
            &n.duplicates,
        ),
        (
            "meridian_cluster_deferred",
            "Batches that could not apply yet",
            &n.deferred,
        ),
        (
            "meridian_cluster_rejected",
            "Messages rejected",
            &n.rejected,
        ),
        ("meridian_cluster_catchups", "Catch-ups run", &n.catchups),
        (
            "meridian_cluster_snapshots",
            "Snapshots taken over",
            &n.snapshots,
        ),
    ] {
        r.register(name, help, counter.clone());
    }
    r.register(
        "meridian_cluster_connected",
        "Whether the node is connected to the broker",
        gauge(u64::from(status.broker.connected)),
    );
    r.register(
        "meridian_cluster_applied_seq",
        "Last applied sequence per origin",
        family(
            "origin",
            status.origins.iter().map(|(o, s)| (o.clone(), s.applied)),
        ),
    );
    r.register(
        "meridian_cluster_lag",
        "Batches behind the best known head per origin",
        family(
            "origin",
            status.origins.iter().map(|(o, s)| (o.clone(), s.lag)),
        ),
    );
    r.register(
        "meridian_cluster_peers",
        "Peers seen through heartbeats",
        gauge(status.peers.len() as u64),
    );
    r.register(
        "meridian_cluster_files_pending",
        "Applied batches whose data-directory files are still written behind the journal",
        gauge(status.files_pending as u64),
    );
    r.register(
        "meridian_cluster_files_failed",
        "1 when a data-directory file written behind the journal failed (see the log)",
        gauge(u64::from(status.files_failed)),
    );
    let summary = c.service().snapshot().summary();
    r.register(
        "meridian_catalog_objects",
        "Catalog objects per kind",
        family(
            "kind",
            summary
                .iter()
                .map(|(k, v)| (k.label().replace(' ', "_"), *v as u64)),
        ),
    );
    r
}

impl Cluster {
    /// The node's metrics in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String does not fail.
        let _ = encode(&mut out, &registry(self, &self.status()));
        out
    }
}
