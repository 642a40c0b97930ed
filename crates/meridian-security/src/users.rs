//! The default XML user/group service (`users.xml`) and role service (`roles.xml`).

use crate::password::verify_password;
use crate::SecurityError;
use meridian_xml::Element;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A (user, hash of stored and given password) pair known to be valid.
type VerifiedLogin = (String, [u8; 32]);

/// A user of the user/group service.
#[derive(Debug, Clone)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Stored password (`digest1:…`, `plain:…`).
    password: String,
    /// Whether the account is enabled.
    pub enabled: bool,
}

/// Users, groups and role assignments.
#[derive(Debug, Clone, Default)]
pub struct Realm {
    users: HashMap<String, User>,
    /// user → groups
    groups: HashMap<String, Vec<String>>,
    user_roles: HashMap<String, Vec<String>>,
    group_roles: HashMap<String, Vec<String>>,
    parents: HashMap<String, String>,
    /// Authentication keys (a user's `UUID` property, GeoServer's authkey module) → user.
    keys: HashMap<String, String>,
    admin_role: String,
    group_admin_role: String,
    /// Verified (user, hash of password) pairs, so the 100 000-round digest runs once per login.
    verified: Arc<Mutex<HashSet<VerifiedLogin>>>,
}

/// The XML of the security file `rel`, read by `read`.
pub(crate) fn read_xml(
    read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
    rel: &str,
) -> Result<Option<Element>, SecurityError> {
    let Some(text) = read(rel)? else {
        return Ok(None);
    };
    meridian_xml::parse(&text)
        .map(Some)
        .map_err(|e| SecurityError::File {
            path: format!("security/{rel}"),
            reason: e.to_string(),
        })
}

impl Realm {
    /// The realm from the security files `read` gives (by path under `security/`): the users
    /// and groups of the user/group services in force, the roles of the active role service.
    /// A user name two services hold is the first service's.
    pub fn read(
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
        services: &crate::services::InForce,
    ) -> Result<Self, SecurityError> {
        let mut r = Realm {
            admin_role: "ADMIN".into(),
            group_admin_role: "GROUP_ADMIN".into(),
            ..Default::default()
        };
        let role_service = &services.role_service;
        if let Some(cfg) = read_xml(read, &format!("role/{role_service}/config.xml"))? {
            if let Some(a) = cfg.child_text("adminRoleName") {
                r.admin_role = a.to_string();
            }
            if let Some(a) = cfg.child_text("groupAdminRoleName") {
                r.group_admin_role = a.to_string();
            }
        }
        for service in &services.user_group_services {
            r.read_users(read, service)?;
        }
        r.read_roles(read, role_service)?;
        Ok(r)
    }

