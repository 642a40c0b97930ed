//! Mapbox Vector Tiles (specification 2.1), written by hand: a tile of named layers, each of
//! features with a geometry in tile coordinates (0 to `extent`, y down) and attributes. The
//! caller gives geometries already in tile coordinates; [`LayerBuilder::add`] clips them to
//! the tile and its buffer, snaps them to the integer grid, drops what collapses, and encodes
//! them (rings wound as the specification asks).

use geo_types::{Coord, Geometry, LineString, Polygon};
use std::collections::HashMap;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum MvtValue {
    /// Text.
    String(String),
    /// A floating point number.
    Double(f64),
    /// A whole number.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl MvtValue {
    /// A key that tells values apart (for sharing them in the layer's value table).
    fn key(&self) -> (u8, String) {
        match self {
            MvtValue::String(s) => (0, s.clone()),
            MvtValue::Double(d) => (1, d.to_bits().to_string()),
            MvtValue::Int(i) => (2, i.to_string()),
            MvtValue::Bool(b) => (3, b.to_string()),
        }
    }
}

/// Protocol buffer writing.
mod pb {
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
        varint(out, (u64::from(field) << 3) | u64::from(wire));
    }

    pub fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
        key(out, field, 2);
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    pub fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
        key(out, field, 0);
        varint(out, v);
    }

    pub fn packed(out: &mut Vec<u8>, field: u32, vs: &[u32]) {
        let mut body = Vec::with_capacity(vs.len() * 2);
        for v in vs {
            varint(&mut body, u64::from(*v));
        }
        bytes(out, field, &body);
    }

    pub fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }
}

/// The geometry types of the specification.
const POINT: u64 = 1;
const LINESTRING: u64 = 2;
const POLYGON: u64 = 3;

/// One layer of a tile being built.
#[derive(Debug)]
pub struct LayerBuilder {
    name: String,
    extent: u32,
    buffer: f64,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<MvtValue>,
    value_index: HashMap<(u8, String), u32>,
    features: Vec<Vec<u8>>,
}

impl LayerBuilder {
    /// A layer `name` of a tile `extent` units wide, keeping geometry up to `buffer` units
    /// outside the tile.
    pub fn new(name: &str, extent: u32, buffer: u32) -> LayerBuilder {
        LayerBuilder {
            name: name.to_string(),
            extent,
            buffer: f64::from(buffer),
            keys: Vec::new(),
            key_index: HashMap::new(),
            values: Vec::new(),
            value_index: HashMap::new(),
            features: Vec::new(),
        }
    }

    /// How many features the layer holds.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the layer holds no feature.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Add a feature: its geometry in tile coordinates is clipped and encoded; a geometry
    /// that falls outside the tile and its buffer, or collapses, adds nothing. Returns whether
    /// the feature was added.
    pub fn add(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<f64>,
        attributes: &[(String, MvtValue)],
    ) -> bool {
        let lo = -self.buffer;
        let hi = f64::from(self.extent) + self.buffer;
        let Some((kind, commands)) = encode(geometry, lo, hi) else {
            return false;
        };
        let mut tags = Vec::with_capacity(attributes.len() * 2);
        for (k, v) in attributes {
            let ki = match self.key_index.get(k) {
                Some(i) => *i,
                None => {
                    let i = self.keys.len() as u32;
                    self.keys.push(k.clone());
                    self.key_index.insert(k.clone(), i);
                    i
                }
            };
            let vk = v.key();
            let vi = match self.value_index.get(&vk) {
                Some(i) => *i,
                None => {
                    let i = self.values.len() as u32;
                    self.values.push(v.clone());
                    self.value_index.insert(vk, i);
                    i
                }
            };
            tags.push(ki);
            tags.push(vi);
        }
        let mut f = Vec::new();
        if let Some(id) = id {
            pb::uint(&mut f, 1, id);
        }
        if !tags.is_empty() {
            pb::packed(&mut f, 2, &tags);
        }
        pb::uint(&mut f, 3, kind);
        pb::packed(&mut f, 4, &commands);
        self.features.push(f);
        true
    }

