//! The embedded MQTT broker (rumqttd) that lets a small cluster run with nothing else installed.
//! It is only a fan-out accelerator: reliability comes from the journals and catch-up.

use std::collections::HashMap;
use std::net::SocketAddr;

/// Start the broker on `listen` in its own threads and return the address it listens on
/// (port 0 picks a free port). Fails when the address cannot be bound.
pub fn start_embedded(listen: SocketAddr) -> Result<SocketAddr, String> {
    // rumqttd reports bind errors only in its own threads; check the address first.
    let probe = std::net::TcpListener::bind(listen)
        .map_err(|e| format!("embedded broker cannot listen on {listen}: {e}"))?;
    let listen = probe.local_addr().map_err(|e| e.to_string())?;
    drop(probe);
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 4 * 1024 * 1024,
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "v4-1".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let router = rumqttd::RouterConfig {
        max_connections: 10_010,
        max_outgoing_packet_count: 1000,
        max_segment_size: 64 * 1024 * 1024,
        max_segment_count: 4,
        ..Default::default()
    };
    let config = rumqttd::Config {
        id: 0,
        router,
        v4: Some(HashMap::from([("1".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(|e| e.to_string())?;
    tracing::info!(%listen, "embedded MQTT broker started");
    Ok(listen)
}

/// Broker addresses from a `brokerURL`: `tcp://h:p`, `mqtt://h:p`, `h:p`, or
/// `failover:(tcp://a:1,tcp://b:2)?options`.
pub fn parse_broker_url(url: &str) -> Vec<(String, u16)> {
    let u = url.trim();
    let inner = u
        .strip_prefix("failover:")
        .map(|r| {
            r.trim_start_matches(['/', '('])
                .split(')')
                .next()
                .unwrap_or("")
        })
        .unwrap_or(u);
    inner
        .split(',')
        .filter_map(|part| {
            let p = part.trim();
            let p = p.split('?').next().unwrap_or(p);
            let p = p
                .strip_prefix("tcp://")
                .or_else(|| p.strip_prefix("mqtt://"))
                .or_else(|| p.strip_prefix("nio://"))
                .unwrap_or(p);
            let (h, port) = p.rsplit_once(':')?;
            Some((h.trim_matches(['[', ']']).to_string(), port.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_broker_url("tcp://127.0.0.1:1883"),
            vec![("127.0.0.1".to_string(), 1883)]
        );
        assert_eq!(
            parse_broker_url("failover:(tcp://a:1,tcp://b:2)?randomize=false"),
            vec![("a".to_string(), 1), ("b".to_string(), 2)]
        );
        assert!(parse_broker_url("nonsense").is_empty());
        // GeoServer's own spelling, as kartoza's images write it.
        assert_eq!(
            parse_broker_url("failover://(tcp://broker:61616)?jms.useAsyncSend=true"),
            vec![("broker".to_string(), 61616)]
        );
    }
}
