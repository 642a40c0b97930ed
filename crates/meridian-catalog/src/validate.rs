//! GeoServer's catalog rules, checked before a change is applied.

use crate::catalog::Catalog;
use crate::{check_name, Change, Kind, NameError, Object};

/// Why a change was refused. Nothing is applied when any change of a batch is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The object to modify or remove does not exist.
    #[error("{kind} '{id}' not found")]
    NotFound {
        /// Kind label.
        kind: &'static str,
        /// Id or name.
        id: String,
    },
    /// An object with the same name exists in the same scope.
    #[error("{kind} '{name}' already exists{scope}")]
    Duplicate {
        /// Kind label.
        kind: &'static str,
        /// The name.
        name: String,
        /// " in workspace 'x'" or empty.
        scope: String,
    },
    /// An object with this id already exists.
    #[error("an object with id '{0}' already exists")]
    DuplicateId(String),
    /// A reference does not resolve.
    #[error("{kind} '{name}' refers to {target} '{id}', which does not exist")]
    BadReference {
        /// Kind label of the referring object.
        kind: &'static str,
        /// Its name.
        name: String,
        /// What it should point at.
        target: &'static str,
        /// The missing id.
        id: String,
    },
    /// A required element is missing or empty.
    #[error("{kind} is missing required '{field}'")]
    Missing {
        /// Kind label.
        kind: &'static str,
        /// The element.
        field: &'static str,
    },
    /// The object is still referenced and cannot be removed.
    #[error("{kind} '{name}' is still referenced by {by_kind} '{by_name}'")]
    InUse {
        /// Kind label of the object.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Kind label of the referrer.
        by_kind: &'static str,
        /// Name of the referrer.
        by_name: String,
    },
    /// A name that cannot be used.
    #[error("invalid {kind} name: {source}")]
    BadName {
        /// Kind label.
        kind: &'static str,
        /// Why.
        source: NameError,
    },
    /// Any other rule.
    #[error("{0}")]
    Rule(String),
}

/// Check one change against the state it will be applied to.
pub(crate) fn check(cat: &Catalog, change: &Change) -> Result<(), ValidationError> {
    match change {
        Change::Add { object } => {
            if cat.get(object.id()).is_some() {
                return Err(ValidationError::DuplicateId(object.id().to_string()));
            }
            check_object(cat, object)
        }
        Change::Modify { object } => {
            match cat.get(object.id()) {
                Some(old) if old.kind == object.kind => {}
                _ => {
                    return Err(ValidationError::NotFound {
                        kind: object.kind.label(),
                        id: object.id().to_string(),
                    })
                }
            }
            check_object(cat, object)
        }
        Change::Remove { kind, id } => {
            let Some(o) = cat.get_kind(*kind, id) else {
                return Err(ValidationError::NotFound {
                    kind: kind.label(),
                    id: id.clone(),
                });
            };
            if matches!(kind, Kind::Global | Kind::Logging) {
                return Err(ValidationError::Rule(format!(
                    "{} cannot be removed",
                    kind.label()
                )));
            }
            if let Some(by) = cat.first_referrer(id) {
                return Err(ValidationError::InUse {
                    kind: kind.label(),
                    name: o.name().to_string(),
                    by_kind: by.kind.label(),
                    by_name: by.name().to_string(),
                });
            }
            Ok(())
        }
        Change::SetDefaultWorkspace { id } => match cat.get_kind(Kind::Workspace, id) {
            Some(_) => Ok(()),
            None => Err(ValidationError::NotFound {
                kind: "workspace",
                id: id.clone(),
            }),
        },
    }
}

