//! Listings (`<layers><layer><name/><atom:link/></layer>…</layers>` and their JSON and HTML
//! forms) written as they are produced: the entries come one at a time from a catalog
//! snapshot the listing holds, and the answer leaves in chunks of about [`CHUNK`] bytes. The
//! bytes are those the whole document would have been ([`crate::req::render`]); the memory a
//! listing holds does not grow with the catalog beyond its entries' order.

use crate::json::{key_of, value_of};
use crate::links::atom_link;
use crate::req::{Format, Req, Resp, Streamed};
use meridian_xml::Element;

/// About how many bytes each chunk of a listing holds.
pub const CHUNK: usize = 64 * 1024;

/// A listing's entries: (name, URL without extension), produced on demand.
pub type Entries = Box<dyn Iterator<Item = (String, String)> + Send>;

/// A list answer to be written as it is produced.
pub struct Listing {
    root: String,
    item: String,
    /// The request, without its body: formats and links.
    req: Req,
    entries: std::iter::Peekable<Entries>,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    Items { first: bool },
    Done,
}

impl Listing {
    /// The listing `<root><item>…</item>…</root>` of `entries`, for `req`.
    pub fn new(req: &Req, root: &str, item: &str, entries: Entries) -> Listing {
        let mut req = req.clone();
        req.body = Vec::new();
        Listing {
            root: root.to_string(),
            item: item.to_string(),
            req,
            entries: entries.peekable(),
            stage: Stage::Start,
        }
    }

    /// The answer: 200 with the listing's content type, its body streamed.
    pub fn into_resp(self) -> Resp {
        let content_type = match self.req.out_format() {
            Format::Json => "application/json",
            Format::Html => "text/html",
            Format::Xml | Format::Style => "application/xml",
        };
        Resp {
            status: 200,
            content_type: content_type.into(),
            body: Vec::new(),
            location: None,
            stream: Some(Streamed::new(self)),
        }
    }

    fn item_element(&self, name: String, url: &str) -> Element {
        let ext = crate::links::link_ext(&self.req);
        Element::new(self.item.as_str())
            .child(Element::with_text("name", name))
            .child(atom_link(format!("{url}{ext}"), true, &self.req))
    }

    /// Append the next piece to `out`; false once the listing is complete.
    fn write_next(&mut self, out: &mut String) -> bool {
        let format = self.req.out_format();
        match self.stage {
            Stage::Done => return false,
            Stage::Start => {
                let empty = self.entries.peek().is_none();
                match format {
                    Format::Json => {
                        out.push_str("{\"");
                        out.push_str(&json_escaped(&key_of(&self.root)));
                        out.push_str("\":");
                        if empty {
                            out.push_str("\"\"}");
                        } else {
                            out.push_str("{\"");
                            out.push_str(&json_escaped(&key_of(&self.item)));
                            out.push_str("\":[");
                        }
                    }
                    Format::Xml | Format::Style | Format::Html => {
                        let mut head = String::new();
                        head.push('<');
                        head.push_str(&self.root);
                        head.push_str(if empty { "/>" } else { ">" });
                        if format == Format::Html {
                            out.push_str("<html><head><title>");
                            out.push_str(&self.root);
                            out.push_str("</title></head><body><pre>");
                            meridian_xml::escape_to(&head, out);
                            if empty {
                                out.push_str("</pre></body></html>");
                            }
                        } else {
                            out.push_str(&head);
                        }
                    }
                }
                self.stage = if empty {
                    Stage::Done
                } else {
                    Stage::Items { first: true }
                };
            }
            Stage::Items { first } => match self.entries.next() {
                Some((name, url)) => {
                    let e = self.item_element(name, &url);
                    match format {
                        Format::Json => {
                            if !first {
                                out.push(',');
                            }
                            let arrays = [self.root.as_str(), self.item.as_str()];
                            out.push_str(&value_of(&e, &arrays).to_string());
                        }
                        Format::Xml | Format::Style => {
                            out.push('\n');
                            e.write_at(1, out);
                        }
                        Format::Html => {
                            let mut piece = String::from("\n");
                            e.write_at(1, &mut piece);
                            meridian_xml::escape_to(&piece, out);
                        }
                    }
                    self.stage = Stage::Items { first: false };
                }
                None => {
                    match format {
                        Format::Json => out.push_str("]}}"),
                        Format::Xml | Format::Style => {
                            out.push_str("\n</");
                            out.push_str(&self.root);
                            out.push('>');
                        }
                        Format::Html => {
                            let tail = format!("\n</{}>", self.root);
                            meridian_xml::escape_to(&tail, out);
                            out.push_str("</pre></body></html>");
                        }
                    }
                    self.stage = Stage::Done;
                }
            },
        }
        true
    }
}

