//! A feature: id, geometry, attribute values.

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Text (also dates, as ISO text).
    Text(String),
}

impl Value {
    /// The value as a number, when it is one (or numeric text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Null => None,
        }
    }

    /// The value as text.
    pub fn as_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            }
            Value::Text(t) => t.clone(),
        }
    }
}

/// One feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// `<type>.<n>` as GeoServer numbers them.
    pub id: String,
    /// The geometry, in the layer's native CRS until reprojected.
    pub geometry: Option<geo_types::Geometry<f64>>,
    /// Attribute values in schema order (the geometry attribute excluded).
    pub properties: Vec<(String, Value)>,
}

impl Feature {
    /// A property by name; when no name matches exactly, one that differs only in case (as
    /// GeoServer resolves `min_zoom` against a GeoPackage's `MIN_ZOOM` in the release styles).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| {
                self.properties
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v)
    }
}
