//! WFS Transaction (WFS-T): Insert, Update and Delete on the stores that take writes
//! (GeoPackage, shapefile, PostGIS), in the WFS 1.0.0, 1.1.0 and 2.0.0 documents.
//!
//! A transaction is read whole and checked before any store is touched: every feature type
//! published and writable by the caller (the service level of `wfs.xml`, the `w` rules of
//! `layers.properties`), every property one of the type's, every value of its type, every
//! geometry read and brought into the type's CRS. The actions then run in order, one store
//! transaction per store; a failure anywhere drops them all, so a failed transaction changes
//! nothing. Locked features (LockFeature, GetFeatureWithLock) change only under their lock.
//!
//! Only data changes here: feature edits never travel through the cluster's broker. Every node
//! reading a shared database (PostGIS) sees them at once; a file store (GeoPackage,
//! shapefile) is changed only on the node that answered.

use super::locks::FeatureKey;
use super::request::{box_in_layer_crs, layer_of, to_layer_crs};
use crate::layers::FeatureLayer;
use crate::ows::{err, OwsError};
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_features::filter::fes::parse_filter;
use meridian_features::gml_read::{is_gml_geometry, read_gml_geometry};
use meridian_features::{
    Applied, Feature, FeatureChange, FeatureError, Filter, StoreTransaction, Value,
};
use meridian_xml::{escape, Element};
use std::sync::Arc;

/// Most actions (and inserted features) one transaction may hold.
const MAX_ACTIONS: usize = 100_000;

/// How much a `wfs.xml` lets clients do (`serviceLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ServiceLevel {
    /// Reading only.
    Basic,
    /// Reading and Transaction.
    Transactional,
    /// Transaction and locking too (GeoServer's default).
    Complete,
}

impl ServiceLevel {
    /// The level the service's settings name (COMPLETE when they name none).
    pub(crate) fn of(svc: Option<&Element>) -> ServiceLevel {
        match svc
            .and_then(|s| s.child_text("serviceLevel"))
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("BASIC") => ServiceLevel::Basic,
            Some("TRANSACTIONAL") => ServiceLevel::Transactional,
            _ => ServiceLevel::Complete,
        }
    }
}

fn local(n: &str) -> &str {
    n.rsplit(':').next().unwrap_or(n)
}

/// One action, read and checked.
struct Action {
    layer: FeatureLayer,
    change: FeatureChange,
    handle: Option<String>,
}

/// A property value as the type's attribute binding reads it.
fn typed(name: &str, binding: &str, text: &str) -> Result<Value, OwsError> {
    let bad = |what: &str| {
        err(
            "InvalidParameterValue",
            name,
            format!("{name} takes {what}, not '{text}'"),
        )
    };
    let t = text.trim();
    Ok(match binding.rsplit('.').next().unwrap_or("") {
        "Integer" | "Long" | "Short" | "Byte" | "BigInteger" => {
            Value::Int(t.parse::<i64>().map_err(|_| bad("an integer"))?)
        }
        "Double" | "Float" | "BigDecimal" => {
            let f = t.parse::<f64>().map_err(|_| bad("a number"))?;
            if !f.is_finite() {
                return Err(bad("a finite number"));
            }
            Value::Float(f)
        }
        "Boolean" => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        _ => Value::Text(text.to_string()),
    })
}

/// What a request may say of one feature type: its geometry attribute and the others.
struct TypeSchema {
    geometry: String,
    attributes: Vec<(String, String)>,
}

impl TypeSchema {
    fn of(l: &FeatureLayer) -> TypeSchema {
        let (geometry, attributes) = l.attributes();
        TypeSchema {
            geometry,
            attributes,
        }
    }

