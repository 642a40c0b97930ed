//! OGC Filter Encoding 2.0 (and 1.1 spellings) into Meridian's filters.

use super::error::FilterError;
use super::{Compare, Filter, Spatial};
use crate::gml_read::{child, local};
use geo_types::Geometry;
use meridian_xml::Element;

fn property(e: &Element) -> Result<String, FilterError> {
    let p = child(e, "ValueReference")
        .or_else(|| child(e, "PropertyName"))
        .and_then(Element::text_trim)
        .ok_or_else(|| FilterError::Syntax(format!("{} needs a ValueReference", local(&e.name))))?;
    // `ns:name` and XPath-ish `ns:type/ns:name`: the last step, without prefix.
    let last = p.rsplit('/').next().unwrap_or(p);
    Ok(local(last).to_string())
}

fn literal(e: &Element) -> Result<String, FilterError> {
    child(e, "Literal")
        .map(|l| l.text.as_deref().map(str::to_string).unwrap_or_default())
        .ok_or_else(|| FilterError::Syntax(format!("{} needs a Literal", local(&e.name))))
}

/// Turns a geometry as written (axis order of its `srsName`) into the layer's CRS.
pub type GeometryEnv<'a> =
    &'a dyn Fn(Geometry<f64>, Option<&str>) -> Result<Geometry<f64>, FilterError>;

/// Turns corner coordinates and an optional `srsName` into a box in the layer's CRS.
pub type Envelope<'a> =
    &'a dyn Fn([f64; 4], Option<&str>) -> Result<geo_types::Rect<f64>, FilterError>;

/// Parse a `<fes:Filter>`. `envelope` turns corner coordinates and an optional `srsName` into
/// a box in the layer's CRS.
pub fn parse_filter(
    e: &Element,
    envelope: Envelope<'_>,
    geometry_env: GeometryEnv<'_>,
) -> Result<Filter, FilterError> {
    if local(&e.name) != "Filter" {
        return Err(FilterError::Syntax(format!(
            "expected a Filter, got <{}>",
            e.name
        )));
    }
    let parts: Vec<Filter> = e
        .children
        .iter()
        .map(|c| op(c, envelope, geometry_env, 0))
        .collect::<Result<_, _>>()?;
    for p in &parts {
        p.check_numbers()?;
    }
    // Several ResourceIds side by side form one id filter.
    Ok(match parts.len() {
        0 => return Err("empty Filter".into()),
        1 => parts.into_iter().next().unwrap_or(Filter::All),
        _ if parts.iter().all(|p| matches!(p, Filter::Ids(_))) => Filter::Ids(
            parts
                .into_iter()
                .flat_map(|p| match p {
                    Filter::Ids(v) => v,
                    _ => Vec::new(),
                })
                .collect(),
        ),
        _ => return Err("a Filter holds one operator (combine with And/Or)".into()),
    })
}

