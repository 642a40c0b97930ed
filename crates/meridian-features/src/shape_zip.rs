//! SHAPE-ZIP output for WFS GetFeature, as GeoServer's: a zip of a shapefile per geometry
//! kind (`.shp`, `.shx`, `.dbf` in UTF-8 with its `.cpg`, and the `.prj` when the CRS's WKT is
//! known). Field names are cut to dBase's ten bytes (made unique); text is up to 254 bytes.

use crate::feature::{Feature, Value};
use crate::FeatureError;
use geo_types::Geometry;
use std::io::{Cursor, Write};

/// The content type GeoServer gives SHAPE-ZIP.
pub const SHAPE_ZIP_CONTENT_TYPE: &str = "application/zip";

/// The kinds of geometry a shapefile holds one of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Point,
    MultiPoint,
    Line,
    Polygon,
}

impl Kind {
    fn of(g: &Geometry<f64>) -> Option<Kind> {
        Some(match g {
            Geometry::Point(_) => Kind::Point,
            Geometry::MultiPoint(_) => Kind::MultiPoint,
            Geometry::Line(_) | Geometry::LineString(_) | Geometry::MultiLineString(_) => {
                Kind::Line
            }
            Geometry::Polygon(_)
            | Geometry::MultiPolygon(_)
            | Geometry::Rect(_)
            | Geometry::Triangle(_) => Kind::Polygon,
            Geometry::GeometryCollection(_) => return None,
        })
    }

    fn suffix(self) -> &'static str {
        match self {
            Kind::Point => "Point",
            Kind::MultiPoint => "MultiPoint",
            Kind::Line => "Line",
            Kind::Polygon => "Polygon",
        }
    }
}

/// A column of the `.dbf`: its source name, its dBase name and type.
struct Column {
    source: String,
    name: String,
    numeric: bool,
    decimals: u8,
    logical: bool,
}

fn columns(features: &[&Feature]) -> Vec<Column> {
    let mut cols: Vec<Column> = Vec::new();
    for f in features {
        for (k, v) in &f.properties {
            let col = match cols.iter_mut().find(|c| &c.source == k) {
                Some(c) => c,
                None => {
                    // dBase names: at most 10 bytes, unique.
                    let mut base: String = k.chars().filter(char::is_ascii).take(10).collect();
                    if base.is_empty() {
                        base = "FIELD".into();
                    }
                    let mut name = base.clone();
                    let mut n = 1;
                    while cols.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
                        let tail = n.to_string();
                        name = format!("{}{tail}", &base[..base.len().min(10 - tail.len())]);
                        n += 1;
                    }
                    cols.push(Column {
                        source: k.clone(),
                        name,
                        numeric: true,
                        decimals: 0,
                        logical: true,
                    });
                    match cols.last_mut() {
                        Some(c) => c,
                        None => continue,
                    }
                }
            };
            match v {
                Value::Null => {}
                Value::Int(_) => col.logical = false,
                Value::Float(_) => {
                    col.logical = false;
                    col.decimals = 15;
                }
                Value::Bool(_) => col.numeric = false,
                _ => {
                    col.numeric = false;
                    col.logical = false;
                }
            }
        }
    }
    cols
}

fn dbf(features: &[&Feature], cols: &[Column]) -> Result<Vec<u8>, FeatureError> {
    let bad = |e: String| FeatureError::Data(format!("cannot write the dbf: {e}"));
    let mut builder = shapefile::dbase::TableWriterBuilder::with_encoding(
        shapefile::dbase::encoding::UnicodeLossy,
    );
    for c in cols {
        let name = shapefile::dbase::FieldName::try_from(c.name.as_str())
            .map_err(|e| bad(e.to_string()))?;
        builder = match (c.logical && !c.numeric, c.numeric) {
            (true, _) => builder.add_logical_field(name),
            (_, true) => builder.add_numeric_field(name, 33, c.decimals),
            _ => builder.add_character_field(name, 254),
        };
    }
    let mut out = Cursor::new(Vec::new());
    {
        let mut w = builder.build_with_dest(&mut out);
        for f in features {
            let mut r = shapefile::dbase::Record::default();
            for c in cols {
                let v = f
                    .properties
                    .iter()
                    .rev()
                    .find(|(k, _)| k == &c.source)
                    .map(|(_, v)| v);
                let value = match (c.logical && !c.numeric, c.numeric) {
                    (true, _) => shapefile::dbase::FieldValue::Logical(match v {
                        Some(Value::Bool(b)) => Some(*b),
                        _ => None,
                    }),
                    (_, true) => shapefile::dbase::FieldValue::Numeric(v.and_then(Value::as_f64)),
                    _ => shapefile::dbase::FieldValue::Character(
                        v.filter(|v| !matches!(v, Value::Null)).map(|v| {
                            let t = v.as_text();
                            // 254 bytes, cut on a character boundary.
                            let mut end = t.len().min(254);
                            while !t.is_char_boundary(end) {
                                end -= 1;
                            }
                            t[..end].to_string()
                        }),
                    ),
                };
                r.insert(c.name.clone(), value);
            }
            w.write_record(&r).map_err(|e| bad(e.to_string()))?;
        }
        w.finalize().map_err(|e| bad(e.to_string()))?;
    }
    Ok(out.into_inner())
}

