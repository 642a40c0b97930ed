//! Writes a synthetic GeoServer data directory of a chosen size.
//!
//! Shape: a few hundred workspaces, each with its namespace, one style (SLD + entry) and one
//! layer group; stores of many feature types each, every feature type published as a layer with
//! attributes and bounds filled in, as GeoServer writes them after publishing.

use crate::BenchError;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// How big a data directory to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Total layers (and feature types).
    pub layers: usize,
    /// Feature types per store.
    pub per_store: usize,
    /// Members of each workspace's layer group.
    pub group_size: usize,
}

impl Shape {
    /// The default shape for `layers` layers.
    pub fn new(layers: usize) -> Self {
        Shape {
            layers,
            per_store: 50,
            group_size: 10,
        }
    }

    /// Workspaces: a few hundred for big catalogs, fewer for small ones.
    pub fn workspaces(&self) -> usize {
        (self.layers / 300).clamp(1, 500)
    }

    /// The workspace index holding layer `l` (layers are spread evenly, the first workspaces
    /// taking the remainder).
    pub fn workspace_of(&self, l: usize) -> usize {
        let wss = self.workspaces();
        let base = self.layers / wss;
        let rem = self.layers % wss;
        let big = rem * (base + 1);
        if l < big {
            l / (base + 1)
        } else {
            rem + (l - big) / base.max(1)
        }
    }
}

/// What was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Workspaces (and namespaces).
    pub workspaces: usize,
    /// Data stores.
    pub stores: usize,
    /// Feature types and layers.
    pub layers: usize,
    /// Workspace styles (the default global styles come in addition).
    pub styles: usize,
    /// Layer groups.
    pub groups: usize,
}

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    fs::write(path, text).map_err(|e| BenchError::Io(path.display().to_string(), e))
}

fn mkdir(path: &Path) -> Result<(), BenchError> {
    fs::create_dir_all(path).map_err(|e| BenchError::Io(path.display().to_string(), e))
}

