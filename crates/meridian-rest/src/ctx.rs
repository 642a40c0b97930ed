//! What every handler shares: the catalog, the data directory, security, and small helpers.

use crate::error::{RestError, RestResult};
use crate::links::{atom_link, link_ext, url_of};
use crate::req::{render, Req, Resp};
use meridian_catalog::{Catalog, CatalogService, Change, Kind, Object};
use meridian_security::Security;
use meridian_xml::Element;
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
    /// `X-Meridian-Signature`), so the peer knows it comes from a holder of the secret.
    fn peer_answer_signature(&self, _token: &str, _body: &[u8]) -> Option<String> {
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
    pub logins: crate::LoginThrottle,
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
}

impl<'a> Ctx<'a> {
    /// A request's view of the current catalog, noting the batches it applies in `position`.
    pub(crate) fn new(st: &'a RestState, position: &'a Position) -> Ctx<'a> {
        Ctx {
            st,
            cat: st.catalog.snapshot(),
            position,
        }
    }

    /// The same request's view of the catalog as it is now (after its own writes).
    pub fn refreshed(&self) -> Ctx<'a> {
        Ctx::new(self.st, self.position)
    }
}

impl Ctx<'_> {
    /// Apply changes through the catalog's single apply path.
    pub fn apply(&self, changes: Vec<Change>) -> RestResult<()> {
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

/// A list response: `<root><item><name/><atom:link/></item>…</root>`, arrays forced in JSON.
/// Entries are (name, URL without extension).
pub fn list(req: &Req, root: &str, item: &str, entries: Vec<(String, String)>) -> Resp {
    let ext = link_ext(req);
    let mut e = Element::new(root);
    for (name, url) in entries {
        e.children.push(
            Element::new(item)
                .child(Element::with_text("name", name))
                .child(atom_link(format!("{url}{ext}"), true, req)),
        );
    }
    render(req, &e, &[root, item])
}

/// A list of catalog objects by name, linked to their own URLs.
pub fn list_objects(
    c: &Ctx,
    req: &Req,
    root: &str,
    item: &str,
    objects: Vec<&Arc<Object>>,
) -> Resp {
    let entries = objects
        .into_iter()
        .filter_map(|o| Some((o.name().to_string(), url_of(&c.cat, o, req)?)))
        .collect();
    list(req, root, item, entries)
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
