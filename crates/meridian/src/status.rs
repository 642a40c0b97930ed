//! `meridian cluster status`: a node's cluster status as a table.

use crate::node::NodeError;
use meridian_cluster::envelope::Roles;
use meridian_cluster::ClusterStatus;

/// Fetch `<url>/rest/cluster/status.json` and print it.
pub fn print(url: &str, user: &str, password: &str) -> Result<(), NodeError> {
    let endpoint = format!("{}/rest/cluster/status.json", url.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| NodeError::Runtime(e.to_string()))?;
    let r = client
        .get(&endpoint)
        .basic_auth(user, Some(password))
        .send()
        .map_err(|e| NodeError::Runtime(format!("{endpoint}: {e}")))?;
    if !r.status().is_success() {
        return Err(NodeError::Runtime(format!(
            "{endpoint}: HTTP {}",
            r.status()
        )));
    }
    let s: ClusterStatus = r
        .json()
        .map_err(|e| NodeError::Runtime(format!("{endpoint}: {e}")))?;
    print!("{}", render(&s));
    Ok(())
}

fn roles(r: &Roles) -> String {
    r.names().join("+")
}

/// The table for a status.
pub fn render(s: &ClusterStatus) -> String {
    let mut out = String::new();
    let b = &s.broker;
    out.push_str(&format!(
        "instance  {}\ngroup     {}\nroles     {}\nbroker    {} ({})\ndigest    {}\n",
        s.instance_name,
        s.group,
        roles(&s.roles),
        b.url,
        if b.connected {
            "connected"
        } else {
            "NOT connected"
        },
        s.digest,
    ));
    if let Some(d) = &s.drift {
        out.push_str(&format!("DRIFT     {d}\n"));
    }
    out.push_str("\nORIGIN                          APPLIED      LAG\n");
    for (name, v) in &s.origins {
        out.push_str(&format!("{name:<30} {:>9} {:>8}\n", v.applied, v.lag));
    }
    out.push_str("\nPEER                            ROLES            LAST SEEN  DIGEST                            URL\n");
    for p in &s.peers {
        let seen = p
            .last_seen_ms
            .map_or_else(|| "null".to_string(), |m| m.to_string());
        out.push_str(&format!(
            "{:<30}  {:<16} {:>7} ms  {:<32}  {}\n",
            p.name,
            roles(&p.roles),
            seen,
            p.digest,
            p.url,
        ));
    }
    let c = &s.counters;
    out.push_str(&format!(
        "\nCOUNTERS applied={} catchups={} deferred={} duplicates={} ignored={} published={} rejected={} snapshots={}\n",
        c.applied, c.catchups, c.deferred, c.duplicates, c.ignored, c.published, c.rejected, c.snapshots
    ));
    out
}