    /// The layer's bytes (field 3 of a tile).
    fn encode(&self) -> Vec<u8> {
        let mut l = Vec::new();
        pb::uint(&mut l, 15, 2);
        pb::bytes(&mut l, 1, self.name.as_bytes());
        for f in &self.features {
            pb::bytes(&mut l, 2, f);
        }
        for k in &self.keys {
            pb::bytes(&mut l, 3, k.as_bytes());
        }
        for v in &self.values {
            let mut b = Vec::new();
            match v {
                MvtValue::String(s) => pb::bytes(&mut b, 1, s.as_bytes()),
                MvtValue::Double(d) => {
                    pb::key(&mut b, 3, 1);
                    b.extend_from_slice(&d.to_le_bytes());
                }
                MvtValue::Int(i) => pb::uint(&mut b, 6, pb::zigzag(*i)),
                MvtValue::Bool(x) => pb::uint(&mut b, 7, u64::from(*x)),
            }
            pb::bytes(&mut l, 4, &b);
        }
        pb::uint(&mut l, 5, u64::from(self.extent));
        l
    }
}

/// A tile of layers (empty layers are left out).
pub fn tile(layers: &[LayerBuilder]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in layers.iter().filter(|l| !l.is_empty()) {
        pb::bytes(&mut out, 3, &l.encode());
    }
    out
}

/// Commands of a geometry, from the cursor's position.
struct Commands {
    out: Vec<u32>,
    at: (i64, i64),
}

impl Commands {
    fn command(&mut self, id: u32, count: usize) {
        self.out.push((id & 0x7) | ((count as u32) << 3));
    }

    fn point(&mut self, p: (i64, i64)) {
        self.out.push(pb::zigzag(p.0 - self.at.0) as u32);
        self.out.push(pb::zigzag(p.1 - self.at.1) as u32);
        self.at = p;
    }

    /// A line or ring of snapped points: MoveTo, LineTo the rest (, ClosePath).
    fn path(&mut self, pts: &[(i64, i64)], close: bool) {
        let Some(first) = pts.first() else { return };
        self.command(1, 1);
        self.point(*first);
        let rest = &pts[1..];
        if !rest.is_empty() {
            self.command(2, rest.len());
            for p in rest {
                self.point(*p);
            }
        }
        if close {
            self.command(7, 1);
        }
    }
}

fn snap(c: Coord<f64>) -> (i64, i64) {
    (c.x.round() as i64, c.y.round() as i64)
}

/// Consecutive duplicates removed.
fn dedup(mut pts: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    pts.dedup();
    pts
}

/// A polyline clipped to the square `[lo, hi]²`: the pieces inside.
fn clip_line(line: &LineString<f64>, lo: f64, hi: f64) -> Vec<Vec<Coord<f64>>> {
    let inside = |c: &Coord<f64>| c.x >= lo && c.x <= hi && c.y >= lo && c.y <= hi;
    let mut pieces = Vec::new();
    let mut current: Vec<Coord<f64>> = Vec::new();
    for seg in line.0.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        if let Some((p, q)) = clip_segment(a, b, lo, hi) {
            if current.last() != Some(&p) {
                if !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
                current.push(p);
            }
            current.push(q);
            if !inside(&b) {
                pieces.push(std::mem::take(&mut current));
            }
        } else if !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    if line.0.len() == 1 && inside(&line.0[0]) {
        pieces.push(vec![line.0[0]]);
    }
    pieces
}

/// A segment clipped to the square (Liang–Barsky).
fn clip_segment(
    a: Coord<f64>,
    b: Coord<f64>,
    lo: f64,
    hi: f64,
) -> Option<(Coord<f64>, Coord<f64>)> {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.x - lo),
        (dx, hi - a.x),
        (-dy, a.y - lo),
        (dy, hi - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    let at = |t: f64| Coord {
        x: a.x + t * dx,
        y: a.y + t * dy,
    };
    Some((at(t0), at(t1)))
}

