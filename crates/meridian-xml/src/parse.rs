//! Parsing XML text into an [`Element`] tree, or straight into a [`Packed`] one.

use crate::packed::Packer;
use crate::{Element, Packed, XmlError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::borrow::Cow;

/// Deepest nesting accepted; GeoServer's files stay far below it.
const MAX_DEPTH: usize = 256;

/// Parse a UTF-8 byte buffer (a request body or a file).
pub fn parse_bytes(bytes: &[u8]) -> Result<Element, XmlError> {
    parse(utf8(bytes)?)
}

/// Parse a UTF-8 byte buffer straight into a packed tree (the same tree [`parse_bytes`]
/// returns, without building it first).
pub fn parse_packed(bytes: &[u8]) -> Result<Packed, XmlError> {
    let text = utf8(bytes)?;
    Packer::with_spare(|p| {
        read(text, p)?;
        p.take_root().ok_or(XmlError::Empty)
    })
}

fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|e| XmlError::Malformed(format!("not UTF-8: {e}")))
}

/// Parse an XML document. Comments, processing instructions and the declaration are dropped;
/// whitespace-only text between child elements is dropped; other text is kept verbatim.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut b = TreeBuilder::default();
    read(text, &mut b)?;
    b.root.ok_or(XmlError::Empty)
}

/// What the reader tells a tree under construction.
pub(crate) trait Build {
    /// An element opens (`empty`: it is also closed, `<e/>`).
    fn open(&mut self, name: &str, s: &BytesStart<'_>, empty: bool) -> Result<(), XmlError>;
    /// Text inside the innermost open element.
    fn text(&mut self, t: &str);
    /// The innermost open element closes.
    fn close(&mut self) -> Result<(), XmlError>;
    /// How many elements are open.
    fn depth(&self) -> usize;
    /// Whether the root element has closed.
    fn done(&self) -> bool;
    /// The innermost open element's name, for an error message.
    fn open_name(&self) -> String;
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<(Element, String)>,
    root: Option<Element>,
}

impl TreeBuilder {
    fn attach(&mut self, e: Element) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some((parent, _)) => parent.children.push(e),
            None if self.root.is_none() => self.root = Some(e),
            None => return Err(XmlError::Malformed("more than one root element".into())),
        }
        Ok(())
    }
}

impl Build for TreeBuilder {
    fn open(&mut self, name: &str, s: &BytesStart<'_>, empty: bool) -> Result<(), XmlError> {
        let mut e = Element::new(name);
        for_each_attr(s, |k, v| e.attrs.push((k.to_string(), v)))?;
        if empty {
            self.attach(e)
        } else {
            self.stack.push((e, String::new()));
            Ok(())
        }
    }

    fn text(&mut self, t: &str) {
        if let Some((_, buf)) = self.stack.last_mut() {
            buf.push_str(t);
        }
    }

    fn close(&mut self) -> Result<(), XmlError> {
        let Some((mut e, mut text)) = self.stack.pop() else {
            return Err(XmlError::Malformed("unexpected end tag".into()));
        };
        // Trees may stay in memory: keep no spare capacity.
        e.children.shrink_to_fit();
        text.shrink_to_fit();
        if e.children.is_empty() || !is_blank(&text) {
            // A leaf keeps its text (even empty); mixed content keeps it so nothing is lost.
            e.text = Some(crate::Text::from(text));
        }
        self.attach(e)
    }

    fn depth(&self) -> usize {
        self.stack.len()
    }

    fn done(&self) -> bool {
        self.root.is_some()
    }

    fn open_name(&self) -> String {
        self.stack
            .last()
            .map(|(e, _)| e.name.to_string())
            .unwrap_or_default()
    }
}