    /// A property's value as written in `e` (text, or a GML geometry in the type's CRS).
    fn value(
        &self,
        l: &FeatureLayer,
        name: &str,
        e: Option<&Element>,
        default_srs: Option<&str>,
        v1_0: bool,
    ) -> Result<PropertyValue, OwsError> {
        if name == self.geometry {
            let Some(g) = e.and_then(|e| e.children.iter().find(|c| is_gml_geometry(c))) else {
                return match e.and_then(Element::text_trim) {
                    None => Ok(PropertyValue::Geometry(None)),
                    Some(_) => Err(err(
                        "InvalidParameterValue",
                        name,
                        format!("{name} takes a GML geometry"),
                    )),
                };
            };
            let (geom, srs) = read_gml_geometry(g)
                .map_err(|e| err("InvalidParameterValue", name, e.to_string()))?;
            let geom = to_layer_crs(geom, srs.as_deref().or(default_srs), l.epsg, v1_0)
                .map_err(|e| err("InvalidParameterValue", name, e.to_string()))?;
            return Ok(PropertyValue::Geometry(Some(geom)));
        }
        let Some((_, binding)) = self.attributes.iter().find(|(n, _)| n == name) else {
            return Err(err(
                "InvalidParameterValue",
                name,
                format!("{} has no property '{name}'", l.qualified()),
            ));
        };
        match e {
            // An element without text (or no value at all) is null.
            Some(v) if v.children.is_empty() && v.text.is_some() => Ok(PropertyValue::Value(
                typed(name, binding, v.text.as_deref().unwrap_or(""))?,
            )),
            Some(v) if !v.children.is_empty() => Err(err(
                "InvalidParameterValue",
                name,
                format!("{name} takes a plain value"),
            )),
            _ => Ok(PropertyValue::Value(Value::Null)),
        }
    }
}

enum PropertyValue {
    Geometry(Option<geo_types::Geometry<f64>>),
    Value(Value),
}

/// A property name as written (`topp:STATE_NAME`, `STATE_NAME`, an XPath's last step).
fn property_name(text: &str) -> String {
    let last = text.trim().rsplit('/').next().unwrap_or("");
    local(last).to_string()
}

/// A filter of an Update or Delete, in the layer's CRS, narrowed by the layer's own filter.
fn action_filter(e: &Element, l: &FeatureLayer, v1_0: bool) -> Result<Filter, OwsError> {
    let fx = e
        .children
        .iter()
        .find(|c| local(&c.name) == "Filter")
        .ok_or_else(|| {
            err(
                "MissingParameterValue",
                "Filter",
                format!(
                    "{} needs a Filter (to change every feature, say so with one)",
                    local(&e.name)
                ),
            )
        })?;
    let epsg = l.epsg;
    let envelope = move |b: [f64; 4], crs: Option<&str>| box_in_layer_crs(b, crs, epsg, v1_0);
    let geometry =
        move |g: geo_types::Geometry<f64>, crs: Option<&str>| to_layer_crs(g, crs, epsg, v1_0);
    let f = parse_filter(fx, &envelope, &geometry)
        .map_err(|e| err("InvalidParameterValue", "Filter", e.to_string()))?;
    Ok(match l.own_filter() {
        Ok(Some(own)) => Filter::all_of(vec![f, own]),
        Ok(None) => f,
        Err(e) => {
            return Err(err(
                "NoApplicableCode",
                "",
                format!(
                    "the layer {}'s own cqlFilter does not read: {e}",
                    l.qualified()
                ),
            ))
        }
    })
}

/// A type name as a client wrote it, with the prefix the catalog gives its namespace: a
/// client may declare its own prefix for the namespace URI (GDAL writes `feature:bugsites`
/// with `xmlns:feature` the spearfish URI), found on the elements of `scopes` (innermost
/// first). A name whose namespace is unknown stays as written.
fn catalog_name(st: &OgcState, name: &str, scopes: &[&Element]) -> String {
    let (prefix, local_name) = match name.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    let attr = match prefix {
        Some(p) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    };
    let Some(uri) = scopes.iter().find_map(|e| e.attr_value(&attr)) else {
        return name.to_string();
    };
    let cat = st.catalog.snapshot();
    cat.list(meridian_catalog::Kind::Namespace)
        .into_iter()
        .find(|ns| ns.xml().child_text("uri") == Some(uri))
        .map(|ns| format!("{}:{local_name}", ns.name()))
        .unwrap_or_else(|| name.to_string())
}

