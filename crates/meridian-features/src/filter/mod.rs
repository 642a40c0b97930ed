//! Filters evaluated against features, and their two encodings: OGC Filter Encoding XML
//! ([`fes`], as WFS and SLD rules carry it) and CQL/ECQL text ([`cql`]) compile into these.

pub mod cql;
pub mod cql2_json;
mod error;
pub mod fes;

pub use error::FilterError;

use crate::feature::{Feature, Value};
use geo_types::{Geometry, Rect};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// =
    Eq,
    /// <>
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
}

/// A spatial relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spatial {
    /// The geometries share a point.
    Intersects,
    /// They share none.
    Disjoint,
    /// The feature lies inside the literal.
    Within,
    /// The feature contains the literal.
    Contains,
}

/// A filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The feature's geometry relates to a literal geometry (native CRS).
    Spatial(Spatial, Geometry<f64>),
    /// Every feature.
    All,
    /// The geometry's envelope intersects the box (native CRS).
    BBox(Rect<f64>),
    /// Property compared with a literal.
    Cmp(String, Compare, String),
    /// SQL-like pattern (`%`, `_`), case sensitive or not.
    Like(String, String, bool),
    /// Between two literals, inclusive.
    Between(String, String, String),
    /// Property is null (or missing).
    IsNull(String),
    /// Feature id among these.
    Ids(Vec<String>),
    /// All of.
    And(Vec<Filter>),
    /// Any of.
    Or(Vec<Filter>),
    /// Not.
    Not(Box<Filter>),
}

fn envelope(g: &Geometry<f64>) -> Option<Rect<f64>> {
    use geo_types::Coord;
    let mut it = coords(g).into_iter();
    let first = it.next()?;
    let (mut minx, mut miny, mut maxx, mut maxy) = (first.x, first.y, first.x, first.y);
    for c in it {
        minx = minx.min(c.x);
        miny = miny.min(c.y);
        maxx = maxx.max(c.x);
        maxy = maxy.max(c.y);
    }
    Some(Rect::new(
        Coord { x: minx, y: miny },
        Coord { x: maxx, y: maxy },
    ))
}

/// Every coordinate of a geometry.
pub(crate) fn coords(g: &Geometry<f64>) -> Vec<geo_types::Coord<f64>> {
    let mut v = Vec::new();
    fn walk(g: &Geometry<f64>, v: &mut Vec<geo_types::Coord<f64>>) {
        match g {
            Geometry::Point(p) => v.push(p.0),
            Geometry::Line(l) => v.extend([l.start, l.end]),
            Geometry::LineString(l) => v.extend(l.0.iter().copied()),
            Geometry::Polygon(p) => {
                v.extend(p.exterior().0.iter().copied());
                for r in p.interiors() {
                    v.extend(r.0.iter().copied());
                }
            }
            Geometry::MultiPoint(m) => v.extend(m.0.iter().map(|p| p.0)),
            Geometry::MultiLineString(m) => m.0.iter().for_each(|l| v.extend(l.0.iter().copied())),
            Geometry::MultiPolygon(m) => {
                for p in &m.0 {
                    walk(&Geometry::Polygon(p.clone()), v)
                }
            }
            Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| walk(g, v)),
            Geometry::Rect(r) => v.extend([r.min(), r.max()]),
            Geometry::Triangle(t) => v.extend([t.v1(), t.v2(), t.v3()]),
        }
    }
    walk(g, &mut v);
    v
}

fn like(value: &str, pattern: &str, case: bool) -> bool {
    let (v, p): (Vec<char>, Vec<char>) = if case {
        (value.chars().collect(), pattern.chars().collect())
    } else {
        (
            value.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    };
    fn m(v: &[char], p: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('%') | Some('*') => (0..=v.len()).any(|i| m(&v[i..], &p[1..])),
            Some('_') | Some('.') => !v.is_empty() && m(&v[1..], &p[1..]),
            Some(c) => v.first() == Some(c) && m(&v[1..], &p[1..]),
        }
    }
    m(&v, &p)
}

fn cmp(v: &Value, lit: &str) -> Option<std::cmp::Ordering> {
    match (v.as_f64(), lit.trim().parse::<f64>()) {
        (Some(a), Ok(b))
            if !matches!(v, Value::Text(_)) || v.as_text().trim().parse::<f64>().is_ok() =>
        {
            a.partial_cmp(&b)
        }
        _ => match v {
            Value::Null => None,
            _ => Some(v.as_text().as_str().cmp(lit)),
        },
    }
}

/// Whether a literal reads as a number that is not finite (`NaN`, `inf`, `1e999`).
fn non_finite(lit: &str) -> bool {
    lit.trim().parse::<f64>().is_ok_and(|n| !n.is_finite())
}

