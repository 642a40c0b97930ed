//! What every handler shares: the catalog, the data directory, security, and small helpers.

use crate::error::{RestError, RestResult};
use crate::links::url_of;
use crate::listing::{Entries, Listing};
use crate::req::{Req, Resp};
use meridian_catalog::{Catalog, CatalogService, Change, Kind, Object};
use meridian_security::Security;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// Reloads catalog and security from disk (`/rest/reload`).
pub type Reloader =
    Box<dyn Fn() -> Result<(), Box<dyn std::error::Error + Send + Sync>> + Send + Sync>;

/// A family of REST endpoints provided by another crate (clustering), tried before the
/// built-in ones.
pub trait RestExtension: Send + Sync {
    /// Handle the request when it is this extension's; `None` passes it on.
    fn handle(&self, req: &Req) -> Option<RestResult<Resp>>;

    /// A request answered asynchronously, without holding a thread (a long poll), when it is
    /// this extension's; asked before [`RestExtension::handle`]. The default takes none.
    fn handle_async(&self, _req: &Req) -> Option<AsyncResp> {
        None
    }

    /// Whether a request carrying this peer token (header `X-Meridian-Token`) is a trusted
    /// peer and may skip Basic authentication.
    fn peer_allowed(&self, _method: &str, _path_and_query: &str, _token: &str) -> bool {
        false
    }

    /// The signature of an answer to a peer's request that carried `token` (response header
    /// `X-Meridian-Signature`), so the peer knows it comes from a holder of the secret. The
    /// body comes in chunks (a snapshot is never held whole).
    fn peer_answer_signature(
        &self,
        _token: &str,
        _body: &mut dyn Iterator<Item = Vec<u8>>,
    ) -> Option<String> {
        None
    }
}

/// The answer of [`RestExtension::handle_async`].
pub type AsyncResp =
    std::pin::Pin<Box<dyn std::future::Future<Output = RestResult<Resp>> + Send + 'static>>;

/// State shared by the REST API.
pub struct RestState {
    /// The catalog and its apply path.
    pub catalog: Arc<CatalogService>,
    /// The data directory (for uploads and store files).
    pub data_dir: PathBuf,
    /// Users, roles and rules.
    pub security: Arc<RwLock<Security>>,
    /// Reload from disk.
    pub reload: Reloader,
    /// Largest accepted configuration body (XML, JSON, styles).
    pub max_body: usize,
    /// Largest accepted data upload (`file.shp`, `file.gpkg`).
    pub max_upload: usize,
    /// What one upload may unpack to.
    pub upload_limits: crate::UploadLimits,
    /// Extensions (cluster endpoints).
    pub extensions: Vec<Arc<dyn RestExtension>>,
    /// Failed logins per client address.
    pub logins: Arc<crate::LoginThrottle>,
    /// Users named by a trusted proxy in a request header (off when `None`).
    pub proxy_auth: Option<crate::ProxyAuth>,
    /// Every layer in name order, shared by the listings of one catalog snapshot.
    pub layer_order: LayerOrder,
    /// Called when a large streamed answer has been written (the node hands the memory it
    /// used back to the system).
    pub after_large_answer: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// The catalog's layers sorted by name, made once per catalog snapshot and shared by the
/// listings that read it (concurrent listings of a large catalog then hold one order, not one
/// each).
#[derive(Default)]
pub struct LayerOrder(std::sync::Mutex<Option<Ordered>>);

/// A catalog snapshot and its layers in name order.
type Ordered = (Arc<Catalog>, Arc<[Arc<Object>]>);

impl LayerOrder {
    /// The layers of `cat` in name order.
    pub fn of(&self, cat: &Arc<Catalog>) -> Arc<[Arc<Object>]> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((c, order)) = &*kept {
            if Arc::ptr_eq(c, cat) {
                return order.clone();
            }
        }
        let order: Arc<[Arc<Object>]> = cat.layers_in(None).into_iter().cloned().collect();
        *kept = Some((cat.clone(), order.clone()));
        order
    }
}

/// The position (origin, sequence) of the last batch a request applied, kept in the request's
/// own state and answered in `X-Meridian-Position`.
pub(crate) type Position = std::cell::RefCell<Option<(String, u64)>>;

/// One request's view: the shared state and a catalog snapshot.
pub struct Ctx<'a> {
    /// Shared state.
    pub st: &'a RestState,
    /// The catalog as of the start of the request (or of [`Ctx::refreshed`]).
    pub cat: Arc<Catalog>,
    /// The request's position, shared by its refreshed views.
    position: &'a Position,
    /// What the caller may change when they are not the administrator (`None`: anything —
    /// the administrator, or a cluster peer).
    caller: Option<Arc<meridian_security::LayerAccess>>,
}

