//! One catalog object: its kind, its full XML state and, for styles, the style body.

use crate::Kind;
use meridian_xml::{Element, Node, Packed};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An object id, shared by every index that names the object.
pub type Id = Arc<str>;

/// A catalog or configuration object. The XML is the object's complete state in data-directory
/// form (references by id); elements Meridian does not model are part of it and are kept.
/// The catalog holds objects for the node's lifetime, so the XML is kept packed
/// ([`Packed`]): read it with [`Object::xml`], change it with [`Object::edit_xml`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// What the object is.
    pub kind: Kind,
    /// The id, read from the XML when it is set.
    id: Id,
    /// The full XML, as written to the data directory.
    xml: Packed,
    /// The style body (SLD, CSS, ...) for styles; `None` when the object has none or it is missing.
    pub body: Option<String>,
}

/// The wire form of an object (the id is part of the XML).
#[derive(Serialize, Deserialize)]
struct Wire<X, B> {
    kind: Kind,
    xml: X,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<B>,
}

impl Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            kind: self.kind,
            xml: &self.xml,
            body: self.body.as_deref(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::<Packed, String>::deserialize(d)?;
        let mut o = Object::from_packed(w.kind, w.xml);
        o.body = w.body;
        Ok(o)
    }
}

/// A member of a layer group: a layer or a nested group, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `layer` or `layerGroup`.
    pub kind: Kind,
    /// The member's id.
    pub id: String,
}

impl Object {
    /// Wrap an XML tree.
    pub fn new(kind: Kind, xml: Element) -> Self {
        Object::from_packed(kind, Packed::new(&xml))
    }

    /// Wrap an already packed tree.
    pub fn from_packed(kind: Kind, xml: Packed) -> Self {
        let id = Object::id_in(kind, xml.root());
        Object {
            kind,
            id,
            xml,
            body: None,
        }
    }

    fn id_in(kind: Kind, xml: Node<'_>) -> Id {
        match kind {
            Kind::Global => "global".into(),
            Kind::Logging => "logging".into(),
            _ => xml.child_text("id").unwrap_or("").into(),
        }
    }

    /// The same object in allocations of its own, made by the calling thread. Loading parses
    /// on many threads, each allocating from its own arena between its short-lived buffers;
    /// moving the objects that stay into one thread's allocations, in order, lets the others'
    /// memory go back to the system once loading is over.
    pub fn relocated(&self) -> Object {
        Object {
            kind: self.kind,
            id: Id::from(&*self.id),
            xml: self.xml.clone(),
            body: self.body.clone(),
        }
    }

