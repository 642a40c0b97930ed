//! Geometry along lines in pixel space: a line moved sideways (SLD's `PerpendicularOffset`)
//! and the places a graphic stroke puts its symbol.

use tiny_skia::{Path, PathBuilder, PathSegment};

/// The polylines of a path (built from lines only: curves are taken by their end points).
fn polylines(path: &Path) -> Vec<(Vec<(f32, f32)>, bool)> {
    let mut out: Vec<(Vec<(f32, f32)>, bool)> = Vec::new();
    for seg in path.segments() {
        match seg {
            PathSegment::MoveTo(p) => out.push((vec![(p.x, p.y)], false)),
            PathSegment::LineTo(p) | PathSegment::QuadTo(_, p) | PathSegment::CubicTo(_, _, p) => {
                if let Some((pts, _)) = out.last_mut() {
                    if pts.last() != Some(&(p.x, p.y)) {
                        pts.push((p.x, p.y));
                    }
                }
            }
            PathSegment::Close => {
                if let Some((pts, closed)) = out.last_mut() {
                    *closed = true;
                    if pts.len() > 1 && pts.first() == pts.last() {
                        pts.pop();
                    }
                }
            }
        }
    }
    out
}

/// The unit normal on the left of `a → b` as the map shows it (pixel y grows downwards).
fn left_normal(a: (f32, f32), b: (f32, f32)) -> Option<(f32, f32)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    (len > 1e-6).then(|| (dy / len, -dx / len))
}

/// `path` moved `d` pixels to the left of its direction (right when negative), as
/// GeoServer's perpendicular offset: each segment moved, consecutive ones joined where they
/// meet (bevelled where the corner is sharper than a miter of four times `d`).
pub(crate) fn offset(path: &Path, d: f32) -> Option<Path> {
    let mut b = PathBuilder::new();
    for (pts, closed) in polylines(path) {
        let n = pts.len();
        if n < 2 {
            continue;
        }
        let segs: Vec<usize> = if closed {
            (0..n).collect()
        } else {
            (0..n - 1).collect()
        };
        let normals: Vec<Option<(f32, f32)>> = segs
            .iter()
            .map(|&i| left_normal(pts[i], pts[(i + 1) % n]))
            .collect();
        let moved = |i: usize, k: usize| -> Option<(f32, f32)> {
            let (nx, ny) = normals[k]?;
            Some((pts[i].0 + nx * d, pts[i].1 + ny * d))
        };
        let mut out: Vec<(f32, f32)> = Vec::new();
        for (k, &i) in segs.iter().enumerate() {
            let j = (i + 1) % n;
            let (Some(a), Some(bb)) = (moved(i, k), moved(j, k)) else {
                continue;
            };
            if out.is_empty() {
                out.push(a);
            } else {
                // Join with the previous moved segment: where the two lines cross.
                let last = out.len() - 1;
                let prev_start = out[last.saturating_sub(1)];
                let prev_end = out[last];
                match cross(prev_start, prev_end, a, bb) {
                    Some(p) if dist(p, pts[i]) <= 4.0 * d.abs() => out[last] = p,
                    _ => out.push(a),
                }
            }
            out.push(bb);
        }
        if let Some(first) = out.first().copied() {
            b.move_to(first.0, first.1);
            for p in &out[1..] {
                b.line_to(p.0, p.1);
            }
            if closed {
                b.close();
            }
        }
    }
    b.finish()
}

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// Where the lines through `a1 a2` and `b1 b2` cross (none when nearly parallel).
fn cross(a1: (f32, f32), a2: (f32, f32), b1: (f32, f32), b2: (f32, f32)) -> Option<(f32, f32)> {
    let (r, s) = ((a2.0 - a1.0, a2.1 - a1.1), (b2.0 - b1.0, b2.1 - b1.1));
    let den = r.0 * s.1 - r.1 * s.0;
    if den.abs() < 1e-6 * (r.0.hypot(r.1) * s.0.hypot(s.1)).max(1e-12) {
        return None;
    }
    let t = ((b1.0 - a1.0) * s.1 - (b1.1 - a1.1) * s.0) / den;
    Some((a1.0 + t * r.0, a1.1 + t * r.1))
}

/// Points every `step` pixels along each polyline of `path`, the first `first` pixels in,
/// with the direction of the line there (degrees, clockwise on the map as tiny-skia turns).
/// At most `limit` points.
pub(crate) fn stations(path: &Path, first: f32, step: f32, limit: usize) -> Vec<(f32, f32, f32)> {
    let mut out = Vec::new();
    if !(step > 0.5 && step.is_finite()) {
        return out;
    }
    for (mut pts, closed) in polylines(path) {
        if closed {
            if let Some(p) = pts.first().copied() {
                pts.push(p);
            }
        }
        let mut next = first;
        let mut walked = 0.0f32;
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let len = dist(a, b);
            if len <= 0.0 {
                continue;
            }
            let angle = (b.1 - a.1).atan2(b.0 - a.0).to_degrees();
            while next <= walked + len {
                let t = (next - walked) / len;
                out.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, angle));
                if out.len() >= limit {
                    return out;
                }
                next += step;
            }
            walked += len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(pts: &[(f32, f32)]) -> Path {
        let mut b = PathBuilder::new();
        b.move_to(pts[0].0, pts[0].1);
        for p in &pts[1..] {
            b.line_to(p.0, p.1);
        }
        b.finish().unwrap()
    }

    fn points(p: &Path) -> Vec<(f32, f32)> {
        polylines(p).into_iter().flat_map(|(v, _)| v).collect()
    }

    #[test]
    fn an_offset_moves_the_line_to_its_left_and_meets_at_corners() {
        // Eastwards, then southwards (down the image).
        let p = offset(&line(&[(0.0, 10.0), (10.0, 10.0), (10.0, 20.0)]), 2.0).unwrap();
        let pts = points(&p);
        // Left of east is up the image (y − 2); left of south is east (x + 2).
        assert_eq!(pts[0], (0.0, 8.0));
        assert!(
            (pts[1].0 - 12.0).abs() < 1e-4 && (pts[1].1 - 8.0).abs() < 1e-4,
            "{pts:?}"
        );
        assert_eq!(pts[2], (12.0, 20.0));
        let right = points(&offset(&line(&[(0.0, 10.0), (10.0, 10.0)]), -3.0).unwrap());
        assert_eq!(right, vec![(0.0, 13.0), (10.0, 13.0)]);
    }

    #[test]
    fn stations_walk_the_line_at_even_steps_with_its_direction() {
        let s = stations(
            &line(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]),
            2.5,
            5.0,
            100,
        );
        let at: Vec<_> = s.iter().map(|p| (p.0, p.1, p.2)).collect();
        assert_eq!(
            at,
            vec![
                (2.5, 0.0, 0.0),
                (7.5, 0.0, 0.0),
                (10.0, 2.5, 90.0),
                (10.0, 7.5, 90.0)
            ]
        );
        assert_eq!(
            stations(&line(&[(0.0, 0.0), (1e9, 0.0)]), 0.0, 1.0, 10).len(),
            10
        );
        assert!(stations(&line(&[(0.0, 0.0), (10.0, 0.0)]), 0.0, 0.0, 10).is_empty());
    }
}