impl<'a> Ctx<'a> {
    /// A request's view of the current catalog, noting the batches it applies in `position`.
    pub(crate) fn new(st: &'a RestState, position: &'a Position) -> Ctx<'a> {
        Ctx {
            st,
            cat: st.catalog.snapshot(),
            position,
            caller: None,
        }
    }

    /// The view of a request made by `req`'s caller: one who is not the administrator
    /// changes only the workspaces they administer.
    pub(crate) fn for_request(st: &'a RestState, position: &'a Position, req: &Req) -> Ctx<'a> {
        Ctx {
            caller: readers_access(st, req).map(Arc::new),
            ..Ctx::new(st, position)
        }
    }

    /// The same view, allowed any change: for handlers that check the caller themselves (a
    /// user changing their own password).
    pub(crate) fn unrestricted(&self) -> Ctx<'a> {
        Ctx {
            st: self.st,
            cat: self.cat.clone(),
            position: self.position,
            caller: None,
        }
    }

    /// The same request's view of the catalog as it is now (after its own writes).
    pub fn refreshed(&self) -> Ctx<'a> {
        Ctx {
            caller: self.caller.clone(),
            ..Ctx::new(self.st, self.position)
        }
    }
}

impl Ctx<'_> {
    /// Whether a caller who is not the administrator may make `change`: only to objects of
    /// a workspace whose `ws.*.a` rule names one of their roles; never to workspaces,
    /// namespaces, global objects or the security files.
    fn may_change(&self, a: &meridian_security::LayerAccess, change: &Change) -> RestResult<()> {
        let who = a.user().unwrap_or("anonymous");
        let object = match change {
            Change::Add { object } | Change::Modify { object } => Some(object.clone()),
            Change::Remove { id, .. } => self.cat.get(id).map(|o| (**o).clone()),
            Change::SetDefaultWorkspace { .. } => None,
        };
        let refuse =
            |what: String| Err(RestError::Forbidden(format!("user '{who}' may not {what}")));
        let Some(o) = object else {
            return refuse("change the default workspace".into());
        };
        if matches!(
            o.kind,
            Kind::Workspace
                | Kind::Namespace
                | Kind::Global
                | Kind::Logging
                | Kind::Security
                | Kind::TileCache
        ) {
            return refuse(format!("change a {}", o.kind.label()));
        }
        let ws = self
            .cat
            .workspace_id_of(&o)
            .and_then(|id| self.cat.get(&id).map(|w| w.name().to_string()));
        // A store's files stay in its workspace's folders (as GeoServer's per-workspace
        // sandbox): a workspace administrator reads no other workspace's data through one.
        if let (true, Some(ws)) = (o.kind.is_store(), &ws) {
            let params = meridian_sources::StoreParams {
                params: o.connection_parameters(),
                store_type: o.xml().child_text("type").map(str::to_string),
                data_dir: self.st.data_dir.clone(),
                view: None,
            };
            let mut files = params.files();
            if let Some(url) = o.xml().child_text("url") {
                files.push(params.resolve_path(url));
            }
            let allowed = [
                self.st.data_dir.join("data").join(ws),
                self.st.data_dir.join("workspaces").join(ws),
            ];
            if let Some(f) = files.iter().find(|f| !allowed.iter().any(|a| inside(f, a))) {
                return refuse(format!(
                    "use {} in a store of workspace '{ws}' (its files stay under data/{ws})",
                    f.display()
                ));
            }
        }
        match ws {
            Some(ws) if a.can(&ws, "*", meridian_security::Mode::Admin) => Ok(()),
            Some(ws) => refuse(format!("administer workspace '{ws}'")),
            None => refuse(format!("change a global {}", o.kind.label())),
        }
    }

    /// Apply changes through the catalog's single apply path.
    pub fn apply(&self, changes: Vec<Change>) -> RestResult<()> {
        if let Some(a) = &self.caller {
            for c in &changes {
                self.may_change(a, c)?;
            }
        }
        if !changes.is_empty() {
            let applied = self.st.catalog.apply(changes)?;
            if let Some(p) = applied.provenance {
                *self.position.borrow_mut() = Some((p.origin, p.seq));
            }
        }
        Ok(())
    }

    /// A workspace by name; `default` is the default workspace.
    pub fn workspace(&self, req: &Req, name: &str) -> RestResult<Arc<Object>> {
        let found = if name == "default" {
            self.cat.default_workspace()
        } else {
            self.cat.find(Kind::Workspace, None, name)
        };
        found
            .cloned()
            .ok_or_else(|| not_found(req, format!("No such workspace: '{name}' found")))
    }

    /// The namespace of a workspace.
    pub fn namespace_of(&self, ws: &Object) -> RestResult<Arc<Object>> {
        self.cat.namespace_of(ws).cloned().ok_or_else(|| {
            RestError::Internal(format!("workspace '{}' has no namespace", ws.name()))
        })
    }

    /// Whether quietOnNotFound is set globally.
    pub fn quiet_global(&self) -> bool {
        self.cat
            .global()
            .and_then(|g| {
                g.xml()
                    .path(&["settings", "metadata", "map"])
                    .map(|m| m.to_element())
            })
            .is_some_and(|m| {
                m.all("entry").any(|e| {
                    e.children.first().and_then(|c| c.text_trim()) == Some("quietOnNotFound")
                        && e.children.get(1).and_then(|c| c.text_trim()) == Some("true")
                })
            })
    }
}