    /// The object's XML, read-only.
    pub fn xml(&self) -> Node<'_> {
        self.xml.root()
    }

    /// The object's XML as an editable tree (a copy).
    pub fn element(&self) -> Element {
        self.xml.root().to_element()
    }

    /// Replace the object's XML.
    pub fn set_xml(&mut self, xml: &Element) {
        self.xml = Packed::new(xml);
        self.id = Object::id_in(self.kind, self.xml.root());
    }

    /// Set the text of the root's child `name` (as [`Element::set_child_text`]) without
    /// unpacking the rest of the XML: the update sequence bumped on every batch.
    pub fn set_child_text(&mut self, name: &str, text: &str) {
        self.xml = self.xml.with_child_text(name, text);
        self.id = Object::id_in(self.kind, self.xml.root());
    }

    /// Whether two objects are the same but for global's `updateSequence` (compared packed).
    pub fn same_but_update_sequence(&self, other: &Object) -> bool {
        self.kind == other.kind
            && self.body == other.body
            && self.xml.same_except(&other.xml, "updateSequence")
    }

    /// Change the object's XML in place.
    pub fn edit_xml<R>(&mut self, f: impl FnOnce(&mut Element) -> R) -> R {
        let mut e = self.element();
        let r = f(&mut e);
        self.set_xml(&e);
        r
    }

    /// The object's id. Global settings and logging have the fixed ids `global` and `logging`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id, shared (for indexes).
    pub fn shared_id(&self) -> &Id {
        &self.id
    }

    /// The name that identifies the object in its scope: `prefix` for namespaces, the service
    /// element name for services (`wms`), `<name>` otherwise.
    pub fn name(&self) -> &str {
        match self.kind {
            Kind::Namespace => self.xml().child_text("prefix").unwrap_or(""),
            Kind::Service => self.xml().name(),
            Kind::Global => "global",
            Kind::Logging => "logging",
            Kind::Settings => "settings",
            _ => self.xml().child_text("name").unwrap_or(""),
        }
    }

    /// The id inside a reference element `<field><id>…</id></field>`.
    pub fn ref_id(&self, field: &str) -> Option<&str> {
        node_ref(self.xml().get(field)?)
    }

    /// The workspace reference of stores, styles, groups, settings and services.
    pub fn workspace(&self) -> Option<&str> {
        self.ref_id("workspace")
    }

    /// Style ids a layer uses: its default style first, then the alternates.
    pub fn layer_styles(&self) -> Vec<&str> {
        let [default, styles] = self.xml().first_of(["defaultStyle", "styles"]);
        layer_styles_of(default, styles)
    }

    /// Members of a layer group (`publishables/published`, or the 2.2-era `layers/layer`).
    pub fn group_members(&self) -> Vec<Published> {
        let mut v = Vec::new();
        if let Some(p) = self.xml().get("publishables") {
            for e in p.all("published") {
                let kind = match e.attr_value("type") {
                    Some("layerGroup") => Kind::LayerGroup,
                    _ => Kind::Layer,
                };
                if let Some(id) = node_ref(e) {
                    v.push(Published {
                        kind,
                        id: id.to_string(),
                    });
                }
            }
        } else if let Some(p) = self.xml().get("layers") {
            for e in p.all("layer") {
                if let Some(id) = node_ref(e) {
                    v.push(Published {
                        kind: Kind::Layer,
                        id: id.to_string(),
                    });
                }
            }
        }
        v
    }

    /// Style ids named by a layer group (empty `<style/>` entries are skipped), plus the root
    /// layer style.
    pub fn group_styles(&self) -> Vec<&str> {
        let [styles, root_style] = self.xml().first_of(["styles", "rootLayerStyle"]);
        group_styles_of(styles, root_style)
    }

    /// Every id this object references: workspace, namespace, store, resource, styles, group
    /// members, root layer. The fields are found in one pass over the object's children (this
    /// runs for every object at load and on every change).
    pub fn references(&self) -> Vec<&str> {
        let [workspace, namespace, store, resource, root_layer, default_style, styles, root_style, publishables, layers] =
            self.xml().first_of([
                "workspace",
                "namespace",
                "store",
                "resource",
                "rootLayer",
                "defaultStyle",
                "styles",
                "rootLayerStyle",
                "publishables",
                "layers",
            ]);
        let mut v: Vec<&str> = [workspace, namespace, store, resource, root_layer]
            .into_iter()
            .flatten()
            .filter_map(node_ref)
            .collect();
        match self.kind {
            Kind::Layer => v.extend(layer_styles_of(default_style, styles)),
            Kind::LayerGroup => {
                v.extend(group_styles_of(styles, root_style));
                let members = publishables.map(|p| ("published", p));
                let members = members.or(layers.map(|p| ("layer", p)));
                if let Some((name, m)) = members {
                    v.extend(m.all(name).filter_map(node_ref));
                }
            }
            _ => {}
        }
        v
    }

    /// Layer group mode; SINGLE when absent.
    pub fn group_mode(&self) -> &str {
        self.xml().child_text("mode").unwrap_or("SINGLE")
    }

    /// The style body file name of a style.
    pub fn style_filename(&self) -> Option<&str> {
        self.xml().child_text("filename")
    }

    /// `<enabled>`, true when absent (old files omit it).
    pub fn enabled(&self) -> bool {
        self.xml().child_text("enabled") != Some("false")
    }

    /// The XML text without what is each node's own: the `updateSequence` of global settings
    /// (the state nodes compare, hash and replicate).
    pub fn xml_without_update_sequence(&self) -> String {
        if self.kind == Kind::Global && self.xml().get("updateSequence").is_some() {
            let mut x = self.element();
            x.remove("updateSequence");
            x.to_xml()
        } else {
            self.xml().to_xml()
        }
    }

    /// A store's connection parameters, from any of GeoServer's map syntaxes (none when the
    /// object has no `<connectionParameters>`).
    pub fn connection_parameters(&self) -> Vec<(String, String)> {
        self.xml()
            .get("connectionParameters")
            .map(|m| connection_parameters(&m.to_element()))
            .unwrap_or_default()
    }

    /// A connection parameter of a store, from any of GeoServer's map syntaxes.
    pub fn connection_parameter(&self, key: &str) -> Option<String> {
        self.connection_parameters()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A layer's style ids from its `defaultStyle` and `styles` fields.
fn layer_styles_of<'a>(default: Option<Node<'a>>, styles: Option<Node<'a>>) -> Vec<&'a str> {
    let mut v: Vec<&str> = default.and_then(node_ref).into_iter().collect();
    if let Some(styles) = styles {
        v.extend(styles.all("style").filter_map(node_ref));
    }
    v
}

/// A layer group's style ids from its `styles` and `rootLayerStyle` fields.
fn group_styles_of<'a>(styles: Option<Node<'a>>, root_style: Option<Node<'a>>) -> Vec<&'a str> {
    let mut v: Vec<&str> = styles
        .map(|s| s.all("style").filter_map(node_ref).collect())
        .unwrap_or_default();
    v.extend(root_style.and_then(node_ref));
    v
}

/// The id inside a packed reference element.
pub fn node_ref(e: Node<'_>) -> Option<&str> {
    e.child_text("id")
}

/// The id inside a reference element.
pub fn ref_of(e: &Element) -> Option<&str> {
    e.child_text("id")
}

/// Read a connection-parameter map in any of its four syntaxes:
/// `<entry key="k">v</entry>`, `<entry><string>k</string><string>v</string></entry>`,
/// `<k>v</k>`, and `<k><type>v</type></k>`.
pub fn connection_parameters(map: &Element) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in &map.children {
        if e.name == "entry" {
            if let Some(k) = e.attr_value("key") {
                let v = match e.text_trim() {
                    Some(t) => t.to_string(),
                    None => e
                        .children
                        .first()
                        .and_then(|c| c.text.as_deref().map(str::to_string))
                        .or_else(|| e.text.as_deref().map(str::to_string))
                        .unwrap_or_default(),
                };
                out.push((k.to_string(), v));
            } else {
                let strings: Vec<&Element> = e.children.iter().collect();
                if strings.len() == 2 {
                    if let Some(k) = strings[0].text.as_deref() {
                        out.push((
                            k.to_string(),
                            strings[1]
                                .text
                                .as_deref()
                                .map(str::to_string)
                                .unwrap_or_default(),
                        ));
                    }
                }
            }
        } else {
            let v = match e.children.first() {
                Some(c) => c.text.as_deref().map(str::to_string).unwrap_or_default(),
                None => e.text.as_deref().map(str::to_string).unwrap_or_default(),
            };
            out.push((e.name.to_string(), v));
        }
    }
    out
}

