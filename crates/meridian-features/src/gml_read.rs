//! Reading GML geometries as clients write them: GML 2 (`gml:coordinates`, `gml:coord`,
//! `outerBoundaryIs`, `polygonMember`…), GML 3.1.1 and 3.2 (`gml:pos`, `gml:posList`,
//! `exterior`, `MultiSurface`, `MultiCurve`…). Coordinates stay as written (the caller
//! applies the axis order of the `srsName`); a third dimension is dropped.

use crate::filter::FilterError;
use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use meridian_xml::Element;

/// Most nesting a geometry may have (a multi-geometry of polygons of rings).
const MAX_DEPTH: usize = 8;

/// An element name without its namespace prefix.
pub(crate) fn local(n: &str) -> &str {
    n.rsplit(':').next().unwrap_or(n)
}

/// The first child of `e` with the local name `name`.
pub(crate) fn child<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.children.iter().find(|c| local(&c.name) == name)
}

fn children<'a>(e: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    e.children.iter().filter(move |c| local(&c.name) == name)
}

/// Whether an element is a GML geometry this reader knows.
pub fn is_gml_geometry(e: &Element) -> bool {
    matches!(
        local(&e.name),
        "Point"
            | "LineString"
            | "LinearRing"
            | "Polygon"
            | "MultiPoint"
            | "MultiLineString"
            | "MultiCurve"
            | "MultiPolygon"
            | "MultiSurface"
            | "MultiGeometry"
    )
}

/// A GML geometry element, and the `srsName` it names (its own, or its first member's).
pub fn read_gml_geometry(e: &Element) -> Result<(Geometry<f64>, Option<String>), FilterError> {
    let g = geometry(e, dimension(e, 2), 0)?;
    let srs = e.attr_value("srsName").map(str::to_string).or_else(|| {
        e.children
            .iter()
            .flat_map(|m| m.children.iter())
            .find_map(|g| g.attr_value("srsName").map(str::to_string))
    });
    Ok((g, srs))
}

/// The `srsDimension` an element declares, or `inherited`.
fn dimension(e: &Element, inherited: usize) -> usize {
    e.attr_value("srsDimension")
        .and_then(|d| d.trim().parse::<usize>().ok())
        .filter(|d| (2..=4).contains(d))
        .unwrap_or(inherited)
}

fn geometry(e: &Element, dims: usize, depth: usize) -> Result<Geometry<f64>, FilterError> {
    if depth > MAX_DEPTH {
        return Err(FilterError::TooDeep);
    }
    let dims = dimension(e, dims);
    Ok(match local(&e.name) {
        "Point" => Geometry::Point(point(e, dims)?),
        "LineString" => Geometry::LineString(line(e, dims)?),
        "LinearRing" => Geometry::LineString(line(e, dims)?),
        "Polygon" => Geometry::Polygon(polygon(e, dims)?),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            members(e, &["pointMember", "pointMembers"], dims, depth)?
                .into_iter()
                .map(|g| match g {
                    Geometry::Point(p) => Ok(p),
                    _ => Err(FilterError::Geometry(
                        "a MultiPoint holds points only".into(),
                    )),
                })
                .collect::<Result<_, _>>()?,
        )),
        "MultiLineString" | "MultiCurve" => Geometry::MultiLineString(MultiLineString(
            members(
                e,
                &["lineStringMember", "curveMember", "curveMembers"],
                dims,
                depth,
            )?
            .into_iter()
            .map(|g| match g {
                Geometry::LineString(l) => Ok(l),
                _ => Err(FilterError::Geometry(format!(
                    "a {} holds lines only",
                    local(&e.name)
                ))),
            })
            .collect::<Result<_, _>>()?,
        )),
        "MultiPolygon" | "MultiSurface" => Geometry::MultiPolygon(MultiPolygon(
            members(
                e,
                &["polygonMember", "surfaceMember", "surfaceMembers"],
                dims,
                depth,
            )?
            .into_iter()
            .map(|g| match g {
                Geometry::Polygon(p) => Ok(p),
                _ => Err(FilterError::Geometry(format!(
                    "a {} holds polygons only",
                    local(&e.name)
                ))),
            })
            .collect::<Result<_, _>>()?,
        )),
        "MultiGeometry" => Geometry::GeometryCollection(geo_types::GeometryCollection(members(
            e,
            &["geometryMember", "geometryMembers"],
            dims,
            depth,
        )?)),
        other => {
            return Err(FilterError::Unsupported(format!(
                "the GML geometry {other} is not supported"
            )))
        }
    })
}

