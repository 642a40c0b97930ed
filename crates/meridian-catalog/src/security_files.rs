//! The files of `security/` as catalog objects, so that users, roles and access rules travel
//! the same journaled path as the rest of the configuration: one [`Kind::Security`] object per
//! file, named by its path under `security/`, its text as the body.
//!
//! Only GeoServer's own files are objects ([`FILES`]): a name is never a path of the caller's
//! choosing. The users file holds password digests, so its whole text is a secret (sealed on
//! the wire and in the journal, never shown by REST).

use crate::{Kind, Object};
use meridian_xml::Element;

/// The files of `security/` that are configuration, by path under `security/`.
pub const FILES: &[&str] = &[
    "usergroup/default/users.xml",
    "usergroup/default/authkeys.properties",
    "role/default/roles.xml",
    "layers.properties",
    "services.properties",
    "rest.properties",
];

/// Largest text a security file may hold.
const MAX_TEXT: usize = 8 * 1024 * 1024;

/// The id of the object of the file `name`.
pub fn id_of(name: &str) -> String {
    format!("security:{name}")
}

/// The object holding the file `name` with `text`.
pub fn object(name: &str, text: String) -> Object {
    let mut o = Object::new(
        Kind::Security,
        Element::new("securityFile")
            .child(Element::with_text("id", id_of(name)))
            .child(Element::with_text("name", name)),
    );
    o.body = Some(text);
    o
}

/// Whether the file `name` holds credentials (password digests, authentication keys).
pub fn holds_digests(name: &str) -> bool {
    name.starts_with("usergroup/")
}

/// Check a security file object: one of [`FILES`], its id made from its name, a text of
/// bounded size that reads (XML files parse; properties files hold `key=value` lines).
pub fn check(o: &Object) -> Result<(), String> {
    let name = o.name();
    if !FILES.contains(&name) {
        return Err(format!(
            "'{name}' is not one of the security files ({})",
            FILES.join(", ")
        ));
    }
    if o.id() != id_of(name) {
        return Err(format!(
            "the security file {name} has the id {}, not {}",
            o.id(),
            id_of(name)
        ));
    }
    let Some(text) = o.body.as_deref() else {
        return Err(format!("the security file {name} has no text"));
    };
    if text.len() > MAX_TEXT {
        return Err(format!(
            "the security file {name} is larger than {MAX_TEXT} bytes"
        ));
    }
    if name.ends_with(".xml") {
        let root = meridian_xml::parse(text)
            .map_err(|e| format!("the security file {name} is not XML: {e}"))?;
        let want = if name.starts_with("usergroup") {
            "userRegistry"
        } else {
            "roleRegistry"
        };
        if root.name.as_str() != want {
            return Err(format!(
                "the security file {name} has the root <{}>, not <{want}>",
                root.name
            ));
        }
    } else if let Some(line) = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!') && !l.contains('='))
    {
        return Err(format!(
            "the security file {name} holds a line that is not key=value: '{}'",
            line.chars().take(80).collect::<String>()
        ));
    }
    if text.contains('\0') {
        return Err(format!("the security file {name} holds a NUL character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_geoservers_files_with_readable_text_are_security_files() {
        assert!(check(&object("layers.properties", "*.*.r=*\n".into())).is_ok());
        assert!(check(&object("../../etc/passwd", "x=y".into())).is_err());
        assert!(check(&object("layers.properties", "not a rule\n".into())).is_err());
        assert!(check(&object("usergroup/default/users.xml", "<nope/>".into())).is_err());
        assert!(check(&object(
            "usergroup/default/users.xml",
            "<userRegistry><users/></userRegistry>".into()
        ))
        .is_ok());
    }
}
