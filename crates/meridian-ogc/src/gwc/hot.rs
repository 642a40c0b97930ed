//! Cached tiles answered before the request reaches the router: the answer to an anonymous
//! GET of a cached tile is kept in memory, under the request's exact URI, and given again
//! while the tile's file is unchanged on disk (its size and time, one `stat`) and the catalog
//! has not changed since (any change, security files included, forgets every answer).
//!
//! Only requests that carry no credentials (no `Authorization`, no trusted-proxy header, no
//! `authkey` parameter) are answered here, so an answer kept for one anonymous caller is the
//! one every anonymous caller gets. Everything else, and every tile not kept yet, takes the
//! general path, whose hits offer their answers ([`HotTiles::offer`]).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Bytes of tiles kept at most; past this every kept answer is forgotten.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Answers kept at most.
const MAX_ENTRIES: usize = 100_000;

/// A tile answer the general path gave from the cache, attached to its response so that it
/// can be kept ([`HotTiles::offer`]).
#[derive(Debug, Clone)]
pub(crate) struct HotTile {
    pub bytes: Bytes,
    /// The cached file, its size and time when read.
    pub path: PathBuf,
    pub len: u64,
    pub modified: SystemTime,
}

/// One kept answer.
#[derive(Debug)]
struct Kept {
    generation: u64,
    headers: HeaderMap,
    etag: String,
    tile: HotTile,
}

/// A request that may be kept: its key and the catalog generation it was answered under.
#[derive(Debug)]
pub struct Ticket {
    key: String,
    generation: u64,
}

/// What [`HotTiles::lookup`] found.
#[derive(Debug)]
pub enum Lookup {
    /// The answer, from memory.
    Answer(Response),
    /// Not kept: answer through the router, then [`HotTiles::offer`] the answer.
    Miss(Ticket),
    /// A request this does not answer (credentials, not a GET, not a tile path).
    Other,
}

/// The kept tile answers of a node.
#[derive(Debug, Default)]
pub struct HotTiles {
    kept: Mutex<(HashMap<String, Arc<Kept>>, usize)>,
    generation: AtomicU64,
    /// The header a trusted proxy names users in (a request carrying it is not anonymous).
    proxy_header: Option<String>,
    /// A disk quota is set: hits refresh the files' times (least-recently-used eviction), so
    /// a kept answer whose file is due for that goes through the general path, which does it.
    touching: AtomicBool,
}

impl HotTiles {
    /// Kept answers for requests without credentials; `proxy_header`: the trusted proxy's
    /// user header, if one is configured.
    pub fn new(proxy_header: Option<String>) -> HotTiles {
        HotTiles {
            proxy_header,
            ..HotTiles::default()
        }
    }

    /// Forget every kept answer, and refuse the offers of requests answered before.
    pub fn clear(&self) {
        let mut k = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        k.0.clear();
        k.1 = 0;
    }

    /// The kept answer to this request, or a ticket to offer its answer with.
    pub fn lookup(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Lookup {
        let path = uri.path();
        if method != Method::GET
            || !(path.starts_with("/geoserver/gwc/service/")
                || path.starts_with("/geoserver/ogc/tiles/")
                || path.ends_with("/wms"))
            || headers.contains_key("authorization")
            || self
                .proxy_header
                .as_ref()
                .is_some_and(|h| headers.contains_key(h.as_str()))
            || uri.query().is_some_and(|q| {
                q.as_bytes()
                    .windows(7)
                    .any(|w| w.eq_ignore_ascii_case(b"authkey"))
            })
        {
            return Lookup::Other;
        }
        let key = uri.to_string();
        let generation = self.generation.load(Ordering::SeqCst);
        let found = self
            .kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .get(&key)
            .cloned();
        match found {
            Some(k) if k.generation == generation && self.unchanged(&k.tile) => {
                Lookup::Answer(answer(&k, headers))
            }
            _ => Lookup::Miss(Ticket { key, generation }),
        }
    }

    /// Is the tile's file as it was when read (and not due for a touch)?
    fn unchanged(&self, t: &HotTile) -> bool {
        let Ok(m) = std::fs::metadata(&t.path) else {
            return false;
        };
        let Ok(modified) = m.modified() else {
            return false;
        };
        m.len() == t.len
            && modified == t.modified
            && (!self.touching.load(Ordering::Relaxed)
                || SystemTime::now()
                    .duration_since(modified)
                    .is_ok_and(|age| age < meridian_tiles::TOUCH_EVERY))
    }

    /// Keep the answer to a request of `ticket` if it is a whole cached tile, and nothing
    /// changed since the request came in.
    pub fn offer(&self, ticket: Ticket, response: &Response) {
        if response.status() != StatusCode::OK {
            return;
        }
        let Some(tile) = response.extensions().get::<HotTile>() else {
            return;
        };
        let Some(etag) = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return;
        };
        let kept = Arc::new(Kept {
            generation: ticket.generation,
            headers: response.headers().clone(),
            etag,
            tile: tile.clone(),
        });
        let size = kept.tile.bytes.len() + ticket.key.len();
        let mut k = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock `clear` takes: an answer made before a change is not kept.
        if self.generation.load(Ordering::SeqCst) != ticket.generation {
            return;
        }
        if k.1 + size > MAX_BYTES || k.0.len() >= MAX_ENTRIES {
            k.0.clear();
            k.1 = 0;
        }
        if let Some(old) = k.0.insert(ticket.key, kept) {
            k.1 = k.1.saturating_sub(old.tile.bytes.len());
        }
        k.1 += size;
    }

