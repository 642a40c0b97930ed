#![allow(clippy::unwrap_used, unused_imports)]
//! What this crate's tests share beyond `meridian-testkit` (nodes, clusters, brokers): upload
//! bodies, and the cluster keys a test derives to speak as a member.
#![allow(dead_code)]

pub mod cluster;

pub use meridian_testkit::{expect, same_digest, status, wait_for, Node};
use std::path::PathBuf;

/// GeoServer's release data directory (the repository's copy).
pub fn fixture() -> PathBuf {
    meridian_testkit::fixture_datadir()
}

/// A zip of the given files, as a client uploads them.
pub fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, bytes) in files {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// The fixture's `sf/roads` shapefile (.shp, .shx, .dbf, .prj), each named `{prefix}roads.*`.
pub fn roads_files(prefix: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixture().join("data/sf");
    ["shp", "shx", "dbf", "prj"]
        .iter()
        .map(|e| {
            (
                format!("{prefix}roads.{e}"),
                std::fs::read(dir.join(format!("roads.{e}"))).unwrap(),
            )
        })
        .collect()
}

/// [`roads_files`] zipped.
pub fn roads_zip(prefix: &str) -> Vec<u8> {
    let files = roads_files(prefix);
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    zip_of(&refs)
}

/// Copy a directory tree.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    meridian_testkit::copy_dir(from, to).unwrap();
}

/// Add a user (a `plain:` password) holding `roles` to the security files of a data
/// directory that has GeoServer's release files (before its node starts).
pub fn add_user(dir: &std::path::Path, name: &str, password: &str, roles: &[&str]) {
    let sec = dir.join("security");
    let users_file = sec.join("usergroup/default/users.xml");
    let users = std::fs::read_to_string(&users_file).unwrap();
    std::fs::write(
        &users_file,
        users.replacen(
            "<users>",
            &format!(
                "<users><user enabled=\"true\" name=\"{name}\" password=\"plain:{password}\"/>"
            ),
            1,
        ),
    )
    .unwrap();
    if roles.is_empty() {
        return;
    }
    let refs: String = roles
        .iter()
        .map(|r| format!("<roleRef roleID=\"{r}\"/>"))
        .collect();
    let roles_file = sec.join("role/default/roles.xml");
    let text = std::fs::read_to_string(&roles_file).unwrap();
    std::fs::write(
        &roles_file,
        text.replacen(
            "<userList>",
            &format!("<userList><userRoles username=\"{name}\">{refs}</userRoles>"),
            1,
        ),
    )
    .unwrap();
}
