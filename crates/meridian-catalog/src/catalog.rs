//! The in-memory catalog state and its queries.

use crate::referrers::Referrers;
use crate::{Id, Kind, Object};
use meridian_xml::Text;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The scope a name must be unique in.
/// (name scope, workspace id or empty, name); the workspace id is shared with the object map.
pub(crate) type NameKey = (&'static str, Id, Text);

/// How one object differs between two catalogs (see [`Catalog::changed_objects`]).
#[derive(Debug)]
pub enum ObjectDiff<'a> {
    /// Only in the newer catalog.
    Added(&'a Arc<Object>),
    /// Only in the older catalog.
    Removed(&'a Arc<Object>),
    /// In both, with different content.
    Replaced {
        /// The older state.
        old: &'a Arc<Object>,
        /// The newer state.
        new: &'a Arc<Object>,
    },
}

/// The catalog: every object by id, a name index, and the default workspace.
/// The maps are persistent (structure-sharing), so cloning the catalog to validate a batch on
/// a working copy costs the same for ten objects as for a million.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    objects: imbl::OrdMap<Id, Arc<Object>>,
    by_name: imbl::OrdMap<NameKey, Id>,
    /// Who references an id: target id → ids of the objects whose references name it.
    referrers: Referrers,
    default_workspace: Option<String>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Build a catalog from objects read from disk. Objects are indexed as given; use
    /// [`Catalog::dangling_references`] to report what does not resolve.
    pub fn from_loaded(objects: Vec<Object>, default_workspace: Option<String>) -> Self {
        let mut c = Catalog::new();
        c.put_all(objects);
        c.default_workspace =
            default_workspace.filter(|id| c.get_kind(Kind::Workspace, id).is_some());
        c
    }

    /// References that point at no object: (object id, missing id), sorted. Checked on all
    /// cores (it runs over every object at load).
    pub fn dangling_references(&self) -> Vec<(String, String)> {
        use rayon::prelude::*;
        let all: Vec<&Arc<Object>> = self.objects.values().collect();
        let mut v: Vec<(String, String)> = all
            .par_iter()
            .flat_map_iter(|o| {
                o.references()
                    .into_iter()
                    .filter(|r| !self.objects.contains_key(*r))
                    .map(|r| (o.id().to_string(), r.to_string()))
            })
            .collect();
        v.sort();
        v
    }

    /// Object by id.
    pub fn get(&self, id: &str) -> Option<&Arc<Object>> {
        self.objects.get(id)
    }

    /// Object by id, only when it is of this kind.
    pub fn get_kind(&self, kind: Kind, id: &str) -> Option<&Arc<Object>> {
        self.objects.get(id).filter(|o| o.kind == kind)
    }

    /// Number of objects of a kind.
    pub fn count(&self, kind: Kind) -> usize {
        self.objects.values().filter(|o| o.kind == kind).count()
    }

    /// All objects, any order.
    pub fn objects(&self) -> impl Iterator<Item = &Arc<Object>> {
        self.objects.values()
    }

    /// The objects in id order after the one with id `after` (from the first when `None`):
    /// a cursor that holds nothing but the last id between calls.
    pub fn objects_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        use std::ops::Bound;
        let from: Bound<Id> = match after {
            Some(id) => Bound::Excluded(Id::from(id)),
            None => Bound::Unbounded,
        };
        self.objects.range((from, Bound::Unbounded)).map(|(_, o)| o)
    }

    /// The objects that differ from `before` to this catalog, by id. The parts both share are
    /// skipped, so for a catalog derived from `before` by a few changes this costs
    /// O(changes × log n), not a walk of the whole catalog.
    pub fn changed_objects<'a>(
        &'a self,
        before: &'a Catalog,
    ) -> impl Iterator<Item = ObjectDiff<'a>> {
        before.objects.diff(&self.objects).map(|d| match d {
            imbl::ordmap::DiffItem::Add(_, o) => ObjectDiff::Added(o),
            imbl::ordmap::DiffItem::Remove(_, o) => ObjectDiff::Removed(o),
            imbl::ordmap::DiffItem::Update {
                old: (_, old),
                new: (_, new),
            } => ObjectDiff::Replaced { old, new },
        })
    }

    /// Objects of a kind, sorted by name.
    pub fn list(&self, kind: Kind) -> Vec<&Arc<Object>> {
        let mut v: Vec<&Arc<Object>> = self.objects.values().filter(|o| o.kind == kind).collect();
        // Names are read from packed XML: once per object, not once per comparison.
        v.sort_by_cached_key(|o| (o.name(), o.id()));
        v
    }

    /// The id of the default workspace.
    pub fn default_workspace(&self) -> Option<&Arc<Object>> {
        self.default_workspace
            .as_deref()
            .and_then(|id| self.get_kind(Kind::Workspace, id))
    }

    pub(crate) fn set_default_workspace_id(&mut self, id: Option<String>) {
        self.default_workspace = id;
    }

    /// Make the alphabetically first workspace the default when none is (GeoServer's rule
    /// for a data directory without `workspaces/default.xml`).
    pub fn default_to_first_workspace(&mut self) {
        if self.default_workspace().is_none() {
            self.default_workspace = self
                .list(Kind::Workspace)
                .first()
                .map(|o| o.id().to_string());
        }
    }

    /// The namespace paired with a workspace (same prefix as the workspace name).
    pub fn namespace_of(&self, ws: &Object) -> Option<&Arc<Object>> {
        self.find(Kind::Namespace, None, ws.name())
    }

    /// The workspace paired with a namespace.
    pub fn workspace_of_namespace(&self, ns: &Object) -> Option<&Arc<Object>> {
        self.find(Kind::Workspace, None, ns.name())
    }

    /// The workspace an object lives in: its own reference, or through its store / resource /
    /// namespace for resources and layers.
    pub fn workspace_id_of(&self, o: &Object) -> Option<String> {
        match o.kind {
            Kind::Workspace => Some(o.id().to_string()),
            Kind::Namespace => self.workspace_of_namespace(o).map(|w| w.id().to_string()),
            k if k.is_resource() => {
                let store = self.get(o.ref_id("store")?)?;
                store.workspace().map(str::to_string)
            }
            Kind::Layer => {
                let res = self.get(o.ref_id("resource")?)?;
                self.workspace_id_of(res)
            }
            _ => o.workspace().map(str::to_string),
        }
    }

    /// The name of a layer: its `<name>`, or its resource's name.
    pub fn layer_name<'a>(&'a self, layer: &'a Object) -> &'a str {
        match layer.xml().child_text("name") {
            Some(n) => n,
            None => layer
                .ref_id("resource")
                .and_then(|r| self.get(r))
                .map(|r| r.name())
                .unwrap_or(""),
        }
    }

    /// The key an object's name must be unique under.
    pub(crate) fn name_key(&self, o: &Object) -> NameKey {
        let (ws, name) = match o.kind {
            Kind::Workspace | Kind::Namespace => (None, o.name()),
            k if k.is_resource() => (o.ref_id("namespace"), o.name()),
            Kind::Layer => {
                let ws = self.workspace_id_of(o).unwrap_or_default();
                return (
                    o.kind.name_scope(),
                    self.shared(&ws),
                    self.layer_name(o).into(),
                );
            }
            Kind::Settings => (o.workspace(), ""),
            Kind::Service => (o.workspace(), o.xml().name()),
            Kind::Global | Kind::Logging => (None, ""),
            Kind::Security | Kind::TileCache => (None, o.name()),
            _ => (o.workspace(), o.name()),
        };
        (
            o.kind.name_scope(),
            self.shared(ws.unwrap_or_default()),
            name.into(),
        )
    }

    /// The object map's copy of an id (no new allocation when the object exists).
    fn shared(&self, id: &str) -> Id {
        if id.is_empty() {
            // The global scope: no object has the empty id, so no lookup.
            static EMPTY: std::sync::OnceLock<Id> = std::sync::OnceLock::new();
            return EMPTY.get_or_init(|| Id::from("")).clone();
        }
        match self.objects.get_key_value(id) {
            Some((k, _)) => k.clone(),
            None => Id::from(id),
        }
    }

    /// Look an object up by kind, workspace id (None = global scope) and name.
    /// For stores any store kind matches, and for resources any resource kind.
    pub fn find(&self, kind: Kind, ws: Option<&str>, name: &str) -> Option<&Arc<Object>> {
        let scope = kind.name_scope();
        let key = (scope, self.shared(ws.unwrap_or("")), Text::from(name));
        let id = self.by_name.get(&key)?;
        let o = self.objects.get(id)?;
        let kind_ok = o.kind == kind
            || (kind.is_store() && o.kind.is_store())
            || (kind.is_resource() && o.kind.is_resource());
        kind_ok.then_some(o)
    }

    /// A resource by namespace id and name.
    pub fn find_resource(&self, ns: &str, name: &str) -> Option<&Arc<Object>> {
        self.find(Kind::FeatureType, Some(ns), name)
    }

    /// Objects of `kind` whose reference `field` points at `id`.
    pub fn referencing<'a>(
        &'a self,
        kind: Kind,
        field: &'a str,
        id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.referrers_of(id)
            .filter(move |o| o.kind == kind && o.ref_id(field) == Some(id))
    }

    /// Stores in a workspace, sorted by name.
    pub fn stores_in(&self, ws: &str, kind: Kind) -> Vec<&Arc<Object>> {
        let mut v: Vec<&Arc<Object>> = self
            .referrers_of(ws)
            .filter(|o| o.kind == kind && o.workspace() == Some(ws))
            .collect();
        v.sort_by_cached_key(|o| o.name());
        v
    }

    /// Resources of a store, sorted by name.
    pub fn resources_of(&self, store: &str) -> Vec<&Arc<Object>> {
        let mut v: Vec<&Arc<Object>> = self
            .referrers_of(store)
            .filter(|o| o.kind.is_resource() && o.ref_id("store") == Some(store))
            .collect();
        v.sort_by_cached_key(|o| o.name());
        v
    }

    /// The layer publishing a resource.
    pub fn layer_of(&self, resource: &str) -> Option<&Arc<Object>> {
        self.referrers_of(resource)
            .find(|o| o.kind == Kind::Layer && o.ref_id("resource") == Some(resource))
    }

    /// Layers in a workspace (by their resource's store), sorted by name.
    pub fn layers_in(&self, ws: Option<&str>) -> Vec<&Arc<Object>> {
        let mut v: Vec<&Arc<Object>> = match ws {
            None => self
                .objects
                .values()
                .filter(|o| o.kind == Kind::Layer)
                .collect(),
            // Workspace → its stores → their resources → the layers publishing them.
            Some(ws) => self
                .referrers_of(ws)
                .filter(|s| s.kind.is_store() && s.workspace() == Some(ws))
                .flat_map(|s| {
                    self.referrers_of(s.id())
                        .filter(move |r| r.kind.is_resource() && r.ref_id("store") == Some(s.id()))
                })
                .flat_map(|r| {
                    self.referrers_of(r.id()).filter(move |l| {
                        l.kind == Kind::Layer && l.ref_id("resource") == Some(r.id())
                    })
                })
                .collect(),
        };
        v.sort_by_cached_key(|o| self.layer_name(o));
        v
    }

    /// Objects of a kind scoped to a workspace (`None` = global ones), sorted by name.
    pub fn scoped(&self, kind: Kind, ws: Option<&str>) -> Vec<&Arc<Object>> {
        let mut v: Vec<&Arc<Object>> = self
            .objects
            .values()
            .filter(|o| o.kind == kind && o.workspace() == ws)
            .collect();
        v.sort_by_cached_key(|o| o.name());
        v
    }

    /// Layers that use a style (default or alternate).
    pub fn layers_using_style(&self, style: &str) -> Vec<&Arc<Object>> {
        self.referrers_of(style)
            .filter(|o| o.kind == Kind::Layer && o.layer_styles().contains(&style))
            .collect()
    }

    /// Layer groups that name a style.
    pub fn groups_using_style(&self, style: &str) -> Vec<&Arc<Object>> {
        self.referrers_of(style)
            .filter(|o| o.kind == Kind::LayerGroup && o.group_styles().contains(&style))
            .collect()
    }

    /// Layer groups that contain a layer or group.
    pub fn groups_containing(&self, id: &str) -> Vec<&Arc<Object>> {
        self.referrers_of(id)
            .filter(|o| {
                o.kind == Kind::LayerGroup
                    && (o.group_members().iter().any(|p| p.id == id)
                        || o.ref_id("rootLayer") == Some(id))
            })
            .collect()
    }

    /// Global settings object (`global.xml`).
    pub fn global(&self) -> Option<&Arc<Object>> {
        self.get_kind(Kind::Global, "global")
    }

    /// The update sequence from `global.xml`.
    pub fn update_sequence(&self) -> u64 {
        self.global()
            .and_then(|g| g.xml().child_text("updateSequence"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// A service configuration by element name (`wms`) and workspace (None = global).
    pub fn service(&self, name: &str, ws: Option<&str>) -> Option<&Arc<Object>> {
        self.find(Kind::Service, ws, name)
    }

    /// Insert many objects (a loaded data directory, a snapshot taken over). Every object is
    /// placed first, so a layer's name key finds its resource's workspace whatever the order;
    /// the keys and references are then worked out on all cores, and each map is filled in
    /// the order that leaves its nodes full ([`crate::dense`]).
    fn put_all(&mut self, objects: Vec<Object>) {
        use crate::dense::fill_order;
        use rayon::prelude::*;
        // On this thread: the objects stay in its allocations (see `Object::relocated`).
        let loaded: Vec<Arc<Object>> = objects.into_iter().map(Arc::new).collect();
        let mut sorted: Vec<&Arc<Object>> = loaded.iter().collect();
        sorted.par_sort_unstable_by(|a, b| a.id().cmp(b.id()));
        let clash = sorted.windows(2).any(|w| w[0].id() == w[1].id())
            || sorted.par_iter().any(|o| self.objects.contains_key(o.id()));
        if clash {
            // An id twice, or one already here: index one object at a time. Resources
            // before layers, so a layer's name key finds its resource.
            let (layers, rest): (Vec<_>, Vec<_>) =
                loaded.iter().partition(|o| o.kind == Kind::Layer);
            for o in rest.into_iter().chain(layers) {
                self.put(Arc::clone(o));
            }
            return;
        }
        for o in fill_order(sorted) {
            self.objects.insert(o.shared_id().clone(), Arc::clone(o));
        }
        let this = &*self;
        // (name key, position in load order) and (target, referrer).
        type Keys = (Vec<(NameKey, usize)>, Vec<(Id, Id)>);
        let (mut names, references): Keys = rayon::join(
            || {
                loaded
                    .par_iter()
                    .enumerate()
                    .map(|(i, o)| (this.name_key(o), i))
                    .collect()
            },
            || {
                loaded
                    .par_iter()
                    .flat_map_iter(|o| {
                        o.references()
                            .into_iter()
                            .map(|t| (this.shared(t), o.shared_id().clone()))
                    })
                    .collect()
            },
        );
        // Of two objects claiming one name, the later in load order holds it.
        names.par_sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut unique: Vec<(NameKey, usize)> = Vec::with_capacity(names.len());
        for (key, i) in names {
            match unique.last_mut() {
                Some(last) if last.0 == key => last.1 = i,
                _ => unique.push((key, i)),
            }
        }
        let Catalog {
            by_name, referrers, ..
        } = self;
        rayon::join(
            || {
                for (key, i) in fill_order(unique) {
                    if let Some(o) = loaded.get(i) {
                        by_name.insert(key, o.shared_id().clone());
                    }
                }
            },
            || referrers.add_all(references),
        );
    }

    /// Insert or replace an object (indexes kept in step).
    pub(crate) fn put(&mut self, o: Arc<Object>) {
        let key = self.name_key(&o);
        let references = o.references();
        match self.objects.get(o.id()).cloned() {
            // Same name and references (an edit, the update sequence of every batch): the
            // indexes stand. Every change to a persistent map copies the path to the entry.
            Some(old)
                if old.references() == references
                    && self.name_key(&old) == key
                    && self.by_name.get(&key).map(|i| &**i) == Some(o.id()) => {}
            old => {
                if let Some(old) = old {
                    self.unindex(&old);
                }
                self.by_name.insert(key, o.shared_id().clone());
                for target in references {
                    let target = self.shared(target);
                    self.referrers.add(&target, o.shared_id());
                }
            }
        }
        self.objects.insert(o.shared_id().clone(), o);
    }

    /// Remove an object by id.
    pub(crate) fn take(&mut self, id: &str) -> Option<Arc<Object>> {
        let old = self.objects.get(id).cloned()?;
        self.unindex(&old);
        self.objects.remove(id);
        Some(old)
    }

    fn unindex(&mut self, o: &Object) {
        let key = self.name_key(o);
        if self.by_name.get(&key).map(|i| &**i) == Some(o.id()) {
            self.by_name.remove(&key);
        }
        for target in o.references() {
            self.referrers.remove(target, o.id());
        }
    }

    /// Objects whose references name `id` (any field), in no particular order.
    fn referrers_of<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a Arc<Object>> + 'a {
        self.referrers.of(id).filter_map(|r| self.objects.get(r))
    }

    /// Rebuild the name index for layers (after a resource moved or was renamed).
    pub(crate) fn reindex_layers_of(&mut self, resource: &str) {
        let layers: Vec<Arc<Object>> = self
            .referencing(Kind::Layer, "resource", resource)
            .cloned()
            .collect();
        let stale: Vec<NameKey> = self
            .by_name
            .iter()
            .filter(|(k, id)| k.0 == "layer" && layers.iter().any(|l| l.id() == &***id))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            self.by_name.remove(&k);
        }
        for l in layers {
            let key = self.name_key(&l);
            self.by_name.insert(key, l.shared_id().clone());
        }
    }

    /// Another object that holds the name `o` would take in its scope, if any.
    pub fn name_conflict(&self, o: &Object) -> Option<&Arc<Object>> {
        let holder = self.by_name.get(&self.name_key(o))?;
        if &**holder == o.id() {
            return None;
        }
        self.objects.get(holder)
    }

    /// The name-index key an object would occupy, and who holds it now.
    pub(crate) fn name_holder(&self, o: &Object) -> Option<&str> {
        self.by_name.get(&self.name_key(o)).map(|i| &**i)
    }

    /// Counts per kind, for logs and health.
    pub fn summary(&self) -> BTreeMap<Kind, usize> {
        let mut m = BTreeMap::new();
        for o in self.objects.values() {
            *m.entry(o.kind).or_insert(0) += 1;
        }
        m
    }

    /// Whether any object references `id` (used before removing it).
    pub fn first_referrer(&self, id: &str) -> Option<&Arc<Object>> {
        self.objects
            .values()
            .find(|o| o.id() != id && references(o, id))
    }
}

/// Whether an object references `id`.
fn references(o: &Object, id: &str) -> bool {
    o.references().contains(&id)
}
