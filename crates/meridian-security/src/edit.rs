//! Changing the security folder as GeoServer lays it out: users and groups in
//! `usergroup/default/users.xml`, roles and their assignments in `role/default/roles.xml`,
//! rules in `layers.properties`, `services.properties` and `rest.properties`. Every change
//! reads the file, edits it, and writes it back whole (beside it, then renamed over; readable
//! by the owner only: it holds password digests). Passwords are stored as `digest1:` digests
//! and never read back.

use crate::password::digest1;
use crate::SecurityError;
use meridian_xml::Element;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name a cluster peer's requests run under: no user may have it.
pub const RESERVED_USER: &str = "cluster-peer";

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// No such user, group, role or rule.
    #[error("{0}")]
    NotFound(String),
    /// It exists already.
    #[error("{0}")]
    Exists(String),
    /// A name or value that cannot be stored.
    #[error("{0}")]
    Invalid(String),
    /// The file could not be read or written.
    #[error(transparent)]
    File(#[from] SecurityError),
}

/// Reads a security file by its path under `security/` (`None`: no such file).
pub type ReadFile = Box<dyn Fn(&str) -> Result<Option<String>, SecurityError>>;

/// The security files being changed: read through a source (the catalog, or the folder),
/// changed in memory, then handed back ([`SecurityFiles::changed`]) to be applied, or saved
/// to the folder ([`SecurityFiles::save`]).
pub struct SecurityFiles {
    read: ReadFile,
    texts: std::cell::RefCell<std::collections::BTreeMap<String, Option<String>>>,
    changed: std::cell::RefCell<std::collections::BTreeSet<String>>,
    dir: Option<PathBuf>,
    /// The user/group service whose users and groups are changed.
    user_group: String,
    /// The role service whose roles are changed.
    role: String,
}

fn file_err(p: &Path, e: impl std::fmt::Display) -> SecurityError {
    SecurityError::File {
        path: p.display().to_string(),
        reason: e.to_string(),
    }
}

