//! What every backend's writes share: fitting a geometry to the kind a column or file holds.

use crate::FeatureError;
use geo_types::{Geometry, MultiLineString, MultiPoint, MultiPolygon};

/// `g` as the geometry kind `kind` names (`MULTIPOLYGON`, `MultiPolygon`, `GEOMETRY`…, any
/// case): a single geometry becomes a multi-geometry of one where the column holds those
/// (as GeoServer does); a geometry of another kind is refused.
pub(crate) fn fit_geometry(g: Geometry<f64>, kind: &str) -> Result<Geometry<f64>, FeatureError> {
    let k = kind.to_ascii_uppercase();
    let k = k.trim_end_matches(['Z', 'M']).trim();
    let g = match g {
        Geometry::Rect(r) => Geometry::Polygon(r.to_polygon()),
        Geometry::Triangle(t) => Geometry::Polygon(t.to_polygon()),
        Geometry::Line(l) => Geometry::LineString(l.into()),
        other => other,
    };
    let fitted = match (k, g) {
        ("GEOMETRY" | "" | "GEOMETRYCOLLECTION", g) => g,
        ("MULTIPOLYGON", Geometry::Polygon(p)) => Geometry::MultiPolygon(MultiPolygon(vec![p])),
        ("MULTILINESTRING", Geometry::LineString(l)) => {
            Geometry::MultiLineString(MultiLineString(vec![l]))
        }
        ("MULTIPOINT", Geometry::Point(p)) => Geometry::MultiPoint(MultiPoint(vec![p])),
        (k, g) => {
            let have = kind_name(&g);
            if have != k {
                return Err(FeatureError::Invalid(format!(
                    "a {have} cannot be stored where the type holds {k}"
                )));
            }
            g
        }
    };
    Ok(fitted)
}

/// The upper-case WKT name of a geometry's kind.
pub(crate) fn kind_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "POINT",
        Geometry::Line(_) | Geometry::LineString(_) => "LINESTRING",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "POLYGON",
        Geometry::MultiPoint(_) => "MULTIPOINT",
        Geometry::MultiLineString(_) => "MULTILINESTRING",
        Geometry::MultiPolygon(_) => "MULTIPOLYGON",
        Geometry::GeometryCollection(_) => "GEOMETRYCOLLECTION",
    }
}

/// The box of a geometry as `[minx, miny, maxx, maxy]` (`None` when it is empty).
pub(crate) fn bounds(g: &Geometry<f64>) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    g.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use geo_types::{LineString, Point, Polygon};

    #[test]
    fn singles_become_multis_and_other_kinds_are_refused() {
        let p = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        );
        assert!(matches!(
            fit_geometry(Geometry::Polygon(p.clone()), "MultiPolygon").unwrap(),
            Geometry::MultiPolygon(_)
        ));
        assert!(fit_geometry(Geometry::Polygon(p), "GEOMETRY").is_ok());
        let e = fit_geometry(Geometry::Point(Point::new(1.0, 2.0)), "MULTIPOLYGON").unwrap_err();
        assert!(e.to_string().contains("POINT"), "{e}");
    }
}