fn check_object(cat: &Catalog, o: &Object) -> Result<(), ValidationError> {
    let kind = o.kind.label();
    if o.xml().name() != o.kind.root() && o.kind != Kind::Service {
        return Err(ValidationError::Rule(format!(
            "a {kind} must have root element <{}>, not <{}>",
            o.kind.root(),
            o.xml().name()
        )));
    }
    if o.id().is_empty() {
        return Err(ValidationError::Missing { kind, field: "id" });
    }
    let named = !matches!(
        o.kind,
        Kind::Settings | Kind::Service | Kind::Global | Kind::Logging | Kind::Layer
    );
    if o.kind == Kind::Security {
        return crate::security_files::check(o).map_err(ValidationError::Rule);
    }
    if o.kind == Kind::TileCache {
        return crate::gwc_files::check(o).map_err(ValidationError::Rule);
    }
    if named {
        if o.name().is_empty() {
            let field = if o.kind == Kind::Namespace {
                "prefix"
            } else {
                "name"
            };
            return Err(ValidationError::Missing { kind, field });
        }
        check_name(o.name()).map_err(|source| ValidationError::BadName { kind, source })?;
    }
    if o.kind == Kind::Style {
        // The body's file lives next to the style's configuration: a plain file name only.
        if let Some(file) = o.style_filename() {
            check_name(file).map_err(|source| ValidationError::BadName {
                kind: "style file",
                source,
            })?;
        }
    }
    if o.kind == Kind::Service {
        // The root element names the service's file (`wms.xml`).
        let root = o.xml().name();
        let plain = root
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && root
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !root.contains("..");
        if !plain {
            return Err(ValidationError::Rule(format!(
                "a service's root element must be a plain XML name (such as <wms>), not <{root}>"
            )));
        }
    }
    if o.kind == Kind::Workspace && o.name() == "default" {
        return Err(ValidationError::Rule(
            "'default' is reserved and cannot be a workspace name".into(),
        ));
    }
    if o.kind == Kind::Namespace {
        let Some(uri) = o.xml().child_text("uri") else {
            return Err(ValidationError::Missing { kind, field: "uri" });
        };
        check_uri(uri)?;
    }
    for which in ["nativeBoundingBox", "latLonBoundingBox", "bounds"] {
        if let Some(b) = o.xml().get(which) {
            check_box(o, which, b)?;
        }
    }
    if let Some(holder) = cat.name_holder(o) {
        if holder != o.id() {
            let scope = o
                .workspace()
                .or(o.ref_id("namespace"))
                .and_then(|w| cat.get(w))
                .map(|w| format!(" in workspace '{}'", w.name()))
                .unwrap_or_default();
            return Err(ValidationError::Duplicate {
                kind,
                name: o.name().to_string(),
                scope,
            });
        }
    }
    let need = |field: &'static str, target: Kind| -> Result<(), ValidationError> {
        let Some(id) = o.ref_id(field) else {
            return Err(ValidationError::Missing { kind, field });
        };
        resolve(cat, o, id, target)
    };
    let optional = |field: &'static str, target: Kind| -> Result<(), ValidationError> {
        match o.ref_id(field) {
            Some(id) => resolve(cat, o, id, target),
            None => Ok(()),
        }
    };
    match o.kind {
        k if k.is_store() => need("workspace", Kind::Workspace)?,
        k if k.is_resource() => {
            need("namespace", Kind::Namespace)?;
            let store_kind = match k {
                Kind::FeatureType => Kind::DataStore,
                Kind::Coverage => Kind::CoverageStore,
                Kind::WmsLayer => Kind::WmsStore,
                _ => Kind::WmtsStore,
            };
            need("store", store_kind)?;
        }
        Kind::Layer => {
            let Some(res) = o.ref_id("resource") else {
                return Err(ValidationError::Missing {
                    kind,
                    field: "resource",
                });
            };
            match cat.get(res) {
                Some(r) if r.kind.is_resource() => {}
                _ => return Err(bad_ref(o, "resource", res)),
            }
            if let Some(other) = cat.layer_of(res) {
                if other.id() != o.id() {
                    return Err(ValidationError::Rule(format!(
                        "resource '{res}' is already published by layer '{}'",
                        cat.layer_name(other)
                    )));
                }
            }
            for s in o.layer_styles() {
                resolve(cat, o, s, Kind::Style)?;
            }
        }
        Kind::LayerGroup => {
            optional("workspace", Kind::Workspace)?;
            let members = o.group_members();
            if members.is_empty() && o.ref_id("rootLayer").is_none() {
                return Err(ValidationError::Rule(format!(
                    "layer group '{}' has no layers",
                    o.name()
                )));
            }
            for m in &members {
                if m.id == o.id() {
                    return Err(ValidationError::Rule(format!(
                        "layer group '{}' cannot contain itself",
                        o.name()
                    )));
                }
                resolve(cat, o, &m.id, m.kind)?;
                if m.kind == Kind::LayerGroup && contains(cat, &m.id, o.id(), 0) {
                    return Err(ValidationError::Rule(format!(
                        "layer group '{}' would contain itself through '{}'",
                        o.name(),
                        cat.get(&m.id).map(|g| g.name()).unwrap_or("")
                    )));
                }
            }
            for s in o.group_styles() {
                resolve(cat, o, s, Kind::Style)?;
            }
            optional("rootLayer", Kind::Layer)?;
        }
        Kind::Style | Kind::Service => optional("workspace", Kind::Workspace)?,
        Kind::Settings => need("workspace", Kind::Workspace)?,
        _ => {}
    }
    Ok(())
}

