//! The request and response values REST handlers work with, and content negotiation.

use crate::error::{RestError, RestResult};
use crate::json::{from_json, to_json};
use meridian_xml::Element;
use std::collections::HashMap;
use std::sync::Arc;

/// Representation formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/xml`
    Xml,
    /// `application/json`
    Json,
    /// `text/html`
    Html,
    /// A style body (`.sld` and friends).
    Style,
}

/// Extensions recognised at the end of a path (others are part of the name).
pub const EXTENSIONS: &[&str] = &[
    "xml", "json", "html", "sld", "zip", "css", "ysld", "mbstyle",
];

/// A REST request, decoded from HTTP.
#[derive(Debug, Clone)]
pub struct Req {
    /// Upper-case method.
    pub method: String,
    /// Percent-decoded path segments after `/rest`, without the extension and trailing slash.
    pub segs: Vec<String>,
    /// The extension stripped from the last segment.
    pub ext: Option<String>,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Accept header.
    pub accept: String,
    /// Content-Type header (without parameters, lower case).
    pub content_type: String,
    /// Request body.
    pub body: Vec<u8>,
    /// `http://host:port/geoserver`, for links.
    pub base: String,
    /// The authenticated user (`None`: anonymous, or a cluster peer).
    pub user: Option<String>,
    /// Whether a cluster peer (its signed token checked) sent the request.
    pub peer: bool,
}

/// The chunks of a body, in order.
pub type Chunks = Box<dyn Iterator<Item = Vec<u8>> + Send>;

/// The chunks of a body made of `head`, the `items` in order and `tail`, each about
/// [`crate::listing::CHUNK`] bytes (an item is never split), each made when the one before has
/// been taken: what answers written as they are produced are cut into.
pub fn chunked(
    head: Vec<u8>,
    items: impl Iterator<Item = Vec<u8>> + Send + 'static,
    tail: Vec<u8>,
) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    let (mut head, mut tail, mut items) = (Some(head), Some(tail), items.fuse());
    std::iter::from_fn(move || {
        let mut out = head.take().unwrap_or_default();
        while out.len() < crate::listing::CHUNK {
            match items.next() {
                Some(piece) => out.extend_from_slice(&piece),
                None => {
                    out.extend_from_slice(&tail.take()?);
                    break;
                }
            }
        }
        Some(out)
    })
    .filter(|c| !c.is_empty())
}

/// A body written as it is produced, a chunk at a time (see [`crate::listing`]). A replayable
/// one can be produced again from the start, byte for byte (to sign it before sending it).
pub struct Streamed {
    chunks: Chunks,
    replay: Option<Arc<dyn Fn() -> Chunks + Send + Sync>>,
}

impl Streamed {
    /// A body of the chunks `chunks` yields, in order.
    pub fn new(chunks: impl Iterator<Item = Vec<u8>> + Send + 'static) -> Streamed {
        Streamed {
            chunks: Box::new(chunks),
            replay: None,
        }
    }

    /// A body `make` produces, the same bytes each time it is called.
    pub fn replayable(make: Arc<dyn Fn() -> Chunks + Send + Sync>) -> Streamed {
        Streamed {
            chunks: make(),
            replay: Some(make),
        }
    }

    /// The body's chunks again from the start, when it is replayable.
    pub fn replay(&self) -> Option<Chunks> {
        self.replay.as_ref().map(|m| m())
    }

    /// The next chunk, `None` at the end.
    pub fn next_chunk(&mut self) -> Option<Vec<u8>> {
        self.chunks.next()
    }
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streamed(..)")
    }
}

/// A REST response.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Content-Type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
    /// Location header.
    pub location: Option<String>,
    /// A body written as it is produced, after `body` (which is then empty).
    pub stream: Option<Streamed>,
}

impl Resp {
    /// The whole body, a streamed one read to its end (for callers in the process).
    pub fn into_body(mut self) -> Vec<u8> {
        if let Some(mut s) = self.stream.take() {
            while let Some(c) = s.next_chunk() {
                self.body.extend_from_slice(&c);
            }
        }
        self.body
    }

    /// The same answer with a streamed body read into `body`.
    pub fn collected(mut self) -> Resp {
        if self.stream.is_some() {
            let stream = self.stream.take();
            let body = Resp {
                stream,
                ..Resp::ok()
            }
            .into_body();
            self.body.extend_from_slice(&body);
        }
        self
    }

    /// 200 with an empty body (PUT and DELETE).
    pub fn ok() -> Self {
        Resp {
            status: 200,
            content_type: "text/plain".into(),
            body: Vec::new(),
            location: None,
            stream: None,
        }
    }

