//! `/rest/security/usergroupservices` and `/rest/security/roleservices`: the XML user/group
//! and role services, each a folder of `security/` (`usergroup/<name>/`, `role/<name>/`) with
//! its `config.xml` and its users or roles file, as GeoServer lays them out. Creating one adds
//! both files through the catalog (journaled, replicated); deleting one removes its files. The
//! `default` services and the services in force (named by an authentication provider, or the
//! active role service) are not deleted.

use super::security::{files, reader, service};
use crate::ctx::{method_not_allowed, Ctx};
use crate::error::{RestError, RestResult};
use crate::req::{Req, Resp};
use meridian_catalog::{security_files, Change, Kind};
use meridian_security::{is_service_name, InForce, DEFAULT_SERVICE};
use meridian_xml::Element;

/// What differs between the two kinds of service.
struct Folder {
    /// The folder under `security/`.
    folder: &'static str,
    /// The root of the service's `config.xml`.
    config_root: &'static str,
    /// GeoServer's class of the XML service, and of its configuration (REST's root).
    class: &'static str,
    config_class: &'static str,
    /// The list's root and items.
    list: &'static str,
    /// The data file a new service gets unless the body names one.
    default_file: &'static str,
    /// The settings kept beside name, class and file, with the values a new service gets.
    settings: &'static [(&'static str, &'static str)],
}

const USER_GROUP: Folder = Folder {
    folder: "usergroup",
    config_root: "userGroupService",
    class: "org.geoserver.security.xml.XMLUserGroupService",
    config_class: "org.geoserver.security.xml.XMLUserGroupServiceConfig",
    list: "userGroupServices",
    default_file: "users.xml",
    settings: &[
        ("checkInterval", "10000"),
        ("validating", "true"),
        // Meridian stores every password as a digest, whatever encoder is asked for.
        ("passwordEncoderName", "digestPasswordEncoder"),
        ("passwordPolicyName", "default"),
    ],
};

const ROLE: Folder = Folder {
    folder: "role",
    config_root: "roleService",
    class: "org.geoserver.security.xml.XMLRoleService",
    config_class: "org.geoserver.security.xml.XMLRoleServiceConfig",
    list: "roleServices",
    default_file: "roles.xml",
    settings: &[
        ("checkInterval", "10000"),
        ("validating", "true"),
        ("adminRoleName", "ADMIN"),
        ("groupAdminRoleName", "GROUP_ADMIN"),
    ],
};

/// `/usergroupservices[/{name}]` (`folder` `usergroup`) or `/roleservices[/{name}]` (`role`).
pub fn dispatch(c: &Ctx, req: &Req, folder: &str, rest: &[&str]) -> RestResult<Resp> {
    let f = if folder == "role" { &ROLE } else { &USER_GROUP };
    match (req.method.as_str(), rest) {
        ("GET", []) => Ok(list(c, req, f)),
        ("POST", []) => create(c, req, f, None),
        ("GET", [name]) => {
            let name = service(c, f.folder, name)?;
            Ok(render(req, &shown(c, f, name)))
        }
        ("PUT", [name]) => create(c, req, f, Some(name)),
        ("DELETE", [name]) => delete(c, f, name),
        _ => Err(method_not_allowed(req)),
    }
}

/// The services of a folder: `default`, and every one whose `config.xml` the catalog holds.
fn names(c: &Ctx, f: &Folder) -> Vec<String> {
    let prefix = format!("{}/", f.folder);
    let mut names: Vec<String> = security_files::objects_of(&c.cat)
        .into_iter()
        .filter_map(|o| {
            o.name()
                .strip_prefix(&prefix)?
                .strip_suffix("/config.xml")
                .map(str::to_string)
        })
        .collect();
    if !names.iter().any(|n| n == DEFAULT_SERVICE) {
        names.push(DEFAULT_SERVICE.into());
    }
    names.sort();
    names
}

fn list(c: &Ctx, req: &Req, f: &Folder) -> Resp {
    let mut e = Element::new(f.list);
    for n in names(c, f) {
        e.children.push(
            Element::new(f.config_root)
                .child(Element::with_text("name", n.clone()))
                .child(Element::with_text(
                    "href",
                    format!("{}/rest/security/{}services/{n}.xml", req.base, f.folder),
                )),
        );
    }
    render(req, &e)
}

/// A service's configuration as REST shows it: GeoServer's configuration class as the root,
/// with the name, class, file and settings of its `config.xml`.
fn shown(c: &Ctx, f: &Folder, name: &str) -> Element {
    let config = reader(&c.cat)(&format!("{}/{name}/config.xml", f.folder))
        .ok()
        .flatten()
        .and_then(|t| meridian_xml::parse(&t).ok());
    let get = |k: &str| {
        config
            .as_ref()
            .and_then(|x| x.child_text(k))
            .map(str::to_string)
    };
    let mut e = Element::new(f.config_class)
        .child(Element::with_text("name", name))
        .child(Element::with_text(
            "className",
            get("className").unwrap_or_else(|| f.class.into()),
        ))
        .child(Element::with_text(
            "fileName",
            get("fileName").unwrap_or_else(|| f.default_file.into()),
        ));
    for (k, v) in f.settings {
        e.children.push(Element::with_text(
            *k,
            get(k).unwrap_or_else(|| v.to_string()),
        ));
    }
    e
}

fn render(req: &Req, e: &Element) -> Resp {
    super::security::render(req, e, &[])
}