/// A string's content as JSON writes it between quotes.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

impl Iterator for Listing {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let mut out = String::with_capacity(CHUNK + 1024);
        while out.len() < CHUNK && self.write_next(&mut out) {}
        (!out.is_empty()).then(|| out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::req::render;
    use std::collections::HashMap;

    fn req(ext: &str, accept: &str) -> Req {
        Req {
            method: "GET".into(),
            segs: vec!["layers".into()],
            ext: (!ext.is_empty()).then(|| ext.to_string()),
            query: HashMap::new(),
            accept: accept.into(),
            content_type: String::new(),
            body: Vec::new(),
            base: "http://h:1/geoserver".into(),
            user: None,
            peer: false,
        }
    }

    /// The whole document, as it was built before listings streamed.
    fn whole(req: &Req, root: &str, item: &str, entries: &[(String, String)]) -> Vec<u8> {
        let ext = crate::links::link_ext(req);
        let mut e = Element::new(root);
        for (name, url) in entries {
            e.children.push(
                Element::new(item)
                    .child(Element::with_text("name", name.clone()))
                    .child(atom_link(format!("{url}{ext}"), true, req)),
            );
        }
        render(req, &e, &[root, item]).body
    }

    #[test]
    fn a_streamed_listing_is_the_whole_document_byte_for_byte() {
        // Names JSON would type (numbers, booleans), names to escape, and enough entries to
        // fill several chunks.
        let mut entries: Vec<(String, String)> = [
            "123",
            "true",
            "1.5",
            "a<b>&\"c\"",
            "x__y",
            "ünï",
            "false",
            "",
            "0.10",
        ]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                format!("http://h:1/geoserver/rest/layers/{n}"),
            )
        })
        .collect();
        for i in 0..5000 {
            entries.push((
                format!("layer{i:05}"),
                format!("http://h:1/r/layers/layer{i:05}"),
            ));
        }
        for (root, item) in [
            ("layers", "layer"),
            ("layerGroups", "layerGroup"),
            ("data__stores", "data__store"),
        ] {
            for r in [
                req("json", ""),
                req("xml", ""),
                req("", "text/html"),
                req("", ""),
            ] {
                for n in [0, 1, 2, entries.len()] {
                    let list = &entries[..n];
                    let owned: Vec<(String, String)> = list.to_vec();
                    let streamed: Vec<Vec<u8>> =
                        Listing::new(&r, root, item, Box::new(owned.into_iter())).collect();
                    if n == entries.len() {
                        assert!(streamed.len() > 3, "written in chunks");
                        assert!(streamed.iter().all(|c| c.len() < CHUNK + 4096));
                    }
                    let body: Vec<u8> = streamed.concat();
                    let want = whole(&r, root, item, list);
                    assert!(
                        body == want,
                        "{root} {:?} {n}: {}\n---\n{}",
                        r.out_format(),
                        String::from_utf8_lossy(&body[..body.len().min(400)]),
                        String::from_utf8_lossy(&want[..want.len().min(400)])
                    );
                }
            }
        }
    }
}