/// The type an Update or Delete names.
fn action_type_name(a: &Element) -> Result<&str, OwsError> {
    a.attr_value("typeName")
        .or_else(|| a.attr_value("typeNames"))
        .ok_or_else(|| {
            err(
                "MissingParameterValue",
                "typeName",
                format!("{} needs a typeName", local(&a.name)),
            )
        })
}

/// Read the actions of a Transaction document.
fn read_actions(
    st: &OgcState,
    ws: Option<&str>,
    doc: &Element,
    v1_0: bool,
    access: &meridian_security::LayerAccess,
) -> Result<Vec<Action>, OwsError> {
    let mut actions = Vec::new();
    // Each type's schema is read from its store once per transaction, not once per feature.
    let mut schemas: std::collections::HashMap<String, std::rc::Rc<TypeSchema>> =
        std::collections::HashMap::new();
    let mut schema_of = |l: &FeatureLayer| {
        schemas
            .entry(l.qualified())
            .or_insert_with(|| std::rc::Rc::new(TypeSchema::of(l)))
            .clone()
    };
    let type_of = |name: &str, scopes: &[&Element]| {
        layer_of(st, ws, &catalog_name(st, name, scopes), access).map_err(|mut e| {
            e.locator = "typeName".into();
            e
        })
    };
    for a in &doc.children {
        if actions.len() > MAX_ACTIONS {
            return Err(err(
                "InvalidParameterValue",
                "Transaction",
                format!("a transaction holds at most {MAX_ACTIONS} actions"),
            ));
        }
        let handle = a.attr_value("handle").map(str::to_string);
        match local(&a.name) {
            "LockId" => {}
            "Insert" => {
                let srs = a.attr_value("srsName");
                for fe in &a.children {
                    let l = type_of(&fe.name, &[fe, a, doc])?;
                    let schema = schema_of(&l);
                    let mut feature = Feature {
                        id: String::new(),
                        geometry: None,
                        properties: Vec::new(),
                    };
                    for p in &fe.children {
                        let name = local(&p.name);
                        // GML's own properties (boundedBy, name…) are not the type's.
                        if p.name.starts_with("gml:") || name == "boundedBy" {
                            continue;
                        }
                        match schema.value(&l, name, Some(p), srs, v1_0)? {
                            PropertyValue::Geometry(g) => feature.geometry = g,
                            PropertyValue::Value(v) => {
                                feature.properties.push((name.to_string(), v))
                            }
                        }
                    }
                    actions.push(Action {
                        layer: l,
                        change: FeatureChange::Insert(feature),
                        handle: handle.clone(),
                    });
                }
            }
            "Update" => {
                let tn = action_type_name(a)?;
                let l = type_of(tn, &[a, doc])?;
                let schema = schema_of(&l);
                let srs = a.attr_value("srsName");
                let mut properties = Vec::new();
                let mut geometry = None;
                for p in a.children.iter().filter(|c| local(&c.name) == "Property") {
                    let name = p
                        .children
                        .iter()
                        .find(|c| matches!(local(&c.name), "Name" | "ValueReference"))
                        .and_then(Element::text_trim)
                        .map(property_name)
                        .ok_or_else(|| {
                            err(
                                "MissingParameterValue",
                                "Property",
                                "a Property needs a Name",
                            )
                        })?;
                    let value = p.children.iter().find(|c| local(&c.name) == "Value");
                    match schema.value(&l, &name, value, srs, v1_0)? {
                        PropertyValue::Geometry(Some(g)) => geometry = Some(g),
                        PropertyValue::Geometry(None) => {
                            return Err(err(
                                "InvalidParameterValue",
                                &name,
                                "the geometry cannot be removed",
                            ))
                        }
                        PropertyValue::Value(v) => properties.push((name, v)),
                    }
                }
                let filter = action_filter(a, &l, v1_0)?;
                actions.push(Action {
                    layer: l,
                    change: FeatureChange::Update {
                        filter,
                        properties,
                        geometry,
                    },
                    handle,
                });
            }
            "Delete" => {
                let tn = action_type_name(a)?;
                let l = type_of(tn, &[a, doc])?;
                let filter = action_filter(a, &l, v1_0)?;
                actions.push(Action {
                    layer: l,
                    change: FeatureChange::Delete(filter),
                    handle,
                });
            }
            "Native" if a.attr_value("safeToIgnore") == Some("true") => {}
            other => {
                return Err(err(
                    "OperationNotSupported",
                    other,
                    format!("the transaction action {other} is not supported"),
                ))
            }
        }
    }
    Ok(actions)
}