/// Create a service (POST, or PUT of one not there yet), or replace an existing service's
/// settings (PUT).
fn create(c: &Ctx, req: &Req, f: &Folder, path_name: Option<&str>) -> RestResult<Resp> {
    let body = req.body_element(f.config_class)?;
    if body.name.as_str() != f.config_class && body.name.as_str() != f.config_root {
        return Err(RestError::BadRequest(format!(
            "expected a <{}> body, got <{}>",
            f.config_class, body.name
        )));
    }
    let name = match (body.child_text("name").map(str::trim), path_name) {
        (Some(n), Some(p)) if n != p => {
            return Err(RestError::BadRequest(format!(
                "the body names the service '{n}', the path '{p}'"
            )))
        }
        (Some(n), _) => n.to_string(),
        (None, Some(p)) => p.to_string(),
        (None, None) => {
            return Err(RestError::BadRequest(format!(
                "a <{}> needs a <name>",
                f.config_class
            )))
        }
    };
    if !is_service_name(&name) {
        return Err(RestError::BadRequest(format!(
            "'{name}' cannot name a service: 1 to 64 letters, digits, '_', '-' or '.', not \
             starting with a dot"
        )));
    }
    if let Some(class) = body.child_text("className").map(str::trim) {
        if class != f.class {
            return Err(RestError::Unprocessable(format!(
                "Meridian keeps XML services ({}), not {class}",
                f.class
            )));
        }
    }
    let exists = service(c, f.folder, &name).is_ok()
        && c.cat
            .get_kind(
                Kind::Security,
                &security_files::id_of(&format!("{}/{name}/config.xml", f.folder)),
            )
            .is_some();
    if exists && path_name.is_none() {
        return Err(RestError::Conflict(format!(
            "the service '{name}' exists already; PUT it to change it"
        )));
    }
    let read = reader(&c.cat);
    let current_file = if exists {
        Some(
            if f.folder == "role" {
                InForce::roles_file(&read, &name)
            } else {
                InForce::users_file(&read, &name)
            }
            .map_err(|e| RestError::Internal(e.to_string()))?,
        )
    } else {
        None
    };
    let file = body
        .child_text("fileName")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| f.default_file.to_string());
    if !security_files::is_data_file_name(&file) {
        return Err(RestError::BadRequest(format!(
            "the fileName '{file}' is not a plain .xml file name (the file stays in \
             security/{}/{name}/)",
            f.folder
        )));
    }
    let file_path = format!("{}/{name}/{file}", f.folder);
    if current_file.as_ref().is_some_and(|cur| *cur != file_path) {
        return Err(RestError::Unprocessable(format!(
            "the file of the service '{name}' does not change (it is {})",
            current_file.unwrap_or_default()
        )));
    }
    // GeoServer's services carry an opaque id: the one they have, else a new one.
    let id = read(&format!("{}/{name}/config.xml", f.folder))
        .ok()
        .flatten()
        .and_then(|t| meridian_xml::parse(&t).ok())
        .and_then(|x| x.child_text("id").map(str::to_string))
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("meridian:{nanos:x}:{}", f.folder)
        });
    let mut config = Element::new(f.config_root)
        .child(Element::with_text("id", id))
        .child(Element::with_text("name", name.as_str()))
        .child(Element::with_text("className", f.class))
        .child(Element::with_text("fileName", file.as_str()));
    for (k, default) in f.settings {
        let v = if *k == "passwordEncoderName" {
            default.to_string()
        } else {
            body.child_text(k)
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| default.to_string())
        };
        config.children.push(Element::with_text(*k, v));
    }
    let mut changes = vec![];
    let config_name = format!("{}/{name}/config.xml", f.folder);
    let object = security_files::object(&config_name, config.to_xml());
    changes.push(Change::put(&c.cat, object));
    if !exists && read(&file_path).ok().flatten().is_none() {
        // An empty users or roles file, as the files editor writes it.
        let (ug, role) = if f.folder == "role" {
            (DEFAULT_SERVICE, name.as_str())
        } else {
            (name.as_str(), DEFAULT_SERVICE)
        };
        let empty = files(c, ug, role);
        let text = if f.folder == "role" {
            empty.empty_roles_text()
        } else {
            empty.empty_users_text()
        };
        changes.push(Change::Add {
            object: security_files::object(&file_path, text),
        });
    }
    c.apply(changes)?;
    Ok(if exists {
        Resp::ok()
    } else {
        Resp::created(
            &name,
            Some(format!(
                "{}/rest/security/{}services/{name}",
                req.base, f.folder
            )),
        )
    })
}

fn delete(c: &Ctx, f: &Folder, name: &str) -> RestResult<Resp> {
    let name = service(c, f.folder, name)?;
    if name == DEFAULT_SERVICE {
        return Err(RestError::Conflict(format!(
            "the default {} service is not deleted",
            if f.folder == "role" {
                "role"
            } else {
                "user/group"
            }
        )));
    }
    let forced = InForce::read(&reader(&c.cat)).map_err(|e| RestError::Internal(e.to_string()))?;
    if (f.folder == "role" && forced.role_service == name)
        || (f.folder == "usergroup" && forced.user_group_services.iter().any(|s| s == name))
    {
        return Err(RestError::Conflict(format!(
            "the service '{name}' is in force (security/config.xml or an authentication \
             provider names it); change that first"
        )));
    }
    let prefix = format!("{}/{name}/", f.folder);
    let changes: Vec<Change> = security_files::objects_of(&c.cat)
        .into_iter()
        .filter(|o| o.name().starts_with(&prefix))
        .map(|o| Change::Remove {
            kind: Kind::Security,
            id: o.id().to_string(),
        })
        .collect();
    c.apply(changes)?;
    Ok(Resp::ok())
}
