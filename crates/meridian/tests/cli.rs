//! The command line: `check`, and clear one-line errors with a non-zero exit.
#![allow(clippy::unwrap_used)]

mod common;
use meridian_catalog::Kind;
use std::process::Command;

fn meridian(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_reports_counts_and_problems() {
    let fx = common::fixture();
    let (code, out, _) = meridian(&["check", "--data-dir", fx.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("layer ") && l.trim_end().ends_with(" 24")),
        "{out}"
    );
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&fx, tmp.path());
    std::fs::write(
        tmp.path().join("workspaces/sf/sf/roads/layer.xml"),
        "<layer><name>",
    )
    .unwrap();
    let (code, out, err) = meridian(&["check", "--data-dir", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("problem: workspaces/sf/sf/roads/layer.xml: malformed XML"),
        "{out}"
    );
    assert!(
        err.starts_with("meridian: ") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn check_names_a_hand_made_copy_without_failing() {
    let fx = common::fixture();
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&fx, tmp.path());
    common::copy_dir(
        &tmp.path().join("workspaces/sf/sf/roads"),
        &tmp.path().join("workspaces/sf/sf/roads-copy"),
    );
    // The copy's name must differ for GeoServer to take it as well.
    let ft = tmp
        .path()
        .join("workspaces/sf/sf/roads-copy/featuretype.xml");
    let xml = std::fs::read_to_string(&ft).unwrap();
    std::fs::write(
        &ft,
        xml.replace("<name>roads</name>", "<name>roads2</name>"),
    )
    .unwrap();
    let (code, out, _) = meridian(&["check", "--data-dir", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(
            "notice: workspaces/sf/sf/roads-copy/featuretype.xml: another file has the id"
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("layer ") && l.trim_end().ends_with(" 25")),
        "{out}"
    );
    // Both layers are there under their resources' names, the original as before.
    let l = meridian_datadir::load(tmp.path()).unwrap();
    let sf = l
        .catalog
        .find(Kind::Workspace, None, "sf")
        .unwrap()
        .id()
        .to_string();
    for name in ["roads", "roads2"] {
        let layer = l.catalog.find(Kind::Layer, Some(&sf), name).unwrap();
        let resource = l.catalog.get(layer.ref_id("resource").unwrap()).unwrap();
        assert_eq!(resource.name(), name);
    }
}

#[test]
fn bad_startup_arguments_fail_with_one_line() {
    let (code, _, err) = meridian(&["serve", "--data-dir", "/etc/hostname"]);
    assert_eq!(code, 1);
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("meridian: data directory /etc/hostname"),
        "{err}"
    );
    let (code, _, err) = meridian(&["serve", "--bind", "not-an-address"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid value"), "{err}");
    // A port that is taken.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = meridian(&[
        "serve",
        "--bind",
        &addr,
        "--data-dir",
        tmp.path().join("d").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with(&format!("meridian: cannot listen on {addr}")),
        "{err}"
    );
}