/// A ring clipped to the square (Sutherland–Hodgman).
fn clip_ring(ring: &LineString<f64>, lo: f64, hi: f64) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.0.clone();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    type Edge = (
        fn(&Coord<f64>, f64) -> bool,
        fn(Coord<f64>, Coord<f64>, f64) -> Coord<f64>,
        f64,
    );
    let x_at = |a: Coord<f64>, b: Coord<f64>, x: f64| Coord {
        x,
        y: a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x),
    };
    let y_at = |a: Coord<f64>, b: Coord<f64>, y: f64| Coord {
        x: a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y),
        y,
    };
    let edges: [Edge; 4] = [
        (|c, v| c.x >= v, x_at, lo),
        (|c, v| c.x <= v, x_at, hi),
        (|c, v| c.y >= v, y_at, lo),
        (|c, v| c.y <= v, y_at, hi),
    ];
    for (keep, cut, v) in edges {
        if pts.is_empty() {
            break;
        }
        let input = std::mem::take(&mut pts);
        let mut prev = input[input.len() - 1];
        for cur in input {
            match (keep(&cur, v), keep(&prev, v)) {
                (true, true) => pts.push(cur),
                (true, false) => {
                    pts.push(cut(prev, cur, v));
                    pts.push(cur);
                }
                (false, true) => pts.push(cut(prev, cur, v)),
                (false, false) => {}
            }
            prev = cur;
        }
    }
    pts
}

