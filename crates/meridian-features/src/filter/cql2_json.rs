//! CQL2 JSON (OGC API - Features Part 3, `filter-lang=cql2-json`) read into a [`Filter`].
//!
//! Supported: `and`, `or`, `not`; the comparisons `=`, `<>`, `<`, `<=`, `>`, `>=`; `like`,
//! `between`, `in`, `isNull`; `s_intersects`, `s_disjoint`, `s_within`, `s_contains` with a
//! GeoJSON geometry or a `bbox`. Literals are strings, numbers, booleans, `{"timestamp": …}`
//! and `{"date": …}`. Geometries are returned as written (in the filter's CRS): the caller
//! transforms them ([`Filter::map_geometries`]).

use super::{Compare, Filter, FilterError, Spatial};
use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use serde_json::Value;

/// Deepest nesting read.
const MAX_DEPTH: usize = 32;

/// Read a CQL2 JSON filter.
pub fn parse_cql2_json(text: &str) -> Result<Filter, FilterError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| FilterError::Syntax(format!("not JSON: {e}")))?;
    expression(&v, 0)
}

fn args<'a>(v: &'a Value, op: &str) -> Result<&'a Vec<Value>, FilterError> {
    v.get("args")
        .and_then(Value::as_array)
        .ok_or_else(|| FilterError::Syntax(format!("'{op}' needs an 'args' array")))
}

fn arity<'a>(a: &'a [Value], n: usize, op: &str) -> Result<&'a [Value], FilterError> {
    if a.len() == n {
        Ok(a)
    } else {
        Err(FilterError::Syntax(format!(
            "'{op}' takes {n} arguments, not {}",
            a.len()
        )))
    }
}

fn property(v: &Value) -> Option<String> {
    v.get("property")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn literal(v: &Value) -> Result<String, FilterError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Object(o) => o
            .get("timestamp")
            .or_else(|| o.get("date"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| FilterError::Unsupported(format!("unsupported operand {v}"))),
        other => Err(FilterError::Syntax(format!(
            "expected a literal, found {other}"
        ))),
    }
}

