//! Well-known text, for filter literals (ECQL) and SQL push-down.

use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};

fn coords(l: &LineString<f64>) -> String {
    l.0.iter()
        .map(|c| format!("{} {}", c.x, c.y))
        .collect::<Vec<_>>()
        .join(", ")
}

fn poly(p: &Polygon<f64>) -> String {
    let mut v = vec![format!("({})", coords(p.exterior()))];
    v.extend(p.interiors().iter().map(|r| format!("({})", coords(r))));
    format!("({})", v.join(", "))
}

/// A geometry as WKT.
pub fn to_wkt(g: &Geometry<f64>) -> String {
    match g {
        Geometry::Point(p) => format!("POINT({} {})", p.x(), p.y()),
        Geometry::LineString(l) => format!("LINESTRING({})", coords(l)),
        Geometry::Polygon(p) => format!("POLYGON{}", poly(p)),
        Geometry::MultiPoint(m) => format!(
            "MULTIPOINT({})",
            m.0.iter()
                .map(|p| format!("({} {})", p.x(), p.y()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Geometry::MultiLineString(m) => format!(
            "MULTILINESTRING({})",
            m.0.iter()
                .map(|l| format!("({})", coords(l)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Geometry::MultiPolygon(m) => format!(
            "MULTIPOLYGON({})",
            m.0.iter().map(poly).collect::<Vec<_>>().join(", ")
        ),
        Geometry::Rect(r) => to_wkt(&Geometry::Polygon(r.to_polygon())),
        Geometry::Line(l) => to_wkt(&Geometry::LineString(LineString(vec![l.start, l.end]))),
        Geometry::Triangle(t) => to_wkt(&Geometry::Polygon(t.to_polygon())),
        Geometry::GeometryCollection(c) => format!(
            "GEOMETRYCOLLECTION({})",
            c.0.iter().map(to_wkt).collect::<Vec<_>>().join(", ")
        ),
    }
}

struct W<'a> {
    s: &'a [u8],
    i: usize,
}

impl W<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn word(&mut self) -> String {
        self.ws();
        let st = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[st..self.i]).to_ascii_uppercase()
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at {}", c as char, self.i))
        }
    }
    fn peek(&mut self, c: u8) -> bool {
        self.ws();
        self.s.get(self.i) == Some(&c)
    }
    fn num(&mut self) -> Result<f64, String> {
        self.ws();
        let st = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_digit() || b"+-.eE".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[st..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("expected a number at {st}"))
    }
    fn coord(&mut self) -> Result<Coord<f64>, String> {
        let x = self.num()?;
        let y = self.num()?;
        while !self.peek(b',') && !self.peek(b')') {
            self.num()?; // z, m
        }
        Ok(Coord { x, y })
    }
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.eat(b'(')?;
        let mut v = vec![item(self)?];
        while self.peek(b',') {
            self.i += 1;
            v.push(item(self)?);
        }
        self.eat(b')')?;
        Ok(v)
    }
    fn ring(&mut self) -> Result<LineString<f64>, String> {
        Ok(LineString(self.list(Self::coord)?))
    }
    fn polygon(&mut self) -> Result<Polygon<f64>, String> {
        let mut rings = self.list(Self::ring)?.into_iter();
        let ext = rings.next().unwrap_or_else(|| LineString(vec![]));
        Ok(Polygon::new(ext, rings.collect()))
    }
    fn geometry(&mut self) -> Result<Geometry<f64>, String> {
        let w = self.word();
        for z in ["Z", "M", "ZM"] {
            let save = self.i;
            if self.word() != z {
                self.i = save;
            }
        }
        Ok(match w.as_str() {
            "POINT" => {
                self.eat(b'(')?;
                let c = self.coord()?;
                self.eat(b')')?;
                Geometry::Point(Point(c))
            }
            "LINESTRING" => Geometry::LineString(self.ring()?),
            "POLYGON" => Geometry::Polygon(self.polygon()?),
            "MULTIPOINT" => Geometry::MultiPoint(MultiPoint(self.list(|w| {
                if w.peek(b'(') {
                    w.eat(b'(')?;
                    let c = w.coord()?;
                    w.eat(b')')?;
                    Ok(Point(c))
                } else {
                    Ok(Point(w.coord()?))
                }
            })?)),
            "MULTILINESTRING" => Geometry::MultiLineString(MultiLineString(self.list(Self::ring)?)),
            "MULTIPOLYGON" => Geometry::MultiPolygon(MultiPolygon(self.list(Self::polygon)?)),
            other => return Err(format!("unsupported WKT geometry '{other}'")),
        })
    }
}

/// Parse WKT; returns the geometry and the bytes consumed.
pub fn parse_wkt(s: &str) -> Result<(Geometry<f64>, usize), String> {
    let mut w = W {
        s: s.as_bytes(),
        i: 0,
    };
    let g = w.geometry()?;
    Ok((g, w.i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for t in [
            "POINT(1 2)",
            "LINESTRING(0 0, 1 1)",
            "POLYGON((0 0, 1 0, 1 1, 0 0))",
            "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))",
        ] {
            let (g, n) = parse_wkt(t).unwrap();
            assert_eq!(n, t.len());
            assert_eq!(to_wkt(&g), t);
        }
        assert!(parse_wkt("POINT(1)").is_err());
        assert!(parse_wkt("CIRCLE(1 2)").is_err());
    }
}
