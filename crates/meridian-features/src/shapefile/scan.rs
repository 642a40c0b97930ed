//! Streaming features out of a shapefile.

use crate::feature::{Feature, Value};
use crate::FeatureError;
use std::path::Path;

fn value(v: shapefile::dbase::FieldValue) -> Value {
    use shapefile::dbase::FieldValue as F;
    match v {
        F::Character(Some(s)) => Value::Text(s.trim_end().to_string()),
        // dBASE has no null text: an all-blank field is an empty string.
        F::Character(None) => Value::Text(String::new()),
        F::Numeric(Some(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::Int(n as i64)
            } else {
                Value::Float(n)
            }
        }
        F::Numeric(None) => Value::Null,
        F::Logical(Some(b)) => Value::Bool(b),
        F::Logical(None) => Value::Null,
        F::Date(Some(d)) => Value::Text(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        F::Date(None) => Value::Null,
        F::Float(Some(f)) => Value::Float(f64::from(f)),
        F::Float(None) => Value::Null,
        F::Integer(i) => Value::Int(i64::from(i)),
        F::Currency(c) | F::Double(c) => Value::Float(c),
        F::DateTime(dt) => {
            let d = dt.date();
            Value::Text(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }
        F::Memo(m) => Value::Text(m),
    }
}

/// Number of shapes, from the `.shx` index alone (None without an index).
pub(crate) fn count(path: &Path) -> Option<usize> {
    shapefile::ShapeReader::from_path(path)
        .ok()
        .and_then(|r| r.shape_count().ok())
}

/// Call `each` with every feature of the shapefile, in file order, until it returns false.
/// Shapes and records are read side by side; a `.dbf` with fewer records (or none, as in
/// GeoServer's `giant_polygon`) leaves the remaining features without attributes.
pub(crate) fn scan(
    path: &Path,
    type_name: &str,
    mut each: impl FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    let err = |e: String| FeatureError::Data(format!("{}: {e}", path.display()));
    let mut shapes = shapefile::ShapeReader::from_path(path).map_err(|e| err(e.to_string()))?;
    let dbf = path.with_extension("dbf");
    let fields: Vec<String> = super::schema::dbf_fields(&dbf)?
        .into_iter()
        .map(|a| a.name)
        .collect();
    // The .cpg names the encoding of the text fields (UTF-8 when absent or unknown).
    let encoding = std::fs::read_to_string(path.with_extension("cpg"))
        .ok()
        .and_then(|label| shapefile::dbase::encoding::DynEncoding::from_name(label.trim()));
    let open = || -> Result<_, String> {
        let file = std::io::BufReader::new(std::fs::File::open(&dbf).map_err(|e| e.to_string())?);
        match &encoding {
            Some(enc) => shapefile::dbase::ReaderBuilder::new()
                .with_encoding(enc.clone())
                .build(file)
                .map_err(|e| e.to_string()),
            None => shapefile::dbase::Reader::new(file).map_err(|e| e.to_string()),
        }
    };
    let mut records = match open() {
        Ok(r) => Some(r),
        Err(_) if fields.is_empty() => None,
        Err(e) => return Err(err(e)),
    };
    let mut record_iter = records.as_mut().map(|r| r.iter_records());
    for (n, shape) in shapes.iter_shapes().enumerate() {
        let shape = shape.map_err(|e| err(format!("shape {}: {e}", n + 1)))?;
        let record = match record_iter.as_mut().and_then(|it| it.next()) {
            Some(r) => Some(r.map_err(|e| err(format!("record {}: {e}", n + 1)))?),
            None => None,
        };
        let geometry = geo_types::Geometry::<f64>::try_from(shape).ok();
        let mut map: std::collections::HashMap<String, shapefile::dbase::FieldValue> =
            record.map(Into::into).unwrap_or_default();
        let properties = fields
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    map.remove(name).map(value).unwrap_or(Value::Null),
                )
            })
            .collect();
        if !each(Feature {
            id: format!("{type_name}.{}", n + 1),
            geometry,
            properties,
        }) {
            break;
        }
    }
    Ok(())
}
