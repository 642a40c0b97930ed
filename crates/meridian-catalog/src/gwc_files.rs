//! The tile cache's configuration as catalog objects, so that it travels the same journaled
//! path as the rest: one [`Kind::TileCache`] object per file GeoServer's GeoWebCache
//! integration keeps, named by its path under the data directory, its text as the body.
//!
//! The files ([`is_file`]): `gwc-gs.xml` (the integration's settings), `gwc/geowebcache.xml`
//! (GeoWebCache's own configuration: custom gridsets) and `gwc-layers/<file>.xml` (one tile
//! layer per published layer or group, the file named after the layer's id with `:` as `_`).

use crate::{Kind, Object};
use meridian_xml::Element;
use std::sync::Arc;

/// The integration's settings.
pub const SETTINGS: &str = "gwc-gs.xml";

/// GeoWebCache's own configuration (gridsets).
pub const GEOWEBCACHE: &str = "gwc/geowebcache.xml";

/// Meridian's record of the truncations asked for (GeoWebCache's `masstruncate`): a count per
/// layer (`*`: every layer), with the box of the last one when it was a `truncateExtent`, so
/// that every node truncates what one was asked to.
pub const TRUNCATIONS: &str = "gwc/meridian-truncations.xml";

/// Meridian's record of the seed requests made (through GeoWebCache's seeding REST API), so
/// that every node seeds its own cache.
pub const SEEDS: &str = "gwc/meridian-seeds.xml";

/// GeoWebCache's disk quota configuration (`gwcQuotaConfiguration`).
pub const DISKQUOTA: &str = "gwc/geowebcache-diskquota.xml";

/// The folder of the tile layers.
pub const LAYERS_DIR: &str = "gwc-layers";

/// Largest text a tile cache file may hold.
const MAX_TEXT: usize = 4 * 1024 * 1024;

const PREFIX: &str = "gwc:";

