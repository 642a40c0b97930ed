//! `/rest/security`: users and groups of the default user/group service, roles and their
//! assignments, the access rules of `layers.properties`, `services.properties` and
//! `rest.properties`, the catalog mode, and a user's own password — in GeoServer's shapes,
//! XML or JSON. The files are catalog objects ([`meridian_catalog::security_files`]): a change
//! is edited as GeoServer's file text ([`meridian_security::SecurityFiles`]) and applied
//! through the catalog's one apply path, so it is journaled, replicated to every node and
//! written to the data directory; it takes effect at once. Passwords are never answered.

use crate::ctx::{method_not_allowed, Ctx};
use crate::error::{RestError, RestResult};
use crate::req::{Req, Resp};
use meridian_catalog::{security_files, Catalog, Change, Kind};
use meridian_security::{EditError, InForce, Security, SecurityFiles};
use meridian_xml::Element;
use std::sync::Arc;

impl From<EditError> for RestError {
    fn from(e: EditError) -> RestError {
        match e {
            // GeoServer answers unknown and duplicate names alike, with 404.
            EditError::NotFound(m) | EditError::Exists(m) => RestError::NotFound(m),
            EditError::Invalid(m) => RestError::BadRequest(m),
            EditError::File(e) => RestError::Internal(e.to_string()),
        }
    }
}

/// Reads the catalog's security files by path under `security/` (`None`: no such file).
pub(crate) fn reader(
    cat: &Catalog,
) -> impl Fn(&str) -> Result<Option<String>, meridian_security::SecurityError> + '_ {
    move |rel: &str| {
        Ok(if security_files::is_file(rel) {
            cat.get_kind(Kind::Security, &security_files::id_of(rel))
                .and_then(|o| o.body.clone())
        } else {
            None
        })
    }
}

/// The users, roles and rules of a catalog: its security file objects.
pub fn security_of(cat: &Catalog) -> Result<Security, meridian_security::SecurityError> {
    Security::read(&reader(cat))
}

/// Serializes this node's security edits: each reads the files, changes them and applies
/// them, with no other edit in between (another node's edits are caught by the check in
/// [`apply_files`]).
static EDITS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Apply the changed files through the catalog (journaled, replicated, persisted), then use
/// the new users and rules at once.
fn apply_files(c: &Ctx, f: &SecurityFiles) -> RestResult<()> {
    let changes: Vec<Change> = f
        .changed()
        .into_iter()
        .map(|(rel, text)| Change::put(&c.cat, security_files::object(&rel, text)))
        .collect();
    // Each file was edited from the text this request read: one changed since by another
    // request is not overwritten (the other change would be lost).
    let now = c.st.catalog.snapshot();
    for change in &changes {
        if let Change::Add { object } | Change::Modify { object } = change {
            let read = c.cat.get(object.id()).and_then(|o| o.body.clone());
            let current = now.get(object.id()).and_then(|o| o.body.clone());
            if read != current {
                return Err(RestError::Conflict(format!(
                    "the security file {} changed while this request ran; try again",
                    object.name()
                )));
            }
        }
    }
    // The node's users and rules follow the catalog (its listener rebuilds them).
    c.apply(changes)
}

/// Apply the changed files and answer 201 or 200.
fn done(c: &Ctx, f: &SecurityFiles, status: u16) -> RestResult<Resp> {
    apply_files(c, f)?;
    Ok(if status == 201 {
        Resp::created("", None)
    } else {
        Resp::ok()
    })
}

/// The security files as the catalog holds them now, to change the users and groups of the
/// user/group service `user_group` and the roles of the role service `role`.
pub(crate) fn files(c: &Ctx, user_group: &str, role: &str) -> SecurityFiles {
    let cat: Arc<Catalog> = c.cat.clone();
    SecurityFiles::over(Box::new(move |rel| reader(&cat)(rel))).for_services(user_group, role)
}

/// The services in force in the catalog (the active role service, the user/group services
/// that authenticate).
fn in_force(c: &Ctx) -> RestResult<InForce> {
    InForce::read(&reader(&c.cat)).map_err(|e| RestError::Internal(e.to_string()))
}