impl Filter {
    /// Refuse numbers no store can compare with: a non-finite bound of a range or of an
    /// ordering comparison, or a non-finite coordinate. The message says which.
    pub fn check_numbers(&self) -> Result<(), String> {
        match self {
            Filter::Between(p, lo, hi) => {
                for b in [lo, hi] {
                    if non_finite(b) {
                        return Err(format!(
                            "the range of '{p}' has the bound '{b}', which is not a finite number"
                        ));
                    }
                }
                Ok(())
            }
            Filter::Cmp(p, c, lit) if *c != Compare::Eq && *c != Compare::Ne && non_finite(lit) => {
                Err(format!(
                    "'{p}' is compared with '{lit}', which is not a finite number"
                ))
            }
            Filter::BBox(r) => {
                let (a, b) = (r.min(), r.max());
                if [a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
                    Ok(())
                } else {
                    Err("the bounding box has a coordinate that is not a finite number".into())
                }
            }
            Filter::Spatial(_, g) => {
                use geo::CoordsIter;
                if g.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
                    Ok(())
                } else {
                    Err("a geometry has a coordinate that is not a finite number".into())
                }
            }
            Filter::And(v) | Filter::Or(v) => v.iter().try_for_each(Filter::check_numbers),
            Filter::Not(x) => x.check_numbers(),
            _ => Ok(()),
        }
    }

    /// The same filter with each literal geometry passed through `f` (a geometry written in
    /// another CRS than the layer's, as CQL2's default CRS84).
    pub fn map_geometries(
        self,
        f: &dyn Fn(Geometry<f64>) -> Result<Geometry<f64>, FilterError>,
    ) -> Result<Filter, FilterError> {
        let all = |v: Vec<Filter>| -> Result<Vec<Filter>, FilterError> {
            v.into_iter().map(|x| x.map_geometries(f)).collect()
        };
        Ok(match self {
            Filter::Spatial(op, g) => Filter::Spatial(op, f(g)?),
            Filter::And(v) => Filter::And(all(v)?),
            Filter::Or(v) => Filter::Or(all(v)?),
            Filter::Not(x) => Filter::Not(Box::new(x.map_geometries(f)?)),
            other => other,
        })
    }

    /// All of these filters: `All` for none, the filter itself for one, `And` otherwise.
    pub fn all_of(mut filters: Vec<Filter>) -> Filter {
        match filters.len() {
            0 => Filter::All,
            1 => filters.remove(0),
            _ => Filter::And(filters),
        }
    }

    /// Whether a feature passes.
    pub fn matches(&self, f: &Feature) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Filter::All => true,
            Filter::BBox(b) => f.geometry.as_ref().and_then(envelope).is_some_and(|e| {
                e.min().x <= b.max().x
                    && e.max().x >= b.min().x
                    && e.min().y <= b.max().y
                    && e.max().y >= b.min().y
            }),
            Filter::Cmp(p, op, lit) => {
                let Some(v) = f.get(p) else { return false };
                let Some(o) = cmp(v, lit) else { return false };
                match op {
                    Compare::Eq => o == Equal,
                    Compare::Ne => o != Equal,
                    Compare::Lt => o == Less,
                    Compare::Le => o != Greater,
                    Compare::Gt => o == Greater,
                    Compare::Ge => o != Less,
                }
            }
            Filter::Like(p, pat, case) => f
                .get(p)
                .is_some_and(|v| !matches!(v, Value::Null) && like(&v.as_text(), pat, *case)),
            Filter::Between(p, lo, hi) => f.get(p).is_some_and(|v| {
                cmp(v, lo).is_some_and(|o| o != Less) && cmp(v, hi).is_some_and(|o| o != Greater)
            }),
            Filter::IsNull(p) => f.get(p).is_none_or(|v| matches!(v, Value::Null)),
            Filter::Ids(ids) => ids.iter().any(|i| i == &f.id),
            Filter::Spatial(op, lit) => {
                use geo::{Contains, Intersects};
                let Some(g) = f.geometry.as_ref() else {
                    return false;
                };
                match op {
                    Spatial::Intersects => g.intersects(lit),
                    Spatial::Disjoint => !g.intersects(lit),
                    Spatial::Within => lit.contains(g),
                    Spatial::Contains => g.contains(lit),
                }
            }
            Filter::And(v) => v.iter().all(|x| x.matches(f)),
            Filter::Or(v) => v.iter().any(|x| x.matches(f)),
            Filter::Not(x) => !x.matches(f),
        }
    }

    /// The bounding box this filter requires, when it is a plain BBOX or an AND holding one.
    pub fn bbox(&self) -> Option<Rect<f64>> {
        match self {
            Filter::BBox(b) => Some(*b),
            Filter::And(v) => v.iter().find_map(Filter::bbox),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> Feature {
        Feature {
            id: "t.1".into(),
            geometry: Some(Geometry::Point(geo_types::Point::new(1.0, 2.0))),
            properties: vec![
                ("NAME".into(), Value::Text("Spearfish".into())),
                ("POP".into(), Value::Int(8000)),
                ("X".into(), Value::Null),
            ],
        }
    }

    #[test]
    fn comparisons_like_between_null_ids_bbox() {
        let f = f();
        assert!(Filter::Cmp("POP".into(), Compare::Gt, "7999".into()).matches(&f));
        assert!(!Filter::Cmp("POP".into(), Compare::Lt, "100".into()).matches(&f));
        assert!(Filter::Cmp("NAME".into(), Compare::Eq, "Spearfish".into()).matches(&f));
        assert!(Filter::Like("NAME".into(), "spear%".into(), false).matches(&f));
        assert!(!Filter::Like("NAME".into(), "spear%".into(), true).matches(&f));
        assert!(Filter::Between("POP".into(), "1000".into(), "9000".into()).matches(&f));
        assert!(Filter::IsNull("X".into()).matches(&f));
        assert!(Filter::Ids(vec!["t.1".into()]).matches(&f));
        let b = Rect::new(
            geo_types::Coord { x: 0.0, y: 0.0 },
            geo_types::Coord { x: 1.5, y: 2.5 },
        );
        assert!(Filter::BBox(b).matches(&f));
        assert!(Filter::Not(Box::new(Filter::BBox(Rect::new(
            geo_types::Coord { x: 5.0, y: 5.0 },
            geo_types::Coord { x: 6.0, y: 6.0 }
        ))))
        .matches(&f));
    }
}
