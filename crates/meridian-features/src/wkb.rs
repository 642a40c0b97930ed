//! Well-known binary geometries (ISO and EWKB), as GeoPackage blobs and PostGIS hold them.

use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};

/// Parse plain WKB (ISO or EWKB dimensions; an EWKB SRID is skipped).
pub fn parse_wkb(b: &[u8]) -> Option<Geometry<f64>> {
    Wkb { b, pos: 0 }.geometry(0)
}

struct Wkb<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Wkb<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn u32(&mut self, le: bool) -> Option<u32> {
        let s: [u8; 4] = self.b.get(self.pos..self.pos + 4)?.try_into().ok()?;
        self.pos += 4;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }
    fn f64(&mut self, le: bool) -> Option<f64> {
        let s: [u8; 8] = self.b.get(self.pos..self.pos + 8)?.try_into().ok()?;
        self.pos += 8;
        Some(if le {
            f64::from_le_bytes(s)
        } else {
            f64::from_be_bytes(s)
        })
    }
    fn coord(&mut self, le: bool, dims: usize) -> Option<Coord<f64>> {
        let x = self.f64(le)?;
        let y = self.f64(le)?;
        for _ in 2..dims {
            self.f64(le)?;
        }
        Some(Coord { x, y })
    }
    fn ring(&mut self, le: bool, dims: usize) -> Option<LineString<f64>> {
        let n = self.u32(le)? as usize;
        if n > self.b.len() {
            return None;
        }
        (0..n)
            .map(|_| self.coord(le, dims))
            .collect::<Option<Vec<_>>>()
            .map(LineString)
    }
    fn polygon(&mut self, le: bool, dims: usize) -> Option<Polygon<f64>> {
        let n = self.u32(le)? as usize;
        if n > self.b.len() {
            return None;
        }
        let mut rings = (0..n)
            .map(|_| self.ring(le, dims))
            .collect::<Option<Vec<_>>>()?
            .into_iter();
        let ext = rings.next().unwrap_or_else(|| LineString(vec![]));
        Some(Polygon::new(ext, rings.collect()))
    }
    fn geometry(&mut self, depth: usize) -> Option<Geometry<f64>> {
        if depth > 16 {
            return None;
        }
        let le = self.u8()? == 1;
        let mut t = self.u32(le)?;
        if t & 0x2000_0000 != 0 {
            self.u32(le)?; // EWKB SRID
            t &= !0x2000_0000;
        }
        let (base, dims) = match t {
            t if t > 3000 => (t - 3000, 4),
            t if t > 2000 => (t - 2000, 3),
            t if t > 1000 => (t - 1000, 3),
            t if t & 0x8000_0000 != 0 || t & 0x4000_0000 != 0 => (
                t & 0xFFFF,
                2 + usize::from(t & 0x8000_0000 != 0) + usize::from(t & 0x4000_0000 != 0),
            ),
            t => (t, 2),
        };
        let count = |w: &mut Self| -> Option<usize> {
            let n = w.u32(le)? as usize;
            (n <= w.b.len()).then_some(n)
        };
        Some(match base {
            1 => Geometry::Point(Point(self.coord(le, dims)?)),
            2 => Geometry::LineString(self.ring(le, dims)?),
            3 => Geometry::Polygon(self.polygon(le, dims)?),
            4 => {
                let n = count(self)?;
                let pts = (0..n)
                    .map(|_| match self.geometry(depth + 1)? {
                        Geometry::Point(p) => Some(p),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Geometry::MultiPoint(MultiPoint(pts))
            }
            5 => {
                let n = count(self)?;
                let ls = (0..n)
                    .map(|_| match self.geometry(depth + 1)? {
                        Geometry::LineString(l) => Some(l),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Geometry::MultiLineString(MultiLineString(ls))
            }
            6 => {
                let n = count(self)?;
                let ps = (0..n)
                    .map(|_| match self.geometry(depth + 1)? {
                        Geometry::Polygon(p) => Some(p),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                Geometry::MultiPolygon(MultiPolygon(ps))
            }
            7 => {
                let n = count(self)?;
                let gs = (0..n)
                    .map(|_| self.geometry(depth + 1))
                    .collect::<Option<Vec<_>>>()?;
                Geometry::GeometryCollection(geo_types::GeometryCollection(gs))
            }
            _ => return None,
        })
    }
}

/// A geometry as little-endian ISO WKB, two dimensions (a `Rect` or `Triangle` as its
/// polygon, a `Line` as its line string).
pub fn to_wkb(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::new();
    write_geometry(g, &mut out);
    out
}

fn head(kind: u32, out: &mut Vec<u8>) {
    out.push(1);
    out.extend_from_slice(&kind.to_le_bytes());
}

fn count_of(n: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn points(cs: &[Coord<f64>], out: &mut Vec<u8>) {
    count_of(cs.len(), out);
    for c in cs {
        out.extend_from_slice(&c.x.to_le_bytes());
        out.extend_from_slice(&c.y.to_le_bytes());
    }
}

fn polygon_body(p: &Polygon<f64>, out: &mut Vec<u8>) {
    count_of(1 + p.interiors().len(), out);
    points(&p.exterior().0, out);
    for r in p.interiors() {
        points(&r.0, out);
    }
}

fn write_geometry(g: &Geometry<f64>, out: &mut Vec<u8>) {
    match g {
        Geometry::Point(p) => {
            head(1, out);
            out.extend_from_slice(&p.x().to_le_bytes());
            out.extend_from_slice(&p.y().to_le_bytes());
        }
        Geometry::Line(l) => {
            head(2, out);
            points(&[l.start, l.end], out);
        }
        Geometry::LineString(l) => {
            head(2, out);
            points(&l.0, out);
        }
        Geometry::Polygon(p) => {
            head(3, out);
            polygon_body(p, out);
        }
        Geometry::Rect(r) => write_geometry(&Geometry::Polygon(r.to_polygon()), out),
        Geometry::Triangle(t) => write_geometry(&Geometry::Polygon(t.to_polygon()), out),
        Geometry::MultiPoint(m) => {
            head(4, out);
            count_of(m.0.len(), out);
            for p in &m.0 {
                write_geometry(&Geometry::Point(*p), out);
            }
        }
        Geometry::MultiLineString(m) => {
            head(5, out);
            count_of(m.0.len(), out);
            for l in &m.0 {
                head(2, out);
                points(&l.0, out);
            }
        }
        Geometry::MultiPolygon(m) => {
            head(6, out);
            count_of(m.0.len(), out);
            for p in &m.0 {
                head(3, out);
                polygon_body(p, out);
            }
        }
        Geometry::GeometryCollection(c) => {
            head(7, out);
            count_of(c.0.len(), out);
            for g in &c.0 {
                write_geometry(g, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn written_wkb_reads_back() {
        let g: Geometry<f64> = Geometry::MultiPolygon(MultiPolygon(vec![Polygon::new(
            LineString::from(vec![(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 0.0)]),
            vec![LineString::from(vec![
                (0.5, 0.5),
                (1.0, 0.5),
                (1.0, 1.0),
                (0.5, 0.5),
            ])],
        )]));
        assert_eq!(parse_wkb(&to_wkb(&g)), Some(g));
        let p = Geometry::Point(Point::new(1.5, -2.0));
        assert_eq!(parse_wkb(&to_wkb(&p)), Some(p));
    }
}
