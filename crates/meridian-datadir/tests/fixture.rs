//! Loading GeoServer's release data directory, and writing changes back to a copy of it.
#![allow(clippy::unwrap_used)]

use meridian_catalog::{
    cascade_remove, Batch, Catalog, CatalogService, Change, Kind, Object, Persist, PersistError,
    Provenance,
};
use meridian_datadir::{load, DataDir};
use std::fs;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    meridian_testkit::fixture_datadir()
}

fn copy_fixture() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    meridian_testkit::copy_dir(&fixture(), d.path()).unwrap();
    d
}

/// Writes each batch's files straight away (the files a journaling node writes, without the
/// journal).
struct FilesOnly(DataDir);

impl Persist for FilesOnly {
    fn persist(
        &mut self,
        _before: &Catalog,
        after: &Catalog,
        batch: &Batch<'_>,
    ) -> Result<Option<Provenance>, PersistError> {
        self.0.write_effects(after, batch.effects)?;
        Ok(None)
    }
}

fn service(root: &Path) -> CatalogService {
    let l = load(root).unwrap();
    CatalogService::new(
        l.catalog,
        Box::new(FilesOnly(DataDir::new(root.to_path_buf(), l.locations))),
    )
}

#[test]
fn release_data_dir_loads_with_the_documented_counts_and_no_problems() {
    let l = load(&fixture()).unwrap();
    assert!(l.problems.is_empty(), "problems: {:#?}", l.problems);
    let c = &l.catalog;
    let counts = [
        (Kind::Workspace, 8),
        (Kind::Namespace, 8),
        (Kind::DataStore, 5),
        (Kind::CoverageStore, 5),
        (Kind::FeatureType, 19),
        (Kind::Coverage, 5),
        (Kind::Layer, 24),
        (Kind::Style, 27),
        (Kind::LayerGroup, 4),
    ];
    for (k, n) in counts {
        assert_eq!(c.count(k), n, "{k:?}");
    }
    assert_eq!(c.scoped(Kind::Style, None).len(), 21);
    let ne = c.find(Kind::Workspace, None, "ne").unwrap();
    assert_eq!(c.scoped(Kind::Style, Some(ne.id())).len(), 6);
    assert_eq!(c.scoped(Kind::LayerGroup, None).len(), 3);
    assert_eq!(c.default_workspace().unwrap().name(), "ne");
    // Old 2009 files without <type> or <enabled> still load and default sensibly.
    let sf = c.find(Kind::Workspace, None, "sf").unwrap();
    let store = c.find(Kind::DataStore, Some(sf.id()), "sf").unwrap();
    assert!(store.enabled());
    assert_eq!(
        store.connection_parameter("url").as_deref(),
        Some("file:data/sf")
    );
    // Style bodies are read from the file named in <filename>.
    let point = c.find(Kind::Style, None, "point").unwrap();
    assert!(point
        .body
        .as_deref()
        .unwrap_or("")
        .contains("StyledLayerDescriptor"));
    assert_eq!(c.service("wms", None).unwrap().id(), "wms");
    assert!(c.service("wms", Some(ne.id())).is_some());
    assert_eq!(c.update_sequence(), 294);
}

#[test]
fn saving_every_object_and_reloading_gives_the_same_catalog() {
    let d = copy_fixture();
    let before = load(d.path()).unwrap().catalog;
    let svc = service(d.path());
    let changes: Vec<Change> = before
        .objects()
        .map(|o| Change::Modify {
            object: (**o).clone(),
        })
        .collect();
    svc.apply(changes).unwrap();
    let after = load(d.path()).unwrap();
    assert!(after.problems.is_empty(), "{:#?}", after.problems);
    for o in before.objects() {
        let back = after
            .catalog
            .get(o.id())
            .unwrap_or_else(|| panic!("{} lost", o.id()));
        if o.kind == Kind::Global {
            assert_eq!(
                after.catalog.update_sequence(),
                before.update_sequence() + 1
            );
            continue;
        }
        assert_eq!(
            back.element(),
            o.element(),
            "{} changed in a round trip",
            o.id()
        );
        assert_eq!(back.body, o.body, "{} body changed", o.id());
    }
    assert_eq!(after.catalog.objects().count(), before.objects().count());
    assert_eq!(after.catalog.default_workspace().unwrap().name(), "ne");
}

