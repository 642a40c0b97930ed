//! Writing an element tree as indented XML, the way XStream lays out GeoServer's files.

use crate::Element;

/// What the writer needs of a tree: an [`Element`] or a packed node.
pub(crate) trait Tree: Sized {
    fn name(&self) -> &str;
    fn attrs(&self) -> impl Iterator<Item = (&str, &str)>;
    fn text(&self) -> Option<&str>;
    fn children(&self) -> impl Iterator<Item = Self>;
}

impl Tree for &Element {
    fn name(&self) -> &str {
        &self.name
    }
    fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
    fn children(&self) -> impl Iterator<Item = Self> {
        self.children.iter()
    }
}

pub(crate) fn to_string(e: impl Tree) -> String {
    let mut out = String::with_capacity(256);
    write(&e, 0, &mut out);
    out
}

pub(crate) fn write_at(e: impl Tree, depth: usize, out: &mut String) {
    write(&e, depth, out)
}

fn write(e: &impl Tree, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    out.push_str(&indent);
    out.push('<');
    out.push_str(e.name());
    for (k, v) in e.attrs() {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(v, true, out);
        out.push('"');
    }
    let mut children = e.children().peekable();
    if children.peek().is_none() {
        match e.text() {
            None => out.push_str("/>"),
            Some(t) => {
                out.push('>');
                escape_into(t, false, out);
                out.push_str("</");
                out.push_str(e.name());
                out.push('>');
            }
        }
        return;
    }
    out.push('>');
    if let Some(t) = e.text().map(str::trim).filter(|t| !t.is_empty()) {
        escape_into(t, false, out);
    }
    for c in children {
        out.push('\n');
        write(&c, depth + 1, out);
    }
    out.push('\n');
    out.push_str(&indent);
    out.push_str("</");
    out.push_str(e.name());
    out.push('>');
}

/// Append `s` escaped for XML text (as [`escape`]).
pub fn escape_to(s: &str, out: &mut String) {
    escape_into(s, false, out)
}

/// `s` escaped for XML text or a double-quoted attribute value (`<`, `>`, `&`, `"`, CR).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, false, &mut out);
    out
}

/// Escape text for XML. XStream escapes `"` in text too; attribute values also escape newlines.
fn escape_into(s: &str, attr: bool, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}