/// Render as GeoServer's security endpoints do: XML unless JSON is asked for by extension or
/// `Accept` (geoserver-rest reads their answers as XML without asking).
pub(crate) fn render(req: &Req, e: &Element, arrays: &[&str]) -> Resp {
    let json =
        req.ext.as_deref() == Some("json") || (req.ext.is_none() && req.accept.contains("json"));
    if json {
        crate::req::render(req, e, arrays)
    } else {
        let mut xml = req.clone();
        xml.ext = Some("xml".into());
        crate::req::render(&xml, e, arrays)
    }
}

/// A list `<outer><inner>name</inner>…</outer>`.
fn name_list(outer: &str, inner: &str, names: Vec<String>) -> Element {
    let mut e = Element::new(outer);
    for n in names {
        e.children.push(Element::with_text(inner, n));
    }
    e
}

/// A user/group (`folder` `usergroup`) or role (`role`) service that exists: `default`, or
/// one whose `config.xml` the catalog holds.
pub(crate) fn service<'s>(c: &Ctx, folder: &str, name: &'s str) -> RestResult<&'s str> {
    let config = security_files::id_of(&format!("{folder}/{name}/config.xml"));
    if name == meridian_security::DEFAULT_SERVICE
        || (security_files::is_service_name(name)
            && c.cat.get_kind(Kind::Security, &config).is_some())
    {
        Ok(name)
    } else {
        let what = if folder == "role" {
            "role"
        } else {
            "user/group"
        };
        Err(RestError::NotFound(format!("no {what} service '{name}'")))
    }
}

/// `/security/...`.
pub fn dispatch(c: &Ctx, req: &Req, rest: &[&str]) -> RestResult<Resp> {
    // One edit at a time on this node (reads run freely).
    let _edit = (req.method != "GET" && req.method != "HEAD")
        .then(|| EDITS.lock().unwrap_or_else(|p| p.into_inner()));
    let c = &c.refreshed();
    match rest {
        ["usergroup", "service", svc, more @ ..] => {
            let svc = service(c, "usergroup", svc)?;
            usergroup(c, req, more, svc)
        }
        ["usergroup", more @ ..] => usergroup(c, req, more, meridian_security::DEFAULT_SERVICE),
        ["roles", "service", svc, more @ ..] => {
            let svc = service(c, "role", svc)?;
            roles(c, req, more, svc)
        }
        ["roles", more @ ..] => roles(c, req, more, &in_force(c)?.role_service),
        ["usergroupservices", more @ ..] => {
            super::security_services::dispatch(c, req, "usergroup", more)
        }
        ["roleservices", more @ ..] => super::security_services::dispatch(c, req, "role", more),
        ["acl", "catalog"] => catalog_mode(c, req),
        ["acl", which] => acl(c, req, which, None),
        ["acl", which, rule] => acl(c, req, which, Some(rule)),
        ["self", "password"] => self_password(c, req),
        ["masterpw"] => master_password(req),
        _ => Err(RestError::NotFound(format!(
            "no such security resource: /rest/{}",
            req.segs.join("/")
        ))),
    }
}