    /// Whether hits must refresh the files' times (a disk quota is set).
    pub(crate) fn set_touching(&self, on: bool) {
        self.touching.store(on, Ordering::Relaxed);
    }
}

/// The kept answer, or 304 when the caller holds its ETag (as the general path).
fn answer(k: &Kept, request: &HeaderMap) -> Response {
    let fresh = request
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == k.etag || e.trim() == "*"));
    let mut r = if fresh {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(Body::from(k.tile.bytes.clone()))
    };
    *r.headers_mut() = k.headers.clone();
    if fresh {
        r.headers_mut().remove("content-type");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(uri: &str, headers: &[(&'static str, &str)]) -> (Method, Uri, HeaderMap) {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        (Method::GET, uri.parse().unwrap(), h)
    }

    fn tile_answer(path: &std::path::Path) -> Response {
        let m = std::fs::metadata(path).unwrap();
        let bytes = Bytes::from(std::fs::read(path).unwrap());
        let mut r = Response::new(Body::from(bytes.clone()));
        r.headers_mut()
            .insert("etag", HeaderValue::from_static("\"a-1\""));
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("image/png"));
        r.extensions_mut().insert(HotTile {
            bytes,
            path: path.to_path_buf(),
            len: m.len(),
            modified: m.modified().unwrap(),
        });
        r
    }

    const URI: &str =
        "/geoserver/gwc/service/wmts/rest/topp:states/EPSG:4326/EPSG:4326:4/3/3?format=image/png";

    #[test]
    fn a_kept_answer_is_given_while_its_file_and_the_catalog_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("3.png");
        std::fs::write(&file, b"tile").unwrap();
        let hot = HotTiles::new(None);
        let (m, u, h) = request(URI, &[]);
        let Lookup::Miss(t) = hot.lookup(&m, &u, &h) else {
            panic!("nothing kept yet")
        };
        hot.offer(t, &tile_answer(&file));
        assert!(matches!(hot.lookup(&m, &u, &h), Lookup::Answer(r) if r.status() == 200));
        // If-None-Match with the ETag: 304.
        let (m2, u2, h2) = request(URI, &[("if-none-match", "\"a-1\"")]);
        assert!(matches!(hot.lookup(&m2, &u2, &h2), Lookup::Answer(r) if r.status() == 304));
        // The file rewritten (a reseed, a truncation then a new tile): not answered.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, b"other tile").unwrap();
        assert!(matches!(hot.lookup(&m, &u, &h), Lookup::Miss(_)));
        // A catalog change forgets it.
        let Lookup::Miss(t) = hot.lookup(&m, &u, &h) else {
            panic!()
        };
        hot.offer(t, &tile_answer(&file));
        assert!(matches!(hot.lookup(&m, &u, &h), Lookup::Answer(_)));
        hot.clear();
        assert!(matches!(hot.lookup(&m, &u, &h), Lookup::Miss(_)));
    }

    #[test]
    fn an_answer_made_before_a_change_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("3.png");
        std::fs::write(&file, b"tile").unwrap();
        let hot = HotTiles::new(None);
        let (m, u, h) = request(URI, &[]);
        let Lookup::Miss(t) = hot.lookup(&m, &u, &h) else {
            panic!()
        };
        hot.clear();
        hot.offer(t, &tile_answer(&file));
        assert!(matches!(hot.lookup(&m, &u, &h), Lookup::Miss(_)));
    }

    #[test]
    fn requests_with_credentials_are_never_answered_here() {
        let hot = HotTiles::new(Some("x-forwarded-user".into()));
        for (uri, headers) in [
            (URI, vec![("authorization", "Basic YWRtaW46Z2Vvc2VydmVy")]),
            (URI, vec![("x-forwarded-user", "admin")]),
            ("/geoserver/gwc/service/wmts?layer=a&AUTHKEY=k", Vec::new()),
            ("/geoserver/rest/layers", Vec::new()),
        ] {
            let (m, u, h) = request(uri, &headers);
            assert!(matches!(hot.lookup(&m, &u, &h), Lookup::Other), "{uri}");
        }
    }
}
