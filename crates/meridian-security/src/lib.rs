//! GeoServer's security files: users and roles from the default XML user/group and role
//! services, password encodings (`digest1:`, `plain:`), REST access rules from
//! `security/rest.properties`, layer rules from `security/layers.properties` and service rules
//! from `security/services.properties`.

mod data_rules;
mod defaults;
mod edit;
mod password;
mod properties;
mod rules;
mod service_rules;
mod services;
mod tree_groups;
mod users;

pub use data_rules::{CatalogMode, DataRules, Mode};
pub use defaults::write_defaults_if_missing;
pub use edit::{check_name, EditError, SecurityFiles};
pub use password::{digest1, verify_password};
pub use rules::{RestRule, RestRules};
pub use service_rules::ServiceRules;
pub use services::{is_data_file_name, is_service_name, InForce, DEFAULT as DEFAULT_SERVICE};
pub use tree_groups::Containers;
pub use users::{Realm, User};

use std::path::Path;
use std::sync::Arc;

/// Errors reading the security folder.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The outcome of checking a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Allowed, as this user (None = anonymous).
    Allowed(Option<String>),
    /// No or wrong credentials: answer 401 with a Basic challenge.
    Unauthenticated,
    /// Authenticated but lacking the role: answer 403.
    Forbidden(String),
}

