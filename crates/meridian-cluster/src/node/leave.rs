//! `meridian cluster leave`: a stopped node leaves its cluster for good. Its persistent broker
//! sessions are dropped (a clean session under the same client id) and its peers are told to
//! forget it. With one broker for all, that broker gets both. With a broker on every node, the
//! node's own broker is down with it: each peer it knew (`cluster/peers.json`) is asked for its
//! broker over signed HTTP, and each peer's broker gets both (the node's link session lives
//! there, and every node subscribed to that broker hears the leave).

use super::peers::{peer_client, peers_known_in, signed_get_json, STATUS_TIMEOUT};
use super::transport::{broker_credentials, client_id, topic_base};
use crate::broker::parse_broker_spec;
use crate::config::ClusterConfig;
use crate::envelope::{encode, Message};
use crate::error::ClusterError;
use crate::keys::ClusterKeys;
use crate::status::ClusterStatus;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::time::Duration;

/// What a leave reached.
#[derive(Debug, Default)]
pub struct Left {
    /// The brokers that dropped the node's session and carried the leave (`host:port`).
    pub brokers: Vec<String>,
    /// Peers not reached, with why (they forget the node after `peer.expiry`).
    pub missed: Vec<String>,
}

/// Leave the cluster of the node in `data_dir` (configured by `config`); run with the node
/// stopped. An error when no broker could be told.
pub async fn leave(config: &ClusterConfig, data_dir: &Path) -> Result<Left, ClusterError> {
    let keys = ClusterKeys::new(config.secret())?;
    let mesh = config.embedded_broker()
        && config.get("brokerURL").trim().is_empty()
        && config.discovery_on();
    let mut left = Left::default();
    if !mesh {
        let url = config.get("brokerURL");
        let spec = if url.trim().is_empty() {
            let listen = config.get("embeddedBroker.listen");
            parse_broker_spec(&format!("tcp://{listen}"), 1000)?
        } else {
            parse_broker_spec(url, 1000)?
        };
        // The first broker of the list that answers (they are one broker, or share sessions).
        for (host, port) in spec.addrs {
            match tell_broker(config, &keys, &host, port).await {
                Ok(()) => {
                    left.brokers.push(format!("{host}:{port}"));
                    return Ok(left);
                }
                Err(e) => left.missed.push(format!("{host}:{port}: {e}")),
            }
        }
        return Err(ClusterError::Leave(left.missed.join("; ")));
    }
    let http = peer_client()?;
    let pq = "/geoserver/rest/cluster/status.json";
    for (name, url) in peers_known_in(data_dir) {
        let st =
            match signed_get_json::<ClusterStatus>(&http, &keys, &url, pq, STATUS_TIMEOUT).await {
                Ok(st) => st,
                Err(e) => {
                    left.missed.push(format!("{name}: {e}"));
                    continue;
                }
            };
        let Some((host, port)) = st.broker.advertised.as_deref().and_then(|a| {
            let (h, p) = a.rsplit_once(':')?;
            Some((
                h.trim_matches(['[', ']']).to_string(),
                p.parse::<u16>().ok()?,
            ))
        }) else {
            left.missed
                .push(format!("{name}: runs no broker of its own"));
            continue;
        };
        match tell_broker(config, &keys, &host, port).await {
            Ok(()) => left.brokers.push(format!("{host}:{port}")),
            Err(e) => left.missed.push(format!("{name} ({host}:{port}): {e}")),
        }
    }
    if left.brokers.is_empty() && !left.missed.is_empty() {
        return Err(ClusterError::Leave(left.missed.join("; ")));
    }
    Ok(left)
}

/// Drop this node's session on the broker at `host:port` and publish its leave there.
async fn tell_broker(
    config: &ClusterConfig,
    keys: &ClusterKeys,
    host: &str,
    port: u16,
) -> Result<(), String> {
    let (group, me) = (config.group().to_string(), config.instance().to_string());
    let topic = format!("{}/heartbeat", topic_base(config, &group));
    let msg = encode(
        &Message::Leave {
            group: group.clone(),
            origin: me.clone(),
        },
        keys,
    );
    let id = client_id(&group, &me);
    let (u, p) = broker_credentials(config, keys, &id);
    let mut opts = MqttOptions::new(id, host.to_string(), port);
    opts.set_clean_session(true);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_credentials(u, p);
    let (client, mut events) = AsyncClient::new(opts, 10);
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client
                        .publish(topic.clone(), QoS::AtLeastOnce, false, msg.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    let _ = client.disconnect().await;
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    match outcome {
        Ok(r) => r,
        Err(_) => Err("timed out".into()),
    }
}