/// The data directory to benchmark: `given` if it already holds a catalog (a big directory is
/// generated once and reused), else a catalog of `layers` layers generated into `given` or into
/// `scratch/data`.
pub fn ensure(
    given: Option<&Path>,
    scratch: &Path,
    layers: usize,
) -> Result<std::path::PathBuf, BenchError> {
    let root = given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| scratch.join("data"));
    if !root.join("workspaces").is_dir() {
        let t = std::time::Instant::now();
        let c = generate(&root, Shape::new(layers))?;
        println!(
            "generated {} layers, {} stores, {} workspaces, {} groups in {:.1} s",
            c.layers,
            c.stores,
            c.workspaces,
            c.groups,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(root)
}

/// Write the data directory at `root`, which must be empty or missing.
pub fn generate(root: &Path, shape: Shape) -> Result<Counts, BenchError> {
    if root.exists()
        && fs::read_dir(root)
            .map_err(|e| BenchError::Io(root.display().to_string(), e))?
            .next()
            .is_some()
    {
        return Err(BenchError::NotEmpty(root.display().to_string()));
    }
    meridian_datadir::init_if_empty(root).map_err(|e| BenchError::DataDir(e.to_string()))?;
    let wss = shape.workspaces();
    let per_store = shape.per_store.max(1);
    let mut counts = Counts::default();
    let mut next_layer = 0usize;
    for w in 0..wss {
        // Spread the layers evenly; the first workspaces take the remainder.
        let mine = shape.layers / wss + usize::from(w < shape.layers % wss);
        let ws = format!("ws{w:04}");
        let dir = root.join("workspaces").join(&ws);
        mkdir(&dir.join("styles"))?;
        mkdir(&dir.join("layergroups"))?;
        write(
            &dir.join("workspace.xml"),
            &format!("<workspace>\n  <id>WorkspaceInfoImpl-bench-{w}</id>\n  <name>{ws}</name>\n</workspace>\n"),
        )?;
        write(
            &dir.join("namespace.xml"),
            &format!(
                "<namespace>\n  <id>NamespaceInfoImpl-bench-{w}</id>\n  <prefix>{ws}</prefix>\n  <uri>http://meridian.example/{ws}</uri>\n</namespace>\n"
            ),
        )?;
        let style_id = format!("StyleInfoImpl-bench-{w}");
        write(
            &dir.join("styles").join(format!("{ws}_polygon.xml")),
            &format!(
                "<style>\n  <id>{style_id}</id>\n  <name>{ws}_polygon</name>\n  <workspace>\n    <id>WorkspaceInfoImpl-bench-{w}</id>\n  </workspace>\n  <format>sld</format>\n  <languageVersion>\n    <version>1.0.0</version>\n  </languageVersion>\n  <filename>{ws}_polygon.sld</filename>\n</style>\n"
            ),
        )?;
        write(
            &dir.join("styles").join(format!("{ws}_polygon.sld")),
            &sld(&ws),
        )?;
        counts.styles += 1;
        let mut members = Vec::new();
        let stores = mine.div_ceil(per_store);
        for s in 0..stores {
            let store = format!("store{s:03}");
            let store_id = format!("DataStoreInfoImpl-bench-{w}-{s}");
            let sdir = dir.join(&store);
            mkdir(&sdir)?;
            write(
                &sdir.join("datastore.xml"),
                &format!(
                    "<dataStore>\n  <id>{store_id}</id>\n  <name>{store}</name>\n  <type>Directory of spatial files (shapefiles)</type>\n  <enabled>true</enabled>\n  <workspace>\n    <id>WorkspaceInfoImpl-bench-{w}</id>\n  </workspace>\n  <connectionParameters>\n    <entry key=\"namespace\">http://meridian.example/{ws}</entry>\n    <entry key=\"url\">file:data/bench/{ws}/{store}</entry>\n    <entry key=\"charset\">UTF-8</entry>\n  </connectionParameters>\n  <__default>false</__default>\n</dataStore>\n"
                ),
            )?;
            counts.stores += 1;
            let here = per_store.min(mine - s * per_store);
            for _ in 0..here {
                let l = next_layer;
                next_layer += 1;
                let name = format!("layer{l:07}");
                let ldir = sdir.join(&name);
                mkdir(&ldir)?;
                write(
                    &ldir.join("featuretype.xml"),
                    &feature_type(l, &name, w, &store_id),
                )?;
                write(&ldir.join("layer.xml"), &layer(l, &name, &style_id))?;
                if members.len() < shape.group_size {
                    members.push(format!("LayerInfoImpl-bench-{l}"));
                }
                counts.layers += 1;
            }
        }
        if !members.is_empty() {
            write(
                &dir.join("layergroups").join(format!("{ws}_group.xml")),
                &group(w, &ws, &members),
            )?;
            counts.groups += 1;
        }
        counts.workspaces += 1;
    }
    Ok(counts)
}

fn sld(ws: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc">
  <NamedLayer>
    <Name>{ws}_polygon</Name>
    <UserStyle>
      <Title>Grey polygons of {ws}</Title>
      <FeatureTypeStyle>
        <Rule>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#AAAAAA</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#000000</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
"#
    )
}

fn bbox(tag: &str, l: usize) -> String {
    // Each layer gets its own one-degree cell, so bounds differ from layer to layer.
    let x = (l % 360) as f64 - 180.0;
    let y = ((l / 360) % 170) as f64 - 85.0;
    format!(
        "  <{tag}>\n    <minx>{x}</minx>\n    <maxx>{}</maxx>\n    <miny>{y}</miny>\n    <maxy>{}</maxy>\n    <crs>EPSG:4326</crs>\n  </{tag}>\n",
        x + 1.0,
        y + 1.0
    )
}

