//! A small, order-preserving XML element tree.
//!
//! GeoServer writes its configuration with XStream: elements, attributes and text, no mixed content.
//! Meridian keeps every catalog object as such a tree so that elements it does not model survive a
//! load-and-save unchanged, and so that the same tree can be written as a data-directory file or as a
//! REST representation.

mod name;
mod packed;
mod parse;
mod write;
pub use write::{escape, escape_to};

pub use name::Name;
pub use packed::{Children, Node, Packed};

/// Element text: short values (most of them) are stored inline, without an allocation.
pub type Text = compact_str::CompactString;

pub use parse::{parse, parse_bytes, parse_packed};
use serde::{Deserialize, Serialize};

/// Errors raised while reading XML.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// The document is not well-formed XML.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// The document has no root element.
    #[error("the document has no root element")]
    Empty,
    /// The document nests deeper than Meridian accepts.
    #[error("the document nests deeper than {0} levels")]
    TooDeep(usize),
}

/// One XML element: name, attributes in document order, text, and child elements in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Element {
    /// The element name as written (prefix included, e.g. `atom:link`).
    pub name: Name,
    /// Attributes in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(String, String)>,
    /// Text content, kept verbatim (GeoServer's WKT spans several lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// Child elements in document order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Element>,
}

impl Element {
    /// A new empty element.
    pub fn new(name: impl Into<Name>) -> Self {
        Element {
            name: name.into(),
            ..Default::default()
        }
    }

    /// A new element holding only text.
    pub fn with_text(name: impl Into<Name>, text: impl Into<Text>) -> Self {
        Element {
            name: name.into(),
            text: Some(text.into()),
            ..Default::default()
        }
    }

    /// Builder: append a child.
    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Builder: set an attribute.
    pub fn attr(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set_attr(key, value);
        self
    }

