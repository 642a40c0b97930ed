//! The files of `security/` as catalog objects, so that users, roles and access rules travel
//! the same journaled path as the rest of the configuration: one [`Kind::Security`] object per
//! file, named by its path under `security/`, its text as the body.
//!
//! Only GeoServer's own files are objects ([`is_file`]): the fixed rule files, and the files
//! of each XML user/group service (`usergroup/<service>/`), role service (`role/<service>/`)
//! and authentication provider (`auth/<provider>/`), whose names are checked, so a name is
//! never a path of the caller's choosing. The users file holds password digests, so its whole
//! text is a secret (sealed on the wire and in the journal, never shown by REST).

use crate::{Kind, Object};
/// The names a service folder and a service's users or roles file may have (the security
/// readers' own tests, so the catalog and the readers agree).
pub use meridian_security::{is_data_file_name, is_service_name};
use meridian_xml::Element;

/// The files directly under `security/` that are configuration.
pub const TOP_FILES: &[&str] = &[
    "config.xml",
    "layers.properties",
    "services.properties",
    "rest.properties",
];

/// The files of a user/group service's folder `usergroup/<service>/`.
pub const USERGROUP_FILES: &[&str] = &["config.xml", "users.xml", "authkeys.properties"];

/// The files of a role service's folder `role/<service>/`.
pub const ROLE_FILES: &[&str] = &["config.xml", "roles.xml"];

/// The files of an authentication provider's folder `auth/<provider>/`.
pub const AUTH_FILES: &[&str] = &["config.xml"];

/// The folders of `security/` whose sub-folders are services, with the files each holds.
pub const SERVICE_FOLDERS: &[(&str, &[&str])] = &[
    ("usergroup", USERGROUP_FILES),
    ("role", ROLE_FILES),
    ("auth", AUTH_FILES),
];

/// Whether `name` (a path under `security/`) is one of the security files that are
/// configuration: a fixed file, a file of [`SERVICE_FOLDERS`], or the users or roles file an
/// XML service's `fileName` names (a plain `.xml` name in the service's folder).
pub fn is_file(name: &str) -> bool {
    if TOP_FILES.contains(&name) {
        return true;
    }
    let mut parts = name.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(folder), Some(service), Some(file), None) => {
            is_service_name(service)
                && SERVICE_FOLDERS.iter().any(|(f, files)| {
                    *f == folder
                        && (files.contains(&file) || (folder != "auth" && is_data_file_name(file)))
                })
        }
        _ => false,
    }
}

/// The users or roles file a service's `config.xml` text names (`fileName`), when it is one
/// [`is_data_file_name`] allows.
pub fn data_file_of(config: &str) -> Option<String> {
    let root = meridian_xml::parse(config).ok()?;
    let name = root.child_text("fileName")?.trim();
    is_data_file_name(name).then(|| name.to_string())
}

/// The root element a security XML file must have.
fn root_of(name: &str) -> Option<&'static str> {
    match name {
        "config.xml" => Some("security"),
        n if n.starts_with("usergroup/") && n.ends_with("/config.xml") => Some("userGroupService"),
        n if n.starts_with("usergroup/") => Some("userRegistry"),
        n if n.starts_with("role/") && n.ends_with("/config.xml") => Some("roleService"),
        n if n.starts_with("role/") => Some("roleRegistry"),
        // An authentication provider's root names its kind (`usernamePassword`, …).
        _ => None,
    }
}

/// The security file objects of a catalog, in id order (a range of the id index, not a walk
/// of the catalog).
pub fn objects_of(cat: &crate::Catalog) -> Vec<&std::sync::Arc<Object>> {
    const PREFIX: &str = "security:";
    cat.objects_after(Some(PREFIX))
        .take_while(|o| o.id().starts_with(PREFIX))
        .filter(|o| o.kind == Kind::Security)
        .collect()
}

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

/// Whether the file `name` holds credentials (password digests, authentication keys; the
/// security configuration's remember-me key).
pub fn holds_digests(name: &str) -> bool {
    (name.starts_with("usergroup/") && !name.ends_with("/config.xml")) || name == "config.xml"
}

/// Check a security file object: one of [`is_file`], its id made from its name, a text of
/// bounded size that reads (XML files parse with the root their kind has; properties files
/// hold `key=value` lines).
pub fn check(o: &Object) -> Result<(), String> {
    let name = o.name();
    if !is_file(name) {
        return Err(format!(
            "'{name}' is not one of the security files ({}, or {{usergroup,role,auth}}/<service>/<file>)",
            TOP_FILES.join(", ")
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
        if let Some(want) = root_of(name) {
            if root.name.as_str() != want {
                return Err(format!(
                    "the security file {name} has the root <{}>, not <{want}>",
                    root.name
                ));
            }
        }
        // A service's configuration names itself.
        if name.ends_with("/config.xml") && name.contains('/') {
            let folder = name.split('/').nth(1).unwrap_or_default();
            if root.child_text("name").is_some_and(|n| n != folder) {
                return Err(format!(
                    "the security file {name} configures '{}', not '{folder}'",
                    root.child_text("name").unwrap_or_default()
                ));
            }
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
        assert!(check(&object("usergroup/../users.xml", "<userRegistry/>".into())).is_err());
        assert!(check(&object("usergroup/a/b/users.xml", "<userRegistry/>".into())).is_err());
        assert!(check(&object("usergroup/x/passwd", "<userRegistry/>".into())).is_err());
        assert!(check(&object("usergroup/x/users.xml", "<userRegistry/>".into())).is_ok());
        assert!(check(&object("usergroup/x/config.xml", "<roleService/>".into())).is_err());
        assert!(check(&object(
            "usergroup/x/config.xml",
            "<userGroupService><name>y</name></userGroupService>".into()
        ))
        .is_err());
        assert!(check(&object("role/x/roles.xml", "<roleRegistry/>".into())).is_ok());
        assert!(check(&object("layers.properties", "not a rule\n".into())).is_err());
        assert!(check(&object("usergroup/default/users.xml", "<nope/>".into())).is_err());
        assert!(check(&object(
            "usergroup/default/users.xml",
            "<userRegistry><users/></userRegistry>".into()
        ))
        .is_ok());
    }
}
