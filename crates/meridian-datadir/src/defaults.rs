//! A minimal valid configuration for a new data directory, and GeoServer's built-in styles.

use crate::atomic::write_atomic;
use crate::DataDirError;
use meridian_catalog::{new_id, Catalog, Kind, Object};
use meridian_xml::Element;
use std::path::Path;

/// When `root` is missing or holds no configuration (no `global.xml`, no `workspaces/`), write
/// `global.xml`, `logging.xml` and the WMS, WFS and WCS service files. Returns whether it did.
pub fn init_if_empty(root: &Path) -> Result<bool, DataDirError> {
    if root.join("global.xml").exists() || root.join("workspaces").exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(root).map_err(|e| DataDirError::io(root, e))?;
    let files = [
        ("global.xml", global_xml()),
        ("logging.xml", logging_xml()),
        (
            "wms.xml",
            service_xml("wms", "WMS", "Web Map Service", &["1.1.1", "1.3.0"]),
        ),
        (
            "wfs.xml",
            service_xml(
                "wfs",
                "WFS",
                "Web Feature Service",
                &["1.0.0", "1.1.0", "2.0.0"],
            ),
        ),
        (
            "wcs.xml",
            service_xml(
                "wcs",
                "WCS",
                "Web Coverage Service",
                &["1.0.0", "1.1.1", "2.0.1"],
            ),
        ),
    ];
    for (name, xml) in files {
        let p = root.join(name);
        write_atomic(&p, xml.to_xml().as_bytes()).map_err(|e| DataDirError::io(&p, e))?;
    }
    Ok(true)
}

fn global_xml() -> Element {
    let settings = Element::new("settings")
        .child(Element::with_text("id", new_id(Kind::Settings)))
        .child(
            Element::new("contact")
                .child(Element::with_text("contactOrganization", "Meridian"))
                .child(Element::with_text("contactPerson", "Administrator")),
        )
        .child(Element::with_text("charset", "UTF-8"))
        .child(Element::with_text("numDecimals", "8"))
        .child(Element::with_text("onlineResource", "http://geoserver.org"))
        .child(Element::with_text("verbose", "false"))
        .child(Element::with_text("verboseExceptions", "false"))
        .child(Element::with_text("localWorkspaceIncludesPrefix", "false"));
    Element::new("global")
        .child(settings)
        .child(Element::with_text("updateSequence", "0"))
        .child(Element::with_text("featureTypeCacheSize", "0"))
        .child(Element::with_text("globalServices", "true"))
        .child(Element::with_text("xmlPostRequestLogBufferSize", "1024"))
        .child(Element::with_text("xmlExternalEntitiesEnabled", "false"))
}

fn logging_xml() -> Element {
    Element::new("logging")
        .child(Element::with_text("level", "DEFAULT_LOGGING"))
        .child(Element::with_text("location", "logs/geoserver.log"))
        .child(Element::with_text("stdOutLogging", "true"))
}

fn service_xml(id: &str, name: &str, title: &str, versions: &[&str]) -> Element {
    let mut v = Element::new("versions");
    for ver in versions {
        v.children.push(
            Element::new("org.geotools.util.Version").child(Element::with_text("version", *ver)),
        );
    }
    Element::new(id)
        .child(Element::with_text("id", id))
        .child(Element::with_text("enabled", "true"))
        .child(Element::with_text("name", name))
        .child(Element::with_text("title", format!("Meridian {title}")))
        .child(Element::with_text(
            "maintainer",
            "http://geoserver.org/comm",
        ))
        .child(Element::with_text(
            "abstrct",
            format!("{title} served by Meridian"),
        ))
        .child(Element::with_text("accessConstraints", "NONE"))
        .child(Element::with_text("fees", "NONE"))
        .child(v)
        .child(Element::new("keywords").child(Element::with_text("string", name)))
        .child(Element::with_text("citeCompliant", "false"))
        .child(Element::with_text("onlineResource", "http://geoserver.org"))
        .child(Element::with_text(
            "schemaBaseURL",
            "http://schemas.opengis.net",
        ))
        .child(Element::with_text("verbose", "false"))
}

