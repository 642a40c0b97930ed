//! Coordinate transformation between EPSG codes (proj4rs, definitions from crs-definitions).

use crate::FeatureError;
use geo_types::{Coord, Geometry, Rect};

/// A transformation from one EPSG CRS to another (`None` inside = identity).
pub struct Transformer {
    inner: Option<(proj4rs::Proj, proj4rs::Proj, bool, bool)>,
    /// WGS84 longitude/latitude to or from web mercator, done by formula (the commonest pair
    /// of map requests).
    mercator: Option<Mercator>,
}

/// The spherical web mercator and WGS84: both on the same datum, so the formula is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mercator {
    Forward,
    Inverse,
}

/// The sphere's radius of EPSG:3857.
const R: f64 = 6_378_137.0;

impl Mercator {
    fn apply(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Mercator::Forward => {
                // As proj clamps: beyond the poles the projection has no value.
                if c.y.abs() >= 90.0 {
                    return Coord {
                        x: f64::NAN,
                        y: f64::NAN,
                    };
                }
                Coord {
                    x: c.x.to_radians() * R,
                    y: (std::f64::consts::FRAC_PI_4 + c.y.to_radians() / 2.0)
                        .tan()
                        .ln()
                        * R,
                }
            }
            Mercator::Inverse => Coord {
                x: (c.x / R).to_degrees(),
                y: (2.0 * (c.y / R).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
            },
        }
    }
}

fn proj(code: u32) -> Result<(proj4rs::Proj, bool), FeatureError> {
    let def = u16::try_from(code)
        .ok()
        .and_then(crs_definitions::from_code)
        .ok_or_else(|| FeatureError::Crs(format!("EPSG:{code}")))?;
    let p = proj4rs::Proj::from_proj_string(def.proj4)
        .or_else(|_| {
            // Datum grids are not shipped: NAD27 falls back to its mean shift.
            proj4rs::Proj::from_proj_string(
                &def.proj4
                    .replace("+datum=NAD27", "+ellps=clrk66 +towgs84=-8,160,176,0,0,0,0"),
            )
        })
        .map_err(|e| FeatureError::Crs(format!("EPSG:{code}: {e}")))?;
    Ok((p, def.proj4.contains("+proj=longlat")))
}

impl Transformer {
    /// From `from` to `to` (EPSG codes). Equal codes give the identity.
    pub fn new(from: u32, to: u32) -> Result<Self, FeatureError> {
        if from == to {
            return Ok(Transformer {
                inner: None,
                mercator: None,
            });
        }
        let mercator = match (from, to) {
            (4326, 3857) => Some(Mercator::Forward),
            (3857, 4326) => Some(Mercator::Inverse),
            _ => None,
        };
        let (a, ga) = proj(from)?;
        let (b, gb) = proj(to)?;
        Ok(Transformer {
            inner: Some((a, b, ga, gb)),
            mercator,
        })
    }

    /// Whether this does nothing.
    pub fn is_identity(&self) -> bool {
        self.inner.is_none()
    }

    /// Transform one coordinate (x = easting/longitude).
    pub fn coord(&self, c: Coord<f64>) -> Coord<f64> {
        if let Some(m) = self.mercator {
            return m.apply(c);
        }
        let Some((a, b, ga, gb)) = &self.inner else {
            return c;
        };
        let mut p = if *ga {
            (c.x.to_radians(), c.y.to_radians(), 0.0)
        } else {
            (c.x, c.y, 0.0)
        };
        if proj4rs::transform::transform(a, b, &mut p).is_err() {
            return Coord {
                x: f64::NAN,
                y: f64::NAN,
            };
        }
        if *gb {
            Coord {
                x: p.0.to_degrees(),
                y: p.1.to_degrees(),
            }
        } else {
            Coord { x: p.0, y: p.1 }
        }
    }

    /// Transform the features' geometries in place.
    pub fn features(&self, features: &mut [crate::Feature]) {
        if self.inner.is_none() {
            return;
        }
        for g in features.iter_mut().filter_map(|f| f.geometry.as_mut()) {
            self.geometry(g);
        }
    }

