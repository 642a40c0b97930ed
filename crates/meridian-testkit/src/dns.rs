//! A tiny DNS server for tests: it answers A queries for one name with a fixed list of
//! addresses (and nothing for anything else), on a UDP address of the test's own, until
//! dropped. Hosts of a test network use it through [`crate::netns::Network::use_dns`].

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A DNS server answering for one name.
pub struct DnsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The addresses it answers with; change them to move the name.
    pub answers: Arc<Mutex<Vec<Ipv4Addr>>>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    /// Answer A queries for `name` with `answers` on `addr` (port 53 for resolvers).
    pub fn start(addr: SocketAddr, name: &str, answers: Vec<Ipv4Addr>) -> DnsServer {
        let socket = UdpSocket::bind(addr)
            .unwrap_or_else(|e| panic!("the test DNS server cannot listen on {addr}: {e}"));
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let answers = Arc::new(Mutex::new(answers));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (answers.clone(), stop.clone());
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let list = a.lock().unwrap().clone();
                if let Some(reply) = answer(&buf[..n], &name, &list) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        DnsServer {
            addr,
            answers,
            stop,
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The reply to a query: A records for `name`, an empty answer for its other types, NXDOMAIN
/// for other names; `None` for what is no query.
fn answer(q: &[u8], name: &str, list: &[Ipv4Addr]) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    // The question: labels, then type and class.
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question_end = i + 4;
    let question = q.get(12..question_end)?;
    let ours = labels.join(".") == name;
    let records: Vec<Ipv4Addr> = if ours && qtype == 1 {
        list.to_vec()
    } else {
        Vec::new()
    };
    let mut r = Vec::with_capacity(question_end + records.len() * 16);
    r.extend_from_slice(&q[0..2]);
    // QR, AA, RD copied; RA; RCODE 0 or 3 (no such name).
    r.push(0x84 | (q[2] & 0x01));
    r.push(0x80 | if ours { 0 } else { 3 });
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&(records.len() as u16).to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(question);
    for a in records {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4]);
        r.extend_from_slice(&a.octets());
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_a_queries_for_its_name_only() {
        // A query for meridian.test, type A.
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["meridian", "test"] {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let ips = [Ipv4Addr::new(198, 18, 0, 10), Ipv4Addr::new(198, 18, 0, 11)];
        let r = answer(&q, "meridian.test", &ips).unwrap();
        assert_eq!(&r[0..2], &[0x12, 0x34]);
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 2);
        assert_eq!(&r[r.len() - 4..], &[198, 18, 0, 11]);
        let other = answer(&q, "elsewhere.test", &ips).unwrap();
        assert_eq!(other[3] & 0x0f, 3);
        assert_eq!(u16::from_be_bytes([other[6], other[7]]), 0);
    }
}
