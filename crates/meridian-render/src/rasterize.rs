//! Filling paths with a solid colour by exact area coverage: every edge adds, to the cells of
//! the rows it crosses, the signed area it covers; a running sum along each row is then each
//! pixel's winding, already antialiased. One pass per path with no supersampling and no edge
//! sort, which is what a map's thousands of polygons and stroked lines need. Pattern paints,
//! hairlines and aliased drawing stay with tiny-skia.

use crate::color::Color;
use tiny_skia::{Path, PathSegment, PathStroker, Pixmap, Stroke, Transform};

/// How overlapping contours combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Covered where the winding is odd (polygons and their holes, as GeoServer fills them).
    EvenOdd,
    /// Covered where the winding is not zero (stroke outlines, which overlap themselves).
    NonZero,
}

/// Curves are flattened to within this many pixels.
const TOLERANCE: f32 = 0.1;

/// The coverage accumulator of one canvas, reused from path to path.
pub(crate) struct Rasterizer {
    stroker: PathStroker,
    width: usize,
    height: usize,
    /// `(width + 2) × height` cells of signed area.
    cells: Vec<f32>,
    /// Per row, the first and one past the last cell touched (empty when `lo >= hi`).
    rows: Vec<(u32, u32)>,
    /// Per row, `words` words of bits: the cells an edge touched. Between two touched cells
    /// the coverage is constant, so pixels are drawn in runs.
    touched: Vec<u64>,
    words: usize,
    /// Rows touched: `top..bottom`.
    top: usize,
    bottom: usize,
    /// The start and the current point of the contour being added.
    start: (f32, f32),
    at: (f32, f32),
}

impl Default for Rasterizer {
    fn default() -> Rasterizer {
        Rasterizer {
            stroker: PathStroker::new(),
            width: 0,
            height: 0,
            cells: Vec::new(),
            rows: Vec::new(),
            touched: Vec::new(),
            words: 0,
            top: 0,
            bottom: 0,
            start: (0.0, 0.0),
            at: (0.0, 0.0),
        }
    }
}

impl Rasterizer {
    fn stride(&self) -> usize {
        self.width + 2
    }

    /// Size the accumulator for a `width × height` canvas (cleared).
    fn fit(&mut self, width: usize, height: usize) {
        if self.width != width || self.height != height {
            self.width = width;
            self.height = height;
            let n = (width + 2) * height;
            self.cells = SPARE
                .with(|s| s.borrow_mut().take())
                .filter(|c| c.len() >= n)
                .map(|mut c| {
                    c.truncate(n);
                    c
                })
                .unwrap_or_else(|| vec![0.0; n]);
            self.rows = vec![(u32::MAX, 0); height];
            self.words = (width + 2).div_ceil(64);
            self.touched = vec![0; self.words * height];
            self.top = height;
            self.bottom = 0;
        }
    }

    /// Fill `path` on `pixmap` with `color` under `rule`.
    pub(crate) fn fill(&mut self, pixmap: &mut Pixmap, path: &Path, color: Color, rule: Rule) {
        self.fill_at(pixmap, path, color, rule, Transform::identity());
    }

    /// Fill `path` placed on the canvas by `t`.
    pub(crate) fn fill_at(
        &mut self,
        pixmap: &mut Pixmap,
        path: &Path,
        color: Color,
        rule: Rule,
        t: Transform,
    ) {
        self.fit(pixmap.width() as usize, pixmap.height() as usize);
        self.add_path(path, t);
        self.composite(pixmap, color, rule);
    }

    /// Stroke `path` on `pixmap` with `color`: its outline (dashed first when the stroke
    /// has dashes) filled under the non-zero rule, so that a line crossing itself is drawn
    /// once.
    pub(crate) fn stroke(
        &mut self,
        pixmap: &mut Pixmap,
        path: &Path,
        stroke: &Stroke,
        color: Color,
    ) {
        self.stroke_at(pixmap, path, stroke, color, Transform::identity());
    }