    /// The first child with this name.
    pub fn get(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child with this name, mutable.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// All children with this name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Follow a path of child names.
    pub fn path(&self, path: &[&str]) -> Option<&Element> {
        let mut cur = self;
        for p in path {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    /// This element's text, trimmed; `None` when absent or blank.
    pub fn text_trim(&self) -> Option<&str> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The trimmed text of the named child.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Element::text_trim)
    }

    /// An attribute value.
    pub fn attr_value(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Set (or replace) an attribute.
    pub fn set_attr(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(slot) = self.attrs.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            self.attrs.push((key.to_string(), value));
        }
    }

    /// Set the text of the named child, creating it at the end when absent.
    pub fn set_child_text(&mut self, name: &str, text: impl Into<Text>) {
        let text = text.into();
        match self.get_mut(name) {
            Some(c) => {
                c.text = Some(text);
                c.children.clear();
            }
            None => self.children.push(Element::with_text(name, text)),
        }
    }

    /// Set the text of the named child, inserting it right after the child `after` when absent.
    pub fn set_child_text_after(&mut self, name: &str, text: impl Into<Text>, after: &str) {
        if self.get(name).is_some() {
            self.set_child_text(name, text);
            return;
        }
        let pos = self
            .children
            .iter()
            .position(|c| c.name == after)
            .map(|p| p + 1)
            .unwrap_or(self.children.len());
        self.children.insert(pos, Element::with_text(name, text));
    }

    /// Replace the named child (first occurrence) or append it.
    pub fn put_child(&mut self, child: Element) {
        match self.children.iter_mut().find(|c| c.name == child.name) {
            Some(slot) => *slot = child,
            None => self.children.push(child),
        }
    }

    /// Remove every child with this name; returns the first removed.
    pub fn remove(&mut self, name: &str) -> Option<Element> {
        let mut first = None;
        let mut i = 0;
        while i < self.children.len() {
            if self.children[i].name == name {
                let c = self.children.remove(i);
                if first.is_none() {
                    first = Some(c);
                }
            } else {
                i += 1;
            }
        }
        first
    }

    /// Merge `other` into `self`: each child of `other` replaces the same-named children of `self`
    /// (all of them, since a repeated element is one collection), or is appended. Attributes of
    /// `other` are copied over. This is how a partial REST update is applied.
    pub fn merge_from(&mut self, other: &Element) {
        for (k, v) in &other.attrs {
            self.set_attr(k, v.clone());
        }
        if other.children.is_empty() {
            if other.text.is_some() {
                self.text = other.text.clone();
            }
            return;
        }
        let mut seen: Vec<&str> = Vec::new();
        for c in &other.children {
            if seen.contains(&c.name.as_str()) {
                continue;
            }
            seen.push(&c.name);
            let new: Vec<Element> = other.all(&c.name).cloned().collect();
            match self.children.iter().position(|x| x.name == c.name) {
                Some(pos) => {
                    self.children.retain(|x| x.name != c.name);
                    let pos = pos.min(self.children.len());
                    for (i, n) in new.into_iter().enumerate() {
                        self.children.insert(pos + i, n);
                    }
                }
                None => self.children.extend(new),
            }
        }
    }

    /// Merge `other` into `self` recursively: an element that occurs once on both sides and
    /// has children is merged field by field; anything else replaces what `self` had. This is
    /// how GeoServer applies partial settings and service updates.
    pub fn merge_deep(&mut self, other: &Element) {
        for (k, v) in &other.attrs {
            self.set_attr(k, v.clone());
        }
        if other.children.is_empty() {
            if other.text.is_some() {
                self.text = other.text.clone();
                self.children.clear();
            }
            return;
        }
        let mut seen: Vec<&str> = Vec::new();
        for c in &other.children {
            if seen.contains(&c.name.as_str()) {
                continue;
            }
            seen.push(&c.name);
            let repeated = other.all(&c.name).count() > 1 || self.all(&c.name).count() > 1;
            match self.get_mut(&c.name) {
                Some(mine) if !repeated && !c.children.is_empty() && !mine.children.is_empty() => {
                    mine.merge_deep(c)
                }
                _ => {
                    let single = Element {
                        children: other.all(&c.name).cloned().collect(),
                        ..Element::new("x")
                    };
                    self.merge_from(&single);
                }
            }
        }
    }

    /// Serialize as an XML document fragment with two-space indentation, as XStream writes.
    pub fn to_xml(&self) -> String {
        write::to_string(self)
    }

    /// Append the element as [`Element::to_xml`] writes it at `depth` inside a document (each
    /// level indented by two spaces), so a document can be written a piece at a time.
    pub fn write_at(&self, depth: usize, out: &mut String) {
        write::write_at(self, depth, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_text_and_attributes() {
        let src = "<dataStore>\n  <id>X-1</id>\n  <connectionParameters>\n    <entry key=\"url\">file:data/sf</entry>\n  </connectionParameters>\n  <__default>false</__default>\n  <nativeCRS class=\"projected\">PROJCS[&quot;a&quot;, \n  GEOGCS[]]</nativeCRS>\n  <empty/>\n</dataStore>";
        let e = parse(src).unwrap();
        assert_eq!(e.name, "dataStore");
        assert_eq!(e.child_text("id"), Some("X-1"));
        let entry = e.path(&["connectionParameters", "entry"]).unwrap();
        assert_eq!(entry.attr_value("key"), Some("url"));
        assert_eq!(
            e.get("nativeCRS").unwrap().text.as_deref(),
            Some("PROJCS[\"a\", \n  GEOGCS[]]")
        );
        let out = e.to_xml();
        assert_eq!(out, src);
        assert_eq!(parse(&out).unwrap(), e);
    }

    #[test]
    fn blank_text_is_whitespace_as_trim_sees_it() {
        for blank in ["", " \n\t\r", "\u{a0} \u{2003}"] {
            assert!(crate::parse::is_blank(blank), "{blank:?}");
        }
        for text in [" x ", "é", "\u{a0}x"] {
            assert!(!crate::parse::is_blank(text), "{text:?}");
        }
        // Indentation between children is dropped, other text between them kept, by both
        // parsers alike.
        for doc in ["<a>\n  <b/>\n</a>", "<a>\u{a0}<b/></a>", "<a>t<b/></a>"] {
            let tree = parse(doc).unwrap();
            assert_eq!(
                crate::parse_packed(doc.as_bytes())
                    .unwrap()
                    .root()
                    .to_element(),
                tree
            );
        }
        assert_eq!(parse("<a>\n  <b/>\n</a>").unwrap().text, None);
        assert!(parse("<a>t<b/></a>").unwrap().text.is_some());
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("not xml at all").is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "<a>".repeat(500) + &"</a>".repeat(500);
        assert!(matches!(parse(&deep), Err(XmlError::TooDeep(_))));
    }

    #[test]
    fn deep_merge_keeps_sibling_fields() {
        let mut base = parse("<global><settings><charset>UTF-8</charset><contact><contactPerson>A</contactPerson><contactEmail>e</contactEmail></contact></settings><updateSequence>3</updateSequence></global>").unwrap();
        let upd = parse("<global><settings><contact><contactPerson>B</contactPerson></contact></settings></global>").unwrap();
        base.merge_deep(&upd);
        assert_eq!(
            base.path(&["settings", "charset"]).unwrap().text_trim(),
            Some("UTF-8")
        );
        assert_eq!(
            base.path(&["settings", "contact", "contactPerson"])
                .unwrap()
                .text_trim(),
            Some("B")
        );
        assert_eq!(
            base.path(&["settings", "contact", "contactEmail"])
                .unwrap()
                .text_trim(),
            Some("e")
        );
        assert_eq!(base.child_text("updateSequence"), Some("3"));
    }

    #[test]
    fn merge_replaces_collections_and_keeps_the_rest() {
        let mut base = parse(
            "<layer><name>a</name><styles><style>x</style></styles><enabled>true</enabled></layer>",
        )
        .unwrap();
        let upd = parse(
            "<layer><styles><style>y</style><style>z</style></styles><title>t</title></layer>",
        )
        .unwrap();
        base.merge_from(&upd);
        assert_eq!(base.child_text("name"), Some("a"));
        assert_eq!(base.get("styles").unwrap().children.len(), 2);
        assert_eq!(base.children[1].name, "styles");
        assert_eq!(base.child_text("title"), Some("t"));
    }
}