fn op(
    e: &Element,
    envelope: Envelope<'_>,
    geometry_env: GeometryEnv<'_>,
    depth: usize,
) -> Result<Filter, FilterError> {
    if depth > 32 {
        return Err(FilterError::TooDeep);
    }
    let cmp = |c: Compare| -> Result<Filter, FilterError> {
        Ok(Filter::Cmp(property(e)?, c, literal(e)?))
    };
    match local(&e.name) {
        "PropertyIsEqualTo" => cmp(Compare::Eq),
        "PropertyIsNotEqualTo" => cmp(Compare::Ne),
        "PropertyIsLessThan" => cmp(Compare::Lt),
        "PropertyIsLessThanOrEqualTo" => cmp(Compare::Le),
        "PropertyIsGreaterThan" => cmp(Compare::Gt),
        "PropertyIsGreaterThanOrEqualTo" => cmp(Compare::Ge),
        "PropertyIsLike" => {
            let wild = e.attr_value("wildCard").unwrap_or("%");
            let single = e.attr_value("singleChar").unwrap_or("_");
            let pat: String = literal(e)?
                .chars()
                .map(|c| {
                    if c.to_string() == wild {
                        '%'
                    } else if c.to_string() == single {
                        '_'
                    } else {
                        c
                    }
                })
                .collect();
            let case = e.attr_value("matchCase") != Some("false");
            Ok(Filter::Like(property(e)?, pat, case))
        }
        "PropertyIsBetween" => {
            let lo = child(e, "LowerBoundary")
                .map(literal)
                .ok_or("PropertyIsBetween needs a LowerBoundary")??;
            let hi = child(e, "UpperBoundary")
                .map(literal)
                .ok_or("PropertyIsBetween needs an UpperBoundary")??;
            Ok(Filter::Between(property(e)?, lo, hi))
        }
        "PropertyIsNull" | "PropertyIsNil" => Ok(Filter::IsNull(property(e)?)),
        "And" | "Or" => {
            let v: Vec<Filter> = e
                .children
                .iter()
                .map(|c| op(c, envelope, geometry_env, depth + 1))
                .collect::<Result<_, _>>()?;
            if v.len() < 2 {
                return Err(FilterError::Syntax(format!(
                    "{} needs two operands",
                    local(&e.name)
                )));
            }
            Ok(if local(&e.name) == "And" {
                Filter::And(v)
            } else {
                Filter::Or(v)
            })
        }
        "Not" => {
            let inner = e.children.first().ok_or("Not needs an operand")?;
            Ok(Filter::Not(Box::new(op(
                inner,
                envelope,
                geometry_env,
                depth + 1,
            )?)))
        }
        "ResourceId" | "FeatureId" | "GmlObjectId" => {
            let id = e
                .attr_value("rid")
                .or_else(|| e.attr_value("fid"))
                .or_else(|| e.attr_value("gml:id"))
                .ok_or("ResourceId needs rid")?;
            Ok(Filter::Ids(vec![id.to_string()]))
        }
        "Intersects" | "Disjoint" | "Within" | "Contains" => {
            let op = match local(&e.name) {
                "Intersects" => Spatial::Intersects,
                "Disjoint" => Spatial::Disjoint,
                "Within" => Spatial::Within,
                _ => Spatial::Contains,
            };
            let g = e
                .children
                .iter()
                .find(|c| !matches!(local(&c.name), "ValueReference" | "PropertyName"))
                .ok_or_else(|| {
                    FilterError::Geometry(format!("{} needs a GML geometry", local(&e.name)))
                })?;
            let geom = if local(&g.name) == "Envelope" {
                Geometry::Rect(envelope(envelope_corners(g)?, g.attr_value("srsName"))?)
            } else {
                let (geom, srs) = crate::gml_read::read_gml_geometry(g)?;
                geometry_env(geom, srs.as_deref())?
            };
            Ok(Filter::Spatial(op, geom))
        }
        "BBOX" => {
            // GML 3's Envelope, or GML 2's Box (Filter Encoding 1.0 and 1.1, as GDAL sends).
            if let Some(env) = child(e, "Envelope") {
                return Ok(Filter::BBox(envelope(
                    envelope_corners(env)?,
                    env.attr_value("srsName"),
                )?));
            }
            let b = child(e, "Box").ok_or("BBOX needs a gml:Envelope or a gml:Box")?;
            Ok(Filter::BBox(envelope(
                box_corners(b)?,
                b.attr_value("srsName"),
            )?))
        }
        other => Err(FilterError::Unsupported(format!(
            "the filter operator {other} is not supported"
        ))),
    }
}

/// The corners of a `gml:Envelope` as `[x1, y1, x2, y2]` in document order.
fn envelope_corners(env: &Element) -> Result<[f64; 4], FilterError> {
    let corner = |n: &str| -> Result<Vec<f64>, FilterError> {
        let t = child(env, n)
            .and_then(Element::text_trim)
            .ok_or_else(|| FilterError::Geometry(format!("Envelope needs {n}")))?;
        numbers(t)
    };
    let (lo, hi) = (corner("lowerCorner")?, corner("upperCorner")?);
    if lo.len() < 2 || hi.len() < 2 {
        return Err(FilterError::Geometry(
            "Envelope corners need two coordinates".into(),
        ));
    }
    Ok([lo[0], lo[1], hi[0], hi[1]])
}