/// Twice the signed area of a ring in tile coordinates (positive: clockwise on screen, the
/// specification's exterior winding with y down).
fn area2(pts: &[(i64, i64)]) -> i64 {
    let n = pts.len();
    (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

fn encode_polygon(p: &Polygon<f64>, lo: f64, hi: f64, c: &mut Commands) -> bool {
    let mut any = false;
    for (i, ring) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        let mut pts = dedup(clip_ring(ring, lo, hi).into_iter().map(snap).collect());
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        if pts.len() < 3 {
            if i == 0 {
                return false;
            }
            continue;
        }
        let a = area2(&pts);
        if a == 0 {
            if i == 0 {
                return false;
            }
            continue;
        }
        // Exterior rings positive (clockwise with y down), interior ones negative.
        if (i == 0) != (a > 0) {
            pts.reverse();
        }
        c.path(&pts, true);
        any = true;
    }
    any
}

/// The geometry type and commands of a geometry clipped to `[lo, hi]²`, if anything remains.
fn encode(g: &Geometry<f64>, lo: f64, hi: f64) -> Option<(u64, Vec<u32>)> {
    let mut c = Commands {
        out: Vec::new(),
        at: (0, 0),
    };
    let kind = match g {
        Geometry::Point(p) => {
            let (x, y) = (p.x(), p.y());
            if x < lo || x > hi || y < lo || y > hi {
                return None;
            }
            c.command(1, 1);
            c.point(snap(p.0));
            POINT
        }
        Geometry::MultiPoint(mp) => {
            let pts: Vec<(i64, i64)> =
                mp.0.iter()
                    .filter(|p| p.x() >= lo && p.x() <= hi && p.y() >= lo && p.y() <= hi)
                    .map(|p| snap(p.0))
                    .collect();
            if pts.is_empty() {
                return None;
            }
            c.command(1, pts.len());
            for p in pts {
                c.point(p);
            }
            POINT
        }
        Geometry::LineString(l) => {
            lines(std::slice::from_ref(l), lo, hi, &mut c);
            LINESTRING
        }
        Geometry::MultiLineString(ml) => {
            lines(&ml.0, lo, hi, &mut c);
            LINESTRING
        }
        Geometry::Polygon(p) => {
            encode_polygon(p, lo, hi, &mut c);
            POLYGON
        }
        Geometry::MultiPolygon(mp) => {
            for p in &mp.0 {
                encode_polygon(p, lo, hi, &mut c);
            }
            POLYGON
        }
        Geometry::GeometryCollection(gc) => {
            // The first member that leaves something.
            return gc.0.iter().find_map(|g| encode(g, lo, hi));
        }
        Geometry::Rect(r) => return encode(&Geometry::Polygon(r.to_polygon()), lo, hi),
        Geometry::Triangle(t) => return encode(&Geometry::Polygon(t.to_polygon()), lo, hi),
        Geometry::Line(l) => {
            return encode(
                &Geometry::LineString(LineString::new(vec![l.start, l.end])),
                lo,
                hi,
            )
        }
    };
    (!c.out.is_empty()).then_some((kind, c.out))
}

fn lines(ls: &[LineString<f64>], lo: f64, hi: f64, c: &mut Commands) {
    for l in ls {
        for piece in clip_line(l, lo, hi) {
            let pts = dedup(piece.into_iter().map(snap).collect());
            if pts.len() >= 2 {
                c.path(&pts, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{line_string, point, polygon};

    #[test]
    fn the_specifications_examples_encode_as_it_shows() {
        // Point (25, 17): MoveTo(1), 50, 34.
        let (k, c) = encode(&Geometry::Point(point!(x: 25.0, y: 17.0)), -64.0, 4160.0).unwrap();
        assert_eq!((k, c), (POINT, vec![9, 50, 34]));
        // LineString (2,2) (2,10) (10,10): 9 4 4 18 0 16 16 0.
        let l = line_string![(x: 2.0, y: 2.0), (x: 2.0, y: 10.0), (x: 10.0, y: 10.0)];
        let (k, c) = encode(&Geometry::LineString(l), -64.0, 4160.0).unwrap();
        assert_eq!((k, c), (LINESTRING, vec![9, 4, 4, 18, 0, 16, 16, 0]));
        // Polygon (3,6) (8,12) (20,34): 9 6 12 18 10 12 24 44 15.
        let p = polygon![(x: 3.0, y: 6.0), (x: 8.0, y: 12.0), (x: 20.0, y: 34.0), (x: 3.0, y: 6.0)];
        let (k, c) = encode(&Geometry::Polygon(p), -64.0, 4160.0).unwrap();
        assert_eq!((k, c), (POLYGON, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]));
    }

    #[test]
    fn geometry_is_clipped_to_the_tile_and_its_buffer() {
        let far = Geometry::Point(point!(x: 9000.0, y: 10.0));
        assert!(encode(&far, -64.0, 4160.0).is_none());
        // A square larger than the tile becomes the buffered tile.
        let big = polygon![(x: -1000.0, y: -1000.0), (x: 5000.0, y: -1000.0), (x: 5000.0, y: 5000.0), (x: -1000.0, y: 5000.0), (x: -1000.0, y: -1000.0)];
        let (_, c) = encode(&Geometry::Polygon(big), -64.0, 4160.0).unwrap();
        // MoveTo a corner, 3 LineTo the others, ClosePath: the buffered tile's square.
        assert_eq!(c.len(), 11);
        assert_eq!((c[0], c[3], c[10]), (9, 2 | (3 << 3), 15));
        let unzig = |v: u32| ((v >> 1) as i64) ^ -((v & 1) as i64);
        let (mut x, mut y, mut corners) = (0, 0, Vec::new());
        for i in [1, 4, 6, 8] {
            x += unzig(c[i]);
            y += unzig(c[i + 1]);
            corners.push((x, y));
        }
        corners.sort();
        assert_eq!(
            corners,
            vec![(-64, -64), (-64, 4160), (4160, -64), (4160, 4160)]
        );
        // A line crossing the tile keeps its inside piece.
        let l = line_string![(x: -500.0, y: 100.0), (x: 5000.0, y: 100.0)];
        let (_, c) = encode(&Geometry::LineString(l), 0.0, 4096.0).unwrap();
        assert_eq!(c, vec![9, 0, 200, 10, 8192, 0]);
    }

    #[test]
    fn a_tile_holds_its_layers_with_shared_keys_and_values() {
        let mut l = LayerBuilder::new("states", 4096, 64);
        let tx = [
            ("name".to_string(), MvtValue::String("Texas".into())),
            ("pop".to_string(), MvtValue::Int(20)),
        ];
        assert!(l.add(Some(1), &Geometry::Point(point!(x: 1.0, y: 1.0)), &tx));
        assert!(l.add(Some(2), &Geometry::Point(point!(x: 2.0, y: 2.0)), &tx));
        assert!(!l.add(Some(3), &Geometry::Point(point!(x: -900.0, y: 2.0)), &tx));
        assert_eq!(l.len(), 2);
        assert_eq!((l.keys.len(), l.values.len()), (2, 2));
        let bytes = tile(&[l, LayerBuilder::new("empty", 4096, 64)]);
        // One layer (field 3, length-delimited), named "states".
        assert_eq!(bytes[0], 0x1a);
        assert!(bytes.windows(6).any(|w| w == b"states"));
        assert!(!bytes.windows(5).any(|w| w == b"empty"));
    }
}