/// The geometries inside a multi-geometry's member elements (one per `…Member`, any number
/// per `…Members`).
fn members(
    e: &Element,
    names: &[&str],
    dims: usize,
    depth: usize,
) -> Result<Vec<Geometry<f64>>, FilterError> {
    let mut out = Vec::new();
    for m in e
        .children
        .iter()
        .filter(|c| names.contains(&local(&c.name)))
    {
        for g in &m.children {
            out.push(geometry(g, dims, depth + 1)?);
        }
    }
    Ok(out)
}

fn point(e: &Element, dims: usize) -> Result<Point<f64>, FilterError> {
    coordinates(e, dims)?
        .first()
        .map(|c| Point(*c))
        .ok_or_else(|| FilterError::Geometry("a Point needs a coordinate".into()))
}

fn line(e: &Element, dims: usize) -> Result<LineString<f64>, FilterError> {
    let c = coordinates(e, dims)?;
    if c.len() < 2 {
        return Err(FilterError::Geometry(format!(
            "a {} needs at least two positions",
            local(&e.name)
        )));
    }
    Ok(LineString(c))
}

fn ring(boundary: &Element, dims: usize) -> Result<LineString<f64>, FilterError> {
    let r = child(boundary, "LinearRing").ok_or_else(|| {
        FilterError::Geometry(format!("{} needs a LinearRing", local(&boundary.name)))
    })?;
    let l = line(r, dimension(r, dims))?;
    if l.0.len() < 4 || l.0.first() != l.0.last() {
        return Err(FilterError::Geometry(
            "a LinearRing needs at least four positions, the last equal to the first".into(),
        ));
    }
    Ok(l)
}

fn polygon(e: &Element, dims: usize) -> Result<Polygon<f64>, FilterError> {
    let outer = child(e, "exterior")
        .or_else(|| child(e, "outerBoundaryIs"))
        .ok_or_else(|| FilterError::Geometry("a Polygon needs an exterior".into()))?;
    let holes = e
        .children
        .iter()
        .filter(|c| matches!(local(&c.name), "interior" | "innerBoundaryIs"))
        .map(|h| ring(h, dims))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(ring(outer, dims)?, holes))
}

/// The positions of an element written as GML writes them (a `gml:Box`'s corners too).
pub(crate) fn positions(e: &Element) -> Result<Vec<Coord<f64>>, FilterError> {
    coordinates(e, dimension(e, 2))
}

/// The positions of a simple geometry: `posList`, `pos` elements, `coordinates` or `coord`.
fn coordinates(e: &Element, dims: usize) -> Result<Vec<Coord<f64>>, FilterError> {
    if let Some(pl) = child(e, "posList") {
        let d = dimension(pl, dims);
        return tuples(&numbers(pl.text_trim().unwrap_or(""))?, d);
    }
    if let Some(c) = child(e, "coordinates") {
        return gml2_coordinates(c);
    }
    let mut out = Vec::new();
    for p in children(e, "pos") {
        let v = numbers(p.text_trim().unwrap_or(""))?;
        if v.len() < 2 {
            return Err(FilterError::Geometry(
                "a gml:pos needs two coordinates".into(),
            ));
        }
        out.push(Coord { x: v[0], y: v[1] });
    }
    for c in children(e, "coord") {
        let axis = |a: &str| -> Result<f64, FilterError> {
            let t = child(c, a)
                .and_then(Element::text_trim)
                .ok_or_else(|| FilterError::Geometry(format!("gml:coord needs gml:{a}")))?;
            numbers(t)?
                .first()
                .copied()
                .ok_or_else(|| FilterError::Geometry(format!("gml:{a} is empty")))
        };
        out.push(Coord {
            x: axis("X")?,
            y: axis("Y")?,
        });
    }
    Ok(out)
}

