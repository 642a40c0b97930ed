//! Password encodings used in GeoServer's `users.xml`.

use base64::Engine;
use sha2::{Digest, Sha256};

const ITERATIONS: usize = 100_000;
const SALT: usize = 16;

fn digest(salt: &[u8], password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(password.as_bytes());
    let mut out: [u8; 32] = h.finalize().into();
    for _ in 1..ITERATIONS {
        out = Sha256::digest(out).into();
    }
    out
}

/// Encode a password as GeoServer's `digest1:` (Jasypt StrongPasswordEncryptor: random 16-byte
/// salt, SHA-256, 100 000 iterations, base64 of salt and digest).
pub fn digest1(password: &str) -> String {
    let salt: [u8; SALT] = rand::random();
    let mut all = salt.to_vec();
    all.extend_from_slice(&digest(&salt, password));
    format!(
        "digest1:{}",
        base64::engine::general_purpose::STANDARD.encode(all)
    )
}

/// Check a password against a stored value (`digest1:`, `plain:`). Reversible encodings whose
/// key Meridian cannot read (`crypt1:`, `crypt2:`) and `empty:` never match.
pub fn verify_password(stored: &str, password: &str) -> bool {
    if let Some(b64) = stored.strip_prefix("digest1:") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        if raw.len() != SALT + 32 {
            return false;
        }
        let (salt, expected) = raw.split_at(SALT);
        let got = digest(salt, password);
        // Constant-time comparison.
        got.iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    } else if let Some(p) = stored.strip_prefix("plain:") {
        p.len() == password.len()
            && p.bytes()
                .zip(password.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geoservers_own_admin_digest_verifies() {
        let stored = "digest1:D9miJH/hVgfxZJscMafEtbtliG0ROxhLfsznyWfG38X2pda2JOSV4POi55PQI4tw";
        assert!(verify_password(stored, "geoserver"));
        assert!(!verify_password(stored, "geoserver2"));
    }

    #[test]
    fn new_digests_verify_and_other_encodings_behave() {
        let d = digest1("s3cret");
        assert!(verify_password(&d, "s3cret"));
        assert!(!verify_password(&d, "s3cre"));
        assert!(verify_password("plain:abc", "abc"));
        assert!(!verify_password("plain:abc", "abd"));
        assert!(!verify_password("crypt1:xyz", "xyz"));
        assert!(!verify_password("digest1:not-base64!", "x"));
    }
}
