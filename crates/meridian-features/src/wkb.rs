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
