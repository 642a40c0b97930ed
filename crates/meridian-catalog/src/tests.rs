//! Tests of the apply path and catalog rules, on an in-memory catalog.

use crate::*;
use meridian_xml::{parse, Element};
use std::sync::{Arc, Mutex};

fn obj(kind: Kind, xml: &str) -> Object {
    Object::new(kind, parse(xml).unwrap())
}

fn global() -> Object {
    obj(
        Kind::Global,
        "<global><updateSequence>7</updateSequence></global>",
    )
}

fn add(o: Object) -> Change {
    Change::Add { object: o }
}

/// ws `topp` with namespace, store `s`, feature type `roads`, layer, style `line2`, group `g`.
fn populated() -> CatalogService {
    let svc = CatalogService::in_memory(Catalog::from_loaded(vec![global()], None));
    svc.apply(vec![
        add(obj(Kind::Workspace, "<workspace><id>ws1</id><name>topp</name></workspace>")),
        add(obj(Kind::Namespace, "<namespace><id>ns1</id><prefix>topp</prefix><uri>http://topp</uri></namespace>")),
        add(obj(Kind::DataStore, "<dataStore><id>ds1</id><name>s</name><workspace><id>ws1</id></workspace></dataStore>")),
        add(obj(Kind::FeatureType, "<featureType><id>ft1</id><name>roads</name><namespace><id>ns1</id></namespace><store class=\"dataStore\"><id>ds1</id></store></featureType>")),
        add(obj(Kind::Style, "<style><id>st1</id><name>line2</name></style>")),
        add(obj(Kind::Style, "<style><id>st0</id><name>generic</name></style>")),
        add(obj(Kind::Layer, "<layer><name>roads</name><id>l1</id><defaultStyle><id>st1</id></defaultStyle><resource class=\"featureType\"><id>ft1</id></resource></layer>")),
        add(obj(Kind::LayerGroup, "<layerGroup><id>g1</id><name>g</name><publishables><published type=\"layer\"><id>l1</id></published></publishables><styles><style><id>st1</id></style></styles></layerGroup>")),
    ])
    .unwrap();
    svc
}

#[test]
fn first_workspace_becomes_default_and_sequence_bumps_once_per_batch() {
    let svc = populated();
    let cat = svc.snapshot();
    assert_eq!(cat.default_workspace().unwrap().name(), "topp");
    assert_eq!(cat.update_sequence(), 8);
    assert_eq!(cat.count(Kind::Layer), 1);
    let ws = cat.find(Kind::Workspace, None, "topp").unwrap();
    assert_eq!(ws.id(), "ws1");
    let l = cat.find(Kind::Layer, Some("ws1"), "roads").unwrap();
    assert_eq!(l.id(), "l1");
    assert!(cat.dangling_references().is_empty());
}

#[test]
fn duplicates_and_bad_references_are_refused_and_nothing_is_applied() {
    let svc = populated();
    let before = svc.snapshot();
    let err = svc
        .apply(vec![
            add(obj(
                Kind::Workspace,
                "<workspace><id>ws2</id><name>other</name></workspace>",
            )),
            add(obj(
                Kind::Workspace,
                "<workspace><id>ws3</id><name>topp</name></workspace>",
            )),
        ])
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let after = svc.snapshot();
    assert!(
        after.find(Kind::Workspace, None, "other").is_none(),
        "half-applied batch"
    );
    assert_eq!(after.update_sequence(), before.update_sequence());

    let err = svc
        .apply(vec![add(obj(
            Kind::DataStore,
            "<dataStore><id>ds9</id><name>x</name><workspace><id>nope</id></workspace></dataStore>",
        ))])
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = svc
        .apply(vec![add(obj(
            Kind::Workspace,
            "<workspace><id>w9</id><name>../etc</name></workspace>",
        ))])
        .unwrap_err();
    assert!(err.to_string().contains("invalid workspace name"), "{err}");
}

#[test]
fn removing_a_referenced_object_is_refused() {
    let svc = populated();
    let err = svc
        .apply(vec![Change::Remove {
            kind: Kind::Style,
            id: "st1".into(),
        }])
        .unwrap_err();
    assert!(err.to_string().contains("still referenced"), "{err}");
}