    /// Stroke `path` placed on the canvas by `t` (a rotation, a translation, no scaling:
    /// the stroke's width is in pixels).
    pub(crate) fn stroke_at(
        &mut self,
        pixmap: &mut Pixmap,
        path: &Path,
        stroke: &Stroke,
        color: Color,
        t: Transform,
    ) {
        self.fit(pixmap.width() as usize, pixmap.height() as usize);
        self.outline(path, stroke, t);
        self.composite(pixmap, color, Rule::NonZero);
    }

    /// Add the outline of `path` stroked by `stroke` without drawing it yet: many lines
    /// added before one [`Rasterizer::composite`] are drawn as one shape (every outline
    /// the stroker makes winds the same way, so overlaps count once).
    pub(crate) fn add_stroke(&mut self, pixmap: &Pixmap, path: &Path, stroke: &Stroke) {
        self.fit(pixmap.width() as usize, pixmap.height() as usize);
        self.outline(path, stroke, Transform::identity());
    }

    fn outline(&mut self, path: &Path, stroke: &Stroke, t: Transform) {
        let dashed;
        let path = match &stroke.dash {
            Some(d) => match path.dash(d, 1.0) {
                Some(p) => {
                    dashed = p;
                    &dashed
                }
                None => return,
            },
            None => path,
        };
        if let Some(outline) = self.stroker.stroke(path, stroke, 1.0) {
            self.add_path(&outline, t);
        }
    }

    fn add_path(&mut self, path: &Path, t: Transform) {
        let mut open = false;
        let identity = t.is_identity();
        let map = |p: tiny_skia::Point| {
            if identity {
                p
            } else {
                tiny_skia::Point::from_xy(
                    t.sx * p.x + t.kx * p.y + t.tx,
                    t.ky * p.x + t.sy * p.y + t.ty,
                )
            }
        };
        for seg in path.segments() {
            let seg = match seg {
                PathSegment::MoveTo(p) => PathSegment::MoveTo(map(p)),
                PathSegment::LineTo(p) => PathSegment::LineTo(map(p)),
                PathSegment::QuadTo(c, p) => PathSegment::QuadTo(map(c), map(p)),
                PathSegment::CubicTo(a, b, p) => PathSegment::CubicTo(map(a), map(b), map(p)),
                PathSegment::Close => PathSegment::Close,
            };
            match seg {
                PathSegment::MoveTo(p) => {
                    if open {
                        self.close();
                    }
                    self.start = (p.x, p.y);
                    self.at = self.start;
                    open = true;
                }
                PathSegment::LineTo(p) => self.line_to((p.x, p.y)),
                PathSegment::QuadTo(c, p) => {
                    let (p0, c, p) = (self.at, (c.x, c.y), (p.x, p.y));
                    let dd = len(p0.0 - 2.0 * c.0 + p.0, p0.1 - 2.0 * c.1 + p.1);
                    let n = steps(dd * 0.25);
                    for i in 1..=n {
                        let t = i as f32 / n as f32;
                        let u = 1.0 - t;
                        self.line_to((
                            u * u * p0.0 + 2.0 * u * t * c.0 + t * t * p.0,
                            u * u * p0.1 + 2.0 * u * t * c.1 + t * t * p.1,
                        ));
                    }
                }
                PathSegment::CubicTo(c1, c2, p) => {
                    let (p0, c1, c2, p) = (self.at, (c1.x, c1.y), (c2.x, c2.y), (p.x, p.y));
                    let dd = len(p0.0 - 2.0 * c1.0 + c2.0, p0.1 - 2.0 * c1.1 + c2.1)
                        .max(len(c1.0 - 2.0 * c2.0 + p.0, c1.1 - 2.0 * c2.1 + p.1));
                    let n = steps(dd * 0.75);
                    for i in 1..=n {
                        let t = i as f32 / n as f32;
                        let u = 1.0 - t;
                        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                        self.line_to((
                            a * p0.0 + b * c1.0 + c * c2.0 + d * p.0,
                            a * p0.1 + b * c1.1 + c * c2.1 + d * p.1,
                        ));
                    }
                }
                PathSegment::Close => {
                    self.close();
                    open = false;
                }
            }
        }
        if open {
            self.close();
        }
    }