/// A namespace URI as GeoServer takes it (`java.net.URI`): no spaces, quotes, angle brackets,
/// braces, pipes, backslashes, carets or backquotes.
fn check_uri(uri: &str) -> Result<(), ValidationError> {
    match uri
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "<>\"{}|\\^`".contains(*c))
    {
        Some(c) => Err(ValidationError::Rule(format!(
            "uri '{uri}' is not a valid URI: it contains {c:?}"
        ))),
        None => Ok(()),
    }
}

/// A bounding box has all four of minx, maxx, miny and maxy as numbers, or none of them.
fn check_box(o: &Object, which: &str, b: meridian_xml::Node<'_>) -> Result<(), ValidationError> {
    let values = ["minx", "maxx", "miny", "maxy"].map(|k| (k, b.child_text(k)));
    if values.iter().all(|(_, v)| v.is_none()) {
        return Ok(());
    }
    for (k, v) in values {
        let Some(v) = v else {
            return Err(ValidationError::Rule(format!(
                "{} '{}': {which} needs minx, maxx, miny and maxy; {k} is missing",
                o.kind.label(),
                o.name()
            )));
        };
        if v.parse::<f64>().is_err() {
            return Err(ValidationError::Rule(format!(
                "{} '{}': {which} {k} '{v}' is not a number",
                o.kind.label(),
                o.name()
            )));
        }
    }
    Ok(())
}

/// Whether group `id` contains `target`, directly or through nested groups.
fn contains(cat: &Catalog, id: &str, target: &str, depth: usize) -> bool {
    if depth > 64 {
        return true;
    }
    let Some(g) = cat.get_kind(Kind::LayerGroup, id) else {
        return false;
    };
    g.group_members().iter().any(|m| {
        m.id == target || (m.kind == Kind::LayerGroup && contains(cat, &m.id, target, depth + 1))
    })
}

fn resolve(cat: &Catalog, o: &Object, id: &str, target: Kind) -> Result<(), ValidationError> {
    match cat.get(id) {
        Some(t) if t.kind == target => Ok(()),
        _ => Err(bad_ref(o, target.label(), id)),
    }
}

fn bad_ref(o: &Object, target: &'static str, id: &str) -> ValidationError {
    ValidationError::BadReference {
        kind: o.kind.label(),
        name: o.name().to_string(),
        target,
        id: id.to_string(),
    }
}

/// Check every object of a catalog built from outside (a peer's snapshot) against the rules a
/// REST write passes: names, file names, references, duplicates.
pub fn check_catalog(cat: &Catalog) -> Result<(), ValidationError> {
    for o in cat.objects() {
        check_object(cat, o)?;
    }
    Ok(())
}