fn tuples(v: &[f64], dims: usize) -> Result<Vec<Coord<f64>>, FilterError> {
    if v.len() % dims != 0 {
        return Err(FilterError::Geometry(format!(
            "{} numbers do not make positions of {dims} coordinates",
            v.len()
        )));
    }
    Ok(v.chunks(dims).map(|c| Coord { x: c[0], y: c[1] }).collect())
}

/// GML 2 `<gml:coordinates>`: tuples split by `ts` (a space), coordinates by `cs` (a comma),
/// `decimal` a point unless said.
fn gml2_coordinates(c: &Element) -> Result<Vec<Coord<f64>>, FilterError> {
    let text = c.text_trim().unwrap_or("");
    let cs = c.attr_value("cs").unwrap_or(",");
    let ts = c.attr_value("ts").unwrap_or(" ");
    let decimal = c.attr_value("decimal").unwrap_or(".");
    let parts: Vec<&str> = if ts.trim().is_empty() {
        text.split_whitespace().collect()
    } else {
        text.split(ts)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    for t in parts {
        let v: Vec<f64> = t
            .split(cs)
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| {
                let x = if decimal == "." {
                    x.to_string()
                } else {
                    x.replace(decimal, ".")
                };
                numbers(&x)
            })
            .collect::<Result<Vec<Vec<f64>>, _>>()?
            .concat();
        if v.len() < 2 {
            return Err(FilterError::Geometry(format!(
                "bad gml:coordinates tuple '{t}'"
            )));
        }
        out.push(Coord { x: v[0], y: v[1] });
    }
    Ok(out)
}

/// Whitespace-separated finite numbers.
pub(crate) fn numbers(text: &str) -> Result<Vec<f64>, FilterError> {
    text.split_whitespace()
        .map(|x| {
            x.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| FilterError::Geometry(format!("bad coordinate '{x}'")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(xml: &str) -> Geometry<f64> {
        read_gml_geometry(&meridian_xml::parse(xml).unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn gml2_and_gml3_spellings_read_alike() {
        let square = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        );
        let gml2 = r#"<gml:MultiPolygon xmlns:gml="http://www.opengis.net/gml" srsName="EPSG:4326"><gml:polygonMember><gml:Polygon><gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>0,0 1,0 1,1 0,0</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs></gml:Polygon></gml:polygonMember></gml:MultiPolygon>"#;
        let gml3 = r#"<gml:MultiSurface xmlns:gml="http://www.opengis.net/gml"><gml:surfaceMember><gml:Polygon srsDimension="3"><gml:exterior><gml:LinearRing><gml:posList>0 0 9 1 0 9 1 1 9 0 0 9</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface>"#;
        let want = Geometry::MultiPolygon(MultiPolygon(vec![square]));
        assert_eq!(read(gml2), want);
        assert_eq!(read(gml3), want);
        assert_eq!(
            read(r#"<Point><coord><X>3</X><Y>4</Y></coord></Point>"#),
            Geometry::Point(Point::new(3.0, 4.0))
        );
        assert_eq!(
            read(r#"<LineString><pos>1 2</pos><pos>3 4</pos></LineString>"#),
            Geometry::LineString(LineString::from(vec![(1.0, 2.0), (3.0, 4.0)]))
        );
    }

    #[test]
    fn broken_geometries_are_refused_with_a_reason() {
        for bad in [
            "<Point><pos>1</pos></Point>",
            "<LineString><posList>1 2 3</posList></LineString>",
            "<Polygon><exterior><LinearRing><posList>0 0 1 0 1 1</posList></LinearRing></exterior></Polygon>",
            "<Point><pos>1 NaN</pos></Point>",
            "<Curve/>",
        ] {
            let e = meridian_xml::parse(bad).unwrap();
            assert!(read_gml_geometry(&e).is_err(), "{bad}");
        }
    }
}
