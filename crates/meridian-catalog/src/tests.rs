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
fn bounding_boxes_must_be_numbers_and_namespace_uris_must_be_uris() {
    let svc = populated();
    let ft = |bbox: &str| {
        Change::Modify {
            object: obj(Kind::FeatureType, &format!("<featureType><id>ft1</id><name>roads</name><namespace><id>ns1</id></namespace><store class=\"dataStore\"><id>ds1</id></store>{bbox}</featureType>")),
        }
    };
    let err = svc
        .apply(vec![ft("<nativeBoundingBox><minx>a</minx><maxx>1</maxx><miny>0</miny><maxy>1</maxy></nativeBoundingBox>")])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("nativeBoundingBox minx 'a' is not a number"),
        "{err}"
    );
    let err = svc
        .apply(vec![ft(
            "<latLonBoundingBox><minx>0</minx></latLonBoundingBox>",
        )])
        .unwrap_err();
    assert!(err.to_string().contains("maxx is missing"), "{err}");
    // GeoServer's empty envelope (max below min) and an empty element are kept as they are.
    svc.apply(vec![ft("<nativeBoundingBox><minx>0.0</minx><maxx>-1.0</maxx><miny>0.0</miny><maxy>-1.0</maxy><crs>EPSG:4326</crs></nativeBoundingBox><latLonBoundingBox/>")])
        .unwrap();
    let err = svc
        .apply(vec![Change::Modify {
            object: obj(
                Kind::Namespace,
                "<namespace><id>ns1</id><prefix>topp</prefix><uri>not a uri</uri></namespace>",
            ),
        }])
        .unwrap_err();
    assert!(err.to_string().contains("not a valid URI"), "{err}");
}