    /// Add the users and groups of one user/group service.
    fn read_users(
        &mut self,
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
        service: &str,
    ) -> Result<(), SecurityError> {
        let r = self;
        let mut mine = std::collections::HashSet::new();
        if let Some(users) = read_xml(read, &crate::services::InForce::users_file(read, service)?)?
        {
            if let Some(list) = users.get("users") {
                for u in list.all("user") {
                    let Some(name) = u.attr_value("name") else {
                        continue;
                    };
                    // The name cluster peers act under is never a user's.
                    if name == crate::edit::RESERVED_USER || r.users.contains_key(name) {
                        continue;
                    }
                    mine.insert(name.to_string());
                    for p in u.all("property") {
                        if p.attr_value("name") == Some("UUID") {
                            if let Some(k) = p.text_trim().filter(|k| !k.is_empty()) {
                                r.keys.insert(k.to_string(), name.to_string());
                            }
                        }
                    }
                    r.users.insert(
                        name.to_string(),
                        User {
                            name: name.to_string(),
                            password: u.attr_value("password").unwrap_or("").to_string(),
                            enabled: u.attr_value("enabled") != Some("false"),
                        },
                    );
                }
            }
            if let Some(list) = users.get("groups") {
                for g in list.all("group") {
                    let Some(gname) = g.attr_value("name") else {
                        continue;
                    };
                    if g.attr_value("enabled") == Some("false") {
                        continue;
                    }
                    for m in g.all("member") {
                        if let Some(u) = m.attr_value("username").filter(|u| mine.contains(*u)) {
                            r.groups
                                .entry(u.to_string())
                                .or_default()
                                .push(gname.to_string());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Add the roles, their parents and assignments of the role service.
    fn read_roles(
        &mut self,
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
        service: &str,
    ) -> Result<(), SecurityError> {
        let r = self;
        if let Some(roles) = read_xml(read, &crate::services::InForce::roles_file(read, service)?)?
        {
            if let Some(list) = roles.get("roleList") {
                for role in list.all("role") {
                    if let (Some(id), Some(parent)) =
                        (role.attr_value("id"), role.attr_value("parentID"))
                    {
                        r.parents.insert(id.to_string(), parent.to_string());
                    }
                }
            }
            for (list, item, key, map) in [
                ("userList", "userRoles", "username", &mut r.user_roles),
                ("groupList", "groupRoles", "groupname", &mut r.group_roles),
            ] {
                if let Some(l) = roles.get(list) {
                    for e in l.all(item) {
                        let Some(who) = e.attr_value(key) else {
                            continue;
                        };
                        let v: Vec<String> = e
                            .all("roleRef")
                            .filter_map(|x| x.attr_value("roleID"))
                            .map(str::to_string)
                            .collect();
                        map.entry(who.to_string()).or_default().extend(v);
                    }
                }
            }
        }
        Ok(())
    }

    /// The enabled user of this name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name).filter(|u| u.enabled)
    }

    /// The enabled user an authentication key stands for: the user's `UUID` property, else
    /// `extra` (`authkeys.properties`: key → user name).
    pub fn user_of_key(&self, key: &str, extra: &HashMap<String, String>) -> Option<&User> {
        self.keys
            .get(key)
            .or_else(|| extra.get(key))
            .and_then(|name| self.user(name))
    }

    /// The enabled user whose password matches.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<&User> {
        let u = self.users.get(name).filter(|u| u.enabled)?;
        let key = (name.to_string(), {
            let mut h = Sha256::new();
            h.update(u.password.as_bytes());
            h.update([0]);
            h.update(password.as_bytes());
            h.finalize().into()
        });
        if let Ok(cache) = self.verified.lock() {
            if cache.contains(&key) {
                return Some(u);
            }
        }
        if verify_password(&u.password, password) {
            if let Ok(mut cache) = self.verified.lock() {
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(key);
            }
            Some(u)
        } else {
            None
        }
    }

    /// The users whose stored password needs GeoServer's keystore (`crypt1:`, `crypt2:`), by
    /// name.
    pub fn unreadable_passwords(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .users
            .values()
            .filter(|u| u.password.starts_with("crypt1:") || u.password.starts_with("crypt2:"))
            .map(|u| u.name.clone())
            .collect();
        v.sort();
        v
    }

    /// Whether `name` is a user the user/group services hold, disabled.
    pub fn is_disabled(&self, name: &str) -> bool {
        self.users.get(name).is_some_and(|u| !u.enabled)
    }

    /// All roles of the name `name`: direct, through its groups (a user of the user/group
    /// services), inherited parents, and the mapped `ROLE_ADMINISTRATOR` /
    /// `ROLE_GROUP_ADMIN`, plus `ROLE_AUTHENTICATED`. A disabled user has none.
    pub fn roles_of_name(&self, name: &str) -> Vec<String> {
        if self.is_disabled(name) {
            return Vec::new();
        }
        let mut roles: Vec<String> = self.user_roles.get(name).cloned().unwrap_or_default();
        for g in self.groups.get(name).into_iter().flatten() {
            roles.extend(self.group_roles.get(g).cloned().unwrap_or_default());
        }
        let mut i = 0;
        while i < roles.len() && i < 1000 {
            if let Some(p) = self.parents.get(&roles[i]) {
                if !roles.contains(p) {
                    roles.push(p.clone());
                }
            }
            i += 1;
        }
        if roles.contains(&self.admin_role) {
            roles.push("ROLE_ADMINISTRATOR".into());
        }
        if roles.contains(&self.group_admin_role) {
            roles.push("ROLE_GROUP_ADMIN".into());
        }
        roles.push("ROLE_AUTHENTICATED".into());
        roles
    }
}
