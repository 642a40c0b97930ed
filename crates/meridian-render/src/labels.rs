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
}

/// Place and draw `labels` (in the order given, but higher priorities first).
pub(crate) fn draw_labels(
    pixmap: &mut Pixmap,
    mut labels: Vec<Label>,
    antialias: bool,
    raster: &mut Rasterizer,
) {
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
        let Some(line) = layout_cached(&l.face, &l.text, l.size) else {
            continue;
        };
        let height = line.ascent + line.descent;
        let candidates: Vec<Transform> = match &l.anchor {
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
                    v.push(t);
                }
                v
            }
            Anchor::Line { points, offset } => match along(points, line.width) {
                Some((mx, my, angle)) => {
                    let (s, c) = angle.to_radians().sin_cos();
                    // Left of the line's direction is (s, -c) in pixels (y down).
                    let (px, py) = (mx + s * offset, my - c * offset);
                    vec![
                        Transform::from_translate(-line.width / 2.0, height / 2.0 - line.descent)
                            .post_rotate(angle)
                            .post_translate(px, py),
                    ]
                }
                None => Vec::new(),
            },
        };
        for t in candidates {
            let Some(bounds) = line.path.clone().transform(t).map(|p| p.bounds()) else {
                continue;
            };
            let pad = l.space_around.max(0.0);
            let Some(area) = Rect::from_ltrb(
                bounds.left() - pad,
                bounds.top() - pad,
                bounds.right() + pad,
                bounds.bottom() + pad,
            ) else {
                continue;
            };
            let inside = bounds.left() >= 0.0
                && bounds.top() >= 0.0
                && bounds.right() <= w
                && bounds.bottom() <= h;
            if !inside {
                continue;
            }
            if !l.overlap
                && l.space_around >= 0.0
                && placed.iter().any(|p| p.intersect(&area).is_some())
            {
                continue;
            }
            if let Some((radius, color)) = l.halo {
                let stroke = Stroke {
                    width: radius * 2.0,
                    line_join: tiny_skia::LineJoin::Round,
                    ..Stroke::default()
                };
                if antialias && stroke.width > 0.0 {
                    raster.stroke_at(pixmap, &line.path, &stroke, color, t);
                } else {
                    let mut paint = Paint::default();
                    paint.set_color(color.skia());
                    paint.anti_alias = antialias;
                    pixmap.stroke_path(&line.path, &paint, &stroke, t, None);
                }
            }
            if antialias {
                raster.fill_at(pixmap, &line.path, l.fill, Rule::NonZero, t);
            } else {
                let mut paint = Paint::default();
                paint.set_color(l.fill.skia());
                paint.anti_alias = antialias;
                pixmap.fill_path(&line.path, &paint, FillRule::Winding, t, None);
            }
            placed.push(area);
            if l.group {
                grouped.insert(l.text.clone());
            }
            break;
        }
    }
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
}
