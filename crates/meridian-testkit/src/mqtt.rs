//! Talking to a cluster's broker as an outsider (or a broken member) would.

use std::time::Duration;

/// Publish raw payloads on `topic` through the broker at `broker_port`, logging in with
/// `login` (user, password) when given; the broker's refusal is an error.
pub fn inject(
    broker_port: u16,
    topic: &str,
    payloads: Vec<Vec<u8>>,
    client_id: &str,
    login: Option<(&str, &str)>,
) -> Result<(), String> {
    let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", broker_port);
    opts.set_keep_alive(Duration::from_secs(5));
    if let Some((u, p)) = login {
        opts.set_credentials(u, p);
    }
    let (client, mut conn) = rumqttc::Client::new(opts, 100);
    let n = payloads.len();
    for p in payloads {
        client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, p)
            .map_err(|e| e.to_string())?;
    }
    let mut acks = 0;
    for ev in conn.iter() {
        match ev {
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a)))
                if a.code != rumqttc::ConnectReturnCode::Success =>
            {
                return Err(format!("refused: {:?}", a.code));
            }
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                acks += 1;
                if acks == n {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    client.disconnect().ok();
    Ok(())
}

/// Subscribe to `topic` on the broker at `broker_port` and gather what arrives until `until`
/// says enough (or `timeout` passes); a refused login is an error.
pub fn gather(
    broker_port: u16,
    topic: &str,
    client_id: &str,
    login: (&str, &str),
    timeout: Duration,
    until: impl Fn(&[Vec<u8>]) -> bool,
) -> Result<Vec<Vec<u8>>, String> {
    let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", broker_port);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_credentials(login.0, login.1);
    let (client, mut conn) = rumqttc::Client::new(opts, 100);
    client
        .subscribe(topic, rumqttc::QoS::AtLeastOnce)
        .map_err(|e| e.to_string())?;
    let end = std::time::Instant::now() + timeout;
    let mut got = Vec::new();
    while std::time::Instant::now() < end && !until(&got) {
        match conn.recv_timeout(Duration::from_millis(200)) {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(a))))
                if a.code != rumqttc::ConnectReturnCode::Success =>
            {
                return Err(format!("refused: {:?}", a.code));
            }
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))) => {
                got.push(p.payload.to_vec());
            }
            Ok(Ok(_)) | Err(_) => {}
            Ok(Err(e)) => return Err(e.to_string()),
        }
    }
    client.disconnect().ok();
    Ok(got)
}