/// The corners of a GML 2 `gml:Box` as `[x1, y1, x2, y2]`: `<gml:coordinates>` or two
/// `<gml:coord>`, read as GML positions are.
fn box_corners(b: &Element) -> Result<[f64; 4], FilterError> {
    let c = crate::gml_read::positions(b)?;
    if c.len() != 2 {
        return Err(FilterError::Geometry(format!(
            "a gml:Box needs two corners, got {} positions",
            c.len()
        )));
    }
    Ok([c[0].x, c[0].y, c[1].x, c[1].y])
}

use crate::gml_read::numbers;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_logic_and_ids() {
        let env = |b: [f64; 4], _: Option<&str>| {
            Ok(geo_types::Rect::new(
                geo_types::Coord { x: b[0], y: b[1] },
                geo_types::Coord { x: b[2], y: b[3] },
            ))
        };
        let x = meridian_xml::parse(r#"<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:And><fes:PropertyIsEqualTo><fes:ValueReference>sf:cat</fes:ValueReference><fes:Literal>3</fes:Literal></fes:PropertyIsEqualTo><fes:Not><fes:PropertyIsLike wildCard="*" singleChar="." escapeChar="!"><fes:ValueReference>str1</fes:ValueReference><fes:Literal>A*</fes:Literal></fes:PropertyIsLike></fes:Not></fes:And></fes:Filter>"#).unwrap();
        let f = parse_filter(&x, &env, &|g, _| Ok(g)).unwrap();
        assert_eq!(
            f,
            Filter::And(vec![
                Filter::Cmp("cat".into(), Compare::Eq, "3".into()),
                Filter::Not(Box::new(Filter::Like("str1".into(), "A%".into(), true)))
            ])
        );
        let x = meridian_xml::parse(
            r#"<Filter><ResourceId rid="a.1"/><ResourceId rid="a.2"/></Filter>"#,
        )
        .unwrap();
        assert_eq!(
            parse_filter(&x, &env, &|g, _| Ok(g)).unwrap(),
            Filter::Ids(vec!["a.1".into(), "a.2".into()])
        );
        let x = meridian_xml::parse("<Filter><Beyond/></Filter>").unwrap();
        assert!(parse_filter(&x, &env, &|g, _| Ok(g)).is_err());
    }

    #[test]
    fn gml2_boxes_of_filter_encoding_1_read_as_envelopes() {
        let seen = std::cell::RefCell::new(None);
        let env = |b: [f64; 4], srs: Option<&str>| {
            *seen.borrow_mut() = srs.map(str::to_string);
            Ok(geo_types::Rect::new(
                geo_types::Coord { x: b[0], y: b[1] },
                geo_types::Coord { x: b[2], y: b[3] },
            ))
        };
        let want = Filter::BBox(geo_types::Rect::new(
            geo_types::Coord { x: -100.0, y: 35.0 },
            geo_types::Coord { x: -90.0, y: 45.0 },
        ));
        for filter in [
            // As GDAL's WFS driver sends it on 1.0.0 and 1.1.0.
            r#"<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml"><ogc:BBOX><ogc:PropertyName>the_geom</ogc:PropertyName><gml:Box srsName="EPSG:4326"><gml:coordinates>-100,35 -90,45</gml:coordinates></gml:Box></ogc:BBOX></ogc:Filter>"#,
            r#"<Filter><BBOX><PropertyName>g</PropertyName><Box srsName="EPSG:4326"><coordinates cs=" " ts=";" decimal=",">-100 35;-90 45</coordinates></Box></BBOX></Filter>"#,
            r#"<Filter><BBOX><PropertyName>g</PropertyName><Box srsName="EPSG:4326"><coord><X>-100</X><Y>35</Y></coord><coord><X>-90</X><Y>45</Y></coord></Box></BBOX></Filter>"#,
        ] {
            let x = meridian_xml::parse(filter).unwrap();
            assert_eq!(
                parse_filter(&x, &env, &|g, _| Ok(g)).unwrap(),
                want,
                "{filter}"
            );
            assert_eq!(seen.borrow().as_deref(), Some("EPSG:4326"));
        }
        let bad = r#"<Filter><BBOX><Box><coordinates>-100,35</coordinates></Box></BBOX></Filter>"#;
        let x = meridian_xml::parse(bad).unwrap();
        let e = parse_filter(&x, &env, &|g, _| Ok(g))
            .unwrap_err()
            .to_string();
        assert!(e.contains("two corners"), "{e}");
    }
}
