//! `/rest/styles` and `/rest/workspaces/{ws}/styles`: style entries and their bodies.

use crate::ctx::{list_objects, method_not_allowed, not_found, Ctx};
use crate::decode::strip_links;
use crate::encode::encode;
use crate::error::{RestError, RestResult};
use crate::links::seg;
use crate::req::{render, Format, Req, Resp};
use meridian_catalog::{cascade_remove, new_id, reference, Change, Kind, Object};
use meridian_xml::Element;
use std::sync::Arc;

/// A style language recognised from a Content-Type.
struct Language {
    format: &'static str,
    version: &'static str,
    ext: &'static str,
}

fn language(content_type: &str) -> Option<Language> {
    let ct = content_type.to_ascii_lowercase();
    Some(if ct.contains("vnd.ogc.sld") {
        Language {
            format: "sld",
            version: "1.0.0",
            ext: "sld",
        }
    } else if ct.contains("vnd.ogc.se") {
        Language {
            format: "sld",
            version: "1.1.0",
            ext: "sld",
        }
    } else if ct.contains("geocss") || ct == "text/css" {
        Language {
            format: "css",
            version: "1.0.0",
            ext: "css",
        }
    } else if ct.contains("ysld") {
        Language {
            format: "ysld",
            version: "1.0.0",
            ext: "yaml",
        }
    } else if ct.contains("mbstyle") {
        Language {
            format: "mbstyle",
            version: "1.0.0",
            ext: "json",
        }
    } else {
        return None;
    })
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn child_local<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.children.iter().find(|c| local(&c.name) == name)
}

/// Check an SLD body; returns the style name it declares and its version.
fn check_sld(body: &str) -> RestResult<(Option<String>, String)> {
    let e = meridian_xml::parse(body)
        .map_err(|e| RestError::BadRequest(format!("Invalid style: {e}")))?;
    if local(&e.name) != "StyledLayerDescriptor" {
        return Err(RestError::BadRequest(format!(
            "Invalid style: expected a StyledLayerDescriptor, found <{}>",
            e.name
        )));
    }
    let layer = child_local(&e, "NamedLayer").or_else(|| child_local(&e, "UserLayer"));
    let Some(layer) = layer else {
        return Err(RestError::BadRequest(
            "Invalid style: the SLD has no NamedLayer or UserLayer".into(),
        ));
    };
    let style = child_local(layer, "UserStyle");
    if style.is_none() && child_local(layer, "NamedStyle").is_none() {
        return Err(RestError::BadRequest(
            "Invalid style: the layer has no UserStyle".into(),
        ));
    }
    let name = style
        .and_then(|s| child_local(s, "Name"))
        .or_else(|| child_local(layer, "Name"))
        .and_then(|n| n.text_trim())
        .map(str::to_string);
    let version = e.attr_value("version").unwrap_or("1.0.0").to_string();
    Ok((name, version))
}

/// A style body from the request, checked when it is SLD (unless `raw=true`).
fn read_body(req: &Req, lang: &Language) -> RestResult<(String, Option<String>, String)> {
    let text = String::from_utf8(req.body.clone())
        .map_err(|_| RestError::BadRequest("the style body is not UTF-8".into()))?;
    if text.trim().is_empty() {
        return Err(RestError::BadRequest("the style body is empty".into()));
    }
    if lang.format == "sld" && !req.flag("raw") {
        let (name, version) = check_sld(&text)?;
        return Ok((text, name, version));
    }
    Ok((text, None, lang.version.to_string()))
}

fn find_style(c: &Ctx, req: &Req, ws: Option<&Object>, name: &str) -> RestResult<Arc<Object>> {
    c.cat
        .find(Kind::Style, ws.map(|w| w.id()), name)
        .cloned()
        .ok_or_else(|| not_found(req, format!("No such style: {name}")))
}

fn style_url(req: &Req, ws: Option<&Object>, name: &str) -> String {
    match ws {
        Some(w) => format!(
            "{}/workspaces/{}/styles/{}",
            req.rest(),
            seg(w.name()),
            seg(name)
        ),
        None => format!("{}/styles/{}", req.rest(), seg(name)),
    }
}

fn style_xml(
    name: &str,
    ws: Option<&Object>,
    format: &str,
    version: &str,
    filename: &str,
) -> Element {
    let mut x = Element::new("style")
        .child(Element::with_text("id", new_id(Kind::Style)))
        .child(Element::with_text("name", name));
    if let Some(w) = ws {
        x.children.push(reference("workspace", w.id()));
    }
    x.child(Element::with_text("format", format))
        .child(Element::new("languageVersion").child(Element::with_text("version", version)))
        .child(Element::with_text("filename", filename))
}

