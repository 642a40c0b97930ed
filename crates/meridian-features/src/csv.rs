//! CSV output for WFS GetFeature (`outputFormat=csv`), as GeoServer writes it: a header of
//! `FID` and the attribute names, then one row per feature, the geometry as WKT.

use crate::feature::Feature;
use crate::wkt::to_wkt;

/// The content type of CSV answers.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=UTF-8";

/// A field, quoted when it holds a comma, a quote or a line break (quotes doubled).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The header line: `FID`, the geometry attribute, then the others.
pub fn csv_header(geometry_name: &str, others: &[String]) -> String {
    let mut cols = vec!["FID".to_string(), field(geometry_name)];
    cols.extend(others.iter().map(|n| field(n)));
    format!("{}\r\n", cols.join(","))
}

/// One feature's line, its values in the header's order (missing and null values empty).
pub fn csv_row(f: &Feature, others: &[String]) -> String {
    let mut cols = vec![
        field(&f.id),
        f.geometry
            .as_ref()
            .map(|g| field(&to_wkt(g)))
            .unwrap_or_default(),
    ];
    for name in others {
        let v = f
            .properties
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| match v {
                crate::feature::Value::Null => String::new(),
                v => v.as_text().to_string(),
            })
            .unwrap_or_default();
        cols.push(field(&v));
    }
    format!("{}\r\n", cols.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::Value;
    use geo_types::point;

    #[test]
    fn rows_follow_the_header_and_quote_what_needs_it() {
        let others = vec!["NAME".to_string(), "N".to_string(), "GONE".to_string()];
        assert_eq!(
            csv_header("the_geom", &others),
            "FID,the_geom,NAME,N,GONE\r\n"
        );
        let f = Feature {
            id: "t.1".into(),
            geometry: Some(point!(x: 1.5, y: 2.0).into()),
            properties: vec![
                ("N".into(), Value::Int(3)),
                ("NAME".into(), Value::Text("a, \"b\"".into())),
            ],
        };
        assert_eq!(
            csv_row(&f, &others),
            "t.1,POINT(1.5 2),\"a, \"\"b\"\"\",3,\r\n"
        );
    }
}