/// What a whole transaction did.
#[derive(Default)]
struct Outcome {
    /// Inserted ids, with the handle of their action.
    inserted: Vec<(String, Option<String>)>,
    updated: usize,
    deleted: usize,
    /// The layers edited (workspace, name) and the WGS84 box each edit touched.
    edited: Vec<(String, String, [f64; 4])>,
}

/// Most features an edit's box is gathered from; beyond, the layer's whole box is taken.
const EDITED_FEATURES: usize = 100_000;

/// The box (in WGS84) an action's edit touches: an inserted geometry; the features an update
/// or delete selects, as they are before it (and an update's new geometry). `None`: nothing.
fn edited_box(a: &Action) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    let l = &a.layer;
    let mut rects: Vec<geo_types::Rect<f64>> = Vec::new();
    let selected =
        |filter: &meridian_features::Filter, rects: &mut Vec<geo_types::Rect<f64>>| -> bool {
            let q = meridian_features::Query {
                filter: filter.clone(),
                limit: EDITED_FEATURES,
                properties: Some(Vec::new()),
                ..Default::default()
            };
            match meridian_features::query(&l.store, &l.native, &l.name, &q) {
                Ok(r) if r.matched <= EDITED_FEATURES => {
                    rects.extend(
                        r.features
                            .iter()
                            .filter_map(|f| f.geometry.as_ref()?.bounding_rect()),
                    );
                    true
                }
                _ => false,
            }
        };
    let whole = || l.lat_lon.map(|b| [b.minx, b.miny, b.maxx, b.maxy]);
    match &a.change {
        FeatureChange::Insert(f) => {
            rects.extend(f.geometry.as_ref().and_then(|g| g.bounding_rect()))
        }
        FeatureChange::Update {
            filter, geometry, ..
        } => {
            if !selected(filter, &mut rects) {
                return whole();
            }
            rects.extend(geometry.as_ref().and_then(|g| g.bounding_rect()));
        }
        FeatureChange::Delete(filter) => {
            if !selected(filter, &mut rects) {
                return whole();
            }
        }
    }
    let first = rects.first()?;
    let (mut lo, mut hi) = (first.min(), first.max());
    for r in &rects {
        lo.x = lo.x.min(r.min().x);
        lo.y = lo.y.min(r.min().y);
        hi.x = hi.x.max(r.max().x);
        hi.y = hi.y.max(r.max().y);
    }
    let r = meridian_features::transform_bbox([lo.x, lo.y, hi.x, hi.y], l.epsg, 4326).ok()?;
    let b = [r.min().x, r.min().y, r.max().x, r.max().y];
    b.iter().all(|v| v.is_finite()).then_some(b).or_else(whole)
}