fn usergroup(c: &Ctx, req: &Req, rest: &[&str], svc: &str) -> RestResult<Resp> {
    let f = files(c, svc, meridian_security::DEFAULT_SERVICE);
    let m = req.method.as_str();
    let done = |status: u16| done(c, &f, status);
    match (m, rest) {
        ("GET", ["users"]) => Ok(render(req, &users_element(f.users()?), &["user"])),
        ("POST", ["users"]) => {
            let body = req.body_as("user")?;
            let name = body
                .child_text("userName")
                .ok_or_else(|| RestError::BadRequest("a user needs a <userName>".into()))?;
            let password = body.child_text("password").unwrap_or("");
            let enabled = !body
                .child_text("enabled")
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("false"));
            f.add_user(name, password, enabled)?;
            done(201)
        }
        ("GET", ["user", u]) => {
            let found = f.users()?.into_iter().find(|(n, _)| n == u);
            let (n, enabled) =
                found.ok_or_else(|| RestError::NotFound(format!("no user '{u}'")))?;
            Ok(render(req, &user_element(n, enabled), &[]))
        }
        ("POST" | "PUT", ["user", u]) => {
            let body = req.body_as("user")?;
            // GeoServer keeps a user's name; say so rather than pretend it changed.
            if let Some(other) = body.child_text("userName").filter(|n| n != u) {
                return Err(RestError::BadRequest(format!(
                    "a user's name does not change ('{u}' to '{other}'); create a new user instead"
                )));
            }
            // `true`/`false` in any case (Python clients send `True`).
            let enabled = body
                .child_text("enabled")
                .map(|e| !e.trim().eq_ignore_ascii_case("false"));
            f.modify_user(u, body.child_text("password"), enabled)?;
            done(200)
        }
        ("DELETE", ["user", u]) => {
            f.delete_user(u)?;
            done(200)
        }
        ("GET", ["groups"]) => Ok(render(
            req,
            &name_list("groups", "group", f.groups()?),
            &["group"],
        )),
        ("POST", ["group", g]) => {
            f.add_group(g)?;
            done(201)
        }
        ("DELETE", ["group", g]) => {
            f.delete_group(g)?;
            done(200)
        }
        ("GET", ["group", g, "users"]) => {
            let members = f.users_of_group(g)?;
            let all = f.users()?;
            let list = all
                .into_iter()
                .filter(|(n, _)| members.contains(n))
                .collect();
            Ok(render(req, &users_element(list), &["user"]))
        }
        ("GET", ["user", u, "groups"]) => Ok(render(
            req,
            &name_list("groups", "group", f.groups_of_user(u)?),
            &["group"],
        )),
        ("POST", ["user", u, "group", g]) => {
            f.membership(u, g, true)?;
            done(200)
        }
        ("DELETE", ["user", u, "group", g]) => {
            f.membership(u, g, false)?;
            done(200)
        }
        _ => Err(method_not_allowed(req)),
    }
}

fn user_element(name: String, enabled: bool) -> Element {
    Element::new("user")
        .child(Element::with_text("userName", name))
        .child(Element::with_text("enabled", enabled.to_string()))
}

fn users_element(users: Vec<(String, bool)>) -> Element {
    let mut e = Element::new("users");
    for (n, enabled) in users {
        e.children.push(user_element(n, enabled));
    }
    e
}