#[test]
fn a_cursor_walks_every_object_once_in_id_order() {
    let cat = populated().snapshot();
    let all: Vec<String> = cat.objects().map(|o| o.id().to_string()).collect();
    let mut walked = Vec::new();
    let mut last: Option<String> = None;
    // Two objects at a time, resuming after the last one each time.
    loop {
        let step: Vec<String> = cat
            .objects_after(last.as_deref())
            .take(2)
            .map(|o| o.id().to_string())
            .collect();
        if step.is_empty() {
            break;
        }
        last = step.last().cloned();
        walked.extend(step);
    }
    assert_eq!(walked, all);
    assert!(cat.objects_after(Some("zzzz")).next().is_none());
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
        Err(PersistError::Other("disk full".into()))
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

#[test]
fn a_catalog_loaded_at_once_answers_as_one_built_change_by_change() {
    // Many feature types and layers on one store and style (a persistent referrer set, not
    // a small one), layers listed before their resources, and two stores claiming one name.
    let mut objects = Vec::new();
    for i in 0..100 {
        objects.push(obj(Kind::Layer, &format!("<layer><name>l{i}</name><id>layer{i}</id><defaultStyle><id>st1</id></defaultStyle><resource class=\"featureType\"><id>ft{i}</id></resource></layer>")));
        objects.push(obj(Kind::FeatureType, &format!("<featureType><id>ft{i}</id><name>l{i}</name><namespace><id>ns1</id></namespace><store class=\"dataStore\"><id>ds1</id></store></featureType>")));
    }
    objects.push(obj(
        Kind::DataStore,
        "<dataStore><id>ds1</id><name>s</name><workspace><id>ws1</id></workspace></dataStore>",
    ));
    objects.push(obj(
        Kind::DataStore,
        "<dataStore><id>ds2</id><name>s</name><workspace><id>ws1</id></workspace></dataStore>",
    ));
    objects.push(obj(
        Kind::Workspace,
        "<workspace><id>ws1</id><name>topp</name></workspace>",
    ));
    objects.push(obj(
        Kind::Namespace,
        "<namespace><id>ns1</id><prefix>topp</prefix><uri>http://topp</uri></namespace>",
    ));
    objects.push(obj(
        Kind::Style,
        "<style><id>st1</id><name>line</name></style>",
    ));
    let at_once = Catalog::from_loaded(objects.clone(), None);
    // The same objects one at a time, resources first (the order a loader would need).
    let mut one_by_one = Catalog::new();
    let (layers, rest): (Vec<Object>, Vec<Object>) =
        objects.into_iter().partition(|o| o.kind == Kind::Layer);
    for o in rest.into_iter().chain(layers) {
        one_by_one.put(Arc::new(o));
    }
    for cat in [&at_once, &one_by_one] {
        assert_eq!(
            cat.find(Kind::DataStore, Some("ws1"), "s").unwrap().id(),
            "ds2"
        );
        for i in [0, 57, 99] {
            let l = cat
                .find(Kind::Layer, Some("ws1"), &format!("l{i}"))
                .unwrap();
            assert_eq!(l.id(), format!("layer{i}"));
            assert_eq!(cat.layer_of(&format!("ft{i}")).unwrap().id(), l.id());
        }
        assert_eq!(cat.resources_of("ds1").len(), 100);
        assert_eq!(cat.layers_using_style("st1").len(), 100);
        assert_eq!(cat.stores_in("ws1", Kind::DataStore).len(), 2);
        assert!(cat.dangling_references().is_empty());
    }
    // Changes after loading keep the indexes in step.
    let mut cat = at_once;
    cat.take("layer3");
    assert_eq!(cat.layers_using_style("st1").len(), 99);
    assert!(cat.layer_of("ft3").is_none());
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

/// A persister that numbers local batches as a journal would, holds the first commit until
/// told, and fails a commit or a batch's files when asked.
#[derive(Default)]
struct Grouping {
    seq: u64,
    /// Workspace names of the batches that stood, in the order they were staged.
    staged: Vec<String>,
    /// Those of the group being committed.
    group: Vec<String>,
    commits: usize,
    fail_commit: bool,
    fail_files_of: Option<String>,
    kept: Vec<usize>,
    /// Sequences the listeners were told of, in order.
    notified: Vec<u64>,
}

struct GroupingPersist {
    log: Arc<Mutex<Grouping>>,
    gate: Option<std::sync::mpsc::Receiver<()>>,
}

fn ws_name(batch: &Batch<'_>) -> String {
    match batch.changes.first() {
        Some(Change::Add { object }) => object.name().to_string(),
        _ => String::new(),
    }
}

impl Persist for GroupingPersist {
    fn persist(
        &mut self,
        _: &Catalog,
        _: &Catalog,
        _: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        Ok(None)
    }

    fn stage(
        &mut self,
        _: &Catalog,
        _: &Catalog,
        batch: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        let mut g = self.log.lock().unwrap();
        g.seq += 1;
        g.group.push(ws_name(batch));
        Ok(Some(Provenance {
            origin: "me".into(),
            seq: g.seq,
            hlc: g.seq,
        }))
    }

    fn commit_staged(&mut self) -> Result<(), PersistError> {
        if let Some(gate) = self.gate.take() {
            gate.recv().unwrap();
        }
        let mut g = self.log.lock().unwrap();
        g.commits += 1;
        if g.fail_commit {
            return Err(PersistError::Other("disk on fire".into()));
        }
        Ok(())
    }

    fn finish_staged(
        &mut self,
        _: &Catalog,
        batch: &Batch<'_>,
        _: Option<&Provenance>,
    ) -> Result<(), PersistError> {
        if self.log.lock().unwrap().fail_files_of.as_deref() == Some(&ws_name(batch)) {
            return Err(PersistError::Other("no space left".into()));
        }
        Ok(())
    }

    fn end_group(&mut self, keep: usize) -> Result<(), PersistError> {
        let mut g = self.log.lock().unwrap();
        g.kept.push(keep);
        let mut group = std::mem::take(&mut g.group);
        g.seq -= (group.len() - keep.min(group.len())) as u64;
        group.truncate(keep);
        g.staged.extend(group);
        Ok(())
    }
}

fn workspace_named(name: &str) -> Change {
    add(obj(
        Kind::Workspace,
        &format!("<workspace><id>id-{name}</id><name>{name}</name></workspace>"),
    ))
}

/// Every batch's name and result, the persister's log, the service.
type GroupRun = (
    Vec<(String, Result<Applied, ApplyError>)>,
    Arc<Mutex<Grouping>>,
    Arc<CatalogService>,
);

/// `first` is applied alone and held at its commit while `then` queue up behind it; they
/// are then committed as one group. Returns every batch's result (`first`'s first), the
/// persister's log and the service.
fn group_of(then: &[&str], setup: impl FnOnce(&mut Grouping)) -> GroupRun {
    let log = Arc::new(Mutex::new(Grouping::default()));
    let (open, gate) = std::sync::mpsc::channel();
    let svc = Arc::new(CatalogService::new(
        Catalog::from_loaded(vec![global()], None),
        Box::new(GroupingPersist {
            log: log.clone(),
            gate: Some(gate),
        }),
    ));
    let told = log.clone();
    svc.subscribe(Box::new(move |a| {
        if let Some(p) = &a.provenance {
            told.lock().unwrap().notified.push(p.seq);
        }
    }));
    let first = {
        let svc = svc.clone();
        std::thread::spawn(move || svc.apply(vec![workspace_named("first")]))
    };
    while log.lock().unwrap().group.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let waiting: Vec<_> = then
        .iter()
        .map(|n| {
            let (svc, n) = (svc.clone(), n.to_string());
            std::thread::spawn(move || (n.clone(), svc.apply(vec![workspace_named(&n)])))
        })
        .collect();
    while svc.waiting_len() < then.len() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    setup(&mut log.lock().unwrap());
    open.send(()).unwrap();
    let mut results = vec![("first".to_string(), first.join().unwrap())];
    results.extend(waiting.into_iter().map(|t| t.join().unwrap()));
    (results, log, svc)
}

#[test]
fn concurrent_local_batches_share_one_commit_and_keep_their_own_sequences_and_answers() {
    let (results, log, svc) = group_of(&["b", "c", "d", "b"], |_| {});
    let log = log.lock().unwrap();
    // One commit for the first batch, one for the four that waited behind it.
    assert_eq!(log.commits, 2);
    // The second "b" is refused alone; the others are applied with their own sequences.
    assert!(results[0].1.is_ok());
    let refused: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    assert!(matches!(refused[0].1, Err(ApplyError::Invalid(_))));
    let mut seqs: Vec<u64> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|a| a.provenance.as_ref().unwrap().seq)
        .collect();
    seqs.sort();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    // Listeners (replication) hear of every batch once, in sequence order.
    assert_eq!(log.notified, vec![1, 2, 3, 4]);
    let cat = svc.snapshot();
    for n in ["first", "b", "c", "d"] {
        assert!(cat.find(Kind::Workspace, None, n).is_some(), "{n}");
    }
    // One update sequence per batch, and the position of the last one is visible.
    assert_eq!(cat.update_sequence(), 7 + 4);
    assert_eq!(svc.position("me"), 4);
}

#[test]
fn a_failed_group_commit_refuses_every_batch_of_the_group_and_changes_nothing() {
    let (results, log, svc) = group_of(&["b", "c", "d"], |g| g.fail_commit = true);
    // The first batch's commit fails too (the flag is set before it is let through).
    assert!(results
        .iter()
        .all(|(_, r)| matches!(r, Err(ApplyError::Persist(_)))));
    assert_eq!(log.lock().unwrap().kept.last(), Some(&0));
    assert!(svc.snapshot().find(Kind::Workspace, None, "c").is_none());
}

#[test]
fn a_batch_whose_files_fail_takes_back_the_batches_staged_after_it() {
    let (results, log, svc) = group_of(&["b", "c", "d"], |g| g.fail_files_of = Some("c".into()));
    let log = log.lock().unwrap();
    let order = log.staged.clone();
    let cat = svc.snapshot();
    // "c" failed: what was staged before it in its group stands, it and what followed do not.
    let c_failed = results.iter().find(|(n, _)| n == "c").unwrap();
    assert!(matches!(c_failed.1, Err(ApplyError::Persist(_))));
    for (n, r) in &results[1..] {
        let kept = order.contains(n);
        assert_eq!(r.is_ok(), kept, "{n}: {r:?} (kept {order:?})");
        assert_eq!(cat.find(Kind::Workspace, None, n).is_some(), kept, "{n}");
    }
    assert!(!order.contains(&"c".to_string()));
}
