//! Clusters across hosts of a network of the test's own (network namespaces on a bridge,
//! 198.18.0.0/15).

use super::*;
use meridian_testkit::netns::Network;

/// Nodes on two hosts replicate through the embedded broker of the first; with the first
/// host's link down, the second keeps serving its own catalog.
#[test]
fn nodes_on_two_hosts_replicate_through_the_first_ones_broker() {
    let net = Network::new(2);
    let mut c = Cluster::new("twohosts");
    c.broker_host = net.hosts[0].addr.to_string();
    let (_ta, da) = tmpdir();
    let (_tb, db) = tmpdir();
    let a = c
        .member("node-a")
        .embedded()
        .primary(true)
        .on(&net.hosts[0])
        .env(
            "node.url",
            &format!("http://{}:8080/geoserver", net.hosts[0].addr),
        )
        .start(&da);
    let b = c
        .member("node-b")
        .on(&net.hosts[1])
        .env(
            "node.url",
            &format!("http://{}:8080/geoserver", net.hosts[1].addr),
        )
        .start(&db);
    assert_eq!(a.host, net.hosts[0].addr.to_string());
    wait_connected("replica connected across hosts", &[&a, &b], &b);
    replicate_workspace("replicated across hosts", &a, &b, "across");
    net.blackhole(0);
    assert_eq!(
        b.get("/workspaces/across.json").status(),
        200,
        "the replica serves what it holds while the primary's host is unreachable"
    );
    net.heal(0);
    replicate_workspace("replicated after the link came back", &a, &b, "healed");
}