    fn close(&mut self) {
        let start = self.start;
        self.line_to(start);
    }

    fn line_to(&mut self, p: (f32, f32)) {
        let from = self.at;
        self.at = p;
        self.line(from, p);
    }

    /// Add the edge `a → b`, cut where it leaves the canvas's columns: what lies left of the
    /// canvas winds the whole row as an edge on its left border would, what lies right of it
    /// winds nothing visible.
    fn line(&mut self, a: (f32, f32), b: (f32, f32)) {
        if !(a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite()) {
            return;
        }
        let w = self.width as f32;
        if (0.0..=w).contains(&a.0) && (0.0..=w).contains(&b.0) {
            self.edge(a, b);
            return;
        }
        // The parameters where the edge crosses x = 0 and x = w, in order.
        let mut cuts = [0.0f32, 1.0, 1.0, 1.0];
        let mut n = 1;
        if a.0 != b.0 {
            for edge_x in [0.0, w] {
                let t = (edge_x - a.0) / (b.0 - a.0);
                if t > 0.0 && t < 1.0 {
                    cuts[n] = t;
                    n += 1;
                }
            }
        }
        cuts[n] = 1.0;
        cuts[..=n].sort_by(f32::total_cmp);
        let at = |t: f32| ((a.0 + (b.0 - a.0) * t).clamp(0.0, w), a.1 + (b.1 - a.1) * t);
        for i in 0..n {
            self.edge(at(cuts[i]), at(cuts[i + 1]));
        }
    }

    /// Add an edge whose x lies within the canvas.
    fn edge(&mut self, p0: (f32, f32), p1: (f32, f32)) {
        if p0.1 == p1.1 {
            return;
        }
        let (dir, p0, p1) = if p0.1 < p1.1 {
            (1.0, p0, p1)
        } else {
            (-1.0, p1, p0)
        };
        let h = self.height as f32;
        let (ys, ye) = (p0.1.max(0.0), p1.1.min(h));
        if ys >= ye {
            return;
        }
        let w = self.width as f32;
        let dxdy = (p1.0 - p0.0) / (p1.1 - p0.1);
        let mut x = (p0.0 + (ys - p0.1) * dxdy).clamp(0.0, w);
        let y1 = {
            let t = ye as usize;
            (t + usize::from((t as f32) < ye)).min(self.height)
        };
        let y0 = ys as usize;
        self.top = self.top.min(y0);
        self.bottom = self.bottom.max(y1);
        let stride = self.stride();
        for y in y0..y1 {
            let dy = ((y + 1) as f32).min(ye) - (y as f32).max(ys);
            let xnext = (x + dxdy * dy).clamp(0.0, w);
            let d = dy * dir;
            let (xa, xb) = if x < xnext { (x, xnext) } else { (xnext, x) };
            let row = &mut self.cells[y * stride..(y + 1) * stride];
            // x ≥ 0 here: truncation is the floor (and cheaper than a call to floorf).
            let ia = xa as usize;
            let xa_floor = ia as f32;
            let ib = {
                let t = xb as usize;
                t + usize::from((t as f32) < xb)
            };
            let xb_ceil = ib as f32;
            let span = &mut self.rows[y];
            span.0 = span.0.min(ia as u32);
            span.1 = span.1.max((ib + 2).min(stride) as u32);
            let words = self.words;
            mark(
                &mut self.touched[y * words..(y + 1) * words],
                ia,
                ib.max(ia + 1),
            );
            if ib <= ia + 1 {
                // Within one column: the part right of the edge's middle.
                let xm = 0.5 * (x + xnext) - xa_floor;
                row[ia] += d - d * xm;
                row[ia + 1] += d * xm;
            } else {
                let s = (xb - xa).recip();
                let fa = xa - xa_floor;
                let a0 = 0.5 * s * (1.0 - fa) * (1.0 - fa);
                let fb = xb - xb_ceil + 1.0;
                let am = 0.5 * s * fb * fb;
                row[ia] += d * a0;
                if ib == ia + 2 {
                    row[ia + 1] += d * (1.0 - a0 - am);
                } else {
                    let a1 = s * (1.5 - fa);
                    row[ia + 1] += d * (a1 - a0);
                    for c in &mut row[ia + 2..ib - 1] {
                        *c += d * s;
                    }
                    let a2 = a1 + (ib - ia - 3) as f32 * s;
                    row[ib - 1] += d * (1.0 - a2 - am);
                }
                row[ib] += d * am;
            }
            x = xnext;
        }
    }