    /// Transform a geometry in place.
    pub fn geometry(&self, g: &mut Geometry<f64>) {
        if self.inner.is_none() {
            return;
        }
        use geo_types::*;
        let t = |c: &mut Coord<f64>| *c = self.coord(*c);
        match g {
            Geometry::Point(p) => t(&mut p.0),
            Geometry::Line(l) => {
                t(&mut l.start);
                t(&mut l.end);
            }
            Geometry::LineString(l) => l.0.iter_mut().for_each(t),
            Geometry::Polygon(p) => {
                p.exterior_mut(|e| e.0.iter_mut().for_each(t));
                p.interiors_mut(|rs| rs.iter_mut().for_each(|r| r.0.iter_mut().for_each(t)));
            }
            Geometry::MultiPoint(m) => m.0.iter_mut().for_each(|p| t(&mut p.0)),
            Geometry::MultiLineString(m) => m.0.iter_mut().for_each(|l| l.0.iter_mut().for_each(t)),
            Geometry::MultiPolygon(m) => m.0.iter_mut().for_each(|p| {
                p.exterior_mut(|e| e.0.iter_mut().for_each(t));
                p.interiors_mut(|rs| rs.iter_mut().for_each(|r| r.0.iter_mut().for_each(t)));
            }),
            Geometry::GeometryCollection(c) => c.0.iter_mut().for_each(|g| self.geometry(g)),
            Geometry::Rect(r) => {
                let (a, b) = (self.coord(r.min()), self.coord(r.max()));
                *r = Rect::new(a, b);
            }
            Geometry::Triangle(tr) => {
                *tr = Triangle::new(
                    self.coord(tr.v1()),
                    self.coord(tr.v2()),
                    self.coord(tr.v3()),
                );
            }
        }
    }
}

/// A bounding box `[minx, miny, maxx, maxy]` in EPSG:`from` as the envelope of its edges
/// transformed to EPSG:`to` (sampled, so that curved edges stay inside).
pub fn transform_bbox(b: [f64; 4], from: u32, to: u32) -> Result<Rect<f64>, FeatureError> {
    let t = Transformer::new(from, to)?;
    let (mut minx, mut miny, mut maxx, mut maxy) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for i in 0..=8 {
        let f = i as f64 / 8.0;
        let x = b[0] + (b[2] - b[0]) * f;
        let y = b[1] + (b[3] - b[1]) * f;
        for (px, py) in [(x, b[1]), (x, b[3]), (b[0], y), (b[2], y)] {
            let c = t.coord(Coord { x: px, y: py });
            if c.x.is_finite() && c.y.is_finite() {
                minx = minx.min(c.x);
                miny = miny.min(c.y);
                maxx = maxx.max(c.x);
                maxy = maxy.max(c.y);
            }
        }
    }
    if !minx.is_finite() {
        return Err(FeatureError::Crs(format!(
            "the bbox cannot be transformed from EPSG:{from} to EPSG:{to}"
        )));
    }
    Ok(Rect::new(
        Coord { x: minx, y: miny },
        Coord { x: maxx, y: maxy },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_to_wgs84() {
        let t = Transformer::new(26713, 4326).unwrap();
        let c = t.coord(Coord {
            x: 589851.4,
            y: 4914490.9,
        });
        assert!(
            (c.x - -103.87).abs() < 0.01 && (c.y - 44.377).abs() < 0.01,
            "{c:?}"
        );
        assert!(Transformer::new(4326, 4326).unwrap().is_identity());
        assert!(Transformer::new(1, 4326).is_err());
    }
}

#[cfg(test)]
mod mercator_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The formula for web mercator gives what proj gives.
    #[test]
    fn web_mercator_by_formula_matches_proj() {
        let fast = Transformer::new(4326, 3857).unwrap();
        let back = Transformer::new(3857, 4326).unwrap();
        let mut slow = Transformer::new(4326, 3857).unwrap();
        slow.mercator = None;
        for (x, y) in [(-99.0, 31.5), (0.0, 0.0), (179.9, 85.0), (-73.98, 40.75)] {
            let c = Coord { x, y };
            let (a, b) = (fast.coord(c), slow.coord(c));
            assert!(
                (a.x - b.x).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6,
                "{a:?} {b:?}"
            );
            let r = back.coord(a);
            assert!((r.x - x).abs() < 1e-9 && (r.y - y).abs() < 1e-9, "{r:?}");
        }
    }
}
