//! The security folder of a new data directory: user `admin` with password `geoserver`.

use crate::password::digest1;
use crate::SecurityError;
use std::path::Path;

/// Write GeoServer's default security files when `security/` has no user file:
/// `admin`/`geoserver` (as a `digest1:` hash) with role `ADMIN`, and REST rules that require
/// `ROLE_ADMINISTRATOR` for every call, and layer rules that let everyone read and
/// administrators write. Existing files are never overwritten.
pub fn write_defaults_if_missing(data_dir: &Path) -> Result<bool, SecurityError> {
    let sec = data_dir.join("security");
    if sec.join("usergroup/default/users.xml").exists() {
        return Ok(false);
    }
    let users = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<userRegistry version=\"1.0\" xmlns=\"http://www.geoserver.org/security/users\">\n    <users>\n        <user enabled=\"true\" name=\"admin\" password=\"{}\"/>\n    </users>\n    <groups/>\n</userRegistry>\n",
        digest1("geoserver")
    );
    let files: [(&str, String); 6] = [
        ("usergroup/default/users.xml", users),
        (
            "usergroup/default/config.xml",
            "<userGroupService>\n  <name>default</name>\n  <className>org.geoserver.security.xml.XMLUserGroupService</className>\n  <fileName>users.xml</fileName>\n  <checkInterval>10000</checkInterval>\n  <validating>true</validating>\n  <passwordEncoderName>digestPasswordEncoder</passwordEncoderName>\n  <passwordPolicyName>default</passwordPolicyName>\n</userGroupService>".into(),
        ),
        (
            "role/default/roles.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<roleRegistry version=\"1.0\" xmlns=\"http://www.geoserver.org/security/roles\">\n    <roleList>\n        <role id=\"ADMIN\"/>\n        <role id=\"GROUP_ADMIN\"/>\n    </roleList>\n    <userList>\n        <userRoles username=\"admin\">\n            <roleRef roleID=\"ADMIN\"/>\n        </userRoles>\n    </userList>\n    <groupList/>\n</roleRegistry>\n".into(),
        ),
        (
            "role/default/config.xml",
            "<roleService>\n  <name>default</name>\n  <className>org.geoserver.security.xml.XMLRoleService</className>\n  <fileName>roles.xml</fileName>\n  <checkInterval>10000</checkInterval>\n  <validating>true</validating>\n  <adminRoleName>ADMIN</adminRoleName>\n  <groupAdminRoleName>GROUP_ADMIN</groupAdminRoleName>\n</roleService>".into(),
        ),
        (
            "layers.properties",
            "# Layer access rules: workspace.layer.mode=ROLES (mode r, w or a; * for any).\n*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\nmode=HIDE\n".into(),
        ),
        (
            "rest.properties",
            "# REST access rules: antPattern;METHODS=ROLES. The first matching rule applies.\n/**;GET,HEAD,OPTIONS=ROLE_ADMINISTRATOR\n/**;POST,DELETE,PUT=ROLE_ADMINISTRATOR\n".into(),
        ),
    ];
    for (rel, text) in files {
        let p = sec.join(rel);
        if p.exists() {
            continue;
        }
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| SecurityError::File {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        // Owner-only: users.xml holds password digests.
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| SecurityError::File {
                path: p.display().to_string(),
                reason: e.to_string(),
            })?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use crate::{Access, Security};

    #[test]
    fn defaults_let_admin_in_and_keep_others_out() {
        let d = std::env::temp_dir().join(format!("meridian-sec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        assert!(super::write_defaults_if_missing(&d).unwrap());
        assert!(!super::write_defaults_if_missing(&d).unwrap());
        let s = Security::load(&d).unwrap();
        assert_eq!(
            s.check_rest("GET", "/rest/workspaces", Some(("admin", "geoserver"))),
            Access::Allowed(Some("admin".into()))
        );
        assert_eq!(
            s.check_rest("GET", "/rest/workspaces", Some(("admin", "x"))),
            Access::Unauthenticated
        );
        assert_eq!(
            s.check_rest("GET", "/rest/workspaces", None),
            Access::Unauthenticated
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