fn expression(v: &Value, depth: usize) -> Result<Filter, FilterError> {
    if depth > MAX_DEPTH {
        return Err(FilterError::TooDeep);
    }
    let op = v
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| FilterError::Syntax("an expression needs an 'op'".into()))?;
    let a = args(v, op)?;
    let lower = op.to_ascii_lowercase();
    match lower.as_str() {
        "and" | "or" => {
            if a.len() < 2 {
                return Err(FilterError::Syntax(format!(
                    "'{op}' needs two arguments or more"
                )));
            }
            let parts = a
                .iter()
                .map(|x| expression(x, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if lower == "and" {
                Filter::And(parts)
            } else {
                Filter::Or(parts)
            })
        }
        "not" => Ok(Filter::Not(Box::new(expression(
            &arity(a, 1, op)?[0],
            depth + 1,
        )?))),
        "=" | "<>" | "<" | "<=" | ">" | ">=" => {
            let a = arity(a, 2, op)?;
            let c = match lower.as_str() {
                "=" => Compare::Eq,
                "<>" => Compare::Ne,
                "<" => Compare::Lt,
                "<=" => Compare::Le,
                ">" => Compare::Gt,
                _ => Compare::Ge,
            };
            match (property(&a[0]), property(&a[1])) {
                (Some(p), None) => Ok(Filter::Cmp(p, c, literal(&a[1])?)),
                // A literal first: the comparison read the other way round.
                (None, Some(p)) => Ok(Filter::Cmp(p, flipped(c), literal(&a[0])?)),
                _ => Err(FilterError::Unsupported(format!(
                    "'{op}' compares one property with one literal"
                ))),
            }
        }
        "like" => {
            let a = arity(a, 2, op)?;
            let p = property(&a[0])
                .ok_or_else(|| FilterError::Syntax("'like' needs a property first".into()))?;
            Ok(Filter::Like(p, literal(&a[1])?, true))
        }
        "between" => {
            let a = arity(a, 3, op)?;
            let p = property(&a[0])
                .ok_or_else(|| FilterError::Syntax("'between' needs a property first".into()))?;
            Ok(Filter::Between(p, literal(&a[1])?, literal(&a[2])?))
        }
        "in" => {
            let a = arity(a, 2, op)?;
            let p = property(&a[0])
                .ok_or_else(|| FilterError::Syntax("'in' needs a property first".into()))?;
            let list = a[1]
                .as_array()
                .ok_or_else(|| FilterError::Syntax("'in' needs a list of literals".into()))?;
            Ok(Filter::Or(
                list.iter()
                    .map(|x| literal(x).map(|l| Filter::Cmp(p.clone(), Compare::Eq, l)))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        }
        "isnull" => {
            let a = arity(a, 1, op)?;
            let p = property(&a[0])
                .ok_or_else(|| FilterError::Syntax("'isNull' needs a property".into()))?;
            Ok(Filter::IsNull(p))
        }
        "s_intersects" | "s_disjoint" | "s_within" | "s_contains" => {
            let a = arity(a, 2, op)?;
            let s = match lower.as_str() {
                "s_intersects" => Spatial::Intersects,
                "s_disjoint" => Spatial::Disjoint,
                "s_within" => Spatial::Within,
                _ => Spatial::Contains,
            };
            if property(&a[0]).is_none() {
                return Err(FilterError::Syntax(format!(
                    "'{op}' needs the geometry property first"
                )));
            }
            Ok(Filter::Spatial(s, geometry(&a[1])?))
        }
        _ => Err(FilterError::Unsupported(format!(
            "the operator '{op}' is not supported"
        ))),
    }
}

fn flipped(c: Compare) -> Compare {
    match c {
        Compare::Lt => Compare::Gt,
        Compare::Le => Compare::Ge,
        Compare::Gt => Compare::Lt,
        Compare::Ge => Compare::Le,
        other => other,
    }
}

fn coord(v: &Value) -> Result<Coord<f64>, FilterError> {
    match v.as_array().map(Vec::as_slice) {
        Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok(Coord { x, y }),
            _ => Err(FilterError::Geometry(format!("bad position {v}"))),
        },
        _ => Err(FilterError::Geometry(format!("bad position {v}"))),
    }
}

fn list<T>(
    v: &Value,
    each: impl Fn(&Value) -> Result<T, FilterError>,
) -> Result<Vec<T>, FilterError> {
    v.as_array()
        .ok_or_else(|| FilterError::Geometry(format!("expected an array, found {v}")))?
        .iter()
        .map(each)
        .collect()
}

fn line(v: &Value) -> Result<LineString<f64>, FilterError> {
    Ok(LineString::new(list(v, coord)?))
}

fn polygon(v: &Value) -> Result<Polygon<f64>, FilterError> {
    let mut rings = list(v, line)?;
    if rings.is_empty() {
        return Err(FilterError::Geometry("a polygon needs a ring".into()));
    }
    let outer = rings.remove(0);
    Ok(Polygon::new(outer, rings))
}

/// A GeoJSON geometry, or `{"bbox": [minx, miny, maxx, maxy]}`.
fn geometry(v: &Value) -> Result<Geometry<f64>, FilterError> {
    if let Some(b) = v.get("bbox") {
        let n = list(b, |x| {
            x.as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| FilterError::Geometry(format!("bad bbox number {x}")))
        })?;
        let [x0, y0, x1, y1] = match n.as_slice() {
            [a, b, c, d] => [*a, *b, *c, *d],
            [a, b, _, c, d, _] => [*a, *b, *c, *d],
            _ => return Err(FilterError::Geometry("a bbox has 4 (or 6) numbers".into())),
        };
        let ring = vec![
            Coord { x: x0, y: y0 },
            Coord { x: x1, y: y0 },
            Coord { x: x1, y: y1 },
            Coord { x: x0, y: y1 },
            Coord { x: x0, y: y0 },
        ];
        return Ok(Geometry::Polygon(Polygon::new(
            LineString::new(ring),
            vec![],
        )));
    }
    let c = v.get("coordinates").ok_or_else(|| {
        FilterError::Geometry("a geometry needs 'coordinates' (or a 'bbox')".into())
    })?;
    match v.get("type").and_then(Value::as_str) {
        Some("Point") => Ok(Geometry::Point(Point(coord(c)?))),
        Some("LineString") => Ok(Geometry::LineString(line(c)?)),
        Some("Polygon") => Ok(Geometry::Polygon(polygon(c)?)),
        Some("MultiPoint") => Ok(Geometry::MultiPoint(MultiPoint::new(
            list(c, coord)?.into_iter().map(Point).collect(),
        ))),
        Some("MultiLineString") => Ok(Geometry::MultiLineString(MultiLineString::new(list(
            c, line,
        )?))),
        Some("MultiPolygon") => Ok(Geometry::MultiPolygon(MultiPolygon::new(list(c, polygon)?))),
        other => Err(FilterError::Geometry(format!(
            "unsupported geometry type {}",
            other.unwrap_or("(none)")
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_operators_read_into_filters() {
        let f = parse_cql2_json(
            r#"{"op":"and","args":[
                {"op":"=","args":[{"property":"STATE_NAME"},"Texas"]},
                {"op":"<","args":[1000,{"property":"PERSONS"}]},
                {"op":"not","args":[{"op":"isNull","args":[{"property":"x"}]}]},
                {"op":"in","args":[{"property":"c"},["a","b"]]},
                {"op":"between","args":[{"property":"n"},1,2]},
                {"op":"like","args":[{"property":"s"},"Te%"]},
                {"op":"s_intersects","args":[{"property":"geom"},{"bbox":[0,0,1,1]}]},
                {"op":">=","args":[{"property":"d"},{"timestamp":"2020-01-01T00:00:00Z"}]}
            ]}"#,
        )
        .unwrap();
        let Filter::And(parts) = f else {
            panic!("{f:?}")
        };
        assert_eq!(
            parts[0],
            Filter::Cmp("STATE_NAME".into(), Compare::Eq, "Texas".into())
        );
        assert_eq!(
            parts[1],
            Filter::Cmp("PERSONS".into(), Compare::Gt, "1000".into())
        );
        assert!(matches!(&parts[2], Filter::Not(n) if **n == Filter::IsNull("x".into())));
        assert!(matches!(&parts[3], Filter::Or(v) if v.len() == 2));
        assert_eq!(
            parts[4],
            Filter::Between("n".into(), "1".into(), "2".into())
        );
        assert!(matches!(
            &parts[6],
            Filter::Spatial(Spatial::Intersects, Geometry::Polygon(_))
        ));
        assert_eq!(
            parts[7],
            Filter::Cmp("d".into(), Compare::Ge, "2020-01-01T00:00:00Z".into())
        );
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        for (text, says) in [
            ("{", "not JSON"),
            (r#"{"args":[]}"#, "needs an 'op'"),
            (
                r#"{"op":"=","args":[{"property":"a"}]}"#,
                "takes 2 arguments",
            ),
            (r#"{"op":"t_before","args":[]}"#, "not supported"),
            (
                r#"{"op":"s_intersects","args":[{"property":"g"},{"type":"Point","coordinates":["x",1]}]}"#,
                "bad position",
            ),
        ] {
            let e = parse_cql2_json(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let mut deep = String::from(r#"{"op":"=","args":[{"property":"a"},1]}"#);
        for _ in 0..40 {
            deep = format!(r#"{{"op":"not","args":[{deep}]}}"#);
        }
        assert_eq!(parse_cql2_json(&deep).unwrap_err(), FilterError::TooDeep);
    }
}