#[test]
fn cascade_of_a_workspace_removes_everything_under_it() {
    let svc = populated();
    let changes = cascade_remove(&svc.snapshot(), Kind::Workspace, "ws1");
    svc.apply(changes).unwrap();
    let cat = svc.snapshot();
    for k in [
        Kind::Workspace,
        Kind::Namespace,
        Kind::DataStore,
        Kind::FeatureType,
        Kind::Layer,
        Kind::LayerGroup,
    ] {
        assert_eq!(cat.count(k), 0, "{k:?} left behind");
    }
    assert_eq!(cat.count(Kind::Style), 2, "global styles stay");
    assert!(cat.default_workspace().is_none());
}

#[test]
fn removing_a_style_falls_back_to_the_default_and_blanks_group_entries() {
    let svc = populated();
    let changes = remove_style_everywhere(&svc.snapshot(), "st1");
    svc.apply(changes).unwrap();
    let cat = svc.snapshot();
    assert_eq!(cat.get("l1").unwrap().ref_id("defaultStyle"), Some("st0"));
    let g = cat.get("g1").unwrap();
    assert!(g.group_styles().is_empty());
    assert_eq!(g.group_members().len(), 1);
}

#[test]
fn removing_the_last_layer_of_a_group_removes_the_group() {
    let svc = populated();
    let changes = cascade_remove(&svc.snapshot(), Kind::Layer, "l1");
    svc.apply(changes).unwrap();
    let cat = svc.snapshot();
    assert!(cat.get("g1").is_none());
    assert!(
        cat.get("ft1").is_some(),
        "removing a layer keeps its resource"
    );
}

#[test]
fn groups_cannot_be_empty_or_contain_themselves() {
    let svc = populated();
    let err = svc
        .apply(vec![add(obj(
            Kind::LayerGroup,
            "<layerGroup><id>g2</id><name>e</name></layerGroup>",
        ))])
        .unwrap_err();
    assert!(err.to_string().contains("no layers"), "{err}");
    svc.apply(vec![add(obj(Kind::LayerGroup, "<layerGroup><id>g3</id><name>outer</name><publishables><published type=\"layerGroup\"><id>g1</id></published></publishables></layerGroup>"))]).unwrap();
    let mut g1 = (**svc.snapshot().get("g1").unwrap()).clone();
    g1.edit_xml(|x| {
        x.get_mut("publishables").unwrap().children.push(
            Element::new("published")
                .attr("type", "layerGroup")
                .child(Element::with_text("id", "g3")),
        )
    });
    let err = svc.apply(vec![Change::Modify { object: g1 }]).unwrap_err();
    assert!(err.to_string().contains("contain itself"), "{err}");
}

struct Failing;
impl Persist for Failing {
    fn persist(
        &mut self,
        _: &Catalog,
        _: &Catalog,
        _: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        Err(PersistError("disk full".into()))
    }
}

#[test]
fn a_failed_persist_leaves_memory_unchanged() {
    let svc = CatalogService::new(
        Catalog::from_loaded(vec![global()], None),
        Box::new(Failing),
    );
    let err = svc
        .apply(vec![add(obj(
            Kind::Workspace,
            "<workspace><id>ws1</id><name>topp</name></workspace>",
        ))])
        .unwrap_err();
    assert!(err.to_string().contains("disk full"));
    assert_eq!(svc.snapshot().count(Kind::Workspace), 0);
}

#[test]
fn listeners_see_each_applied_batch_and_changes_serialize() {
    let svc = populated();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    svc.subscribe(Box::new(move |a| {
        s2.lock().unwrap().push(a.update_sequence)
    }));
    let c = Change::SetDefaultWorkspace { id: "ws1".into() };
    svc.apply(vec![c]).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![9]);
    let st = (**svc.snapshot().get("st1").unwrap()).clone();
    let json = serde_json::to_string(&Change::Modify { object: st.clone() }).unwrap();
    let back: Change = serde_json::from_str(&json).unwrap();
    assert_eq!(back, Change::Modify { object: st });
}

