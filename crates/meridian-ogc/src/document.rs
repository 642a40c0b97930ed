//! Documents that list every layer (capabilities, collections), written as they are produced:
//! a head, one piece per layer made when the connection has taken the pieces before it, and a
//! tail. A document's memory then does not grow with the catalog.

use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_features::{Feature, FeatureCollectionJson, FeatureJson, JSON_TAIL};

/// A document's pieces.
pub struct Document {
    /// What comes before the layers.
    pub head: String,
    /// One piece per layer (or group), in order.
    pub items: Box<dyn Iterator<Item = String> + Send>,
    /// What comes after them.
    pub tail: String,
}

impl Document {
    /// The document as a 200 answer of `content_type`, streamed.
    pub fn response(self, st: &OgcState, content_type: &'static str) -> Response {
        let chunks = meridian_rest::chunked(
            self.head.into_bytes(),
            self.items.map(String::into_bytes),
            self.tail.into_bytes(),
        );
        let body = meridian_rest::streamed_body(
            Vec::new(),
            meridian_rest::Streamed::new(chunks),
            st.after_large_answer.clone(),
        );
        // Features and catalogs change (WFS-T, REST): a client may keep an answer but must
        // ask again before reusing it (QGIS's disk cache otherwise shows features as they
        // were before an edit).
        (
            [
                ("content-type", content_type),
                ("cache-control", "no-cache"),
            ],
            body,
        )
            .into_response()
    }
}

impl Document {
    /// A GeoJSON feature collection written a feature at a time (each feature dropped once
    /// written): `meta` gives everything but the features (its own `features` are ignored).
    pub fn geojson(
        meta: &FeatureCollectionJson<'_>,
        features: Vec<Feature>,
    ) -> Result<Document, serde_json::Error> {
        let head = meta.head(features.len())?;
        let decimals = meta.decimals;
        let items = features.into_iter().enumerate().map(move |(i, f)| {
            let piece = serde_json::to_string(&FeatureJson {
                feature: &f,
                decimals,
            })
            // A feature serializes whatever it holds (non-finite numbers are null).
            .unwrap_or_else(|_| "null".into());
            if i == 0 {
                piece
            } else {
                format!(",{piece}")
            }
        });
        Ok(Document {
            head,
            items: Box::new(items),
            tail: JSON_TAIL.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pieces_come_out_in_order_and_whole() {
        let st = OgcState::for_tests();
        let items: Vec<String> = (0..20_000).map(|i| format!("<L>{i}</L>")).collect();
        let want = format!("<head>{}</tail>", items.concat());
        let doc = Document {
            head: "<head>".into(),
            items: Box::new(items.into_iter()),
            tail: "</tail>".into(),
        };
        let resp = doc.response(&st, "text/xml");
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
            .unwrap();
        assert_eq!(body, want.as_bytes());
        let empty = Document {
            head: "<h/>".into(),
            items: Box::new(std::iter::empty()),
            tail: String::new(),
        }
        .response(&st, "text/xml");
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(empty.into_body(), usize::MAX))
            .unwrap();
        assert_eq!(body, "<h/>".as_bytes());
    }
}