/// Run the actions: one store transaction per store, all committed only when every action
/// succeeded and no locked feature was touched without its lock.
fn run(
    st: &OgcState,
    actions: Vec<Action>,
    lock_id: Option<&str>,
    release_some: bool,
) -> Result<Outcome, OwsError> {
    let mut stores: Vec<(String, Box<dyn StoreTransaction>)> = Vec::new();
    let mut outcome = Outcome::default();
    let mut touched: Vec<FeatureKey> = Vec::new();
    let failed = |e: FeatureError, l: &FeatureLayer| match e {
        FeatureError::Invalid(m) => err("InvalidParameterValue", &l.qualified(), m),
        FeatureError::ReadOnly => err(
            "OperationNotSupported",
            &l.qualified(),
            format!("{} is in a store Meridian cannot write", l.qualified()),
        ),
        other => err("NoApplicableCode", &l.qualified(), other.to_string()),
    };
    for a in actions {
        // The box the edit touches, read before it is made (the tiles there go stale).
        if let Some(b) = edited_box(&a) {
            outcome
                .edited
                .push((a.layer.prefix.clone(), a.layer.name.clone(), b));
        }
        let key = format!("{:?}/{:?}", a.layer.store.params, a.layer.store.store_type);
        let at = match stores.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let tx =
                    meridian_features::begin(&a.layer.store).map_err(|e| failed(e, &a.layer))?;
                stores.push((key, tx));
                stores.len() - 1
            }
        };
        let Applied {
            inserted,
            updated,
            deleted,
        } = stores[at]
            .1
            .apply(&a.layer.native, &a.layer.name, &a.change)
            .map_err(|e| failed(e, &a.layer))?;
        let q = a.layer.qualified();
        outcome.updated += updated.len();
        outcome.deleted += deleted.len();
        touched.extend(updated.into_iter().chain(deleted).map(|id| (q.clone(), id)));
        outcome
            .inserted
            .extend(inserted.into_iter().map(|id| (id, a.handle.clone())));
    }
    if let Some((layer, id)) = st.locks.conflict(lock_id, touched.iter()) {
        return Err(err(
            "MissingParameterValue",
            "LockId",
            format!("feature {id} of {layer} is locked; the transaction must name its lock"),
        ));
    }
    for (_, tx) in stores {
        tx.commit()
            .map_err(|e| err("NoApplicableCode", "", e.to_string()))?;
    }
    if let Some(id) = lock_id {
        st.locks
            .release(id, release_some.then_some(touched.as_slice()));
    }
    Ok(outcome)
}

/// Answer a Transaction whose document is `doc`.
pub(super) async fn transaction(
    st: &Arc<OgcState>,
    ws: Option<&str>,
    doc: &Element,
    access: &meridian_security::LayerAccess,
    level: ServiceLevel,
) -> Result<Response, OwsError> {
    let version = doc.attr_value("version").unwrap_or("2.0.0").to_string();
    if level < ServiceLevel::Transactional {
        return Err(err(
            "OperationNotSupported",
            "Transaction",
            "this WFS is set to serve basic requests only (serviceLevel BASIC)",
        ));
    }
    let v1_0 = version.starts_with("1.0");
    let actions = tokio::task::block_in_place(|| read_actions(st, ws, doc, v1_0, access))?;
    for a in &actions {
        if let Err(r) = crate::access::write(access, &a.layer.prefix, &a.layer.name) {
            return Ok(r.response(|| axum::http::StatusCode::NOT_FOUND.into_response()));
        }
    }
    let lock_id = doc.attr_value("lockId").map(str::to_string).or_else(|| {
        doc.children
            .iter()
            .find(|c| local(&c.name) == "LockId")
            .and_then(Element::text_trim)
            .map(str::to_string)
    });
    if let Some(id) = &lock_id {
        if !st.locks.exists(id) {
            return Err(err(
                "InvalidParameterValue",
                "lockId",
                format!("no lock '{id}' (it may have expired)"),
            ));
        }
    }
    let release_some = doc
        .attr_value("releaseAction")
        .is_some_and(|r| r.eq_ignore_ascii_case("SOME"));
    let state = st.clone();
    let outcome =
        tokio::task::spawn_blocking(move || run(&state, actions, lock_id.as_deref(), release_some))
            .await
            .map_err(|e| err("NoApplicableCode", "", e.to_string()))??;
    // The tiles the edits made stale, here and (told through the cluster) on every node.
    let cat = st.catalog.snapshot();
    for (ws, name, bbox) in &outcome.edited {
        let Some(id) = cat
            .find(meridian_catalog::Kind::Workspace, None, ws)
            .and_then(|w| cat.find(meridian_catalog::Kind::Layer, Some(w.id()), name))
            .map(|l| l.id().to_string())
        else {
            continue;
        };
        st.tiles.invalidate(&cat, &id, *bbox);
        if let Some(tell) = &st.data_edited {
            tell(&id, *bbox);
        }
    }
    Ok((
        [("content-type", "text/xml; charset=UTF-8")],
        response_document(&version, &outcome),
    )
        .into_response())
}

