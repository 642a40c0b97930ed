//! Parsing XML text into an [`Element`] tree.

use crate::{Element, XmlError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deepest nesting accepted; GeoServer's files stay far below it.
const MAX_DEPTH: usize = 256;

/// Parse a UTF-8 byte buffer (a request body or a file).
pub fn parse_bytes(bytes: &[u8]) -> Result<Element, XmlError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| XmlError::Malformed(format!("not UTF-8: {e}")))?;
    parse(text)
}

/// Parse an XML document. Comments, processing instructions and the declaration are dropped;
/// whitespace-only text between child elements is dropped; other text is kept verbatim.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<(Element, String)> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let ev = reader.read_event().map_err(|e| {
            XmlError::Malformed(format!("at byte {}: {e}", reader.buffer_position()))
        })?;
        match ev {
            Event::Start(s) => {
                if root.is_some() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep(MAX_DEPTH));
                }
                stack.push((start_element(&s)?, String::new()));
            }
            Event::Empty(s) => {
                let e = start_element(&s)?;
                close(&mut stack, &mut root, e)?;
            }
            Event::End(_) => {
                let Some((mut e, mut text)) = stack.pop() else {
                    return Err(XmlError::Malformed("unexpected end tag".into()));
                };
                // Catalog objects stay in memory as these trees: keep no spare capacity.
                e.children.shrink_to_fit();
                text.shrink_to_fit();
                if e.children.is_empty() {
                    e.text = Some(crate::Text::from(text));
                } else if !text.trim().is_empty() {
                    // Mixed content: keep the text so nothing is lost.
                    e.text = Some(crate::Text::from(text));
                }
                close(&mut stack, &mut root, e)?;
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| XmlError::Malformed(format!("bad text: {e}")))?;
                match stack.last_mut() {
                    Some((_, buf)) => buf.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => {
                        return Err(XmlError::Malformed("text outside the root element".into()))
                    }
                }
            }
            Event::CData(t) => {
                let s = t
                    .decode()
                    .map_err(|e| XmlError::Malformed(format!("bad CDATA: {e}")))?;
                match stack.last_mut() {
                    Some((_, buf)) => buf.push_str(&s),
                    None => {
                        return Err(XmlError::Malformed("CDATA outside the root element".into()))
                    }
                }
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
                match stack.last_mut() {
                    Some((_, buf)) => buf.push(ch),
                    None => {
                        return Err(XmlError::Malformed(
                            "reference outside the root element".into(),
                        ))
                    }
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed(format!(
            "unclosed element <{}>",
            stack.last().map(|(e, _)| e.name.as_str()).unwrap_or("")
        )));
    }
    root.ok_or(XmlError::Empty)
}

fn close(
    stack: &mut [(Element, String)],
    root: &mut Option<Element>,
    e: Element,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(e),
        None if root.is_none() => *root = Some(e),
        None => return Err(XmlError::Malformed("more than one root element".into())),
    }
    Ok(())
}

fn start_element(s: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = std::str::from_utf8(s.name().as_ref())
        .map_err(|e| XmlError::Malformed(format!("bad element name: {e}")))?
        .to_string();
    let mut e = Element::new(name);
    for a in s.attributes() {
        let a = a.map_err(|e| XmlError::Malformed(format!("bad attribute: {e}")))?;
        let key = std::str::from_utf8(a.key.as_ref())
            .map_err(|e| XmlError::Malformed(format!("bad attribute name: {e}")))?
            .to_string();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(format!("bad value of attribute {key}: {e}")))?
            .into_owned();
        e.attrs.push((key, value));
    }
    Ok(e)
}