/// The text of a file, `None` when it does not exist.
pub fn read_file(p: &Path) -> Result<Option<String>, SecurityError> {
    match std::fs::read(p) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SecurityError::File {
            path: p.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Users, roles and REST rules of one data directory.
#[derive(Debug, Clone)]
pub struct Security {
    realm: Realm,
    /// `authkeys.properties`: authentication key → user name.
    keys: std::collections::HashMap<String, String>,
    rules: RestRules,
    data: Arc<DataRules>,
    services: Arc<ServiceRules>,
    in_force: InForce,
}

/// What one caller may do with layers and services: their roles and the rules, taken from
/// [`Security`] once per request.
#[derive(Debug, Clone)]
pub struct LayerAccess {
    user: Option<String>,
    roles: Vec<String>,
    data: Arc<DataRules>,
    services: Arc<ServiceRules>,
    /// The catalog's layer groups, when tree groups guard what they hold.
    containers: Option<Arc<dyn Containers>>,
}

impl LayerAccess {
    /// Everything allowed (tools and tests that stand for the administrator).
    pub fn administrator() -> Self {
        LayerAccess {
            user: None,
            roles: vec!["ROLE_ADMINISTRATOR".into()],
            data: Arc::default(),
            services: Arc::default(),
            containers: None,
        }
    }

    /// Let the tree groups of `containers` guard what they hold when reading.
    pub fn with_containers(mut self, containers: Arc<dyn Containers>) -> Self {
        self.containers = Some(containers);
        self
    }

    /// Whether the caller is the full administrator (every rule lets them through).
    pub fn is_administrator(&self) -> bool {
        self.roles.iter().any(|r| r == "ROLE_ADMINISTRATOR")
    }

    /// The caller's user name (`None`: anonymous).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether the caller may use `mode` on the layer or group `workspace:layer` (a global
    /// group's workspace is `""`); reading also asks the tree groups holding it, when known.
    pub fn can(&self, workspace: &str, layer: &str, mode: Mode) -> bool {
        match &self.containers {
            Some(c) if mode == Mode::Read && !self.is_administrator() && self.data.names_any() => {
                tree_groups::readable(&self.data, c.as_ref(), workspace, layer, &self.roles, 0)
            }
            _ => self.data.allows(workspace, layer, mode, &self.roles),
        }
    }

    /// What the caller sees of layers they may not read.
    pub fn catalog_mode(&self) -> CatalogMode {
        self.data.catalog_mode()
    }

    /// Whether the caller may call `service`'s `operation` (`services.properties`).
    pub fn may_call(&self, service: &str, operation: &str) -> bool {
        if self.roles.iter().any(|r| r == "ROLE_ADMINISTRATOR") {
            return true;
        }
        match self.services.required(service, operation) {
            None => true,
            Some(required) => required
                .iter()
                .any(|r| r == "*" || self.roles.iter().any(|have| have == r)),
        }
    }
}

impl Security {
    /// No users, GeoServer's default rules: nobody logs in, everyone reads, nobody writes.
    pub fn locked() -> Self {
        Security {
            realm: Realm::default(),
            keys: Default::default(),
            rules: RestRules::default_rules(),
            data: Arc::new(DataRules::default_rules()),
            services: Arc::default(),
            in_force: InForce::default(),
        }
    }

    /// Read `security/` under a data directory. Missing files fall back to GeoServer's defaults
    /// for the rules; a missing user file means nobody can log in.
    pub fn load(data_dir: &Path) -> Result<Self, SecurityError> {
        let sec = data_dir.join("security");
        Security::read(&|rel: &str| read_file(&sec.join(rel)))
    }

    /// The security the files `read` gives (by path under `security/`; `None`: no such file,
    /// GeoServer's defaults apply).
    pub fn read(
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
    ) -> Result<Self, SecurityError> {
        let services = InForce::read(read)?;
        let mut keys = std::collections::HashMap::new();
        for service in &services.user_group_services {
            if let Some(t) = read(&InForce::keys_file(service))? {
                for (k, u) in properties::entries(&t) {
                    if !k.is_empty() && !u.is_empty() {
                        keys.entry(k.to_string()).or_insert_with(|| u.to_string());
                    }
                }
            }
        }
        Ok(Security {
            realm: Realm::read(read, &services)?,
            in_force: services,
            keys,
            rules: read("rest.properties")?
                .map_or_else(RestRules::default_rules, |t| RestRules::parse(&t)),
            data: Arc::new(
                read("layers.properties")?
                    .map_or_else(DataRules::default_rules, |t| DataRules::parse(&t)),
            ),
            services: Arc::new(
                read("services.properties")?
                    .map(|t| ServiceRules::parse(&t))
                    .unwrap_or_default(),
            ),
        })
    }

    /// The user/group services that authenticate and the active role service.
    pub fn in_force(&self) -> &InForce {
        &self.in_force
    }

    /// Check a REST request: `path` is the path under the context (`/rest/workspaces`),
    /// `credentials` the decoded Basic user and password, if any.
    pub fn check_rest(
        &self,
        method: &str,
        path: &str,
        credentials: Option<(&str, &str)>,
    ) -> Access {
        let user = match credentials {
            Some((u, p)) => match self.realm.authenticate(u, p) {
                Some(user) => Some(user.name.clone()),
                None => return Access::Unauthenticated,
            },
            None => None,
        };
        self.check_rest_for(method, path, user.as_deref())
    }

    /// Who a request's Basic credentials name: `Ok(None)` for none (anonymous),
    /// `Ok(Some(user))` for a user whose password matches, `Err(())` for wrong credentials.
    #[allow(clippy::result_unit_err)]
    pub fn identify(&self, credentials: Option<(&str, &str)>) -> Result<Option<String>, ()> {
        match credentials {
            None => Ok(None),
            Some((u, p)) => self
                .realm
                .authenticate(u, p)
                .map(|user| Some(user.name.clone()))
                .ok_or(()),
        }
    }

    /// What `user` (None: anonymous) may do with layers and services. A disabled user has no
    /// roles; a name the user/group services do not hold (a user a trusted proxy named) has
    /// the roles the role service gives that name, as GeoServer's header authentication with
    /// the role service as the source of roles.
    pub fn access_for(&self, user: Option<&str>) -> LayerAccess {
        let roles = match user {
            Some(u) => self.realm.roles_of_name(u),
            None => vec!["ROLE_ANONYMOUS".to_string()],
        };
        LayerAccess {
            user: user.map(str::to_string),
            roles,
            data: self.data.clone(),
            services: self.services.clone(),
            containers: None,
        }
    }

    /// The user an authentication key (`authkey=`) stands for, if any.
    pub fn identify_key(&self, key: &str) -> Option<String> {
        self.realm
            .user_of_key(key, &self.keys)
            .map(|u| u.name.clone())
    }

    /// The users whose stored password is encrypted with GeoServer's keystore (`crypt1:`,
    /// `crypt2:`), which Meridian does not open: they cannot log in until it is set again.
    pub fn unreadable_passwords(&self) -> Vec<String> {
        self.realm.unreadable_passwords()
    }

    /// Whether `name` is an enabled user of the user/group services in force.
    pub fn knows(&self, name: &str) -> bool {
        self.realm.user(name).is_some()
    }

    /// Whether `name` and `password` are a user's (the web interface's login form).
    pub fn authenticate(&self, name: &str, password: &str) -> bool {
        self.realm.authenticate(name, password).is_some()
    }

    /// Check a REST request for a user already authenticated (by a signed session): the same
    /// rules as [`Security::check_rest`]. A user no longer known is unauthenticated.
    pub fn check_rest_as(&self, method: &str, path: &str, user: &str) -> Access {
        match self.realm.user(user) {
            Some(u) => self.check_rest_for(method, path, Some(&u.name)),
            None => Access::Unauthenticated,
        }
    }

    /// Check a REST request for a user a trusted proxy authenticated: known to the user/group
    /// services or not (then with the roles the role service gives the name), but never a
    /// disabled user.
    pub fn check_rest_proxied(&self, method: &str, path: &str, user: &str) -> Access {
        if self.realm.is_disabled(user) {
            return Access::Unauthenticated;
        }
        self.check_rest_for(method, path, Some(user))
    }

    fn check_rest_for(&self, method: &str, path: &str, user: Option<&str>) -> Access {
        let roles: Vec<String> = match user {
            Some(u) => self.realm.roles_of_name(u),
            None => vec!["ROLE_ANONYMOUS".to_string()],
        };
        match self.rules.required(method, path) {
            None => Access::Allowed(user.map(str::to_string)),
            Some(required) => {
                let ok = required.iter().any(|r| {
                    r == "IS_AUTHENTICATED_ANONYMOUSLY"
                        || r == "*"
                        || (r == "IS_AUTHENTICATED_FULLY" && user.is_some())
                        || roles.iter().any(|have| have == r)
                });
                match (ok, user) {
                    (true, _) => Access::Allowed(user.map(str::to_string)),
                    (false, None) => Access::Unauthenticated,
                    (false, Some(u)) => Access::Forbidden(format!(
                        "user '{u}' lacks the role required for {method} {path}"
                    )),
                }
            }
        }
    }
}