    /// Blend `color` by each pixel's coverage of what was added, and clear the accumulator.
    pub(crate) fn composite(&mut self, pixmap: &mut Pixmap, color: Color, rule: Rule) {
        let sa = u32::from(color.a);
        // The colour premultiplied, packed as the pixmap's bytes are (R, G, B, A).
        let src = u32::from_le_bytes([
            mul(u32::from(color.r), sa) as u8,
            mul(u32::from(color.g), sa) as u8,
            mul(u32::from(color.b), sa) as u8,
            sa as u8,
        ]);
        let cover = |sum: f32| -> u32 {
            let a = sum.abs();
            let c = match rule {
                Rule::NonZero => a.min(1.0),
                Rule::EvenOdd => {
                    // a mod 2 (a ≥ 0: truncation is the floor).
                    let m = a - 2.0 * ((a * 0.5) as u32 as f32);
                    m.min(2.0 - m)
                }
            };
            (c * 255.0 + 0.5) as u32
        };
        let (width, stride, words) = (self.width, self.stride(), self.words);
        let data = pixmap.data_mut();
        for y in self.top..self.bottom {
            let (lo, hi) = std::mem::replace(&mut self.rows[y], (u32::MAX, 0));
            if lo >= hi {
                continue;
            }
            let cells = &mut self.cells[y * stride..(y + 1) * stride];
            let bits = &mut self.touched[y * words..(y + 1) * words];
            let line = &mut data[y * width * 4..(y + 1) * width * 4];
            let mut sum = 0.0f32;
            // The run of constant coverage `k` starting at pixel `from`.
            let (mut from, mut k) = (0usize, 0u32);
            for (wi, word) in bits
                .iter_mut()
                .enumerate()
                .take(hi as usize / 64 + 1)
                .skip(lo as usize / 64)
            {
                let mut b = std::mem::take(word);
                while b != 0 {
                    let c = wi * 64 + b.trailing_zeros() as usize;
                    b &= b - 1;
                    blend_run(line, from, c.min(width), src, k);
                    sum += cells[c];
                    cells[c] = 0.0;
                    (from, k) = (c, cover(sum));
                }
            }
            blend_run(line, from, (from + 1).min(width), src, k);
        }
        self.top = self.height;
        self.bottom = 0;
    }
}

/// Blend the premultiplied `src` at coverage `k` (0–255) over pixels `from..to` of `line`.
fn blend_run(line: &mut [u8], from: usize, to: usize, src: u32, k: u32) {
    if k == 0 || from >= to {
        return;
    }
    let s = if k >= 255 { src } else { mul4(src, k) };
    let keep = 255 - (s >> 24);
    let pixels = line[from * 4..to * 4].chunks_exact_mut(4);
    if keep == 0 {
        let bytes = s.to_le_bytes();
        for px in pixels {
            px.copy_from_slice(&bytes);
        }
        return;
    }
    for px in pixels {
        let d = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
        px.copy_from_slice(&(s + mul4(d, keep)).to_le_bytes());
    }
}

