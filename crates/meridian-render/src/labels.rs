//! Labels: gathered while features are drawn, then placed on top of every layer, highest
//! priority first, each where it overlaps no label placed before (with `spaceAround` kept
//! free) and fits inside the image; a point label may move up to `maxDisplacement` to find
//! room; `group` places a text once. A halo is the text's outline stroked under it.

use crate::color::Color;
use crate::rasterize::{Rasterizer, Rule};
use crate::text::{layout_cached, FaceData};
use std::sync::Arc;
use tiny_skia::{FillRule, Paint, Pixmap, Rect, Stroke, Transform};

/// Where a gathered label is anchored.
#[derive(Debug, Clone)]
pub(crate) enum Anchor {
    /// At a pixel: the label's anchor (0–1 across, 0–1 up) sits there, displaced and rotated.
    Point {
        x: f32,
        y: f32,
        anchor: (f32, f32),
        displacement: (f32, f32),
        rotation: f32,
    },
    /// Along a line given in pixels, at its middle.
    Line {
        points: Vec<(f32, f32)>,
        offset: f32,
    },
}

/// A label waiting to be placed.
#[derive(Clone)]
pub(crate) struct Label {
    pub text: String,
    pub face: Arc<FaceData>,
    pub size: f32,
    pub fill: Color,
    pub halo: Option<(f32, Color)>,
    pub anchor: Anchor,
    pub priority: f64,
    pub group: bool,
    pub space_around: f32,
    pub max_displacement: f32,
    pub overlap: bool,
    /// Along a line: glyph by glyph through its bends (`followLine`), turning at most
    /// `max_angle_delta` degrees from one glyph to the next.
    pub follow_line: bool,
    pub max_angle_delta: f32,
    /// `autoWrap` (pixels, 0 = none) and `charSpacing` (pixels).
    pub wrap: f32,
    pub spacing: f32,
}

/// Where a label may go: the whole line of text by one transform, or glyph by glyph.
enum Spot {
    Whole(Transform),
    Glyphs(Vec<(usize, Transform)>),
}