/// A 404, quiet when the request asks for it.
pub fn not_found(req: &Req, msg: String) -> RestError {
    if req.flag("quietOnNotFound") {
        RestError::QuietNotFound
    } else {
        RestError::NotFound(msg)
    }
}

/// A list response: `<root><item><name/><atom:link/></item>…</root>`, arrays forced in JSON,
/// written as it is produced ([`Listing`]). Entries are (name, URL without extension).
pub fn list(req: &Req, root: &str, item: &str, entries: Entries) -> Resp {
    Listing::new(req, root, item, entries).into_resp()
}

/// A list of catalog objects by name, linked to their own URLs, named from the request's
/// catalog snapshot as the answer is written.
pub fn list_objects(
    c: &Ctx,
    req: &Req,
    root: &str,
    item: &str,
    objects: Vec<&Arc<Object>>,
) -> Resp {
    let objects: Vec<Arc<Object>> = objects.into_iter().cloned().collect();
    let cat = c.cat.clone();
    let mut link_req = req.clone();
    link_req.body = Vec::new();
    let entries = objects
        .into_iter()
        .filter_map(move |o| Some((o.name().to_string(), url_of(&cat, &o, &link_req)?)));
    list(req, root, item, Box::new(entries))
}

/// 201 Created with the name as body and the object's URL as Location.
pub fn created(name: &str, location: String) -> Resp {
    Resp::created(name, Some(location))
}

/// The only methods a path accepts.
pub fn method_not_allowed(req: &Req) -> RestError {
    RestError::MethodNotAllowed(format!(
        "{} is not allowed on /rest/{}",
        req.method,
        req.segs.join("/")
    ))
}

/// What a REST caller who is not the administrator may read (`None`: the administrator, or
/// a cluster peer, who see everything).
pub fn readers_access(st: &RestState, req: &Req) -> Option<meridian_security::LayerAccess> {
    if req.peer {
        return None;
    }
    let access = match st.security.read() {
        Ok(s) => s.access_for(req.user.as_deref()),
        Err(_) => return None,
    };
    (!access.is_administrator()).then_some(access)
}

/// Whether `access` may read the layer, resource or layer group `l` (by its workspace and
/// name; a global group's workspace is "").
pub fn may_read(
    access: &meridian_security::LayerAccess,
    cat: &meridian_catalog::Catalog,
    l: &Object,
) -> bool {
    let ws = cat
        .workspace_id_of(l)
        .and_then(|id| cat.get(&id).map(|w| w.name().to_string()))
        .unwrap_or_default();
    let name = if l.kind == meridian_catalog::Kind::Layer {
        cat.layer_name(l)
    } else {
        l.name()
    };
    access.can(&ws, name, meridian_security::Mode::Read)
}

/// Whether `p` lies inside `base`: compared by components (`..` never climbs out), and, when
/// the file exists, by its real path (symbolic links followed).
fn inside(p: &std::path::Path, base: &std::path::Path) -> bool {
    use std::path::Component;
    let mut norm = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !norm.pop() {
                    return false;
                }
            }
            Component::CurDir => {}
            other => norm.push(other),
        }
    }
    if !norm.starts_with(base) {
        return false;
    }
    match (norm.canonicalize(), base.canonicalize()) {
        (Ok(real), Ok(real_base)) => real.starts_with(real_base),
        _ => true,
    }
}