/// The TransactionResponse of each version.
fn response_document(version: &str, o: &Outcome) -> String {
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    if version.starts_with("1.0") {
        let ids: String = o
            .inserted
            .iter()
            .map(|(id, _)| format!("<ogc:FeatureId fid=\"{}\"/>", escape(id)))
            .collect();
        let insert = if ids.is_empty() {
            String::new()
        } else {
            format!("<wfs:InsertResult>{ids}</wfs:InsertResult>")
        };
        return format!("{head}<wfs:WFS_TransactionResponse version=\"1.0.0\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\">{insert}<wfs:TransactionResult><wfs:Status><wfs:SUCCESS/></wfs:Status></wfs:TransactionResult></wfs:WFS_TransactionResponse>");
    }
    let v11 = version.starts_with("1.1");
    let features: String = o
        .inserted
        .iter()
        .map(|(id, handle)| {
            let h = handle
                .as_deref()
                .map(|h| format!(" handle=\"{}\"", escape(h)))
                .unwrap_or_default();
            if v11 {
                format!(
                    "<wfs:Feature{h}><ogc:FeatureId fid=\"{}\"/></wfs:Feature>",
                    escape(id)
                )
            } else {
                format!(
                    "<wfs:Feature{h}><fes:ResourceId rid=\"{}\"/></wfs:Feature>",
                    escape(id)
                )
            }
        })
        .collect();
    let summary = format!(
        "<wfs:TransactionSummary><wfs:totalInserted>{}</wfs:totalInserted><wfs:totalUpdated>{}</wfs:totalUpdated>{}<wfs:totalDeleted>{}</wfs:totalDeleted></wfs:TransactionSummary>",
        o.inserted.len(),
        o.updated,
        if v11 { "" } else { "<wfs:totalReplaced>0</wfs:totalReplaced>" },
        o.deleted
    );
    if v11 {
        // 1.1.0 always carries its (possibly empty) InsertResults, as GeoServer writes it.
        format!("{head}<wfs:TransactionResponse version=\"1.1.0\" xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\">{summary}<wfs:TransactionResults/><wfs:InsertResults>{}</wfs:InsertResults></wfs:TransactionResponse>", if features.is_empty() { "<wfs:Feature><ogc:FeatureId fid=\"none\"/></wfs:Feature>".to_string() } else { features })
    } else {
        let insert = if features.is_empty() {
            String::new()
        } else {
            format!("<wfs:InsertResults>{features}</wfs:InsertResults>")
        };
        format!("{head}<wfs:TransactionResponse version=\"2.0.0\" xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:fes=\"http://www.opengis.net/fes/2.0\">{summary}{insert}</wfs:TransactionResponse>")
    }
}