/// Build a reference element `<name><id>id</id></name>`.
pub fn reference(name: &str, id: &str) -> Element {
    Element::new(name).child(Element::with_text("id", id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_xml::parse;

    #[test]
    fn references_name_every_referenced_id_once_per_field() {
        let layer = Object::new(
            Kind::Layer,
            parse("<layer><id>l</id><defaultStyle><id>s1</id></defaultStyle><resource class=\"featureType\"><id>ft</id></resource><styles><style><id>s2</id></style><style><id>s3</id></style></styles><workspace><id>w</id></workspace></layer>").unwrap(),
        );
        let mut r = layer.references();
        r.sort();
        assert_eq!(r, ["ft", "s1", "s2", "s3", "w"]);
        let group = Object::new(
            Kind::LayerGroup,
            parse("<layerGroup><id>g</id><workspace><id>w</id></workspace><workspace><id>w2</id></workspace><publishables><published type=\"layer\"><id>l1</id></published><published type=\"layerGroup\"><id>g2</id></published></publishables><styles><style><id>s</id></style><style/></styles><rootLayer><id>l1</id></rootLayer><rootLayerStyle><id>rs</id></rootLayerStyle><layers><layer><id>old</id></layer></layers></layerGroup>").unwrap(),
        );
        let mut r = group.references();
        r.sort();
        assert_eq!(r, ["g2", "l1", "l1", "rs", "s", "w"]);
        let old_group = Object::new(
            Kind::LayerGroup,
            parse("<layerGroup><id>g</id><layers><layer><id>a</id></layer><layer><id>b</id></layer></layers></layerGroup>").unwrap(),
        );
        assert_eq!(old_group.references(), ["a", "b"]);
    }

    #[test]
    fn all_four_map_syntaxes_read_the_same() {
        for src in [
            "<c><entry key=\"url\">file:data/sf</entry></c>",
            "<c><entry><string>url</string><string>file:data/sf</string></entry></c>",
            "<c><url>file:data/sf</url></c>",
            "<c><url><java.lang.String>file:data/sf</java.lang.String></url></c>",
        ] {
            let e = parse(src).unwrap();
            assert_eq!(
                connection_parameters(&e),
                vec![("url".to_string(), "file:data/sf".to_string())],
                "{src}"
            );
        }
    }
}