#[test]
fn changes_are_written_where_geoserver_puts_them_and_survive_a_reload() {
    let d = copy_fixture();
    let svc = service(d.path());
    let cat = svc.snapshot();
    let topp = cat.find(Kind::Workspace, None, "topp").unwrap().clone();
    // Rename a store: its directory moves with its resources.
    let mut store = (**cat
        .find(Kind::DataStore, Some(topp.id()), "taz_shapes")
        .unwrap())
    .clone();
    store.edit_xml(|x| x.set_child_text("name", "tasmania"));
    svc.apply(vec![Change::Modify { object: store }]).unwrap();
    assert!(d
        .path()
        .join("workspaces/topp/tasmania/datastore.xml")
        .is_file());
    assert!(d
        .path()
        .join("workspaces/topp/tasmania/tasmania_roads/layer.xml")
        .is_file());
    assert!(!d.path().join("workspaces/topp/taz_shapes").exists());

    // A new workspace style with a body.
    let mut style = Object::new(
        Kind::Style,
        meridian_xml::parse(&format!(
            "<style><id>StyleInfoImpl-new</id><name>mine</name><workspace><id>{}</id></workspace><format>sld</format><filename>mine.sld</filename></style>",
            topp.id()
        ))
        .unwrap(),
    );
    style.body = Some("<StyledLayerDescriptor/>".into());
    svc.apply(vec![Change::Add { object: style }]).unwrap();
    assert_eq!(
        fs::read_to_string(d.path().join("workspaces/topp/styles/mine.sld")).unwrap(),
        "<StyledLayerDescriptor/>"
    );

    // Default workspace.
    svc.apply(vec![Change::SetDefaultWorkspace {
        id: topp.id().to_string(),
    }])
    .unwrap();
    let reloaded = load(d.path()).unwrap();
    assert!(reloaded.problems.is_empty(), "{:#?}", reloaded.problems);
    assert_eq!(reloaded.catalog.default_workspace().unwrap().name(), "topp");
    assert!(reloaded
        .catalog
        .find(Kind::DataStore, Some(topp.id()), "tasmania")
        .is_some());
    assert!(reloaded
        .catalog
        .find(Kind::Style, Some(topp.id()), "mine")
        .is_some());

    // Recursive delete of a workspace removes its folder, and groups lose its layers.
    let changes = cascade_remove(&svc.snapshot(), Kind::Workspace, topp.id());
    svc.apply(changes).unwrap();
    assert!(!d.path().join("workspaces/topp").exists());
    let reloaded = load(d.path()).unwrap();
    assert!(reloaded.problems.is_empty(), "{:#?}", reloaded.problems);
    assert!(reloaded
        .catalog
        .find(Kind::LayerGroup, None, "tasmania")
        .is_none());
    assert_eq!(reloaded.catalog.count(Kind::Workspace), 7);
    assert_ne!(reloaded.catalog.default_workspace().unwrap().name(), "topp");
}

#[test]
fn a_store_in_a_folder_of_another_name_stays_there_when_modified() {
    let d = copy_fixture();
    fs::rename(
        d.path().join("workspaces/sf/sf"),
        d.path().join("workspaces/sf/folder"),
    )
    .unwrap();
    let svc = service(d.path());
    let cat = svc.snapshot();
    let sf = cat.find(Kind::Workspace, None, "sf").unwrap();
    let mut store = (**cat.find(Kind::DataStore, Some(sf.id()), "sf").unwrap()).clone();
    store.edit_xml(|x| x.set_child_text("description", "changed"));
    svc.apply(vec![Change::Modify { object: store }]).unwrap();
    let text = fs::read_to_string(d.path().join("workspaces/sf/folder/datastore.xml")).unwrap();
    assert!(text.contains("<description>changed</description>"));
    assert!(!d.path().join("workspaces/sf/sf").exists());
}

#[test]
fn a_broken_file_is_reported_with_its_path_and_the_rest_loads() {
    let d = copy_fixture();
    fs::write(
        d.path().join("workspaces/sf/sf/roads/featuretype.xml"),
        "<featureType><name>roads</nam",
    )
    .unwrap();
    fs::write(d.path().join("styles/burg.xml"), "").unwrap();
    let l = load(d.path()).unwrap();
    let paths: Vec<String> = l.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("workspaces/sf/sf/roads/featuretype.xml: malformed XML")),
        "{paths:#?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("styles/burg.xml")),
        "{paths:#?}"
    );
    assert_eq!(l.catalog.count(Kind::FeatureType), 18);
    assert_eq!(l.catalog.count(Kind::Workspace), 8);
}