/// Run the reader over a document, feeding a builder.
fn read(text: &str, b: &mut impl Build) -> Result<(), XmlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    loop {
        let ev = reader.read_event().map_err(|e| {
            XmlError::Malformed(format!("at byte {}: {e}", reader.buffer_position()))
        })?;
        match ev {
            Event::Start(s) => {
                if b.done() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                if b.depth() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep(MAX_DEPTH));
                }
                b.open(element_name(text, &s)?, &s, false)?;
            }
            Event::Empty(s) => b.open(element_name(text, &s)?, &s, true)?,
            Event::End(_) => b.close()?,
            Event::Text(t) => {
                let s = match borrowed(text, &t) {
                    Some(s) => Cow::Borrowed(s),
                    None => t
                        .decode()
                        .map_err(|e| XmlError::Malformed(format!("bad text: {e}")))?,
                };
                if b.depth() > 0 {
                    b.text(&s);
                } else if !is_blank(&s) {
                    return Err(XmlError::Malformed("text outside the root element".into()));
                }
            }
            Event::CData(t) => {
                let s = t
                    .decode()
                    .map_err(|e| XmlError::Malformed(format!("bad CDATA: {e}")))?;
                if b.depth() == 0 {
                    return Err(XmlError::Malformed("CDATA outside the root element".into()));
                }
                b.text(&s);
            }
            Event::GeneralRef(r) => {
                let ch = match r
                    .resolve_char_ref()
                    .map_err(|e| XmlError::Malformed(format!("bad character reference: {e}")))?
                {
                    Some(c) => c,
                    None => {
                        let name = r
                            .decode()
                            .map_err(|e| XmlError::Malformed(format!("bad reference: {e}")))?;
                        match name.as_ref() {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "quot" => '"',
                            "apos" => '\'',
                            other => {
                                return Err(XmlError::Malformed(format!(
                                    "undefined entity &{other};"
                                )))
                            }
                        }
                    }
                };
                if b.depth() == 0 {
                    return Err(XmlError::Malformed(
                        "reference outside the root element".into(),
                    ));
                }
                b.text(ch.encode_utf8(&mut [0; 4]));
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if b.depth() > 0 {
        return Err(XmlError::Malformed(format!(
            "unclosed element <{}>",
            b.open_name()
        )));
    }
    Ok(())
}

/// Whether a text is only whitespace, as `str::trim` sees it. The indentation between child
/// elements, collected for every element that has children, is ASCII: checked byte by byte
/// before falling back to `trim`, which decodes characters.
pub(crate) fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace()) || text.trim().is_empty()
}

/// An element's name, from the document `src` it was read from.
fn element_name<'a>(src: &'a str, s: &'a BytesStart<'_>) -> Result<&'a str, XmlError> {
    let name = s.name().into_inner();
    match borrowed(src, name) {
        Some(n) => Ok(n),
        None => std::str::from_utf8(name)
            .map_err(|e| XmlError::Malformed(format!("bad element name: {e}"))),
    }
}

/// The part of `src` that `bytes` is, when the reader handed out a slice of the document
/// (already checked as UTF-8 with the whole of it): no second check of each text and name.
/// `None` for bytes held elsewhere (distinct live buffers never overlap).
fn borrowed<'a>(src: &'a str, bytes: &[u8]) -> Option<&'a str> {
    let offset = (bytes.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    src.get(offset..offset.checked_add(bytes.len())?)
}

/// Each attribute of an element, name and normalized value, in document order.
pub(crate) fn for_each_attr(
    s: &BytesStart<'_>,
    mut f: impl FnMut(&str, String),
) -> Result<(), XmlError> {
    // Most elements have none: skip setting up the attribute reader for them.
    if s.attributes_raw().iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    for a in s.attributes() {
        let a = a.map_err(|e| XmlError::Malformed(format!("bad attribute: {e}")))?;
        let key = std::str::from_utf8(a.key.as_ref())
            .map_err(|e| XmlError::Malformed(format!("bad attribute name: {e}")))?;
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(format!("bad value of attribute {key}: {e}")))?
            .into_owned();
        f(key, value);
    }
    Ok(())
}