/// Set bits `from..=to` of a row's touched-cell words.
fn mark(words: &mut [u64], from: usize, to: usize) {
    let (wa, wb) = (from / 64, to / 64);
    let head = u64::MAX << (from % 64);
    let tail = u64::MAX >> (63 - to % 64);
    if wa == wb {
        words[wa] |= head & tail;
        return;
    }
    words[wa] |= head;
    for w in &mut words[wa + 1..wb] {
        *w = u64::MAX;
    }
    words[wb] |= tail;
}

/// Each byte of `x` times `k / 255`, rounded (two bytes per multiplication).
fn mul4(x: u32, k: u32) -> u32 {
    let rb = (x & 0x00FF_00FF) * k + 0x0080_0080;
    let rb = ((rb + ((rb >> 8) & 0x00FF_00FF)) >> 8) & 0x00FF_00FF;
    let ag = ((x >> 8) & 0x00FF_00FF) * k + 0x0080_0080;
    let ag = (ag + ((ag >> 8) & 0x00FF_00FF)) & 0xFF00_FF00;
    rb | ag
}

thread_local! {
    /// The cells of the last rasterizer dropped on this thread, all zero: a thread draws one
    /// map after another, and zeroing megabytes per map shows in the profile.
    static SPARE: std::cell::RefCell<Option<Vec<f32>>> = const { std::cell::RefCell::new(None) };
}

/// Cells larger than this are not kept for the next map.
const SPARE_MAX: usize = 1 << 20;

impl Drop for Rasterizer {
    fn drop(&mut self) {
        let mut cells = std::mem::take(&mut self.cells);
        if cells.is_empty() || cells.len() > SPARE_MAX {
            return;
        }
        // Outlines added but never drawn (an abandoned map) leave cells to clear.
        if self.top < self.bottom {
            let stride = self.stride();
            cells[self.top * stride..self.bottom * stride].fill(0.0);
        }
        SPARE.with(|s| *s.borrow_mut() = Some(cells));
    }
}

/// `a × b / 255`, rounded.
fn mul(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    (t + (t >> 8)) >> 8
}

fn len(x: f32, y: f32) -> f32 {
    (x * x + y * y).sqrt()
}