fn feature_type(l: usize, name: &str, w: usize, store_id: &str) -> String {
    let mut s = String::with_capacity(2048);
    let _ = write!(
        s,
        "<featureType>\n  <id>FeatureTypeInfoImpl-bench-{l}</id>\n  <name>{name}</name>\n  <nativeName>{name}</nativeName>\n  <namespace>\n    <id>NamespaceInfoImpl-bench-{w}</id>\n  </namespace>\n  <title>Layer {l}</title>\n  <abstract>Synthetic layer {l} for benchmarks.</abstract>\n  <keywords>\n    <string>features</string>\n    <string>{name}</string>\n  </keywords>\n  <srs>EPSG:4326</srs>\n"
    );
    s.push_str(&bbox("nativeBoundingBox", l));
    s.push_str(&bbox("latLonBoundingBox", l));
    let _ = write!(
        s,
        "  <projectionPolicy>FORCE_DECLARED</projectionPolicy>\n  <enabled>true</enabled>\n  <store class=\"dataStore\">\n    <id>{store_id}</id>\n  </store>\n  <serviceConfiguration>false</serviceConfiguration>\n  <maxFeatures>0</maxFeatures>\n  <numDecimals>0</numDecimals>\n"
    );
    // MERIDIAN_BENCH_NO_ATTRIBUTES=1: feature types as GeoServer keeps them before their
    // attributes are listed (about half the XML per layer).
    if std::env::var_os("MERIDIAN_BENCH_NO_ATTRIBUTES").is_some() {
        s.push_str("</featureType>\n");
        return s;
    }
    s.push_str("  <attributes>\n");
    for (attr, binding) in [
        ("the_geom", "org.locationtech.jts.geom.MultiPolygon"),
        ("NAME", "java.lang.String"),
        ("CODE", "java.lang.Integer"),
        ("AREA", "java.lang.Double"),
    ] {
        let _ = write!(
            s,
            "    <attribute>\n      <name>{attr}</name>\n      <minOccurs>0</minOccurs>\n      <maxOccurs>1</maxOccurs>\n      <nillable>true</nillable>\n      <binding>{binding}</binding>\n    </attribute>\n"
        );
    }
    s.push_str("  </attributes>\n</featureType>\n");
    s
}

fn layer(l: usize, name: &str, style_id: &str) -> String {
    format!(
        "<layer>\n  <name>{name}</name>\n  <id>LayerInfoImpl-bench-{l}</id>\n  <type>VECTOR</type>\n  <defaultStyle>\n    <id>{style_id}</id>\n  </defaultStyle>\n  <resource class=\"featureType\">\n    <id>FeatureTypeInfoImpl-bench-{l}</id>\n  </resource>\n  <attribution>\n    <logoWidth>0</logoWidth>\n    <logoHeight>0</logoHeight>\n  </attribution>\n</layer>\n"
    )
}

fn group(w: usize, ws: &str, members: &[String]) -> String {
    let mut s = format!(
        "<layerGroup>\n  <id>LayerGroupInfoImpl-bench-{w}</id>\n  <name>{ws}_group</name>\n  <mode>SINGLE</mode>\n  <title>All of {ws}</title>\n  <workspace>\n    <id>WorkspaceInfoImpl-bench-{w}</id>\n  </workspace>\n  <publishables>\n"
    );
    for m in members {
        let _ = write!(
            s,
            "    <published type=\"layer\">\n      <id>{m}</id>\n    </published>\n"
        );
    }
    s.push_str("  </publishables>\n  <styles>\n");
    for _ in members {
        s.push_str("    <style/>\n");
    }
    s.push_str("  </styles>\n</layerGroup>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_catalog::Kind;

    #[test]
    fn generated_directory_loads_without_problems() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let counts = generate(&root, Shape::new(777)).unwrap();
        assert_eq!(counts.layers, 777);
        assert_eq!(counts.workspaces, 2);
        let loaded = meridian_datadir::load(&root).unwrap();
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        let cat = &loaded.catalog;
        assert_eq!(cat.list(Kind::Layer).len(), 777);
        assert_eq!(cat.list(Kind::FeatureType).len(), 777);
        assert_eq!(cat.list(Kind::DataStore).len(), 16);
        assert_eq!(cat.list(Kind::LayerGroup).len(), 2);
        // workspace_of says where each layer was written.
        let shape = Shape::new(777);
        for l in [0, 1, 388, 389, 776] {
            let ws = root.join(format!("workspaces/ws{:04}", shape.workspace_of(l)));
            let found = std::fs::read_dir(&ws)
                .unwrap()
                .any(|e| e.unwrap().path().join(format!("layer{l:07}")).is_dir());
            assert!(found, "layer {l} not in {}", ws.display());
        }
    }

    #[test]
    fn refuses_a_directory_that_is_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "x").unwrap();
        assert!(matches!(
            generate(dir.path(), Shape::new(10)),
            Err(BenchError::NotEmpty(_))
        ));
    }
}
