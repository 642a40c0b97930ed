//! Which user/group services authenticate and which role service gives roles, as GeoServer's
//! `security/config.xml` says (`roleServiceName`, `authProviderNames`) with each provider's
//! `auth/<provider>/config.xml` (`userGroupServiceName`). Without `config.xml` the services
//! named `default` are in force.

use crate::SecurityError;

/// The name of the user/group and role services every data directory has.
pub const DEFAULT: &str = "default";

/// Whether `name` can name a service or provider folder: 1 to 64 letters, digits, `_`, `-`
/// or `.`, not starting with a dot (the same test the catalog applies to security files).
pub fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The services in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InForce {
    /// The active role service.
    pub role_service: String,
    /// The user/group services that authenticate, in the order of their providers.
    pub user_group_services: Vec<String>,
}

impl Default for InForce {
    fn default() -> Self {
        InForce {
            role_service: DEFAULT.into(),
            user_group_services: vec![DEFAULT.into()],
        }
    }
}

impl InForce {
    /// The services `read`'s files name (by path under `security/`). Names that cannot be a
    /// folder's are ignored.
    pub fn read(
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
    ) -> Result<Self, SecurityError> {
        let Some(cfg) = crate::users::read_xml(read, "config.xml")? else {
            return Ok(InForce::default());
        };
        let role_service = cfg
            .child_text("roleServiceName")
            .map(str::trim)
            .filter(|n| is_service_name(n))
            .unwrap_or(DEFAULT)
            .to_string();
        let mut user_group_services = Vec::new();
        let providers: Vec<String> = cfg
            .get("authProviderNames")
            .map(|l| {
                l.all("string")
                    .filter_map(|s| s.text_trim().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| vec![DEFAULT.into()]);
        for p in providers.iter().filter(|p| is_service_name(p)) {
            let service = match crate::users::read_xml(read, &format!("auth/{p}/config.xml"))? {
                Some(x) => x
                    .child_text("userGroupServiceName")
                    .map(|s| s.trim().to_string()),
                // The stock provider, when its folder is missing.
                None => (p == DEFAULT).then(|| DEFAULT.to_string()),
            };
            if let Some(s) = service.filter(|s| is_service_name(s)) {
                if !user_group_services.contains(&s) {
                    user_group_services.push(s);
                }
            }
        }
        Ok(InForce {
            role_service,
            user_group_services,
        })
    }

    /// The users file of a user/group service: the `fileName` of its `config.xml`
    /// (`users.xml` when it names none, or a name that is not a plain file of the folder).
    pub fn users_file(
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
        service: &str,
    ) -> Result<String, SecurityError> {
        data_file(read, "usergroup", service, "users.xml")
    }

    /// The authentication keys file of a user/group service.
    pub fn keys_file(service: &str) -> String {
        format!("usergroup/{service}/authkeys.properties")
    }

    /// The roles file of a role service (as [`InForce::users_file`], `roles.xml` by default).
    pub fn roles_file(
        read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
        service: &str,
    ) -> Result<String, SecurityError> {
        data_file(read, "role", service, "roles.xml")
    }
}

/// Whether `file` can be an XML service's users or roles file: a plain `.xml` name in the
/// service's folder, not its `config.xml` (no path leaves the folder).
pub fn is_data_file_name(file: &str) -> bool {
    file != "config.xml" && file.ends_with(".xml") && is_service_name(file)
}

fn data_file(
    read: &dyn Fn(&str) -> Result<Option<String>, SecurityError>,
    folder: &str,
    service: &str,
    default: &str,
) -> Result<String, SecurityError> {
    let named = crate::users::read_xml(read, &format!("{folder}/{service}/config.xml"))?
        .and_then(|c| c.child_text("fileName").map(|f| f.trim().to_string()))
        .filter(|f| is_data_file_name(f));
    Ok(format!(
        "{folder}/{service}/{}",
        named.as_deref().unwrap_or(default)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_name_the_user_group_services_and_bad_names_are_ignored() {
        let files = |rel: &str| -> Result<Option<String>, SecurityError> {
            Ok(match rel {
                "config.xml" => Some(
                    "<security><roleServiceName>corp</roleServiceName><authProviderNames>\
                     <string>default</string><string>ldapish</string><string>../x</string>\
                     </authProviderNames></security>"
                        .into(),
                ),
                "auth/default/config.xml" => Some(
                    "<usernamePassword><userGroupServiceName>default</userGroupServiceName></usernamePassword>".into(),
                ),
                "auth/ldapish/config.xml" => Some(
                    "<usernamePassword><userGroupServiceName>staff</userGroupServiceName></usernamePassword>".into(),
                ),
                _ => None,
            })
        };
        let f = InForce::read(&files).unwrap();
        assert_eq!(f.role_service, "corp");
        assert_eq!(f.user_group_services, vec!["default", "staff"]);
        assert_eq!(InForce::read(&|_| Ok(None)).unwrap(), InForce::default());
    }
}
