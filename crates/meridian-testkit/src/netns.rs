//! Small networks of a test's own: network namespaces ("hosts") joined by a bridge, on
//! addresses of the benchmarking range 198.18.0.0/15. The bridge lives in the test's own
//! namespace with the first address of the subnet, so the test reaches every host; a host's
//! link can be taken down (its packets then vanish: nothing is refused) and brought back.
//! Everything is removed on drop. Needs root, as the test command runs.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Run `ip` with `args`; a failure fails the test with what `ip` said.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {}: {e} (iproute2 is needed)", args.join(" ")));
    assert!(
        out.status.success(),
        "ip {}: {}(network namespaces need root)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `ip` with `args`, ignoring failure (cleanup).
fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip").args(args).output();
}

/// One host: a network namespace with one link to the bridge.
#[derive(Debug, Clone)]
pub struct Host {
    /// The namespace's name.
    pub netns: String,
    /// Its address on the bridge.
    pub addr: Ipv4Addr,
    /// Its end of the link, inside the namespace.
    link: String,
}

/// A bridge and the hosts on it.
pub struct Network {
    bridge: String,
    /// The hosts, in order.
    pub hosts: Vec<Host>,
    /// The test's own address on the bridge.
    pub gateway: Ipv4Addr,
}

impl Network {
    /// A bridge and `n` hosts on a /24 of 198.18.0.0/15 of this network's own.
    pub fn new(n: usize) -> Network {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        assert!(n > 0 && n < 250, "between 1 and 249 hosts");
        remove_leftovers();
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // A /24 per network: 512 of them in 198.18.0.0/15.
        let subnet = (pid.wrapping_mul(31).wrapping_add(k.wrapping_mul(7))) % 512;
        let (b2, b3) = (18 + (subnet / 256) as u8, (subnet % 256) as u8);
        let tag = format!("{:x}{k:x}", pid % 0xfffff);
        let bridge = format!("mrb{tag}");
        let gateway = Ipv4Addr::new(198, b2, b3, 1);
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&["addr", "add", &format!("{gateway}/24"), "dev", &bridge]);
        ip(&["link", "set", &bridge, "up"]);
        let mut net = Network {
            bridge,
            hosts: Vec::new(),
            gateway,
        };
        for i in 0..n {
            let netns = format!("mrn-{pid}-{k}-{i}");
            let outer = format!("mro{tag}h{i}");
            let link = "eth0".to_string();
            let addr = Ipv4Addr::new(198, b2, b3, 10 + i as u8);
            ip(&["netns", "add", &netns]);
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", "mrtmp", "netns", &netns,
            ]);
            ip(&["-n", &netns, "link", "set", "mrtmp", "name", &link]);
            ip(&["link", "set", &outer, "master", &net.bridge]);
            ip(&["link", "set", &outer, "up"]);
            ip(&[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                &link,
            ]);
            ip(&["-n", &netns, "link", "set", &link, "up"]);
            ip(&["-n", &netns, "link", "set", "lo", "up"]);
            // Multicast leaves through the link.
            ip(&["-n", &netns, "route", "add", "224.0.0.0/4", "dev", &link]);
            net.hosts.push(Host { netns, addr, link });
        }
        net
    }

    /// Take host `i`'s link down: what is sent to it or by it vanishes, nothing is refused.
    pub fn blackhole(&self, i: usize) {
        let h = &self.hosts[i];
        ip(&["-n", &h.netns, "link", "set", &h.link, "down"]);
    }

    /// Cut host `i` off the other hosts (each side's packets to the other are dropped by a
    /// blackhole route) while the test still reaches every host through the bridge.
    pub fn cut(&self, i: usize) {
        self.cut_routes(i, "add");
    }

    /// Undo [`Network::cut`].
    pub fn uncut(&self, i: usize) {
        self.cut_routes(i, "del");
    }

    fn cut_routes(&self, i: usize, verb: &str) {
        let me = &self.hosts[i];
        for (j, other) in self.hosts.iter().enumerate() {
            if j == i {
                continue;
            }
            ip(&[
                "-n",
                &me.netns,
                "route",
                verb,
                "blackhole",
                &format!("{}/32", other.addr),
            ]);
            ip(&[
                "-n",
                &other.netns,
                "route",
                verb,
                "blackhole",
                &format!("{}/32", me.addr),
            ]);
        }
    }

    /// Make every host resolve names through the DNS server at `server` (port 53): written
    /// as the hosts' own `/etc/netns/<host>/resolv.conf`, which `ip netns exec` puts in place
    /// of `/etc/resolv.conf`; removed with the network.
    pub fn use_dns(&self, server: Ipv4Addr) {
        for h in &self.hosts {
            let dir = std::path::Path::new("/etc/netns").join(&h.netns);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("resolv.conf"),
                format!("nameserver {server}\noptions timeout:1 attempts:1\n"),
            )
            .unwrap();
        }
    }

    /// Bring host `i`'s link back.
    pub fn heal(&self, i: usize) {
        let h = &self.hosts[i];
        ip(&["-n", &h.netns, "link", "set", &h.link, "up"]);
        // The route goes with the link; put it back.
        ip_quiet(&[
            "-n",
            &h.netns,
            "route",
            "add",
            "224.0.0.0/4",
            "dev",
            &h.link,
        ]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for h in &self.hosts {
            kill_all_in(&h.netns);
            ip_quiet(&["netns", "del", &h.netns]);
            let _ = std::fs::remove_dir_all(std::path::Path::new("/etc/netns").join(&h.netns));
        }
        ip_quiet(&["link", "del", &self.bridge]);
    }
}

/// Kill every process left in a namespace.
fn kill_all_in(netns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).output();
        }
    }
}

/// Remove the namespaces and bridges of test processes that are gone (a test killed before
/// its drop ran): a leftover bridge would hold a subnet a new network may take.
fn remove_leftovers() {
    let me = std::process::id();
    if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            // mrn-<pid>-<k>-<i>
            let Some(pid) = name
                .strip_prefix("mrn-")
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                kill_all_in(name);
                ip_quiet(&["netns", "del", name]);
                let _ = std::fs::remove_dir_all(std::path::Path::new("/etc/netns").join(name));
            }
        }
    }
    let own = format!("mrb{:x}", me % 0xfffff);
    if let Ok(out) = Command::new("ip")
        .args(["-o", "link", "show", "type", "bridge"])
        .output()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(name) = line.split(": ").nth(1).map(|n| n.trim()) else {
                continue;
            };
            if !name.starts_with("mrb") || name.starts_with(&own) {
                continue;
            }
            let ports = Command::new("ip")
                .args(["-o", "link", "show", "master", name])
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(true);
            if !ports {
                ip_quiet(&["link", "del", name]);
            }
        }
    }
}
