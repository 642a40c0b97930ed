//! Writing an [`Element`] tree as indented XML, the way XStream lays out GeoServer's files.

use crate::Element;

pub(crate) fn to_string(e: &Element) -> String {
    let mut out = String::with_capacity(256);
    write(e, 0, &mut out);
    out
}

fn write(e: &Element, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    out.push_str(&indent);
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(v, true, out);
        out.push('"');
    }
    if e.children.is_empty() {
        match &e.text {
            None => out.push_str("/>"),
            Some(t) => {
                out.push('>');
                escape_into(t, false, out);
                out.push_str("</");
                out.push_str(&e.name);
                out.push('>');
            }
        }
        return;
    }
    out.push('>');
    if let Some(t) = e.text_trim() {
        escape_into(t, false, out);
    }
    for c in &e.children {
        out.push('\n');
        write(c, depth + 1, out);
    }
    out.push('\n');
    out.push_str(&indent);
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
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