/// A user, group or role name that can be stored: not empty, at most 256 characters, no
/// control characters, and none of the separators of the files and of HTTP Basic (`:` `,`
/// `=`) nor spaces.
pub fn check_name(what: &str, name: &str) -> Result<(), EditError> {
    if name == RESERVED_USER {
        return Err(EditError::Invalid(format!(
            "'{name}' is the name cluster peers act under; choose another"
        )));
    }
    if name.is_empty() || name.chars().count() > 256 {
        return Err(EditError::Invalid(format!(
            "a {what} name has 1 to 256 characters"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || [':', ',', '=', '/', '\\'].contains(c))
    {
        return Err(EditError::Invalid(format!(
            "the {what} name '{}' holds '{}', which cannot be stored",
            name.escape_default(),
            c.escape_default()
        )));
    }
    Ok(())
}

/// A users file with no users or groups.
fn empty_users() -> Element {
    Element::new("userRegistry")
        .attr("version", "1.0")
        .attr("xmlns", "http://www.geoserver.org/security/users")
        .child(Element::new("users"))
        .child(Element::new("groups"))
}

/// A roles file with no roles.
fn empty_roles() -> Element {
    Element::new("roleRegistry")
        .attr("version", "1.0")
        .attr("xmlns", "http://www.geoserver.org/security/roles")
        .child(Element::new("roleList"))
        .child(Element::new("userList"))
        .child(Element::new("groupList"))
}

/// A security XML document as its file holds it.
fn xml_text(doc: &Element) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        doc.to_xml()
    )
}

impl SecurityFiles {
    /// The files `read` gives (by path under `security/`; `None`: no such file).
    pub fn over(read: ReadFile) -> Self {
        SecurityFiles {
            read,
            texts: Default::default(),
            changed: Default::default(),
            dir: None,
            user_group: crate::services::DEFAULT.into(),
            role: crate::services::DEFAULT.into(),
        }
    }

    /// Change the users and groups of the user/group service `user_group` and the roles of
    /// the role service `role` (both `default` unless said).
    pub fn for_services(mut self, user_group: &str, role: &str) -> Self {
        self.user_group = user_group.to_string();
        self.role = role.to_string();
        self
    }

    fn users_file(&self) -> Result<String, SecurityError> {
        self.users_file_of(&self.user_group)
    }

    fn users_file_of(&self, service: &str) -> Result<String, SecurityError> {
        crate::services::InForce::users_file(&|rel| self.text(rel), service)
    }

    fn roles_file(&self) -> Result<String, SecurityError> {
        crate::services::InForce::roles_file(&|rel| self.text(rel), &self.role)
    }

    /// The folder `security/` of `data_dir`, changed in place by [`SecurityFiles::save`].
    pub fn new(data_dir: &Path) -> SecurityFiles {
        let dir = data_dir.join("security");
        let from = dir.clone();
        SecurityFiles {
            dir: Some(dir),
            ..SecurityFiles::over(Box::new(move |rel| crate::read_file(&from.join(rel))))
        }
    }

    /// The text of a file as changed so far.
    fn text(&self, rel: &str) -> Result<Option<String>, SecurityError> {
        if let Some(t) = self.texts.borrow().get(rel) {
            return Ok(t.clone());
        }
        let t = (self.read)(rel)?;
        self.texts.borrow_mut().insert(rel.to_string(), t.clone());
        Ok(t)
    }

    fn read_xml(&self, rel: &str, empty: fn() -> Element) -> Result<Element, SecurityError> {
        match self.text(rel)? {
            Some(t) => meridian_xml::parse(&t).map_err(|e| file_err(Path::new(rel), e)),
            None => Ok(empty()),
        }
    }

    /// Change a file's text (kept in memory until applied or saved).
    fn write(&self, rel: &str, text: &str) -> Result<(), SecurityError> {
        self.texts
            .borrow_mut()
            .insert(rel.to_string(), Some(text.to_string()));
        self.changed.borrow_mut().insert(rel.to_string());
        Ok(())
    }

    /// The files changed, with their new text.
    pub fn changed(&self) -> Vec<(String, String)> {
        let texts = self.texts.borrow();
        self.changed
            .borrow()
            .iter()
            .filter_map(|rel| texts.get(rel).cloned().flatten().map(|t| (rel.clone(), t)))
            .collect()
    }

    /// Write the changed files to the folder (beside each, owner-only, then renamed over).
    pub fn save(&self) -> Result<(), SecurityError> {
        use std::os::unix::fs::OpenOptionsExt;
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        for (rel, text) in self.changed() {
            let p = dir.join(&rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| file_err(d, e))?;
            }
            let tmp = p.with_extension("meridian-new");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| file_err(&tmp, e))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| file_err(&tmp, e))?;
            std::fs::rename(&tmp, &p).map_err(|e| file_err(&p, e))?;
        }
        Ok(())
    }

    /// The text of a users file without users or groups (a new service's).
    pub fn empty_users_text(&self) -> String {
        xml_text(&empty_users())
    }

    /// The text of a roles file without roles (a new service's).
    pub fn empty_roles_text(&self) -> String {
        xml_text(&empty_roles())
    }

    fn users_doc(&self) -> Result<Element, SecurityError> {
        self.read_xml(&self.users_file()?, empty_users)
    }

    fn roles_doc(&self) -> Result<Element, SecurityError> {
        self.read_xml(&self.roles_file()?, empty_roles)
    }

    fn save_users(&self, doc: &Element) -> Result<(), SecurityError> {
        self.write(&self.users_file()?, &xml_text(doc))
    }

    fn save_roles(&self, doc: &Element) -> Result<(), SecurityError> {
        self.write(&self.roles_file()?, &xml_text(doc))
    }

    /// The list element `name` of a document, made when missing.
    fn list<'a>(doc: &'a mut Element, name: &str) -> &'a mut Element {
        if doc.get(name).is_none() {
            doc.children.push(Element::new(name));
        }
        match doc.children.iter().position(|c| c.name.as_str() == name) {
            Some(i) => &mut doc.children[i],
            None => unreachable!("the list was just added"),
        }
    }

    fn names(doc: &Element, list: &str, item: &str, attr: &str) -> Vec<String> {
        doc.get(list)
            .map(|l| {
                l.all(item)
                    .filter_map(|e| e.attr_value(attr).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Users: name and whether enabled.
    pub fn users(&self) -> Result<Vec<(String, bool)>, EditError> {
        let doc = self.users_doc()?;
        Ok(doc
            .get("users")
            .map(|l| {
                l.all("user")
                    .filter_map(|u| {
                        u.attr_value("name")
                            .map(|n| (n.to_string(), u.attr_value("enabled") != Some("false")))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Add a user (its password stored as a digest).
    pub fn add_user(&self, name: &str, password: &str, enabled: bool) -> Result<(), EditError> {
        check_name("user", name)?;
        if password.is_empty() {
            return Err(EditError::Invalid("a user needs a password".into()));
        }
        let mut doc = self.users_doc()?;
        if Self::names(&doc, "users", "user", "name")
            .iter()
            .any(|n| n == name)
        {
            return Err(EditError::Exists(format!("user '{name}' already exists")));
        }
        Self::list(&mut doc, "users").children.push(
            Element::new("user")
                .attr("enabled", enabled.to_string())
                .attr("name", name)
                .attr("password", digest1(password)),
        );
        Ok(self.save_users(&doc)?)
    }

    /// Change a user's password and/or enabled flag (its name never changes).
    pub fn modify_user(
        &self,
        name: &str,
        password: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<(), EditError> {
        if password == Some("") {
            return Err(EditError::Invalid("the new password is empty".into()));
        }
        let mut doc = self.users_doc()?;
        let users = Self::list(&mut doc, "users");
        let u = users
            .children
            .iter_mut()
            .find(|u| u.name.as_str() == "user" && u.attr_value("name") == Some(name))
            .ok_or_else(|| EditError::NotFound(format!("no user '{name}'")))?;
        if let Some(p) = password {
            u.set_attr("password", digest1(p));
        }
        if let Some(e) = enabled {
            u.set_attr("enabled", e.to_string());
        }
        Ok(self.save_users(&doc)?)
    }

    /// Remove a user, its group memberships and its roles.
    pub fn delete_user(&self, name: &str) -> Result<(), EditError> {
        let mut doc = self.users_doc()?;
        let users = Self::list(&mut doc, "users");
        let before = users.children.len();
        users
            .children
            .retain(|u| !(u.name.as_str() == "user" && u.attr_value("name") == Some(name)));
        if users.children.len() == before {
            return Err(EditError::NotFound(format!("no user '{name}'")));
        }
        for g in &mut Self::list(&mut doc, "groups").children {
            g.children
                .retain(|m| m.attr_value("username") != Some(name));
        }
        self.save_users(&doc)?;
        let mut roles = self.roles_doc()?;
        Self::list(&mut roles, "userList")
            .children
            .retain(|r| r.attr_value("username") != Some(name));
        Ok(self.save_roles(&roles)?)
    }

    /// Group names.
    pub fn groups(&self) -> Result<Vec<String>, EditError> {
        Ok(Self::names(&self.users_doc()?, "groups", "group", "name"))
    }

    /// Add a group.
    pub fn add_group(&self, name: &str) -> Result<(), EditError> {
        check_name("group", name)?;
        let mut doc = self.users_doc()?;
        if Self::names(&doc, "groups", "group", "name")
            .iter()
            .any(|n| n == name)
        {
            return Err(EditError::Exists(format!("group '{name}' already exists")));
        }
        Self::list(&mut doc, "groups").children.push(
            Element::new("group")
                .attr("enabled", "true")
                .attr("name", name),
        );
        Ok(self.save_users(&doc)?)
    }

    /// Remove a group and its roles.
    pub fn delete_group(&self, name: &str) -> Result<(), EditError> {
        let mut doc = self.users_doc()?;
        let groups = Self::list(&mut doc, "groups");
        let before = groups.children.len();
        groups
            .children
            .retain(|g| g.attr_value("name") != Some(name));
        if groups.children.len() == before {
            return Err(EditError::NotFound(format!("no group '{name}'")));
        }
        self.save_users(&doc)?;
        let mut roles = self.roles_doc()?;
        Self::list(&mut roles, "groupList")
            .children
            .retain(|r| r.attr_value("groupname") != Some(name));
        Ok(self.save_roles(&roles)?)
    }

    /// Put a user in a group (`join`) or take it out.
    pub fn membership(&self, user: &str, group: &str, join: bool) -> Result<(), EditError> {
        let mut doc = self.users_doc()?;
        if !Self::names(&doc, "users", "user", "name")
            .iter()
            .any(|n| n == user)
        {
            return Err(EditError::NotFound(format!("no user '{user}'")));
        }
        let g = Self::list(&mut doc, "groups")
            .children
            .iter_mut()
            .find(|g| g.attr_value("name") == Some(group))
            .ok_or_else(|| EditError::NotFound(format!("no group '{group}'")))?;
        let member = |m: &Element| m.attr_value("username") == Some(user);
        if join {
            if !g.children.iter().any(member) {
                g.children
                    .push(Element::new("member").attr("username", user));
            }
        } else {
            g.children.retain(|m| !member(m));
        }
        Ok(self.save_users(&doc)?)
    }

    /// The members of a group.
    pub fn users_of_group(&self, group: &str) -> Result<Vec<String>, EditError> {
        let doc = self.users_doc()?;
        let g = doc
            .get("groups")
            .and_then(|l| l.all("group").find(|g| g.attr_value("name") == Some(group)))
            .ok_or_else(|| EditError::NotFound(format!("no group '{group}'")))?;
        Ok(g.all("member")
            .filter_map(|m| m.attr_value("username").map(str::to_string))
            .collect())
    }

    /// The groups of a user.
    pub fn groups_of_user(&self, user: &str) -> Result<Vec<String>, EditError> {
        let doc = self.users_doc()?;
        if !Self::names(&doc, "users", "user", "name")
            .iter()
            .any(|n| n == user)
        {
            return Err(EditError::NotFound(format!("no user '{user}'")));
        }
        Ok(doc
            .get("groups")
            .map(|l| {
                l.all("group")
                    .filter(|g| {
                        g.all("member")
                            .any(|m| m.attr_value("username") == Some(user))
                    })
                    .filter_map(|g| g.attr_value("name").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Role names.
    pub fn roles(&self) -> Result<Vec<String>, EditError> {
        Ok(Self::names(&self.roles_doc()?, "roleList", "role", "id"))
    }

    /// Add a role.
    pub fn add_role(&self, role: &str) -> Result<(), EditError> {
        check_name("role", role)?;
        let mut doc = self.roles_doc()?;
        if Self::names(&doc, "roleList", "role", "id")
            .iter()
            .any(|n| n == role)
        {
            return Err(EditError::Exists(format!("role '{role}' already exists")));
        }
        Self::list(&mut doc, "roleList")
            .children
            .push(Element::new("role").attr("id", role));
        Ok(self.save_roles(&doc)?)
    }

    /// Remove a role and every assignment of it.
    pub fn delete_role(&self, role: &str) -> Result<(), EditError> {
        let mut doc = self.roles_doc()?;
        let list = Self::list(&mut doc, "roleList");
        let before = list.children.len();
        list.children.retain(|r| r.attr_value("id") != Some(role));
        if list.children.len() == before {
            return Err(EditError::NotFound(format!("no role '{role}'")));
        }
        for l in ["userList", "groupList"] {
            for holder in &mut Self::list(&mut doc, l).children {
                holder
                    .children
                    .retain(|r| r.attr_value("roleID") != Some(role));
            }
        }
        Ok(self.save_roles(&doc)?)
    }

    /// The roles given to a user (`group`: false) or a group directly.
    pub fn roles_of(&self, who: &str, group: bool) -> Result<Vec<String>, EditError> {
        let doc = self.roles_doc()?;
        let (list, item, key) = if group {
            ("groupList", "groupRoles", "groupname")
        } else {
            ("userList", "userRoles", "username")
        };
        Ok(doc
            .get(list)
            .and_then(|l| l.all(item).find(|e| e.attr_value(key) == Some(who)))
            .map(|e| {
                e.all("roleRef")
                    .filter_map(|r| r.attr_value("roleID").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Give a role to a user or group (`grant`), or take it back.
    pub fn assign(&self, role: &str, who: &str, group: bool, grant: bool) -> Result<(), EditError> {
        // As GeoServer: a role is given to a name, whichever service (or trusted proxy)
        // knows it.
        check_name(if group { "group" } else { "user" }, who)?;
        let mut doc = self.roles_doc()?;
        if !Self::names(&doc, "roleList", "role", "id")
            .iter()
            .any(|n| n == role)
        {
            return Err(EditError::NotFound(format!("no role '{role}'")));
        }
        let (list, item, key) = if group {
            ("groupList", "groupRoles", "groupname")
        } else {
            ("userList", "userRoles", "username")
        };
        let l = Self::list(&mut doc, list);
        let i = match l
            .children
            .iter()
            .position(|e| e.attr_value(key) == Some(who))
        {
            Some(i) => i,
            None => {
                l.children.push(Element::new(item).attr(key, who));
                l.children.len() - 1
            }
        };
        let holder = &mut l.children[i];
        let has = |r: &Element| r.attr_value("roleID") == Some(role);
        if grant {
            if !holder.children.iter().any(has) {
                holder
                    .children
                    .push(Element::new("roleRef").attr("roleID", role));
            }
        } else {
            holder.children.retain(|r| !has(r));
        }
        Ok(self.save_roles(&doc)?)
    }

    /// The rules of a properties file (`layers.properties`…), in file order, without comments
    /// and without the catalog mode.
    pub fn rules(&self, file: &str) -> Result<Vec<(String, String)>, EditError> {
        let text = self.text(file)?.unwrap_or_default();
        Ok(crate::properties::entries(&text)
            .filter(|(k, _)| *k != "mode")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// The catalog mode of `layers.properties` (HIDE when not set).
    pub fn catalog_mode(&self) -> Result<String, EditError> {
        let text = self.text("layers.properties")?.unwrap_or_default();
        Ok(crate::properties::entries(&text)
            .filter(|(k, _)| *k == "mode")
            .last()
            .map(|(_, m)| m.to_ascii_uppercase())
            .unwrap_or_else(|| "HIDE".into()))
    }

    /// Write a properties file's rules (and, for `layers.properties`, the catalog mode).
    pub fn set_rules(
        &self,
        file: &str,
        rules: &[(String, String)],
        mode: Option<&str>,
    ) -> Result<(), EditError> {
        let mut text = String::new();
        for (k, v) in rules {
            if k.chars().any(|c| c.is_control() || c == '=') || v.chars().any(char::is_control) {
                return Err(EditError::Invalid(format!(
                    "the rule '{}' cannot be stored",
                    k.escape_default()
                )));
            }
            text.push_str(&format!("{k}={v}\n"));
        }
        if let Some(m) = mode {
            text.push_str(&format!("mode={m}\n"));
        }
        Ok(self.write(file, &text)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Security;

    #[test]
    fn users_groups_and_roles_round_trip_through_geoservers_files() {
        let d = tempfile::tempdir().unwrap();
        crate::write_defaults_if_missing(d.path()).unwrap();
        let f = SecurityFiles::new(d.path());
        f.add_user("ann", "s3cret", true).unwrap();
        f.save().unwrap();
        assert!(matches!(
            f.add_user("ann", "x", true),
            Err(EditError::Exists(_))
        ));
        assert!(matches!(
            f.add_user("a:b", "x", true),
            Err(EditError::Invalid(_))
        ));
        f.add_group("editors").unwrap();
        f.membership("ann", "editors", true).unwrap();
        f.add_role("ROLE_EDIT").unwrap();
        f.assign("ROLE_EDIT", "editors", true, true).unwrap();
        assert_eq!(
            f.groups_of_user("ann").unwrap(),
            vec!["editors".to_string()]
        );
        assert_eq!(
            f.roles_of("editors", true).unwrap(),
            vec!["ROLE_EDIT".to_string()]
        );
        // The files read back as the running security: the user logs in, and holds the
        // group's role.
        let sec = Security::load(d.path()).unwrap();
        assert!(sec.authenticate("ann", "s3cret"));
        let users = std::fs::read_to_string(
            d.path()
                .join("security")
                .join("usergroup/default/users.xml"),
        )
        .unwrap();
        assert!(!users.contains("s3cret") && users.contains("digest1:"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(
            d.path()
                .join("security")
                .join("usergroup/default/users.xml"),
        )
        .unwrap()
        .permissions()
        .mode();
        assert_eq!(mode & 0o077, 0, "users.xml is the owner's only");
        f.modify_user("ann", Some("n3w"), Some(false)).unwrap();
        f.save().unwrap();
        assert!(
            !Security::load(d.path()).unwrap().authenticate("ann", "n3w"),
            "disabled"
        );
        f.delete_user("ann").unwrap();
        assert!(f.users_of_group("editors").unwrap().is_empty());
        f.delete_role("ROLE_EDIT").unwrap();
        assert!(f.roles_of("editors", true).unwrap().is_empty());
        f.set_rules(
            "layers.properties",
            &[("*.*.r".into(), "*".into())],
            Some("CHALLENGE"),
        )
        .unwrap();
        assert_eq!(f.rules("layers.properties").unwrap().len(), 1);
        assert_eq!(f.catalog_mode().unwrap(), "CHALLENGE");
    }
}