    /// 201 with `text/plain` body and a Location.
    pub fn created(body: &str, location: Option<String>) -> Self {
        Resp {
            status: 201,
            content_type: "text/plain".into(),
            body: body.as_bytes().to_vec(),
            location,
            stream: None,
        }
    }

    /// Any status with a text body.
    pub fn text(status: u16, body: &str) -> Self {
        Resp {
            status,
            content_type: "text/plain".into(),
            body: body.as_bytes().to_vec(),
            location: None,
            stream: None,
        }
    }
}

impl Req {
    /// A query parameter, case-insensitive on the key.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter (`true`, `True`, `1`).
    pub fn flag(&self, key: &str) -> bool {
        self.q(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }

    /// The REST base URL: `http://host/geoserver/rest`.
    pub fn rest(&self) -> String {
        format!("{}/rest", self.base)
    }

    /// The requested output format: extension, then `?format=`, then Accept; JSON by default.
    pub fn out_format(&self) -> Format {
        let pick = |s: &str| match s.to_ascii_lowercase().as_str() {
            "xml" => Some(Format::Xml),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "sld" => Some(Format::Style),
            _ => None,
        };
        if let Some(f) = self.ext.as_deref().and_then(pick) {
            return f;
        }
        if let Some(f) = self.q("format").and_then(pick) {
            return f;
        }
        let a = self.accept.to_ascii_lowercase();
        if a.contains("json") {
            Format::Json
        } else if a.contains("vnd.ogc.sld") || a.contains("vnd.ogc.se") {
            Format::Style
        } else if a.contains("xml") {
            Format::Xml
        } else if a.contains("text/html") && !a.contains("*/*") {
            Format::Html
        } else {
            Format::Json
        }
    }

    /// Parse the body as a GeoServer object in XML or JSON, by Content-Type (sniffed if absent).
    pub fn body_element(&self, expected: &str) -> RestResult<Element> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(RestError::BadRequest(format!(
                "the request body is empty; expected a <{expected}>"
            )));
        }
        let ct = self.content_type.as_str();
        let json = ct.contains("json")
            || (!ct.contains("xml")
                && self.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
        let e = if json {
            from_json(&self.body, expected).map_err(|e| RestError::BadRequest(e.to_string()))?
        } else if ct.is_empty() || ct.contains("xml") || ct == "text/plain" || ct.contains("form") {
            meridian_xml::parse_bytes(&self.body)
                .map_err(|e| RestError::BadRequest(e.to_string()))?
        } else {
            return Err(RestError::UnsupportedMediaType(format!(
                "content type '{ct}' is not supported here; send application/xml or application/json"
            )));
        };
        Ok(e)
    }

    /// Parse the body and check its root element.
    pub fn body_as(&self, root: &str) -> RestResult<Element> {
        let e = self.body_element(root)?;
        if e.name != root {
            return Err(RestError::BadRequest(format!(
                "expected a <{root}> body, got <{}>",
                e.name
            )));
        }
        Ok(e)
    }
}

/// Render an element in the requested format. Children named in `arrays` are always arrays
/// in JSON (list endpoints).
pub fn render(req: &Req, e: &Element, arrays: &[&str]) -> Resp {
    match req.out_format() {
        Format::Json => Resp {
            status: 200,
            content_type: "application/json".into(),
            body: to_json(e, arrays).to_string().into_bytes(),
            location: None,
            stream: None,
        },
        Format::Html => {
            let xml = meridian_xml::escape(&e.to_xml());
            Resp {
                status: 200,
                content_type: "text/html".into(),
                body: format!(
                    "<html><head><title>{}</title></head><body><pre>{xml}</pre></body></html>",
                    e.name
                )
                .into_bytes(),
                location: None,
                stream: None,
            }
        }
        Format::Xml | Format::Style => Resp {
            status: 200,
            content_type: "application/xml".into(),
            body: e.to_xml().into_bytes(),
            location: None,
            stream: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_head_items_and_tail_in_chunks_of_about_a_chunk() {
        let piece = vec![b'x'; 1000];
        for n in [0usize, 1, 200] {
            let items = std::iter::repeat_n(piece.clone(), n);
            let chunks: Vec<Vec<u8>> = chunked(b"[".to_vec(), items, b"]".to_vec()).collect();
            let whole = chunks.concat();
            assert_eq!(whole.len(), n * 1000 + 2, "{n} items");
            assert!(whole.starts_with(b"[") && whole.ends_with(b"]"));
            assert!(chunks
                .iter()
                .all(|c| !c.is_empty() && c.len() < crate::listing::CHUNK + 1000));
            assert_eq!(chunks.len() > 1, n == 200, "{n} items");
        }
    }
}