#[test]
fn listeners_see_concurrent_batches_in_apply_order() {
    // Replication publishes from the listener: batches must reach it in the order they were
    // applied (else replicas see gaps and fetch what is only late), even with many writers.
    let svc = Arc::new(populated());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    svc.subscribe(Box::new(move |a| {
        // Widen the window between apply and listener in which writers could overtake.
        std::thread::yield_now();
        s2.lock().unwrap().push(a.update_sequence)
    }));
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let svc = svc.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let xml =
                        format!("<workspace><id>w{t}-{i}</id><name>w{t}x{i}</name></workspace>");
                    svc.apply(vec![add(obj(Kind::Workspace, &xml))]).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 400);
    assert!(
        seen.windows(2).all(|w| w[1] == w[0] + 1),
        "listener saw batches out of order"
    );
}

#[test]
fn remote_batches_are_idempotent_and_pass_the_write_gate() {
    let svc = populated();
    svc.set_write_gate(Some("this node is a replica".into()));
    let ws = obj(
        Kind::Workspace,
        "<workspace><id>ws9</id><name>nine</name></workspace>",
    );
    let err = svc.apply(vec![add(ws.clone())]).unwrap_err();
    assert!(matches!(err, ApplyError::ReadOnly(_)));
    let p = Provenance {
        origin: "a".into(),
        seq: 1,
        hlc: 1,
    };
    let batch = vec![
        add(ws.clone()),
        Change::Remove {
            kind: Kind::Style,
            id: "nope".into(),
        },
    ];
    let a = svc
        .apply_from(batch.clone(), Source::Remote(p.clone()))
        .unwrap();
    assert_eq!(a.changes.len(), 1);
    let seq = svc.snapshot().update_sequence();
    // The same batch again changes nothing.
    let a = svc.apply_from(batch, Source::Remote(p)).unwrap();
    assert!(a.changes.is_empty());
    assert_eq!(svc.snapshot().update_sequence(), seq);
}

#[test]
fn loading_the_same_id_twice_keeps_the_later_object_and_consistent_indexes() {
    let ws = |name: &str| {
        obj(
            Kind::Workspace,
            &format!("<workspace><id>same</id><name>{name}</name></workspace>"),
        )
    };
    let other = obj(
        Kind::Workspace,
        "<workspace><id>other</id><name>c</name></workspace>",
    );
    let cat = Catalog::from_loaded(vec![ws("a"), other, ws("b")], None);
    assert_eq!(cat.get("same").map(|o| o.name()), Some("b"));
    assert!(cat.find(Kind::Workspace, None, "a").is_none());
    assert_eq!(
        cat.find(Kind::Workspace, None, "b").map(|o| o.id()),
        Some("same")
    );
    assert_eq!(
        cat.find(Kind::Workspace, None, "c").map(|o| o.id()),
        Some("other")
    );
    assert_eq!(cat.count(Kind::Workspace), 2);
}

/// A persister that numbers local batches as a journal would.
struct Numbering(u64);

impl Persist for Numbering {
    fn persist(
        &mut self,
        _: &Catalog,
        _: &Catalog,
        _: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        self.0 += 1;
        Ok(Some(Provenance {
            origin: "me".into(),
            seq: self.0,
            hlc: self.0,
        }))
    }
}

#[test]
fn the_state_and_its_positions_are_read_together_and_waited_for() {
    let svc = Arc::new(CatalogService::new(
        Catalog::from_loaded(vec![global()], None),
        Box::new(Numbering(0)),
    ));
    let writer = {
        let svc = svc.clone();
        std::thread::spawn(move || {
            for i in 0..300 {
                let xml = format!("<workspace><id>w{i}</id><name>w{i}</name></workspace>");
                svc.apply(vec![add(obj(Kind::Workspace, &xml))]).unwrap();
            }
        })
    };
    // Each batch adds one workspace: a state read with its positions holds exactly as many
    // workspaces as the position says, never one more or one less.
    while !writer.is_finished() {
        let (cat, positions) = svc.snapshot_with_positions();
        let at = positions.get("me").copied().unwrap_or(0);
        assert_eq!(cat.count(Kind::Workspace) as u64, at);
    }
    writer.join().unwrap();
    let at = svc.wait_for_position("me", 300, std::time::Duration::from_secs(5));
    assert_eq!(at, 300);
    assert_eq!(svc.position("me"), 300);
    // Not reached: the wait ends at its timeout with the position reached so far.
    let t = std::time::Instant::now();
    assert_eq!(
        svc.wait_for_position("me", 301, std::time::Duration::from_millis(50)),
        300
    );
    assert!(t.elapsed() >= std::time::Duration::from_millis(50));
}