/// The id of the object of the file `name`.
pub fn id_of(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// The file of the tile layer of the layer or group `layer_id`.
pub fn layer_file(layer_id: &str) -> String {
    format!("{LAYERS_DIR}/{}.xml", layer_id.replace(':', "_"))
}

/// The object holding the file `name` with `text`.
pub fn object(name: &str, text: String) -> Object {
    let mut o = Object::new(
        Kind::TileCache,
        Element::new("gwcFile")
            .child(Element::with_text("id", id_of(name)))
            .child(Element::with_text("name", name)),
    );
    o.body = Some(text);
    o
}

/// Whether `name` is one of the tile cache's files: the settings, GeoWebCache's
/// configuration, or a tile layer file (a plain `.xml` name in `gwc-layers/`).
pub fn is_file(name: &str) -> bool {
    if [SETTINGS, GEOWEBCACHE, TRUNCATIONS, DISKQUOTA, SEEDS].contains(&name) {
        return true;
    }
    match name.strip_prefix("gwc-layers/") {
        Some(file) => {
            file.ends_with(".xml")
                && file.len() <= 255
                && !file.starts_with('.')
                && file
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        }
        None => false,
    }
}

/// The tile cache file objects of a catalog, in id order (a range of the id index).
pub fn objects_of(cat: &crate::Catalog) -> Vec<&Arc<Object>> {
    cat.objects_after(Some(PREFIX))
        .take_while(|o| o.id().starts_with(PREFIX))
        .filter(|o| o.kind == Kind::TileCache)
        .collect()
}

/// The tile layer objects of a catalog.
pub fn layers_of(cat: &crate::Catalog) -> Vec<&Arc<Object>> {
    let from = id_of(&format!("{LAYERS_DIR}/"));
    cat.objects_after(Some(&from))
        .take_while(|o| o.id().starts_with(&from))
        .filter(|o| o.kind == Kind::TileCache)
        .collect()
}

/// The global quota a disk quota file's text sets, in bytes (`None`: quotas are off).
pub fn quota_bytes(text: &str) -> Result<Option<u64>, String> {
    let root = meridian_xml::parse(text).map_err(|e| format!("{DISKQUOTA}: {e}"))?;
    if root.child_text("enabled").map(str::trim) != Some("true") {
        return Ok(None);
    }
    let Some(q) = root.get("globalQuota") else {
        return Ok(None);
    };
    let value: f64 = q
        .child_text("value")
        .and_then(|v| v.trim().parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| "the global quota's <value> is a number of units".to_string())?;
    let unit: f64 = match q.child_text("units").map(str::trim).unwrap_or("B") {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "'{other}' is not a unit of the disk quota (B, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    Ok(Some((value * unit).min(u64::MAX as f64) as u64))
}

/// The quota a catalog's disk quota file sets: `None` without the file (the node's own
/// applies), `Some(None)` when quotas are off, `Some(Some(bytes))` else. A file that does not
/// read counts as no file (the catalog refuses such files).
pub fn configured_quota(cat: &crate::Catalog) -> Option<Option<u64>> {
    cat.get_kind(Kind::TileCache, &id_of(DISKQUOTA))
        .and_then(|o| o.body.as_deref())
        .and_then(|t| quota_bytes(t).ok())
}

/// One layer's record in the truncations file: how many truncations were asked for, and the
/// box of the last one when it was a `truncateExtent` (in `gridset`'s CRS, or in WGS84 for
/// every gridset when none is named).
#[derive(Debug, Clone, PartialEq)]
pub struct Truncation {
    /// Truncations asked for so far.
    pub count: u64,
    /// The last one's box, when it was one.
    pub extent: Option<TruncatedExtent>,
}

/// The box a `truncateExtent` truncated.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncatedExtent {
    /// The gridset it applies to (its CRS); `None`: every gridset, the box in WGS84.
    pub gridset: Option<String>,
    /// `[minx, miny, maxx, maxy]`.
    pub bbox: [f64; 4],
}

/// The records of a truncations file's text, by layer id (`*`: every layer).
pub fn truncation_records(text: Option<&str>) -> std::collections::BTreeMap<String, Truncation> {
    text.and_then(|t| meridian_xml::parse(t).ok())
        .map(|root| {
            root.all("layer")
                .filter_map(|l| {
                    let id = l.attr_value("id")?.to_string();
                    let count = l.attr_value("count")?.parse::<u64>().ok()?;
                    let extent = l.attr_value("bbox").and_then(|b| {
                        let v: Vec<f64> =
                            b.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                        let bbox: [f64; 4] = v.try_into().ok()?;
                        Some(TruncatedExtent {
                            gridset: l.attr_value("gridset").map(str::to_string),
                            bbox,
                        })
                    });
                    Some((id, Truncation { count, extent }))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The truncation counts of a truncations file's text, by layer id (`*`: every layer).
pub fn truncations(text: Option<&str>) -> std::collections::BTreeMap<String, u64> {
    truncation_records(text)
        .into_iter()
        .map(|(id, t)| (id, t.count))
        .collect()
}

/// The truncations file's text after one more truncation of each of `ids` (whole layers).
pub fn truncated(text: Option<&str>, ids: &[&str]) -> String {
    let mut records = truncation_records(text);
    for id in ids {
        count_one(&mut records, id, None);
    }
    write_truncations(&records)
}

/// The truncations file's text after one more truncation of layer `id`, inside `extent`.
pub fn truncated_extent(text: Option<&str>, id: &str, extent: TruncatedExtent) -> String {
    let mut records = truncation_records(text);
    count_one(&mut records, id, Some(extent));
    write_truncations(&records)
}

/// One more truncation of `id`, whole (`None`) or of a box.
fn count_one(
    records: &mut std::collections::BTreeMap<String, Truncation>,
    id: &str,
    extent: Option<TruncatedExtent>,
) {
    let r = records.entry(id.to_string()).or_insert(Truncation {
        count: 0,
        extent: None,
    });
    r.count += 1;
    r.extent = extent;
}

fn write_truncations(records: &std::collections::BTreeMap<String, Truncation>) -> String {
    let mut root = Element::new("meridianTruncations");
    for (id, t) in records {
        let mut e = Element::new("layer")
            .attr("id", id.as_str())
            .attr("count", t.count.to_string());
        if let Some(x) = &t.extent {
            let [a, b, c, d] = x.bbox;
            e = e.attr("bbox", format!("{a},{b},{c},{d}"));
            if let Some(g) = &x.gridset {
                e = e.attr("gridset", g.as_str());
            }
        }
        root.children.push(e);
    }
    root.to_xml()
}

/// The root a file's XML must have.
fn root_of(name: &str) -> &'static str {
    match name {
        SETTINGS => "GeoServerGWCConfig",
        GEOWEBCACHE => "gwcConfiguration",
        TRUNCATIONS => "meridianTruncations",
        DISKQUOTA => "gwcQuotaConfiguration",
        SEEDS => "meridianSeeds",
        _ => "GeoServerTileLayer",
    }
}

/// Check a tile cache file object: one of [`is_file`], its id made from its name, a bounded
/// text that parses with its file's root; a tile layer names the layer its file is named
/// after.
pub fn check(o: &Object) -> Result<(), String> {
    let name = o.name();
    if !is_file(name) {
        return Err(format!(
            "'{name}' is not one of the tile cache's files ({SETTINGS}, {GEOWEBCACHE}, {LAYERS_DIR}/<layer id>.xml)"
        ));
    }
    if o.id() != id_of(name) {
        return Err(format!(
            "the tile cache file {name} has the id {}, not {}",
            o.id(),
            id_of(name)
        ));
    }
    let Some(text) = o.body.as_deref() else {
        return Err(format!("the tile cache file {name} has no text"));
    };
    if text.len() > MAX_TEXT {
        return Err(format!(
            "the tile cache file {name} is larger than {MAX_TEXT} bytes"
        ));
    }
    let root = meridian_xml::parse(text)
        .map_err(|e| format!("the tile cache file {name} is not XML: {e}"))?;
    let want = root_of(name);
    if root.name.as_str() != want {
        return Err(format!(
            "the tile cache file {name} has the root <{}>, not <{want}>",
            root.name
        ));
    }
    // What the tile services read must read: the same checks as a REST write.
    match name {
        SETTINGS => {
            meridian_tiles::Settings::parse(text).map_err(|e| e.to_string())?;
        }
        TRUNCATIONS | SEEDS => {}
        DISKQUOTA => {
            quota_bytes(text)?;
        }
        GEOWEBCACHE => {
            for g in root
                .get("gridSets")
                .into_iter()
                .flat_map(|l| l.all("gridSet"))
            {
                meridian_tiles::GridSet::from_xml(g).map_err(|e| e.to_string())?;
            }
        }
        _ => {
            meridian_tiles::TileLayer::from_element(&root).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    if name.starts_with("gwc-layers/") {
        let id = root.child_text("id").map(str::trim).unwrap_or_default();
        if id.is_empty() || layer_file(id) != name {
            return Err(format!(
                "the tile layer in {name} names the layer '{id}', whose file is {}",
                layer_file(id)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tile_caches_files_with_readable_text_are_tile_cache_files() {
        let layer = |id: &str| {
            format!(
                "<GeoServerTileLayer><id>{id}</id><name>topp:states</name></GeoServerTileLayer>"
            )
        };
        let ok = object(
            "gwc-layers/LayerInfoImpl-1_2_-7fe2.xml",
            layer("LayerInfoImpl-1:2:-7fe2"),
        );
        assert!(check(&ok).is_ok(), "{:?}", check(&ok));
        assert_eq!(layer_file("LayerInfoImpl-1:2:-7fe2"), ok.name());
        // Another layer's id, another root, a path out, a name that is no file of the cache.
        assert!(check(&object("gwc-layers/x.xml", layer("y"))).is_err());
        assert!(check(&object("gwc-layers/x.xml", "<GeoServerGWCConfig/>".into())).is_err());
        assert!(check(&object("gwc-layers/../../etc/x.xml", layer("x"))).is_err());
        assert!(check(&object("gwc-layers/sub/x.xml", layer("x"))).is_err());
        assert!(check(&object("other.xml", "<GeoServerGWCConfig/>".into())).is_err());
        assert!(check(&object(SETTINGS, "<GeoServerGWCConfig/>".into())).is_ok());
        assert!(check(&object(GEOWEBCACHE, "<gwcConfiguration/>".into())).is_ok());
        let t = truncated(None, &["L1", "*"]);
        let t = truncated(Some(&t), &["L1"]);
        assert!(check(&object(TRUNCATIONS, t.clone())).is_ok());
        let q = "<gwcQuotaConfiguration><enabled>true</enabled><globalQuota><value>2</value><units>MiB</units></globalQuota></gwcQuotaConfiguration>";
        assert_eq!(quota_bytes(q), Ok(Some(2 * 1024 * 1024)));
        assert!(check(&object(DISKQUOTA, q.replace("MiB", "parsecs"))).is_err());
        assert_eq!(quota_bytes(&q.replace(">true<", ">false<")), Ok(None));
        assert_eq!(truncations(Some(&t))["L1"], 2);
        assert_eq!(truncations(Some(&t))["*"], 1);
        assert!(check(&object(SETTINGS, "not xml".into())).is_err());
    }
}
