//! Which values of an object are connection secrets (a store's password, an API key), and a
//! way to rewrite them: sealed for the wire and the journal, masked in REST answers.
//!
//! Secrets live in two places, as GeoServer keeps them: the `connectionParameters` entries of
//! data and coverage stores whose key names a password or key (`passwd`,
//! `WFSDataStoreFactory:PASSWORD`, `apiKey`, ...), and the `<password>` of WMS and WMTS stores.

use crate::{Kind, Object};
use meridian_xml::{Element, Node};

/// What REST answers in place of a secret, and what a REST write may send back to keep it.
pub const MASK: &str = "********";

/// Whether a connection parameter key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    // Factory-qualified keys (`WFSDataStoreFactory:PASSWORD`) are judged by their last part.
    let k = key.rsplit(':').next().unwrap_or(key).to_ascii_lowercase();
    k.contains("passw")
        || k == "pwd"
        || k.contains("secret")
        || k.contains("apikey")
        || k.contains("api_key")
        || k.contains("api key")
        || k.contains("token")
}

/// Whether the object kind can hold secrets at all (a quick test before looking inside).
pub fn may_hold_secrets(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::DataStore | Kind::CoverageStore | Kind::WmsStore | Kind::WmtsStore | Kind::Security
    )
}

/// Whether the object holds at least one non-empty secret.
pub fn has_secrets(o: &Object) -> bool {
    if !may_hold_secrets(o.kind) {
        return false;
    }
    if o.kind == Kind::Security {
        return crate::security_files::holds_digests(o.name())
            && o.body.as_deref().is_some_and(|b| !b.is_empty());
    }
    let x = o.xml();
    let nonempty = |n: Node<'_>| n.text().is_some_and(|t| !t.is_empty());
    if let Some(params) = x.get("connectionParameters") {
        if params
            .children()
            .any(|e| e.attr_value("key").is_some_and(is_secret_key) && nonempty(e))
        {
            return true;
        }
    }
    x.get("password").is_some_and(nonempty)
}

/// Rewrite every non-empty secret of `o` with `f(key, value)`, where `key` names the secret
/// (the parameter key, or `password`). Returns `None` when the object holds no secret, so the
/// caller can keep the original without a copy.
pub fn map_secrets<E>(
    o: &Object,
    mut f: impl FnMut(&str, &str) -> Result<String, E>,
) -> Result<Option<Object>, E> {
    if !has_secrets(o) {
        return Ok(None);
    }
    let mut out = o.clone();
    // The users file holds password digests: its whole text is the secret.
    if o.kind == Kind::Security {
        if let Some(body) = &o.body {
            out.body = Some(f("body", body)?);
        }
        return Ok(Some(out));
    }
    let mut err = None;
    out.edit_xml(|root| {
        let mut each = |key: &str, e: &mut Element| {
            let Some(text) = e.text.as_deref().filter(|t| !t.is_empty()) else {
                return;
            };
            match f(key, text) {
                Ok(v) => e.text = Some(v.into()),
                Err(x) => {
                    if err.is_none() {
                        err = Some(x);
                    }
                }
            }
        };
        if let Some(params) = root.get_mut("connectionParameters") {
            for e in params.children.iter_mut() {
                let Some(key) = e.attr_value("key").map(str::to_string) else {
                    continue;
                };
                if is_secret_key(&key) {
                    each(&key, e);
                }
            }
        }
        if let Some(p) = root.get_mut("password") {
            each("password", p);
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(Some(out)),
    }
}

/// The object as REST shows it: every secret replaced by [`MASK`].
pub fn masked(o: &Object) -> Option<Object> {
    map_secrets::<std::convert::Infallible>(o, |_, _| Ok(MASK.to_string())).unwrap_or(None)
}

/// A REST write that sends back [`MASK`] for a secret keeps the secret it replaces: each
/// masked value of `new` is taken from `old` (dropped when `old` has none).
pub fn unmask(new: &mut Element, old: Option<&Object>) {
    let old_value = |key: &str| -> Option<String> {
        let x = old?.xml();
        if key == "password" {
            return x.child_text("password").map(str::to_string);
        }
        x.get("connectionParameters")?
            .children()
            .find(|e| e.attr_value("key") == Some(key))
            .and_then(|e| e.text().map(str::to_string))
    };
    if let Some(params) = new.get_mut("connectionParameters") {
        params.children.retain_mut(|e| {
            if e.text.as_deref() != Some(MASK) {
                return true;
            }
            let Some(key) = e.attr_value("key").map(str::to_string) else {
                return true;
            };
            match old_value(&key) {
                Some(v) => {
                    e.text = Some(v.into());
                    true
                }
                None => false,
            }
        });
    }
    if new.child_text("password") == Some(MASK) {
        match old_value("password") {
            Some(v) => new.set_child_text("password", v),
            None => {
                new.remove("password");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_xml::parse;

    fn store(xml: &str) -> Object {
        Object::new(Kind::DataStore, parse(xml).unwrap())
    }

    const PG: &str = r#"<dataStore><id>s1</id><name>pg</name><connectionParameters>
        <entry key="host">db</entry><entry key="passwd">hunter2</entry>
        <entry key="WFSDataStoreFactory:PASSWORD">crypt1:abc</entry><entry key="user">u</entry>
        </connectionParameters></dataStore>"#;

    #[test]
    fn keys_that_name_secrets() {
        for k in [
            "passwd",
            "password",
            "WFSDataStoreFactory:PASSWORD",
            "apiKey",
            "token",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["user", "host", "Expose primary keys", "namespace", "url"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn masking_hides_every_secret_and_a_masked_write_keeps_them() {
        let o = store(PG);
        let m = masked(&o).unwrap();
        let xml = m.xml().to_xml();
        assert!(!xml.contains("hunter2") && !xml.contains("crypt1"), "{xml}");
        assert!(xml.contains(">u<") && xml.contains(">db<"));
        let mut back = m.element();
        unmask(&mut back, Some(&o));
        assert_eq!(Object::new(Kind::DataStore, back), o);
        // With nothing to keep, a mask is dropped rather than stored as the password.
        let mut fresh = m.element();
        unmask(&mut fresh, None);
        assert!(!Object::new(Kind::DataStore, fresh)
            .xml()
            .to_xml()
            .contains(MASK));
    }

    #[test]
    fn objects_without_secrets_are_not_copied() {
        let o = store("<dataStore><id>s</id><name>n</name><connectionParameters><entry key=\"passwd\"></entry></connectionParameters></dataStore>");
        assert!(masked(&o).is_none());
        let ws = Object::new(
            Kind::Workspace,
            parse("<workspace><id>w</id><name>passwd</name></workspace>").unwrap(),
        );
        assert!(masked(&ws).is_none());
    }
}