/// Place and draw `labels` (in the order given, but higher priorities first).
pub(crate) fn draw_labels(
    pixmap: &mut Pixmap,
    labels: Vec<Label>,
    antialias: bool,
    raster: &mut Rasterizer,
) {
    let mut labels = merge_grouped_lines(labels);
    // Stable: equal priorities keep the order the features came in.
    labels.sort_by(|a, b| {
        b.priority
            .partial_cmp(&a.priority)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let (w, h) = (pixmap.width() as f32, pixmap.height() as f32);
    let mut placed: Vec<Rect> = Vec::new();
    let mut grouped: std::collections::HashSet<String> = std::collections::HashSet::new();
    for l in labels {
        if l.group && grouped.contains(&l.text) {
            continue;
        }
        let Some(line) = layout_cached(&l.face, &l.text, l.size, l.wrap, l.spacing) else {
            continue;
        };
        let height = line.ascent + line.descent;
        let candidates: Vec<Spot> = match &l.anchor {
            Anchor::Point {
                x,
                y,
                anchor,
                displacement,
                rotation,
            } => {
                let mut v = Vec::new();
                let mut offsets = vec![(0.0f32, 0.0f32)];
                if l.max_displacement > 0.0 {
                    let step = l.size.max(4.0);
                    let mut r = step;
                    while r <= l.max_displacement {
                        for k in 0..8 {
                            let a = std::f32::consts::FRAC_PI_4 * k as f32;
                            offsets.push((r * a.cos(), r * a.sin()));
                        }
                        r += step;
                    }
                }
                for (ox, oy) in offsets {
                    // The anchor in the label's own coordinates (baseline at y 0, y down).
                    let ax = anchor.0 * line.width;
                    let ay = line.descent - anchor.1 * height;
                    let t = Transform::from_translate(-ax, -ay)
                        .post_rotate(*rotation)
                        .post_translate(x + displacement.0 + ox, y - displacement.1 + oy);
                    v.push(Spot::Whole(t));
                }
                v
            }
            Anchor::Line { points, offset } if l.follow_line => {
                follow(points, &line, *offset, l.max_angle_delta)
                    .map(Spot::Glyphs)
                    .into_iter()
                    .collect()
            }
            Anchor::Line { points, offset } => match along(points, line.width) {
                Some((mx, my, angle)) => {
                    let (s, c) = angle.to_radians().sin_cos();
                    // Left of the line's direction is (s, -c) in pixels (y down).
                    let (px, py) = (mx + s * offset, my - c * offset);
                    vec![Spot::Whole(
                        Transform::from_translate(-line.width / 2.0, height / 2.0 - line.descent)
                            .post_rotate(angle)
                            .post_translate(px, py),
                    )]
                }
                None => Vec::new(),
            },
        };
        let pad = l.space_around.max(0.0);
        let padded = |path: &tiny_skia::Path, t: Transform| {
            let b = path.clone().transform(t)?.bounds();
            Rect::from_ltrb(
                b.left() - pad,
                b.top() - pad,
                b.right() + pad,
                b.bottom() + pad,
            )
        };
        for spot in candidates {
            // The boxes the label takes (one per glyph when it follows a line).
            let areas: Option<Vec<Rect>> = match &spot {
                Spot::Whole(t) => padded(&line.path, *t).map(|r| vec![r]),
                Spot::Glyphs(g) => g
                    .iter()
                    .filter_map(|(i, t)| {
                        let path = line.glyphs[*i].path.as_ref()?;
                        Some(padded(path, *t))
                    })
                    .collect(),
            };
            let Some(areas) = areas else { continue };
            let inside = areas.iter().all(|a| {
                a.left() + pad >= 0.0
                    && a.top() + pad >= 0.0
                    && a.right() - pad <= w
                    && a.bottom() - pad <= h
            });
            if !inside || areas.is_empty() {
                continue;
            }
            if !l.overlap
                && l.space_around >= 0.0
                && areas
                    .iter()
                    .any(|a| placed.iter().any(|p| p.intersect(a).is_some()))
            {
                continue;
            }
            let pieces: Vec<(&tiny_skia::Path, Transform)> = match &spot {
                Spot::Whole(t) => vec![(&line.path, *t)],
                Spot::Glyphs(g) => g
                    .iter()
                    .filter_map(|(i, t)| Some((line.glyphs[*i].path.as_ref()?, *t)))
                    .collect(),
            };
            if let Some((radius, color)) = l.halo {
                let stroke = Stroke {
                    width: radius * 2.0,
                    line_join: tiny_skia::LineJoin::Round,
                    ..Stroke::default()
                };
                for (path, t) in &pieces {
                    if antialias && stroke.width > 0.0 {
                        raster.stroke_at(pixmap, path, &stroke, color, *t);
                    } else {
                        let mut paint = Paint::default();
                        paint.set_color(color.skia());
                        paint.anti_alias = antialias;
                        pixmap.stroke_path(path, &paint, &stroke, *t, None);
                    }
                }
            }
            for (path, t) in &pieces {
                if antialias {
                    raster.fill_at(pixmap, path, l.fill, Rule::NonZero, *t);
                } else {
                    let mut paint = Paint::default();
                    paint.set_color(l.fill.skia());
                    paint.anti_alias = antialias;
                    pixmap.fill_path(path, &paint, FillRule::Winding, *t, None);
                }
            }
            placed.extend(areas);
            if l.group {
                grouped.insert(l.text.clone());
            }
            break;
        }
    }
}

/// Grouped line labels of one text become one label on each chain of their lines joined end
/// to end (a street's segments, one feature each, read as the street), longest chain first:
/// GeoServer's `group` on lines. Other labels pass unchanged.
fn merge_grouped_lines(labels: Vec<Label>) -> Vec<Label> {
    use std::collections::HashMap;
    let mut out = Vec::with_capacity(labels.len());
    let mut groups: HashMap<String, Vec<Label>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for l in labels {
        if l.group && matches!(l.anchor, Anchor::Line { .. }) {
            let e = groups.entry(l.text.clone()).or_default();
            if e.is_empty() {
                order.push(l.text.clone());
            }
            e.push(l);
        } else {
            out.push(l);
        }
    }
    for text in order {
        let Some(members) = groups.remove(&text) else {
            continue;
        };
        let lines: Vec<Vec<(f32, f32)>> = members
            .iter()
            .filter_map(|l| match &l.anchor {
                Anchor::Line { points, .. } if points.len() >= 2 => Some(points.clone()),
                _ => None,
            })
            .collect();
        let mut chains = chain(lines);
        let len = |p: &[(f32, f32)]| -> f32 {
            p.windows(2)
                .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
                .sum()
        };
        chains.sort_by(|a, b| {
            len(b)
                .partial_cmp(&len(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let Some(first) = members.into_iter().next() else {
            continue;
        };
        let offset = match &first.anchor {
            Anchor::Line { offset, .. } => *offset,
            Anchor::Point { .. } => 0.0,
        };
        // One label per group, tried on each chain from the longest (the placement loop
        // takes the first that fits and skips the rest of the group).
        for points in chains {
            out.push(Label {
                anchor: Anchor::Line { points, offset },
                ..first.clone()
            });
        }
    }
    out
}

/// Polylines joined where one ends at another's start or end (within half a pixel).
fn chain(mut lines: Vec<Vec<(f32, f32)>>) -> Vec<Vec<(f32, f32)>> {
    use std::collections::HashMap;
    let key = |p: (f32, f32)| ((p.0 * 2.0).round() as i64, (p.1 * 2.0).round() as i64);
    // Endpoints → lines ending there.
    let mut ends: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if let (Some(a), Some(b)) = (l.first(), l.last()) {
            ends.entry(key(*a)).or_default().push(i);
            ends.entry(key(*b)).or_default().push(i);
        }
    }
    let mut used = vec![false; lines.len()];
    let mut out = Vec::new();
    for start in 0..lines.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut current = std::mem::take(&mut lines[start]);
        // Grow at the end, then at the start.
        for _ in 0..2 {
            while let Some(&tail) = current.last() {
                let next = ends
                    .get(&key(tail))
                    .and_then(|v| v.iter().copied().find(|&j| !used[j]));
                let Some(j) = next else { break };
                used[j] = true;
                let mut other = std::mem::take(&mut lines[j]);
                if other.first().map(|p| key(*p)) != Some(key(tail)) {
                    other.reverse();
                }
                current.extend(other.into_iter().skip(1));
            }
            current.reverse();
        }
        out.push(current);
    }
    out
}

/// The point `at` pixels along a polyline and the direction there (degrees).
fn point_along(points: &[(f32, f32)], at: f32) -> Option<(f32, f32, f32)> {
    let mut left = at;
    let mut last = None;
    for w in points.windows(2) {
        let d = ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
        if d <= 0.0 {
            continue;
        }
        let angle = (w[1].1 - w[0].1).atan2(w[1].0 - w[0].0).to_degrees();
        if left <= d {
            let f = left / d;
            return Some((
                w[0].0 + (w[1].0 - w[0].0) * f,
                w[0].1 + (w[1].1 - w[0].1) * f,
                angle,
            ));
        }
        left -= d;
        last = Some((w[1].0, w[1].1, angle));
    }
    last
}

/// A label's glyphs placed one by one along the middle of a line, each upright on the line
/// where its centre falls, reading left to right; none when the line is too short or bends
/// more than `max_delta` degrees between two glyphs.
fn follow(
    points: &[(f32, f32)],
    line: &crate::text::TextLine,
    offset: f32,
    max_delta: f32,
) -> Option<Vec<(usize, Transform)>> {
    let seg = |a: (f32, f32), b: (f32, f32)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let total: f32 = points.windows(2).map(|w| seg(w[0], w[1])).sum();
    if total < line.width || total <= 0.0 {
        return None;
    }
    let start = (total - line.width) / 2.0;
    // Read left to right: walk the line the other way when the label's stretch runs
    // leftwards.
    let reversed: Vec<(f32, f32)>;
    let points = {
        let a = point_along(points, start)?;
        let b = point_along(points, start + line.width)?;
        if b.0 < a.0 {
            reversed = points.iter().rev().copied().collect();
            &reversed[..]
        } else {
            points
        }
    };
    let height = line.ascent + line.descent;
    let mut out = Vec::with_capacity(line.glyphs.len());
    let mut previous: Option<f32> = None;
    for (i, g) in line.glyphs.iter().enumerate() {
        let (x, y, angle) = point_along(points, start + g.x + g.advance / 2.0)?;
        if let Some(p) = previous {
            let mut d = (angle - p).abs() % 360.0;
            if d > 180.0 {
                d = 360.0 - d;
            }
            if d > max_delta {
                return None;
            }
        }
        previous = Some(angle);
        let (s, c) = angle.to_radians().sin_cos();
        let (px, py) = (x + s * offset, y - c * offset);
        out.push((
            i,
            Transform::from_translate(-g.advance / 2.0, height / 2.0 - line.descent)
                .post_rotate(angle)
                .post_translate(px, py),
        ));
    }
    Some(out)
}

/// The middle of a polyline at least `width` long: the point half way along it and the
/// angle of the segment there (degrees, turned so text reads left to right).
fn along(points: &[(f32, f32)], width: f32) -> Option<(f32, f32, f32)> {
    let seg = |a: (f32, f32), b: (f32, f32)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let total: f32 = points.windows(2).map(|w| seg(w[0], w[1])).sum();
    if total < width || total <= 0.0 {
        return None;
    }
    let mut left = total / 2.0;
    for w in points.windows(2) {
        let d = seg(w[0], w[1]);
        if d > 0.0 && left <= d {
            let f = left / d;
            let (x, y) = (
                w[0].0 + (w[1].0 - w[0].0) * f,
                w[0].1 + (w[1].1 - w[0].1) * f,
            );
            let mut angle = (w[1].1 - w[0].1).atan2(w[1].0 - w[0].0).to_degrees();
            if angle > 90.0 {
                angle -= 180.0;
            } else if angle < -90.0 {
                angle += 180.0;
            }
            return Some((x, y, angle));
        }
        left -= d;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn label(text: &str, x: f32, y: f32, priority: f64) -> Label {
        Label {
            text: text.into(),
            face: crate::text::face(&["DejaVu Sans".into()], false, false)
                .expect("no font installed: install fonts-dejavu-core"),
            size: 14.0,
            fill: Color::BLACK,
            halo: None,
            anchor: Anchor::Point {
                x,
                y,
                anchor: (0.5, 0.5),
                displacement: (0.0, 0.0),
                rotation: 0.0,
            },
            priority,
            group: false,
            space_around: 0.0,
            max_displacement: 0.0,
            overlap: false,
            follow_line: false,
            max_angle_delta: 22.5,
            wrap: 0.0,
            spacing: 0.0,
        }
    }

    fn inked(p: &Pixmap) -> usize {
        p.pixels().iter().filter(|c| c.alpha() > 128).count()
    }

    #[test]
    fn labels_never_overlap_and_the_higher_priority_wins() {
        let mut one = Pixmap::new(200, 100).unwrap();
        draw_labels(
            &mut one,
            vec![label("Texas", 100.0, 50.0, 0.0)],
            true,
            &mut Rasterizer::default(),
        );
        let alone = inked(&one);
        assert!(alone > 50, "the label is drawn: {alone}");
        // A second label on the same spot is left out.
        let mut two = Pixmap::new(200, 100).unwrap();
        draw_labels(
            &mut two,
            vec![
                label("Texas", 100.0, 50.0, 0.0),
                label("Texas", 104.0, 52.0, 0.0),
            ],
            true,
            &mut Rasterizer::default(),
        );
        assert_eq!(inked(&two), alone);
        // The higher priority is placed first, whatever the order.
        let mut p = Pixmap::new(200, 100).unwrap();
        draw_labels(
            &mut p,
            vec![
                label("a", 100.0, 50.0, 1.0),
                label("WWWW", 100.0, 50.0, 5.0),
            ],
            true,
            &mut Rasterizer::default(),
        );
        let mut w = Pixmap::new(200, 100).unwrap();
        draw_labels(
            &mut w,
            vec![label("WWWW", 100.0, 50.0, 0.0)],
            true,
            &mut Rasterizer::default(),
        );
        assert_eq!(inked(&p), inked(&w));
        // A label that would leave the image is not drawn.
        let mut edge = Pixmap::new(200, 100).unwrap();
        draw_labels(
            &mut edge,
            vec![label("Texas", 2.0, 50.0, 0.0)],
            true,
            &mut Rasterizer::default(),
        );
        assert_eq!(inked(&edge), 0);
    }

    #[test]
    fn a_line_label_follows_the_line_and_a_short_line_gets_none() {
        let line = |points: Vec<(f32, f32)>| Label {
            anchor: Anchor::Line {
                points,
                offset: 0.0,
            },
            ..label("Main St", 0.0, 0.0, 0.0)
        };
        let mut p = Pixmap::new(200, 200).unwrap();
        draw_labels(
            &mut p,
            vec![line(vec![(20.0, 20.0), (180.0, 180.0)])],
            true,
            &mut Rasterizer::default(),
        );
        // Ink along the diagonal, none in the far corners.
        assert!(inked(&p) > 50);
        assert!(p.pixel(100, 100).is_some());
        let corner = (150..200).flat_map(|x| (0..50).map(move |y| (x, y)));
        assert!(corner
            .into_iter()
            .all(|(x, y)| p.pixel(x, y).unwrap().alpha() == 0));
        let mut short = Pixmap::new(200, 200).unwrap();
        draw_labels(
            &mut short,
            vec![line(vec![(90.0, 90.0), (100.0, 100.0)])],
            true,
            &mut Rasterizer::default(),
        );
        assert_eq!(inked(&short), 0);
    }

    #[test]
    fn a_label_that_follows_a_line_bends_with_it_and_refuses_sharp_turns() {
        let follow = |points: Vec<(f32, f32)>| Label {
            anchor: Anchor::Line {
                points,
                offset: 0.0,
            },
            follow_line: true,
            ..label("Broadway Avenue", 0.0, 0.0, 0.0)
        };
        // An arc: a quarter of a circle of radius 150 px, its top at (200, 30).
        let arc: Vec<(f32, f32)> = (0..=40)
            .map(|i| {
                let a = (45.0 + 90.0 * i as f32 / 40.0).to_radians();
                (200.0 - 150.0 * a.cos(), 180.0 - 150.0 * a.sin())
            })
            .collect();
        let mut p = Pixmap::new(400, 200).unwrap();
        draw_labels(
            &mut p,
            vec![follow(arc.clone())],
            true,
            &mut Rasterizer::default(),
        );
        assert!(inked(&p) > 100);
        // The ends of the text sit lower than its middle, as the arc does (by about 12 px
        // 60 px from the top).
        let ink_height = |x0: u32, x1: u32| {
            let ys: Vec<u32> = (x0..x1)
                .flat_map(|x| (0..200).map(move |y| (x, y)))
                .filter(|&(x, y)| p.pixel(x, y).unwrap().alpha() > 128)
                .map(|(_, y)| y)
                .collect();
            ys.iter().sum::<u32>() / ys.len().max(1) as u32
        };
        let (left, middle) = (ink_height(140, 160), ink_height(190, 210));
        p.save_png(std::env::temp_dir().join("meridian-follow-line.png"))
            .unwrap();
        assert!(left > middle + 3, "left {left}, middle {middle}");
        // The same arc drawn right to left still reads left to right (same ink).
        let mut back = Pixmap::new(400, 200).unwrap();
        let reversed: Vec<_> = arc.iter().rev().copied().collect();
        draw_labels(
            &mut back,
            vec![follow(reversed)],
            true,
            &mut Rasterizer::default(),
        );
        assert!((inked(&back) as i64 - inked(&p) as i64).abs() < inked(&p) as i64 / 20);
        // A right angle under the text: not placed.
        let mut corner = Pixmap::new(400, 200).unwrap();
        draw_labels(
            &mut corner,
            vec![follow(vec![(20.0, 150.0), (200.0, 150.0), (200.0, 0.0)])],
            true,
            &mut Rasterizer::default(),
        );
        assert_eq!(inked(&corner), 0);
    }

    #[test]
    fn auto_wrap_breaks_long_labels_into_centred_lines_and_char_spacing_widens_them() {
        let extent = |p: &Pixmap| {
            let ink: Vec<(u32, u32)> = (0..p.width())
                .flat_map(|x| (0..p.height()).map(move |y| (x, y)))
                .filter(|&(x, y)| p.pixel(x, y).unwrap().alpha() > 128)
                .collect();
            let xs = ink.iter().map(|i| i.0);
            let ys = ink.iter().map(|i| i.1);
            (
                xs.clone().max().unwrap() - xs.min().unwrap(),
                ys.clone().max().unwrap() - ys.min().unwrap(),
            )
        };
        let draw = |wrap: f32, spacing: f32| {
            let mut p = Pixmap::new(400, 200).unwrap();
            let l = Label {
                wrap,
                spacing,
                ..label("United States of America", 200.0, 100.0, 0.0)
            };
            draw_labels(&mut p, vec![l], true, &mut Rasterizer::default());
            extent(&p)
        };
        let (one_w, one_h) = draw(0.0, 0.0);
        let (w, h) = draw(100.0, 0.0);
        assert!(w <= 100 && w < one_w / 2 + 20, "{w} vs {one_w}");
        assert!(h > one_h * 2, "{h} vs {one_h}: several lines");
        let (spaced, _) = draw(0.0, 2.0);
        assert!(spaced >= one_w + 40, "{spaced} vs {one_w}");
    }

    #[test]
    fn grouped_line_labels_join_the_segments_of_one_street() {
        let part = |points: Vec<(f32, f32)>, group: bool| Label {
            anchor: Anchor::Line {
                points,
                offset: 0.0,
            },
            group,
            ..label("Main St", 0.0, 0.0, 0.0)
        };
        // Three pieces of 40 pixels, the middle one drawn backwards: each too short for the
        // text, together long enough.
        let pieces = |group: bool| {
            vec![
                part(vec![(20.0, 50.0), (60.0, 50.0)], group),
                part(vec![(100.0, 50.0), (60.0, 50.0)], group),
                part(vec![(100.0, 50.0), (140.0, 50.0)], group),
            ]
        };
        let mut alone = Pixmap::new(200, 100).unwrap();
        draw_labels(&mut alone, pieces(false), true, &mut Rasterizer::default());
        assert_eq!(inked(&alone), 0);
        let mut grouped = Pixmap::new(200, 100).unwrap();
        draw_labels(&mut grouped, pieces(true), true, &mut Rasterizer::default());
        assert!(inked(&grouped) > 50);
        let chains = chain(vec![
            vec![(0.0, 0.0), (1.0, 0.0)],
            vec![(2.0, 0.0), (1.0, 0.0)],
            vec![(5.0, 5.0), (6.0, 6.0)],
        ]);
        assert_eq!(chains.len(), 2);
        assert_eq!(chains[0].len(), 3);
    }
}