/// Line segments for a curve whose control polygon bends by `bend` pixels.
fn steps(bend: f32) -> usize {
    let n = (bend / TOLERANCE).sqrt().ceil();
    if n.is_finite() {
        (n as usize).clamp(1, 64)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::PathBuilder;

    fn alpha(p: &Pixmap, x: u32, y: u32) -> u8 {
        p.pixel(x, y).map(|c| c.alpha()).unwrap_or(0)
    }

    #[test]
    fn a_rectangle_covers_its_pixels_and_halves_its_edges() {
        let mut p = Pixmap::new(10, 10).unwrap();
        let path = PathBuilder::from_rect(tiny_skia::Rect::from_ltrb(2.0, 2.0, 6.5, 7.0).unwrap());
        Rasterizer::default().fill(&mut p, &path, Color::BLACK, Rule::EvenOdd);
        assert_eq!(alpha(&p, 3, 3), 255);
        assert_eq!(alpha(&p, 1, 3), 0);
        assert_eq!(alpha(&p, 6, 3), 128);
        assert_eq!(alpha(&p, 7, 3), 0);
        assert_eq!(alpha(&p, 3, 7), 0);
    }

    #[test]
    fn holes_stay_empty_under_even_odd_and_overlaps_count_once_under_non_zero() {
        let mut b = PathBuilder::new();
        b.push_rect(tiny_skia::Rect::from_ltrb(0.0, 0.0, 10.0, 10.0).unwrap());
        b.push_rect(tiny_skia::Rect::from_ltrb(3.0, 3.0, 7.0, 7.0).unwrap());
        let path = b.finish().unwrap();
        let mut r = Rasterizer::default();
        let mut p = Pixmap::new(10, 10).unwrap();
        r.fill(&mut p, &path, Color::BLACK, Rule::EvenOdd);
        assert_eq!(alpha(&p, 5, 5), 0);
        assert_eq!(alpha(&p, 1, 5), 255);
        let mut p = Pixmap::new(10, 10).unwrap();
        let half = Color::BLACK.with_opacity(0.5);
        r.fill(&mut p, &path, half, Rule::NonZero);
        assert_eq!(alpha(&p, 5, 5), alpha(&p, 1, 5));
    }

    #[test]
    fn shapes_beyond_the_canvas_are_cut_at_its_border() {
        let mut p = Pixmap::new(8, 8).unwrap();
        let mut b = PathBuilder::new();
        b.move_to(-100.0, -50.0);
        b.line_to(4.0, -50.0);
        b.line_to(4.0, 1e6);
        b.line_to(-100.0, 1e6);
        b.close();
        Rasterizer::default().fill(&mut p, &b.finish().unwrap(), Color::BLACK, Rule::EvenOdd);
        assert_eq!(alpha(&p, 0, 0), 255);
        assert_eq!(alpha(&p, 3, 7), 255);
        assert_eq!(alpha(&p, 4, 4), 0);
        let mut b = PathBuilder::new();
        b.move_to(-5.0, 2.0);
        b.line_to(20.0, 2.0);
        b.line_to(20.0, f32::NAN);
        let mut p = Pixmap::new(8, 8).unwrap();
        if let Some(path) = b.finish() {
            Rasterizer::default().fill(&mut p, &path, Color::BLACK, Rule::NonZero);
        }
    }

    #[test]
    fn rings_of_either_orientation_stroked_together_keep_their_shared_border() {
        let mut b = PathBuilder::new();
        // Clockwise and anticlockwise squares sharing the edge x = 10.
        for (xs, ys) in [
            ([2.0, 10.0, 10.0, 2.0], [2.0, 2.0, 12.0, 12.0]),
            ([10.0, 10.0, 18.0, 18.0], [2.0, 12.0, 12.0, 2.0]),
        ] {
            b.move_to(xs[0], ys[0]);
            for i in 1..4 {
                b.line_to(xs[i], ys[i]);
            }
            b.close();
        }
        let path = b.finish().unwrap();
        let stroke = Stroke {
            width: 3.0,
            ..Stroke::default()
        };
        let mut p = Pixmap::new(20, 14).unwrap();
        let mut r = Rasterizer::default();
        r.add_stroke(&p, &path, &stroke);
        r.composite(&mut p, Color::BLACK, Rule::NonZero);
        assert_eq!(alpha(&p, 10, 7), 255, "the shared border");
        assert_eq!(alpha(&p, 2, 7), 255);
        assert_eq!(alpha(&p, 17, 7), 255);
        assert_eq!(alpha(&p, 6, 7), 0);
        assert_eq!(alpha(&p, 14, 7), 0);
    }

    #[test]
    fn packed_blending_rounds_as_one_byte_at_a_time() {
        for x in [0u32, 1, 127, 128, 254, 255] {
            for k in [0u32, 1, 128, 254, 255] {
                let packed = u32::from_le_bytes([x as u8, (255 - x) as u8, (x / 2) as u8, x as u8]);
                let want = [mul(x, k), mul(255 - x, k), mul(x / 2, k), mul(x, k)];
                assert_eq!(mul4(packed, k).to_le_bytes(), want.map(|v| v as u8));
            }
        }
    }

    #[test]
    fn a_circle_matches_its_area() {
        let mut p = Pixmap::new(40, 40).unwrap();
        let path = PathBuilder::from_circle(20.0, 20.0, 15.0).unwrap();
        Rasterizer::default().fill(&mut p, &path, Color::BLACK, Rule::NonZero);
        let total: f64 = p
            .pixels()
            .iter()
            .map(|c| f64::from(c.alpha()) / 255.0)
            .sum();
        let area = std::f64::consts::PI * 225.0;
        assert!((total - area).abs() / area < 0.01, "{total} vs {area}");
    }
}