fn roles(c: &Ctx, req: &Req, rest: &[&str], svc: &str) -> RestResult<Resp> {
    let f = files(c, meridian_security::DEFAULT_SERVICE, svc);
    let done = |status: u16| done(c, &f, status);
    let list = |names: Vec<String>| render(req, &name_list("roles", "role", names), &["role"]);
    match (req.method.as_str(), rest) {
        ("GET", []) => Ok(list(f.roles()?)),
        ("GET", ["user", u]) => Ok(list(f.roles_of(u, false)?)),
        ("GET", ["group", g]) => Ok(list(f.roles_of(g, true)?)),
        ("POST", ["role", r]) => {
            f.add_role(r)?;
            done(201)
        }
        ("DELETE", ["role", r]) => {
            f.delete_role(r)?;
            done(200)
        }
        ("POST" | "DELETE", ["role", r, kind @ ("user" | "group"), who]) => {
            f.assign(r, who, *kind == "group", req.method == "POST")?;
            done(200)
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// Which properties file an `/acl/{which}` names, and how its keys look.
fn acl_file(which: &str) -> RestResult<&'static str> {
    match which {
        "layers" => Ok("layers.properties"),
        "services" => Ok("services.properties"),
        "rest" => Ok("rest.properties"),
        other => Err(RestError::NotFound(format!("no access rules '{other}'"))),
    }
}

/// A rule key as REST shows it (`rest.properties`' `;` as `:`) and as the file holds it.
fn shown_key(which: &str, key: &str) -> String {
    if which == "rest" {
        key.replacen(';', ":", 1)
    } else {
        key.to_string()
    }
}

fn stored_key(which: &str, key: &str) -> RestResult<String> {
    let bad = || RestError::Unprocessable(format!("'{key}' is not a {which} rule"));
    match which {
        "layers" => {
            let parts: Vec<&str> = key.split('.').collect();
            match parts.as_slice() {
                // `*` workspaces take `*` layers; `a` is given per workspace.
                [ws, layer, mode @ ("r" | "w" | "a")]
                    if !ws.is_empty()
                        && !layer.is_empty()
                        && (*ws != "*" || *layer == "*")
                        && (*mode != "a" || *layer == "*") =>
                {
                    Ok(key.to_string())
                }
                // A global layer group's rule.
                [group, "r" | "w" | "a"] if !group.is_empty() && *group != "*" => {
                    Ok(key.to_string())
                }
                _ => Err(bad()),
            }
        }
        "services" => match key.split_once('.') {
            Some((s, o)) if !s.is_empty() && !o.is_empty() && !o.contains('.') => {
                Ok(key.to_string())
            }
            _ => Err(bad()),
        },
        _ => match key.rsplit_once(':') {
            Some((pattern, methods)) if pattern.starts_with('/') && !methods.is_empty() => {
                Ok(format!("{pattern};{methods}"))
            }
            _ => Err(bad()),
        },
    }
}

/// Roles as a rule holds them: split on commas and spaces; `*` absorbs the rest.
fn roles_value(v: &str) -> String {
    let roles: Vec<&str> = v
        .split([',', ' '])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if roles.contains(&"*") {
        "*".into()
    } else {
        roles.join(",")
    }
}

/// The rules of a request body: `<rules><rule resource="k">roles</rule></rules>` or JSON
/// `{"k": "roles"}`.
fn body_rules(req: &Req) -> RestResult<Vec<(String, String)>> {
    let ct = req.content_type.as_str();
    let json = ct.contains("json")
        || (!ct.contains("xml")
            && req.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
    if json {
        let v: serde_json::Value = serde_json::from_slice(&req.body)
            .map_err(|e| RestError::BadRequest(format!("the rules are not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| RestError::BadRequest("the rules are a JSON object".into()))?;
        return obj
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => Ok((k.clone(), s.to_string())),
                None => Err(RestError::BadRequest(format!(
                    "the roles of '{k}' are text"
                ))),
            })
            .collect();
    }
    let e = req.body_as("rules")?;
    Ok(e.children
        .iter()
        .filter(|r| r.name.as_str() == "rule")
        .map(|r| {
            (
                r.attr_value("resource").unwrap_or("").to_string(),
                r.text_trim().unwrap_or("").to_string(),
            )
        })
        .collect())
}

fn acl(c: &Ctx, req: &Req, which: &str, rule: Option<&str>) -> RestResult<Resp> {
    let file = acl_file(which)?;
    let f = files(c, "default", "default");
    let mode = (which == "layers").then(|| f.catalog_mode()).transpose()?;
    let mut rules = f.rules(file)?;
    match (req.method.as_str(), rule) {
        ("GET", None) => {
            let json = req.ext.as_deref() == Some("json")
                || (req.ext.is_none() && req.accept.contains("json"));
            if json {
                let map: serde_json::Map<String, serde_json::Value> = rules
                    .into_iter()
                    .map(|(k, v)| (shown_key(which, &k), serde_json::Value::String(v)))
                    .collect();
                return Ok(Resp {
                    status: 200,
                    content_type: "application/json".into(),
                    body: serde_json::Value::Object(map).to_string().into_bytes(),
                    location: None,
                    stream: None,
                });
            }
            let mut e = Element::new("rules");
            for (k, v) in rules {
                e.children
                    .push(Element::with_text("rule", v).attr("resource", shown_key(which, &k)));
            }
            Ok(render(req, &e, &[]))
        }
        ("POST" | "PUT", None) => {
            let given = body_rules(req)?;
            let mut keyed = Vec::new();
            for (k, v) in given {
                keyed.push((stored_key(which, &k)?, roles_value(&v)));
            }
            // All or nothing: a POST adds only new keys, a PUT changes only existing ones.
            for (k, _) in &keyed {
                let exists = rules.iter().any(|(have, _)| have == k);
                if req.method == "POST" && exists {
                    return Err(RestError::Conflict(format!(
                        "the rule {} already exists",
                        shown_key(which, k)
                    )));
                }
                if req.method == "PUT" && !exists {
                    return Err(RestError::Conflict(format!(
                        "there is no rule {}",
                        shown_key(which, k)
                    )));
                }
            }
            for (k, v) in keyed {
                match rules.iter_mut().find(|(have, _)| *have == k) {
                    Some(slot) => slot.1 = v,
                    None => rules.push((k, v)),
                }
            }
            f.set_rules(file, &rules, mode.as_deref())?;
            apply_files(c, &f)?;
            Ok(Resp::ok())
        }
        ("DELETE", Some(r)) => {
            let k = stored_key(which, r)?;
            let before = rules.len();
            rules.retain(|(have, _)| *have != k);
            if rules.len() == before {
                return Err(RestError::NotFound(format!("there is no rule {r}")));
            }
            f.set_rules(file, &rules, mode.as_deref())?;
            apply_files(c, &f)?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

fn catalog_mode(c: &Ctx, req: &Req) -> RestResult<Resp> {
    let f = files(c, "default", "default");
    match req.method.as_str() {
        "GET" => Ok(render(
            req,
            &Element::new("catalog").child(Element::with_text("mode", f.catalog_mode()?)),
            &[],
        )),
        "PUT" => {
            let e = req.body_as("catalog")?;
            let mode = e
                .child_text("mode")
                .ok_or_else(|| RestError::NotFound("the catalog needs a <mode>".into()))?
                .to_ascii_uppercase();
            if !["HIDE", "MIXED", "CHALLENGE"].contains(&mode.as_str()) {
                return Err(RestError::Unprocessable(format!(
                    "the catalog mode is HIDE, MIXED or CHALLENGE, not '{mode}'"
                )));
            }
            let rules = f.rules("layers.properties")?;
            f.set_rules("layers.properties", &rules, Some(&mode))?;
            apply_files(c, &f)?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}

fn self_password(c: &Ctx, req: &Req) -> RestResult<Resp> {
    if req.method != "PUT" {
        return Err(method_not_allowed(req));
    }
    let user = req.user.as_deref().ok_or_else(|| {
        RestError::BadRequest("only a logged-in user changes their password".into())
    })?;
    let e = req.body_as("userPassword")?;
    let new = e.child_text("newPassword").unwrap_or("");
    if new.trim().is_empty() {
        return Err(RestError::BadRequest("the new password is empty".into()));
    }
    // The user's own service: the first of those that authenticate that holds them.
    let forced = in_force(c)?;
    let mut found = None;
    for svc in &forced.user_group_services {
        let f = files(c, svc, &forced.role_service);
        if f.users()?.iter().any(|(n, _)| n == user) {
            found = Some(f);
            break;
        }
    }
    let f = found.ok_or_else(|| RestError::NotFound(format!("no user '{user}'")))?;
    f.modify_user(user, Some(new), None)?;
    // Any logged-in user changes their own password (and only theirs: `user` is the caller).
    apply_files(&c.unrestricted(), &f)?;
    Ok(Resp::ok())
}

/// `/masterpw`. GeoServer keeps a master password that unlocks its keystore, and shows it to
/// administrators. Meridian has no keystore: store passwords are sealed with the cluster's
/// secret. The answer keeps GeoServer's shape with the value masked (no secret is answered
/// in clear), and a change is refused with the reason.
fn master_password(req: &Req) -> RestResult<Resp> {
    match req.method.as_str() {
        "GET" => Ok(render(
            req,
            &Element::new("masterPassword").child(Element::with_text(
                "oldMasterPassword",
                meridian_catalog::secrets::MASK,
            )),
            &[],
        )),
        "PUT" => Err(RestError::Unprocessable(
            "Meridian keeps no master password: there is no keystore to unlock, and store \
             passwords are sealed with the cluster's secret (rotate that instead)"
                .into(),
        )),
        _ => Err(method_not_allowed(req)),
    }
}