#[test]
fn loading_on_one_reader_or_many_gives_the_same_catalog_and_problems() {
    let d = copy_fixture();
    // A duplicate id in another workspace, and a broken file: resolution must not depend on
    // which thread read what first.
    let ws = fs::read_to_string(d.path().join("workspaces/sf/workspace.xml")).unwrap();
    fs::create_dir_all(d.path().join("workspaces/zz")).unwrap();
    fs::write(d.path().join("workspaces/zz/workspace.xml"), ws).unwrap();
    fs::copy(
        d.path().join("workspaces/sf/namespace.xml"),
        d.path().join("workspaces/zz/namespace.xml"),
    )
    .unwrap();
    fs::write(d.path().join("workspaces/sf/sf/roads/layer.xml"), "<layer>").unwrap();
    let one = meridian_datadir::load_with_readers(d.path(), 1).unwrap();
    for readers in [2, 16] {
        let many = meridian_datadir::load_with_readers(d.path(), readers).unwrap();
        assert_eq!(many.problems, one.problems, "{readers} readers");
        let ids = |l: &meridian_datadir::Loaded| -> Vec<(String, String)> {
            l.catalog
                .objects()
                .map(|o| (o.id().to_string(), o.xml().to_xml()))
                .collect()
        };
        assert_eq!(ids(&many), ids(&one), "{readers} readers");
    }
    assert!(
        one.problems
            .iter()
            .any(|p| p.reason.contains("duplicate id")),
        "{:#?}",
        one.problems
    );
    assert!(one.catalog.find(Kind::Workspace, None, "sf").is_some());
}

#[test]
fn without_default_xml_the_first_workspace_by_name_is_the_default() {
    let d = copy_fixture();
    assert_eq!(
        load(d.path())
            .unwrap()
            .catalog
            .default_workspace()
            .unwrap()
            .name(),
        "ne"
    );
    fs::remove_file(d.path().join("workspaces/default.xml")).unwrap();
    let l = load(d.path()).unwrap();
    assert_eq!(l.catalog.default_workspace().unwrap().name(), "cite");
    assert_eq!(l.catalog.count(Kind::FeatureType), 19);
}