fn shapes(features: &[&Feature], kind: Kind) -> Result<(Vec<u8>, Vec<u8>), FeatureError> {
    let bad = |e: shapefile::Error| FeatureError::Data(format!("cannot write the shapefile: {e}"));
    let (mut shp, mut shx) = (Cursor::new(Vec::new()), Cursor::new(Vec::new()));
    {
        let mut w = shapefile::ShapeWriter::with_shx(&mut shp, &mut shx);
        for f in features {
            let Some(g) = f.geometry.clone() else {
                continue;
            };
            match (kind, g) {
                (Kind::Point, Geometry::Point(p)) => w.write_shape(&shapefile::Point::from(p)),
                (Kind::MultiPoint, Geometry::MultiPoint(m)) => {
                    w.write_shape(&shapefile::Multipoint::from(m))
                }
                (Kind::Line, Geometry::Line(l)) => w.write_shape(&shapefile::Polyline::from(l)),
                (Kind::Line, Geometry::LineString(l)) => {
                    w.write_shape(&shapefile::Polyline::from(l))
                }
                (Kind::Line, Geometry::MultiLineString(l)) => {
                    w.write_shape(&shapefile::Polyline::from(l))
                }
                (Kind::Polygon, Geometry::Polygon(p)) => {
                    w.write_shape(&shapefile::Polygon::from(p))
                }
                (Kind::Polygon, Geometry::MultiPolygon(p)) => {
                    w.write_shape(&shapefile::Polygon::from(p))
                }
                (Kind::Polygon, Geometry::Rect(r)) => {
                    w.write_shape(&shapefile::Polygon::from(r.to_polygon()))
                }
                (Kind::Polygon, Geometry::Triangle(t)) => {
                    w.write_shape(&shapefile::Polygon::from(t.to_polygon()))
                }
                _ => Ok(()),
            }
            .map_err(bad)?;
        }
        w.finalize().map_err(bad)?;
    }
    Ok((shp.into_inner(), shx.into_inner()))
}

/// A SHAPE-ZIP of `features` of the type `name`: one shapefile per kind of geometry found
/// (named `name` when there is one kind, `name_Point`, `name_Line`… otherwise); `prj`, the
/// CRS's WKT, is written beside each when known. Features without a geometry, or with a
/// geometry collection, are left out.
pub fn shape_zip(
    name: &str,
    features: &[Feature],
    prj: Option<&str>,
) -> Result<Vec<u8>, FeatureError> {
    let mut kinds: Vec<Kind> = Vec::new();
    for k in features
        .iter()
        .filter_map(|f| f.geometry.as_ref().and_then(Kind::of))
    {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    // A file name: the type's local name, nothing that leaves the archive's root.
    let base: String = name
        .rsplit(':')
        .next()
        .unwrap_or(name)
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let bad = |e: zip::result::ZipError| FeatureError::Data(format!("cannot write the zip: {e}"));
    let mut out = Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        for kind in &kinds {
            let of_kind: Vec<&Feature> = features
                .iter()
                .filter(|f| f.geometry.as_ref().and_then(Kind::of) == Some(*kind))
                .collect();
            let file = if kinds.len() == 1 {
                base.clone()
            } else {
                format!("{base}_{}", kind.suffix())
            };
            let (shp, shx) = shapes(&of_kind, *kind)?;
            let dbf = dbf(&of_kind, &columns(&of_kind))?;
            let mut entries: Vec<(String, Vec<u8>)> = vec![
                (format!("{file}.shp"), shp),
                (format!("{file}.shx"), shx),
                (format!("{file}.dbf"), dbf),
                (format!("{file}.cpg"), b"UTF-8".to_vec()),
            ];
            if let Some(wkt) = prj {
                entries.push((format!("{file}.prj"), wkt.as_bytes().to_vec()));
            }
            for (n, bytes) in entries {
                z.start_file(n, opts).map_err(bad)?;
                z.write_all(&bytes)
                    .map_err(|e| FeatureError::Data(format!("cannot write the zip: {e}")))?;
            }
        }
        z.finish().map_err(bad)?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::{line_string, point};

    #[test]
    fn a_zip_of_shapefiles_reads_back_with_its_attributes() {
        let features = vec![
            Feature {
                id: "t.1".into(),
                geometry: Some(Geometry::Point(point!(x: 1.5, y: 2.5))),
                properties: vec![
                    ("name".into(), Value::Text("Zürich".into())),
                    ("population".into(), Value::Int(400_000)),
                    ("a_very_long_name_1".into(), Value::Float(1.25)),
                    ("a_very_long_name_2".into(), Value::Bool(true)),
                ],
            },
            Feature {
                id: "t.2".into(),
                geometry: Some(Geometry::LineString(
                    line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0)],
                )),
                properties: vec![("name".into(), Value::Null)],
            },
        ];
        let zip = shape_zip("topp:t", &features, Some("GEOGCS[\"WGS 84\"]")).unwrap();
        let d = tempfile::tempdir().unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let mut names: Vec<String> = archive.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "t_Line.cpg",
                "t_Line.dbf",
                "t_Line.prj",
                "t_Line.shp",
                "t_Line.shx",
                "t_Point.cpg",
                "t_Point.dbf",
                "t_Point.prj",
                "t_Point.shp",
                "t_Point.shx"
            ]
        );
        archive.extract(d.path()).unwrap();
        let mut r = shapefile::Reader::from_path(d.path().join("t_Point.shp")).unwrap();
        let (shape, record) = r.iter_shapes_and_records().next().unwrap().unwrap();
        assert!(matches!(shape, shapefile::Shape::Point(p) if p.x == 1.5 && p.y == 2.5));
        assert_eq!(
            record.get("name"),
            Some(&shapefile::dbase::FieldValue::Character(Some(
                "Zürich".into()
            )))
        );
        assert_eq!(
            record.get("population"),
            Some(&shapefile::dbase::FieldValue::Numeric(Some(400000.0)))
        );
        assert_eq!(
            record.get("a_very_lon"),
            Some(&shapefile::dbase::FieldValue::Numeric(Some(1.25)))
        );
        assert_eq!(
            record.get("a_very_lo1"),
            Some(&shapefile::dbase::FieldValue::Logical(Some(true)))
        );
    }
}
