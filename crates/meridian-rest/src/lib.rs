//! GeoServer's REST configuration API over Meridian's catalog. Handlers only read the catalog
//! and build [`meridian_catalog::Change`] values; the catalog's apply path does the rest.

mod api;
mod ctx;
mod decode;
mod encode;
mod error;
mod json;
mod links;
pub mod listing;
mod req;
mod router;
mod server;
mod throttle;

pub use api::about::GEOSERVER_VERSION;
pub use api::security::security_of;
pub use api::upload::{UploadLimits, RATIO_FLOOR};
pub use ctx::{AsyncResp, Reloader, RestExtension, RestState};
pub use error::{RestError, RestResult};
pub use json::{from_json, to_json};
pub use req::{chunked, render, Chunks, Format, Req, Resp, Streamed};
pub use server::{
    basic_credentials, execute_as, rest_router, streamed_body, ProxyAuth, PEER_SIGNATURE_HEADER,
    PEER_USER, POSITION_HEADER,
};
pub use throttle::LoginThrottle;