/// `/styles` and `/workspaces/{ws}/styles`.
pub fn collection(c: &Ctx, req: &Req, ws_name: Option<&str>) -> RestResult<Resp> {
    let ws = match ws_name {
        Some(w) => Some(c.workspace(req, w)?),
        None => None,
    };
    let ws = ws.as_deref();
    match req.method.as_str() {
        "GET" => {
            let styles = c.cat.scoped(Kind::Style, ws.map(|w| w.id()));
            Ok(list_objects(c, req, "styles", "style", styles))
        }
        "POST" => {
            if req.content_type.contains("zip") {
                return Err(RestError::UnsupportedMediaType(
                    "zipped style uploads are not supported yet; send the SLD".into(),
                ));
            }
            if let Some(lang) = language(&req.content_type) {
                let (text, declared, version) = read_body(req, &lang)?;
                let name = req
                    .q("name")
                    .map(str::to_string)
                    .or(declared)
                    .ok_or_else(|| {
                        RestError::BadRequest("the style has no name; give ?name=".into())
                    })?;
                meridian_catalog::check_name(&name)
                    .map_err(|e| RestError::BadRequest(e.to_string()))?;
                if c.cat.find(Kind::Style, ws.map(|w| w.id()), &name).is_some() {
                    return Err(RestError::Forbidden(format!(
                        "Style {name} already exists."
                    )));
                }
                let mut o = Object::new(
                    Kind::Style,
                    style_xml(
                        &name,
                        ws,
                        lang.format,
                        &version,
                        &format!("{name}.{}", lang.ext),
                    ),
                );
                o.body = Some(text);
                c.apply(vec![Change::Add { object: o }])?;
                return Ok(Resp::created(&name, Some(style_url(req, ws, &name))));
            }
            let mut body = req.body_as("style")?;
            strip_links(&mut body);
            let name = body
                .child_text("name")
                .ok_or_else(|| RestError::BadRequest("style has no <name>".into()))?
                .to_string();
            if c.cat.find(Kind::Style, ws.map(|w| w.id()), &name).is_some() {
                return Err(RestError::Forbidden(format!(
                    "Style {name} already exists."
                )));
            }
            let format = body.child_text("format").unwrap_or("sld").to_string();
            let version = body
                .path(&["languageVersion", "version"])
                .and_then(Element::text_trim)
                .unwrap_or("1.0.0")
                .to_string();
            let filename = body
                .child_text("filename")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{name}.sld"));
            let mut x = style_xml(&name, ws, &format, &version, &filename);
            for e in body.children {
                if !matches!(
                    e.name.as_str(),
                    "id" | "name" | "workspace" | "format" | "languageVersion" | "filename"
                ) {
                    x.children.push(e);
                }
            }
            c.apply(vec![Change::Add {
                object: Object::new(Kind::Style, x),
            }])?;
            Ok(Resp::created(&name, None))
        }
        _ => Err(method_not_allowed(req)),
    }
}

/// `/styles/{s}` and `/workspaces/{ws}/styles/{s}`.
pub fn item(c: &Ctx, req: &Req, ws_name: Option<&str>, name: &str) -> RestResult<Resp> {
    let ws = match ws_name {
        Some(w) => Some(c.workspace(req, w)?),
        None => None,
    };
    let style = find_style(c, req, ws.as_deref(), name)?;
    match req.method.as_str() {
        "GET" => {
            if req.out_format() == Format::Style
                || matches!(req.ext.as_deref(), Some("css" | "ysld" | "mbstyle"))
            {
                let body = style
                    .body
                    .clone()
                    .ok_or_else(|| not_found(req, format!("style {name} has no body")))?;
                let ct = match style.xml().child_text("format") {
                    Some("css") => "application/vnd.geoserver.geocss+css",
                    Some("ysld") => "application/vnd.geoserver.ysld+yaml",
                    Some("mbstyle") => "application/vnd.geoserver.mbstyle+json",
                    _ if style
                        .xml()
                        .path(&["languageVersion", "version"])
                        .and_then(|v| v.text_trim())
                        == Some("1.1.0") =>
                    {
                        "application/vnd.ogc.se+xml"
                    }
                    _ => "application/vnd.ogc.sld+xml",
                };
                return Ok(Resp {
                    status: 200,
                    content_type: ct.into(),
                    body: body.into_bytes(),
                    location: None,
                    stream: None,
                });
            }
            Ok(render(req, &encode(&c.cat, &style, req), &[]))
        }
        "PUT" => {
            let mut updated = (*style).clone();
            if let Some(lang) = language(&req.content_type) {
                let (text, _, version) = read_body(req, &lang)?;
                updated.body = Some(text);
                updated.edit_xml(|x| {
                    x.set_child_text_after("format", lang.format, "name");
                    x.put_child(
                        Element::new("languageVersion")
                            .child(Element::with_text("version", version)),
                    )
                });
                let fname = updated.style_filename().map(str::to_string);
                let want_ext = fname
                    .as_deref()
                    .and_then(|f| f.rsplit_once('.'))
                    .map(|(_, e)| e.to_string());
                if fname.is_none() || want_ext.as_deref() != Some(lang.ext) {
                    let fname = format!("{}.{}", style.name(), lang.ext);
                    updated.edit_xml(|x| x.set_child_text("filename", fname));
                }
            } else if req.content_type.contains("zip") {
                return Err(RestError::UnsupportedMediaType(
                    "zipped style uploads are not supported yet; send the SLD".into(),
                ));
            } else {
                let mut body = req.body_as("style")?;
                strip_links(&mut body);
                for f in ["id", "workspace"] {
                    body.remove(f);
                }
                updated.edit_xml(|x| x.merge_from(&body));
            }
            c.apply(vec![Change::Modify { object: updated }])?;
            Ok(Resp::ok())
        }
        "DELETE" => {
            let used = !c.cat.layers_using_style(style.id()).is_empty()
                || !c.cat.groups_using_style(style.id()).is_empty();
            if used && !req.flag("recurse") {
                return Err(RestError::Forbidden(format!(
                    "Can't delete style referenced by existing layers: {name}"
                )));
            }
            c.apply(cascade_remove(&c.cat, Kind::Style, style.id()))?;
            Ok(Resp::ok())
        }
        _ => Err(method_not_allowed(req)),
    }
}
