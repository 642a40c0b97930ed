//! GeoServer-style ids: `<SimpleClassName>-<java.rmi.server.UID>`.

use crate::Kind;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

static UNIQUE: OnceLock<(i32, u64)> = OnceLock::new();
static COUNT: AtomicI32 = AtomicI32::new(-0x8000);

fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:x}", v.unsigned_abs())
    } else {
        format!("{v:x}")
    }
}

/// Mint a new id for an object of this kind, in the same shape GeoServer uses
/// (`WorkspaceInfoImpl--570ae188:124761b8d78:-7ffc`): a per-process random int, the process
/// start time in milliseconds, and a short counter; the time moves on when the counter wraps.
pub fn new_id(kind: Kind) -> String {
    let (unique, start) = *UNIQUE.get_or_init(|| {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        (rand::random::<i32>(), ms)
    });
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    // 65536 ids per "time" value, as java.rmi.server.UID does by waiting for the clock.
    let wraps = (n as i64 + 0x8000).div_euclid(0x10000);
    let count = (n as i64 + 0x8000).rem_euclid(0x10000) - 0x8000;
    format!(
        "{}-{}:{:x}:{}",
        kind.id_prefix(),
        signed_hex(unique as i64),
        start + wraps as u64,
        signed_hex(count)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_geoservers_and_are_unique() {
        let a = new_id(Kind::Workspace);
        let b = new_id(Kind::Workspace);
        assert_ne!(a, b);
        assert!(a.starts_with("WorkspaceInfoImpl-"));
        let uid = a.trim_start_matches("WorkspaceInfoImpl-");
        let parts: Vec<&str> = uid.rsplitn(3, ':').collect();
        assert_eq!(parts.len(), 3, "{a}");
        assert!(i64::from_str_radix(parts[1], 16).is_ok());
        assert_eq!(signed_hex(-0x7ffc), "-7ffc");
    }
}
