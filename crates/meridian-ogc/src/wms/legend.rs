//! GetLegendGraphic: a layer's style (or the one named) as a legend image, a row per rule.

use super::error::{wms_err, Version, WmsError};
use super::layer::find_wms_layer;
use super::request::Params;
use super::styles::layer_style;
use crate::OgcState;
use axum::response::{IntoResponse, Response};
use meridian_render::{encode, legend, Color, LegendOptions};
use std::sync::Arc;

/// `LEGEND_OPTIONS=key:value;key:value`, keys lower-cased.
fn options(v: &str) -> std::collections::HashMap<String, String> {
    v.split(';')
        .filter_map(|kv| {
            let (k, val) = kv.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), val.trim().to_string()))
        })
        .collect()
}

/// Answer a GetLegendGraphic request (exceptions in the 1.1.1 report format, as GeoServer).
pub(super) async fn legend_graphic(
    st: &Arc<OgcState>,
    ws: Option<&str>,
    p: &Params,
    access: &meridian_security::LayerAccess,
) -> Result<Response, WmsError> {
    let v = Version::V111;
    let e = |code, loc: &str, text: String| wms_err(v, code, loc, text);
    let name = p
        .get("LAYER")
        .ok_or_else(|| e("MissingParameterValue", "layer", "LAYER is missing".into()))?;
    let cat = st.catalog.snapshot();
    let unknown = || {
        e(
            "LayerNotDefined",
            "layer",
            format!("no layer named '{name}'"),
        )
    };
    let layer = find_wms_layer(&cat, &st.data_dir, ws, name).ok_or_else(unknown)?;
    layer
        .readable(access)
        .map_err(|r| super::error::wms_refusal(v, r, unknown()))?;
    let asked = p.get("STYLE").map(String::as_str).unwrap_or("");
    let style = layer_style(&cat, &st.data_dir, &layer, asked)
        .map_err(|m| e("StyleNotDefined", "style", m))?;
    let format = p
        .get("FORMAT")
        .map(|f| f.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "image/png".into());
    if !matches!(format.as_str(), "image/png" | "image/png8" | "image/jpeg") {
        return Err(e(
            "InvalidFormat",
            "format",
            format!("the legend format '{format}' is not supported: use image/png, image/png8 or image/jpeg"),
        ));
    }
    let size = |k: &str, d: u32| -> Result<u32, WmsError> {
        match p.get(k) {
            None => Ok(d),
            Some(s) => s
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=512).contains(n))
                .ok_or_else(|| {
                    e(
                        "InvalidParameterValue",
                        &k.to_ascii_lowercase(),
                        format!("{k} '{s}' is not a number of pixels from 1 to 512"),
                    )
                }),
        }
    };
    let lo = p
        .get("LEGEND_OPTIONS")
        .map(|o| options(o))
        .unwrap_or_default();
    let mut o = LegendOptions {
        width: size("WIDTH", 20)?,
        height: size("HEIGHT", 20)?,
        scale: p.get("SCALE").and_then(|s| s.trim().parse().ok()),
        rule: p.get("RULE").filter(|r| !r.is_empty()).cloned(),
        style_dir: style.dir.clone(),
        ..LegendOptions::default()
    };
    if let Some(f) = lo.get("fontname") {
        o.font = vec![f.clone()];
    }
    if let Some(s) = lo.get("fontsize").and_then(|s| s.parse::<f32>().ok()) {
        o.font_size = s.clamp(4.0, 72.0);
    }
    if let Some(c) = lo.get("fontcolor").and_then(|c| Color::parse(c)) {
        o.font_color = c;
    }
    o.bold = lo
        .get("fontstyle")
        .is_some_and(|s| s.eq_ignore_ascii_case("bold"));
    o.force_labels = lo
        .get("forcelabels")
        .is_some_and(|s| s.eq_ignore_ascii_case("on"));
    o.antialias = !lo
        .get("fontantialiasing")
        .is_some_and(|s| s.eq_ignore_ascii_case("false"));
    let transparent = p
        .get("TRANSPARENT")
        .is_some_and(|t| t.eq_ignore_ascii_case("true"));
    o.background = if transparent {
        None
    } else {
        Some(
            lo.get("bgcolor")
                .and_then(|c| Color::parse(c))
                .unwrap_or(Color::WHITE),
        )
    };
    let parsed = style.parsed();
    let img =
        legend(&parsed, &o).map_err(|err| e("InvalidParameterValue", "rule", err.to_string()))?;
    let (bytes, mime) = match format.as_str() {
        "image/png8" => (encode::png8(&img), "image/png; mode=8bit"),
        "image/jpeg" => (encode::jpeg(&img, 75, Color::WHITE), "image/jpeg"),
        _ => (encode::png(&img), "image/png"),
    };
    let bytes = bytes.map_err(|err| e("NoApplicableCode", "", err.to_string()))?;
    Ok(([("content-type", mime)], bytes).into_response())
}
