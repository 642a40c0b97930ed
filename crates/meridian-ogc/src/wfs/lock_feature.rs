//! WFS LockFeature: lock the features a query selects, answered in each version's document,
//! and the lock requests GetFeatureWithLock shares with it.

use super::get_feature::run_query;
use super::locks::{FeatureKey, Granted};
use super::request::{feature_request, Params};
use super::MAX_COUNT;
use crate::ows::{err, OwsError};
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_xml::{escape, Element};
use std::time::Duration;

/// How long a lock asked with `EXPIRY` lasts: seconds on WFS 2.0, minutes on 1.x; five
/// minutes when not said.
pub(super) fn expiry(p: &Params) -> Result<Duration, OwsError> {
    let v1 = p.get("VERSION").is_some_and(|v| v.starts_with('1'));
    match p.get("EXPIRY") {
        None => Ok(Duration::from_secs(300)),
        Some(e) => {
            let n: u64 = e.trim().parse().map_err(|_| {
                err(
                    "InvalidParameterValue",
                    "expiry",
                    format!("EXPIRY must be a whole number, got '{e}'"),
                )
            })?;
            Ok(Duration::from_secs(if v1 {
                n.saturating_mul(60)
            } else {
                n
            }))
        }
    }
}

/// Whether the request locks only what is free (`lockAction=SOME`) rather than all or nothing.
pub(super) fn all_or_nothing(p: &Params) -> bool {
    !p.get("LOCKACTION")
        .is_some_and(|a| a.eq_ignore_ascii_case("SOME"))
}

/// Lock `ids` of the layer `qualified` as `p` asks.
pub(super) fn lock_ids(
    st: &OgcState,
    p: &Params,
    qualified: &str,
    ids: impl Iterator<Item = String>,
) -> Result<Granted, OwsError> {
    let keys: Vec<FeatureKey> = ids.map(|id| (qualified.to_string(), id)).collect();
    st.locks
        .lock(keys, expiry(p)?, all_or_nothing(p))
        .map_err(|why| err("CannotLockAllFeatures", "", why))
}

/// LockFeature.
pub(super) async fn lock_feature(
    st: &OgcState,
    ws: Option<&str>,
    p: &Params,
    post: Option<&Element>,
    access: &meridian_security::LayerAccess,
) -> Result<Response, OwsError> {
    let mut req = feature_request(st, ws, p, post, access)?;
    if crate::access::write(access, &req.layer.prefix, &req.layer.name).is_err() {
        return Err(err(
            "OperationNotSupported",
            "typeNames",
            format!(
                "locking {} needs a user who may write it",
                req.layer.qualified()
            ),
        ));
    }
    req.query.limit = MAX_COUNT;
    req.query.offset = 0;
    let qualified = req.layer.qualified();
    let found = run_query(&req.layer, req.query).await?;
    let g = lock_ids(st, p, &qualified, found.features.into_iter().map(|f| f.id))?;
    let version = p.get("VERSION").map(String::as_str).unwrap_or("2.0.0");
    let id = escape(&g.lock_id);
    let list = |keys: &[FeatureKey], v2: bool| -> String {
        keys.iter()
            .map(|(_, fid)| {
                if v2 {
                    format!("<fes:ResourceId rid=\"{}\"/>", escape(fid))
                } else {
                    format!("<ogc:FeatureId fid=\"{}\"/>", escape(fid))
                }
            })
            .collect()
    };
    let body = if version.starts_with("1.0") {
        format!("<WFS_LockFeatureResponse xmlns=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\"><LockId>{id}</LockId><FeaturesLocked>{}</FeaturesLocked>{}</WFS_LockFeatureResponse>", list(&g.locked, false), if g.not_locked.is_empty() { String::new() } else { format!("<FeaturesNotLocked>{}</FeaturesNotLocked>", list(&g.not_locked, false)) })
    } else if version.starts_with("1.1") {
        format!("<wfs:LockFeatureResponse xmlns:wfs=\"http://www.opengis.net/wfs\" xmlns:ogc=\"http://www.opengis.net/ogc\"><wfs:LockId>{id}</wfs:LockId><wfs:FeaturesLocked>{}</wfs:FeaturesLocked>{}</wfs:LockFeatureResponse>", list(&g.locked, false), if g.not_locked.is_empty() { String::new() } else { format!("<wfs:FeaturesNotLocked>{}</wfs:FeaturesNotLocked>", list(&g.not_locked, false)) })
    } else {
        format!("<wfs:LockFeatureResponse lockId=\"{id}\" xmlns:wfs=\"http://www.opengis.net/wfs/2.0\" xmlns:fes=\"http://www.opengis.net/fes/2.0\"><wfs:FeaturesLocked>{}</wfs:FeaturesLocked>{}</wfs:LockFeatureResponse>", list(&g.locked, true), if g.not_locked.is_empty() { String::new() } else { format!("<wfs:FeaturesNotLocked>{}</wfs:FeaturesNotLocked>", list(&g.not_locked, true)) })
    };
    Ok((
        [("content-type", "text/xml; charset=UTF-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
        .into_response())
}
