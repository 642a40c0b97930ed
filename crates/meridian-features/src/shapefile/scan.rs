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

/// Call `each` with the features whose box may meet `bbox` (all when `None`), in file order,
/// until it returns false. With a box, the spatial index ([`super::index`]) picks the
/// shapes, which are read by position (when it leaves most of the file, a plain pass is
/// faster and is used).
pub(crate) fn scan_box(
    path: &Path,
    type_name: &str,
    bbox: Option<geo_types::Rect<f64>>,
    attributes: bool,
    mut each: impl FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    let Some(r) = bbox else {
        return scan_all(path, type_name, attributes, each);
    };
    let Some(boxes) = super::index::boxes(path) else {
        return scan_all(path, type_name, attributes, each);
    };
    let hits: Vec<usize> = boxes
        .iter()
        .enumerate()
        .filter(|(_, b)| b.as_ref().is_some_and(|b| super::index::meets(b, &r)))
        .map(|(i, _)| i)
        .collect();
    if hits.len() * 2 > boxes.len() {
        return scan_all(path, type_name, attributes, each);
    }
    let err = |e: String| FeatureError::Data(format!("{}: {e}", path.display()));
    let mut shapes = shapefile::ShapeReader::from_path(path).map_err(|e| err(e.to_string()))?;
    let (fields, mut records) = open_records(path, attributes)?;
    let count = records
        .as_ref()
        .map(|r| r.header().num_records as usize)
        .unwrap_or(0);
    for n in hits {
        let shape = match shapes.read_nth_shape(n) {
            Some(s) => s.map_err(|e| err(format!("shape {}: {e}", n + 1)))?,
            None => break,
        };
        let record = match records.as_mut() {
            Some(r) if n < count => {
                r.seek(n)
                    .map_err(|e| err(format!("record {}: {e}", n + 1)))?;
                match r.iter_records().next() {
                    Some(rec) => Some(rec.map_err(|e| err(format!("record {}: {e}", n + 1)))?),
                    None => None,
                }
            }
            _ => None,
        };
        if !each(feature(type_name, n, shape, record, &fields)) {
            break;
        }
    }
    Ok(())
}

/// Call `each` with every feature of the shapefile, in file order, until it returns false.
/// Shapes and records are read side by side; a `.dbf` with fewer records (or none, as in
/// GeoServer's `giant_polygon`) leaves the remaining features without attributes.
#[cfg(test)]
pub(crate) fn scan(
    path: &Path,
    type_name: &str,
    each: impl FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    scan_all(path, type_name, true, each)
}

/// [`scan`], leaving the `.dbf` unread unless `attributes`.
pub(crate) fn scan_all(
    path: &Path,
    type_name: &str,
    attributes: bool,
    mut each: impl FnMut(Feature) -> bool,
) -> Result<(), FeatureError> {
    let err = |e: String| FeatureError::Data(format!("{}: {e}", path.display()));
    let mut shapes = shapefile::ShapeReader::from_path(path).map_err(|e| err(e.to_string()))?;
    let (fields, mut records) = open_records(path, attributes)?;
    let mut record_iter = records.as_mut().map(|r| r.iter_records());
    for (n, shape) in shapes.iter_shapes().enumerate() {
        let shape = shape.map_err(|e| err(format!("shape {}: {e}", n + 1)))?;
        let record = match record_iter.as_mut().and_then(|it| it.next()) {
            Some(r) => Some(r.map_err(|e| err(format!("record {}: {e}", n + 1)))?),
            None => None,
        };
        if !each(feature(type_name, n, shape, record, &fields)) {
            break;
        }
    }
    Ok(())
}

/// A shapefile's attribute table: its field names and a reader of its records, in the
/// encoding its `.cpg` names (UTF-8 when absent or unknown). Nothing is opened unless
/// `attributes`; a `.dbf` that does not open is an error only when the schema has fields
/// (GeoServer's `giant_polygon` has none and no readable table).
fn open_records(
    path: &Path,
    attributes: bool,
) -> Result<(Vec<String>, Option<Records>), FeatureError> {
    if !attributes {
        return Ok((Vec::new(), None));
    }
    let dbf = path.with_extension("dbf");
    let fields: Vec<String> = super::schema::dbf_fields(&dbf)?
        .into_iter()
        .map(|a| a.name)
        .collect();
    let encoding = std::fs::read_to_string(path.with_extension("cpg"))
        .ok()
        .and_then(|label| shapefile::dbase::encoding::DynEncoding::from_name(label.trim()));
    let open = || -> Result<Records, String> {
        let file = std::io::BufReader::new(std::fs::File::open(&dbf).map_err(|e| e.to_string())?);
        match &encoding {
            Some(enc) => shapefile::dbase::ReaderBuilder::new()
                .with_encoding(enc.clone())
                .build(file)
                .map_err(|e| e.to_string()),
            None => shapefile::dbase::Reader::new(file).map_err(|e| e.to_string()),
        }
    };
    match open() {
        Ok(r) => Ok((fields, Some(r))),
        Err(_) if fields.is_empty() => Ok((fields, None)),
        Err(e) => Err(FeatureError::Data(format!("{}: {e}", path.display()))),
    }
}

/// A reader of a `.dbf`.
type Records = shapefile::dbase::Reader<std::io::BufReader<std::fs::File>>;

/// Feature `n` (0-based) of a shapefile from its shape and record.
fn feature(
    type_name: &str,
    n: usize,
    shape: shapefile::Shape,
    record: Option<shapefile::dbase::Record>,
    fields: &[String],
) -> Feature {
    let mut map: std::collections::HashMap<String, shapefile::dbase::FieldValue> =
        record.map(Into::into).unwrap_or_default();
    Feature {
        id: format!("{type_name}.{}", n + 1),
        geometry: geo_types::Geometry::<f64>::try_from(shape).ok(),
        properties: fields
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    map.remove(name).map(value).unwrap_or(Value::Null),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A scan by box through the index gives exactly the features a full pass gives whose
    /// envelope meets the box, with the same ids and attributes.
    #[test]
    fn a_scan_by_box_reads_what_a_full_pass_would_keep() {
        let shp = meridian_testkit::fixture_datadir().join("data/nyc/tiger_roads.shp");
        let r = geo_types::Rect::new(
            geo_types::coord! { x: -74.0, y: 40.70 },
            geo_types::coord! { x: -73.99, y: 40.71 },
        );
        let mut all = Vec::new();
        scan(&shp, "t", |f| {
            use geo::BoundingRect;
            if f.geometry
                .as_ref()
                .and_then(|g| g.bounding_rect())
                .is_some_and(|b| {
                    b.min().x <= r.max().x
                        && b.max().x >= r.min().x
                        && b.min().y <= r.max().y
                        && b.max().y >= r.min().y
                })
            {
                all.push(f);
            }
            true
        })
        .unwrap();
        let mut boxed = Vec::new();
        scan_box(&shp, "t", Some(r), true, |f| {
            boxed.push(f);
            true
        })
        .unwrap();
        assert!(!all.is_empty() && all.len() < 8333 / 2, "{}", all.len());
        assert_eq!(boxed.len(), all.len());
        for (a, b) in all.iter().zip(&boxed) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.properties, b.properties);
        }
    }
}
