//! GeoServer's JSON dialect (XStream + Jettison) to and from the XML element tree.
//!
//! Rules: the root is a wrapper object; attributes become `@name`; text beside attributes is `$`;
//! repeated children become arrays, a single child an object (list endpoints force arrays);
//! leaf text that reads as a boolean or number becomes one; empty elements become `""`;
//! `atom:link` becomes `href`, and an element holding only a link becomes the link string.

use meridian_xml::Element;
use serde_json::{Map, Number, Value};

/// Convert an element to `{"<root>": …}`. Children named in `arrays` are always arrays.
pub fn to_json(root: &Element, arrays: &[&str]) -> Value {
    let mut m = Map::new();
    m.insert(json_name(&root.name), convert(root, arrays));
    Value::Object(m)
}

/// One element's value as [`to_json`] writes it inside its parent (a list's item), so that a
/// document can be written a piece at a time.
pub fn value_of(e: &Element, arrays: &[&str]) -> Value {
    convert(e, arrays)
}

/// The JSON key of an element name.
pub fn key_of(xml: &str) -> String {
    json_name(xml)
}

/// XStream escapes `_` in element names as `__` in XML, not in JSON (`__default` ↔ `_default`).
fn json_name(xml: &str) -> String {
    xml.replace("__", "_")
}

fn xml_name(json: &str) -> String {
    json.replace('_', "__")
}

fn convert(e: &Element, arrays: &[&str]) -> Value {
    if e.children.len() == 1 && e.attrs.is_empty() && e.children[0].name == "atom:link" {
        return e.children[0]
            .attr_value("href")
            .map(|h| Value::String(h.to_string()))
            .unwrap_or(Value::Null);
    }
    if e.children.is_empty() && e.attrs.is_empty() {
        if arrays.contains(&e.name.as_str()) {
            // An empty list.
            return Value::String(String::new());
        }
        return scalar(e.text.as_deref().unwrap_or(""));
    }
    let mut m = Map::new();
    for (k, v) in &e.attrs {
        if k.starts_with("xmlns") {
            continue;
        }
        m.insert(format!("@{k}"), Value::String(v.clone()));
    }
    if e.children.is_empty() {
        if let Some(t) = e.text.as_deref().filter(|t| !t.is_empty()) {
            m.insert("$".into(), Value::String(t.to_string()));
        }
        return Value::Object(m);
    }
    let mut order: Vec<&str> = Vec::new();
    for c in &e.children {
        if !order.contains(&c.name.as_str()) {
            order.push(&c.name);
        }
    }
    for name in order {
        if name == "atom:link" {
            if let Some(h) = e.get("atom:link").and_then(|l| l.attr_value("href")) {
                m.insert("href".into(), Value::String(h.to_string()));
            }
            continue;
        }
        let items: Vec<Value> = e.all(name).map(|c| convert(c, arrays)).collect();
        let v = if items.len() == 1 && !arrays.contains(&name) {
            items.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        };
        m.insert(json_name(name), v);
    }
    Value::Object(m)
}

/// Jettison's typing of leaf text.
fn scalar(t: &str) -> Value {
    match t {
        "" => Value::String(String::new()),
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => {
            if let Ok(i) = t.parse::<i64>() {
                if i.to_string() == t {
                    return Value::Number(i.into());
                }
            }
            if let Ok(f) = t.parse::<f64>() {
                if format!("{f:?}") == t {
                    if let Some(n) = Number::from_f64(f) {
                        return Value::Number(n);
                    }
                }
            }
            Value::String(t.to_string())
        }
    }
}

/// Errors reading a JSON body.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not a single wrapped object.
    #[error("expected a JSON object with one root key, such as {{\"{0}\": {{…}}}}")]
    Shape(String),
}

/// Read a JSON body in GeoServer's dialect into an element. `expected` names the root used in
/// the error message.
pub fn from_json(bytes: &[u8], expected: &str) -> Result<Element, JsonError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| JsonError::Malformed(e.to_string()))?;
    let Value::Object(m) = v else {
        return Err(JsonError::Shape(expected.into()));
    };
    if m.len() != 1 {
        return Err(JsonError::Shape(expected.into()));
    }
    let Some((k, v)) = m.into_iter().next() else {
        return Err(JsonError::Shape(expected.into()));
    };
    let mut e = Element::new(xml_name(&k));
    fill(&mut e, &v, 0).map_err(|_| JsonError::Malformed("nested too deeply".into()))?;
    Ok(e)
}

fn fill(e: &mut Element, v: &Value, depth: usize) -> Result<(), ()> {
    if depth > 128 {
        return Err(());
    }
    match v {
        Value::Null => {}
        Value::Bool(b) => e.text = Some(b.to_string().into()),
        Value::Number(n) => e.text = Some(n.to_string().into()),
        Value::String(s) => e.text = Some(s.into()),
        Value::Array(_) => return Err(()),
        Value::Object(m) => {
            for (k, v) in m {
                if let Some(a) = k.strip_prefix('@') {
                    e.attrs.push((a.to_string(), text_of(v)));
                } else if k == "$" {
                    e.text = Some(text_of(v).into());
                } else if k == "href" {
                    continue;
                } else if let Value::Array(items) = v {
                    for it in items {
                        let mut c = Element::new(xml_name(k));
                        fill(&mut c, it, depth + 1)?;
                        e.children.push(c);
                    }
                } else {
                    let mut c = Element::new(xml_name(k));
                    fill(&mut c, v, depth + 1)?;
                    e.children.push(c);
                }
            }
        }
    }
    Ok(())
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_xml::parse;

    #[test]
    fn jettison_shapes() {
        let e = parse(r#"<dataStore><name>sf</name><enabled>true</enabled><connectionParameters><entry key="port">5432</entry></connectionParameters><__default>false</__default><n>2024</n><f>0.50</f><g>1.5</g><empty/><featureTypes><atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="alternate" href="http://h/x.json" type="application/json"/></featureTypes></dataStore>"#).unwrap();
        let j = to_json(&e, &[]);
        let d = &j["dataStore"];
        assert_eq!(d["enabled"], Value::Bool(true));
        assert_eq!(d["connectionParameters"]["entry"]["@key"], "port");
        assert_eq!(d["connectionParameters"]["entry"]["$"], "5432");
        assert_eq!(d["n"], 2024);
        assert_eq!(d["f"], "0.50");
        assert_eq!(d["g"], 1.5);
        assert_eq!(d["empty"], "");
        assert_eq!(d["featureTypes"], "http://h/x.json");
    }

    #[test]
    fn lists_force_arrays_and_empty_lists_are_empty_strings() {
        let e = parse("<workspaces><workspace><name>a</name></workspace></workspaces>").unwrap();
        assert!(to_json(&e, &["workspace"])["workspaces"]["workspace"].is_array());
        let e = parse("<workspaces/>").unwrap();
        assert_eq!(to_json(&e, &["workspaces"])["workspaces"], "");
    }

    #[test]
    fn input_round_trips_to_elements() {
        let e = from_json(br#"{"dataStore":{"name":"s","connectionParameters":{"entry":[{"@key":"host","$":"localhost"},{"@key":"port","$":"5432"}]},"n":5,"b":true}}"#, "dataStore").unwrap();
        assert_eq!(e.name, "dataStore");
        assert_eq!(e.get("connectionParameters").unwrap().children.len(), 2);
        assert_eq!(e.child_text("n"), Some("5"));
        assert!(from_json(b"[1,2]", "x").is_err());
        assert!(from_json(b"{not json", "x").is_err());
    }
}