#[test]
fn stores_and_resources_behind_symbolic_links_load() {
    let d = copy_fixture();
    let outside = tempfile::tempdir().unwrap();
    let moved = outside.path().join("sf-store");
    fs::rename(d.path().join("workspaces/sf/sf"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, d.path().join("workspaces/sf/sf")).unwrap();
    let l = load(d.path()).unwrap();
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
    assert_eq!(l.catalog.count(Kind::FeatureType), 19);
}

/// The persister itself refuses paths that leave the data directory, whatever asks for them
/// (here effects handed to it straight, as no validated change could be).
#[test]
fn the_persister_writes_and_removes_nothing_outside_the_data_directory() {
    use meridian_catalog::{Catalog, Effect};
    use std::sync::Arc;
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("data");
    meridian_testkit::copy_dir(&fixture(), &root).unwrap();
    let l = load(&root).unwrap();
    let loaded = l.catalog;
    let mut dd = DataDir::new(root.clone(), l.locations);
    let cat = Catalog::new();
    let outside = outer.path().join("outside.txt");
    fs::write(&outside, "keep me").unwrap();
    let object = |kind: Kind, xml: &str, body: Option<&str>| {
        let mut o = Object::new(kind, meridian_xml::parse(xml).unwrap());
        o.body = body.map(str::to_string);
        Arc::new(o)
    };
    let attempts = [
        // A style body written through its file name: relative and absolute.
        object(
            Kind::Style,
            "<style><id>s1</id><name>s1</name><filename>../pwned.txt</filename></style>",
            Some("pwned"),
        ),
        object(
            Kind::Style,
            &format!(
                "<style><id>s2</id><name>s2</name><filename>{}</filename></style>",
                outer.path().join("pwned.txt").display()
            ),
            Some("pwned"),
        ),
        // A style whose name climbs out.
        object(
            Kind::Style,
            "<style><id>s3</id><name>../../pwned</name></style>",
            None,
        ),
    ];
    for o in attempts {
        let saved = dd.write_effects(
            &cat,
            &[Effect::Saved {
                object: o.clone(),
                previous: None,
            }],
        );
        assert!(saved.is_err(), "{:?} was written", o.xml().to_xml());
    }
    assert!(!outer.path().join("pwned.txt").exists());
    assert!(!outer.path().join("pwned.xml").exists());
    // Removing a style whose body file names a file outside leaves that file alone (styles
    // the data directory holds, with their file name changed in memory).
    for (name, file) in [
        ("burg", outside.display().to_string()),
        ("capitals", "../../outside.txt".to_string()),
    ] {
        let mut victim = (**loaded.find(Kind::Style, None, name).unwrap()).clone();
        victim.edit_xml(|x| x.set_child_text("filename", &file));
        dd.write_effects(
            &cat,
            &[Effect::Removed {
                object: Arc::new(victim),
            }],
        )
        .unwrap();
        assert!(!root.join(format!("styles/{name}.xml")).exists());
    }
    assert_eq!(fs::read_to_string(&outside).unwrap(), "keep me");
}

#[test]
fn a_store_folder_copied_by_hand_into_another_workspace_loads_as_a_copy_of_its_own() {
    let d = copy_fixture();
    let root = d.path();
    meridian_testkit::copy_dir(
        &root.join("workspaces/sf/sf"),
        &root.join("workspaces/cite/sf"),
    )
    .unwrap();
    let l = load(root).unwrap();
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
    // The store, its five feature types and their layers: each reported once.
    assert_eq!(l.notices.len(), 11, "{:#?}", l.notices);
    assert!(
        l.notices[0].reason.contains("loaded as a copy"),
        "{:#?}",
        l.notices
    );
    let c = &l.catalog;
    let cite = c
        .find(Kind::Workspace, None, "cite")
        .unwrap()
        .id()
        .to_string();
    let cite_ns = c
        .find(Kind::Namespace, None, "cite")
        .unwrap()
        .id()
        .to_string();
    let sf = c
        .find(Kind::Workspace, None, "sf")
        .unwrap()
        .id()
        .to_string();
    let copy = c.find(Kind::DataStore, Some(&cite), "sf").unwrap();
    let original = c.find(Kind::DataStore, Some(&sf), "sf").unwrap();
    assert!(
        copy.id().starts_with("DataStoreInfoImpl-copy-"),
        "{}",
        copy.id()
    );
    assert_ne!(copy.id(), original.id());
    assert_eq!(copy.workspace(), Some(cite.as_str()));
    assert_eq!(c.resources_of(original.id()).len(), 5);
    let copies = c.resources_of(copy.id());
    assert_eq!(copies.len(), 5);
    for ft in &copies {
        assert_eq!(ft.ref_id("namespace"), Some(cite_ns.as_str()));
        let layer = c.layer_of(ft.id()).unwrap();
        assert_eq!(
            c.find(Kind::Layer, Some(&cite), ft.name()).map(|l| l.id()),
            Some(layer.id())
        );
        // The original's layer is still the original's.
        let theirs = c.find(Kind::Layer, Some(&sf), ft.name()).unwrap();
        assert_ne!(theirs.id(), layer.id());
    }
    assert!(c.dangling_references().is_empty());
    // Every start gives the copies the same ids; nothing was written.
    let again = load(root).unwrap();
    let ids = |c: &Catalog| {
        let mut v: Vec<String> = c.objects().map(|o| o.id().to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&again.catalog), ids(c));
    let on_disk = fs::read_to_string(root.join("workspaces/cite/sf/datastore.xml")).unwrap();
    assert!(on_disk.contains(original.id()), "{on_disk}");
    // Saved, the copy is written with its own id, and its feature types still follow it.
    let copy_id = copy.id().to_string();
    let svc = service(root);
    let mut edited = (**svc.snapshot().get(&copy_id).unwrap()).clone();
    edited.edit_xml(|x| x.set_child_text("description", "copied by hand"));
    svc.apply(vec![Change::Modify { object: edited }]).unwrap();
    let on_disk = fs::read_to_string(root.join("workspaces/cite/sf/datastore.xml")).unwrap();
    assert!(on_disk.contains(&copy_id), "{on_disk}");
    let l = load(root).unwrap();
    assert_eq!(l.notices.len(), 10, "{:#?}", l.notices);
    assert_eq!(l.catalog.resources_of(&copy_id).len(), 5);
    assert!(l.catalog.dangling_references().is_empty());
}

#[test]
fn a_workspace_copied_whole_under_another_name_loads_with_its_own_styles_and_groups() {
    let d = copy_fixture();
    let root = d.path();
    let sf = root.join("workspaces/sf");
    // A style of the workspace, used by roads, and a group of the workspace holding roads.
    fs::create_dir_all(sf.join("styles")).unwrap();
    fs::write(
        sf.join("styles/local.xml"),
        "<style><id>StyleInfoImpl-local</id><name>local</name><workspace><id>WorkspaceInfoImpl--570ae188:124761b8d78:-7fff</id></workspace><format>sld</format><filename>local.sld</filename></style>",
    )
    .unwrap();
    fs::copy(root.join("styles/burg.sld"), sf.join("styles/local.sld")).unwrap();
    let layer = sf.join("sf/roads/layer.xml");
    let xml = fs::read_to_string(&layer).unwrap();
    fs::write(
        &layer,
        xml.replace(
            "StyleInfoImpl--570ae188:124761b8d78:-7fe8",
            "StyleInfoImpl-local",
        ),
    )
    .unwrap();
    fs::create_dir_all(sf.join("layergroups")).unwrap();
    fs::write(
        sf.join("layergroups/g.xml"),
        "<layerGroup><id>LayerGroupInfoImpl-g</id><name>g</name><mode>SINGLE</mode><workspace><id>WorkspaceInfoImpl--570ae188:124761b8d78:-7fff</id></workspace><publishables><published type=\"layer\"><id>LayerInfoImpl--570ae188:124761b8d78:-7fc4</id></published></publishables><styles><style/></styles></layerGroup>",
    )
    .unwrap();
    // The whole workspace copied by hand, renamed (ids unchanged).
    let sf2 = root.join("workspaces/sf2");
    meridian_testkit::copy_dir(&sf, &sf2).unwrap();
    for (file, from, to) in [
        ("workspace.xml", "<name>sf</name>", "<name>sf2</name>"),
        (
            "namespace.xml",
            "<prefix>sf</prefix>",
            "<prefix>sf2</prefix>",
        ),
        ("namespace.xml", "spearfish", "spearfish2"),
    ] {
        let p = sf2.join(file);
        let x = fs::read_to_string(&p).unwrap();
        fs::write(&p, x.replace(from, to)).unwrap();
    }
    let l = load(root).unwrap();
    assert!(l.problems.is_empty(), "{:#?}", l.problems);
    let c = &l.catalog;
    assert!(c.dangling_references().is_empty());
    let ws = |n: &str| c.find(Kind::Workspace, None, n).unwrap().id().to_string();
    let (sf_id, sf2_id) = (ws("sf"), ws("sf2"));
    assert_eq!(sf_id, "WorkspaceInfoImpl--570ae188:124761b8d78:-7fff");
    for (w, original) in [(&sf_id, true), (&sf2_id, false)] {
        let style = c.find(Kind::Style, Some(w), "local").unwrap();
        let roads = c.find(Kind::Layer, Some(w), "roads").unwrap();
        let group = c.find(Kind::LayerGroup, Some(w), "g").unwrap();
        assert_eq!(style.id() == "StyleInfoImpl-local", original);
        // Each workspace's layer draws with its own workspace's style, and each group
        // holds its own workspace's layer.
        assert_eq!(roads.ref_id("defaultStyle"), Some(style.id()), "{w}");
        let holding: Vec<&str> = c
            .groups_containing(roads.id())
            .iter()
            .map(|g| g.id())
            .collect();
        assert!(holding.contains(&group.id()), "{w}: {holding:?}");
        let members = group
            .xml()
            .get("publishables")
            .unwrap()
            .to_element()
            .to_xml();
        assert!(members.contains(roads.id()), "{w}: {members}");
        let ft = c.get(roads.ref_id("resource").unwrap()).unwrap();
        let ns = c.get(ft.ref_id("namespace").unwrap()).unwrap();
        assert_eq!(ns.name(), if original { "sf" } else { "sf2" });
    }
}
