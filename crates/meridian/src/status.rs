//! `meridian cluster status`: a node's cluster status as a table.

use crate::node::NodeError;
use serde_json::Value;

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
    let s: Value = r
        .json()
        .map_err(|e| NodeError::Runtime(format!("{endpoint}: {e}")))?;
    print!("{}", render(&s));
    Ok(())
}

fn roles(r: &Value) -> String {
    let mut v = Vec::new();
    if r["primary"] == true {
        v.push("primary");
    }
    if r["replica"] == true {
        v.push("replica");
    }
    if r["read_only"] == true {
        v.push("read-only");
    }
    v.join("+")
}

/// The table for a status document.
pub fn render(s: &Value) -> String {
    let mut out = String::new();
    let b = &s["broker"];
    out.push_str(&format!(
        "instance  {}\ngroup     {}\nroles     {}\nbroker    {} ({})\ndigest    {}\n",
        s["instanceName"].as_str().unwrap_or("?"),
        s["group"].as_str().unwrap_or("?"),
        roles(&s["roles"]),
        b["url"].as_str().unwrap_or("?"),
        if b["connected"] == true {
            "connected"
        } else {
            "NOT connected"
        },
        s["digest"].as_str().unwrap_or("?"),
    ));
    if let Some(d) = s["drift"].as_str() {
        out.push_str(&format!("DRIFT     {d}\n"));
    }
    out.push_str("\nORIGIN                          APPLIED      LAG\n");
    if let Some(o) = s["origins"].as_object() {
        for (name, v) in o {
            out.push_str(&format!("{name:<30} {:>9} {:>8}\n", v["applied"], v["lag"]));
        }
    }
    out.push_str("\nPEER                            ROLES            LAST SEEN  DIGEST                            URL\n");
    if let Some(p) = s["peers"].as_array() {
        for p in p {
            out.push_str(&format!(
                "{:<30}  {:<16} {:>7} ms  {:<32}  {}\n",
                p["name"].as_str().unwrap_or("?"),
                roles(&p["roles"]),
                p["lastSeenMs"],
                p["digest"].as_str().unwrap_or("?"),
                p["url"].as_str().unwrap_or("?"),
            ));
        }
    }
    out.push_str("\nCOUNTERS ");
    if let Some(c) = s["counters"].as_object() {
        let parts: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&parts.join(" "));
    }
    out.push('\n');
    out
}
