//! What sealing connection secrets costs: a batch holding one PostGIS store, encoded for the
//! wire and decoded (MAC, seal and open), against the same batch with a workspace instead.

use meridian_catalog::{Change, Kind, Object, Provenance};
use meridian_cluster::envelope::{decode, encode, Message};
use meridian_cluster::keys::ClusterKeys;
use meridian_store::Record;
use std::time::Instant;

fn batch(object: Object) -> Message {
    Message::Changes {
        group: "bench".into(),
        record: Record {
            provenance: Provenance {
                origin: "node-a".into(),
                seq: 1,
                hlc: 1,
            },
            changes: vec![Change::Add { object }],
        },
    }
}

fn object(kind: Kind, xml: &str) -> Object {
    // The benchmark's own literals parse.
    Object::new(kind, meridian_xml::parse(xml).unwrap_or_default())
}

/// Microseconds per encode + decode of each batch, over `iterations` rounds.
pub fn run(iterations: usize) -> String {
    let keys = match ClusterKeys::new("bench-secret") {
        Ok(k) => k,
        Err(e) => return e.to_string(),
    };
    let store = batch(object(
        Kind::DataStore,
        r#"<dataStore><id>DataStoreInfoImpl-1</id><name>pg</name><type>PostGIS</type><enabled>true</enabled><workspace><id>WorkspaceInfoImpl-1</id></workspace><connectionParameters><entry key="host">db.example</entry><entry key="port">5432</entry><entry key="database">gis</entry><entry key="schema">public</entry><entry key="user">gis</entry><entry key="passwd">correct horse battery staple</entry><entry key="dbtype">postgis</entry><entry key="namespace">http://w</entry></connectionParameters><__default>false</__default></dataStore>"#,
    ));
    let plain = batch(object(
        Kind::DataStore,
        r#"<dataStore><id>DataStoreInfoImpl-1</id><name>pg</name><type>PostGIS</type><enabled>true</enabled><workspace><id>WorkspaceInfoImpl-1</id></workspace><connectionParameters><entry key="host">db.example</entry><entry key="port">5432</entry><entry key="database">gis</entry><entry key="schema">public</entry><entry key="user">gis</entry><entry key="dbtype">postgis</entry><entry key="namespace">http://w</entry></connectionParameters><__default>false</__default></dataStore>"#,
    ));
    let ws = batch(object(
        Kind::Workspace,
        "<workspace><id>WorkspaceInfoImpl-1</id><name>w</name></workspace>",
    ));
    let mut out = String::new();
    for (label, msg) in [
        ("workspace (nothing sealed)", &ws),
        ("PostGIS store, no password", &plain),
        ("PostGIS store with a password (sealed)", &store),
    ] {
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..iterations {
            let wire = encode(msg, &keys);
            bytes = wire.len();
            if decode(&wire, &keys).is_err() {
                return format!("{label}: a batch did not decode");
            }
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / iterations as f64;
        out.push_str(&format!(
            "{label}: {us:.2} µs per encode + decode ({bytes} bytes on the wire)\n"
        ));
    }
    out
}