/// GeoServer's built-in styles (`point`, `line`, `polygon`, `raster`, `generic`) that the
/// catalog lacks, as style objects with bodies and fixed ids, ready to be added through the
/// apply path.
pub fn default_styles(cat: &Catalog) -> Vec<Object> {
    let mut out = Vec::new();
    for (name, symbolizer) in [
        ("point", POINT),
        ("line", LINE),
        ("polygon", POLYGON),
        ("raster", RASTER),
        ("generic", GENERIC),
    ] {
        if cat.find(Kind::Style, None, name).is_some() {
            continue;
        }
        let filename = format!("default_{name}.sld");
        // Fixed ids: every new node creates the same built-in styles, so fresh nodes of a
        // cluster agree on them before they first synchronise.
        let xml = Element::new("style")
            .child(Element::with_text(
                "id",
                format!("StyleInfoImpl-meridian-builtin-{name}"),
            ))
            .child(Element::with_text("name", name))
            .child(Element::with_text("format", "sld"))
            .child(Element::new("languageVersion").child(Element::with_text("version", "1.0.0")))
            .child(Element::with_text("filename", filename));
        let mut o = Object::new(Kind::Style, xml);
        o.body = Some(sld(name, symbolizer));
        out.push(o);
    }
    out
}

fn sld(name: &str, rules: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/sld StyledLayerDescriptor.xsd">
  <NamedLayer>
    <Name>{name}</Name>
    <UserStyle>
      <Title>Default {name} style</Title>
      <FeatureTypeStyle>
{rules}
      </FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
"#
    )
}

const POINT: &str = r##"        <Rule>
          <PointSymbolizer>
            <Graphic>
              <Mark><WellKnownName>square</WellKnownName><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></Mark>
              <Size>6</Size>
            </Graphic>
          </PointSymbolizer>
        </Rule>"##;
const LINE: &str = r##"        <Rule>
          <LineSymbolizer>
            <Stroke><CssParameter name="stroke">#0000FF</CssParameter><CssParameter name="stroke-width">1</CssParameter></Stroke>
          </LineSymbolizer>
        </Rule>"##;
const POLYGON: &str = r##"        <Rule>
          <PolygonSymbolizer>
            <Fill><CssParameter name="fill">#AAAAAA</CssParameter></Fill>
            <Stroke><CssParameter name="stroke">#000000</CssParameter><CssParameter name="stroke-width">1</CssParameter></Stroke>
          </PolygonSymbolizer>
        </Rule>"##;
const RASTER: &str = r##"        <Rule>
          <RasterSymbolizer><Opacity>1.0</Opacity></RasterSymbolizer>
        </Rule>"##;
const GENERIC: &str = r##"        <Rule>
          <Name>polygons</Name>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:Function name="dimension"><ogc:Function name="geometry"/></ogc:Function><ogc:Literal>2</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <PolygonSymbolizer><Fill><CssParameter name="fill">#AAAAAA</CssParameter></Fill><Stroke><CssParameter name="stroke">#000000</CssParameter></Stroke></PolygonSymbolizer>
        </Rule>
        <Rule>
          <Name>lines</Name>
          <ogc:Filter><ogc:PropertyIsEqualTo><ogc:Function name="dimension"><ogc:Function name="geometry"/></ogc:Function><ogc:Literal>1</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>
          <LineSymbolizer><Stroke><CssParameter name="stroke">#0000FF</CssParameter></Stroke></LineSymbolizer>
        </Rule>
        <Rule>
          <Name>points</Name>
          <ElseFilter/>
          <PointSymbolizer><Graphic><Mark><WellKnownName>square</WellKnownName><Fill><CssParameter name="fill">#FF0000</CssParameter></Fill></Mark><Size>6</Size></Graphic></PointSymbolizer>
        </Rule>"##;
