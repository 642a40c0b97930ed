//! Well-known marks as paths of a given size, centred on the origin (y down): SLD's `square`,
//! `circle`, `triangle`, `star`, `cross`, `x`, and GeoServer's `shape://` marks, which are
//! strokes only (hatches are made of them).

use tiny_skia::{Path, PathBuilder};

/// Whether the mark is only stroked (GeoServer's `shape://` lines).
pub fn stroke_only(name: &str) -> bool {
    matches!(
        name,
        "shape://vertline"
            | "shape://horline"
            | "shape://slash"
            | "shape://backslash"
            | "shape://plus"
            | "shape://times"
            | "shape://oarrow"
    )
}

/// The outline of a `cross` mark `size` pixels wide: arms a third of the size thick.
fn cross(size: f32) -> [(f32, f32); 12] {
    let (h, t) = (size / 2.0, size / 6.0);
    [
        (-t, -h),
        (t, -h),
        (t, -t),
        (h, -t),
        (h, t),
        (t, t),
        (t, h),
        (-t, h),
        (-t, t),
        (-h, t),
        (-h, -t),
        (-t, -t),
    ]
}

/// The path of mark `name` at `size` pixels; `None` for a name Meridian does not know.
pub fn mark_path(name: &str, size: f32) -> Option<Path> {
    let h = size / 2.0;
    let mut b = PathBuilder::new();
    let poly = |b: &mut PathBuilder, pts: &[(f32, f32)]| {
        let mut it = pts.iter();
        if let Some(&(x, y)) = it.next() {
            b.move_to(x, y);
            for &(x, y) in it {
                b.line_to(x, y);
            }
            b.close();
        }
    };
    match name.trim().to_ascii_lowercase().as_str() {
        "square" => poly(&mut b, &[(-h, -h), (h, -h), (h, h), (-h, h)]),
        "circle" | "shape://dot" => {
            let r = if name.ends_with("dot") { size / 8.0 } else { h };
            b.push_circle(0.0, 0.0, r.max(0.25));
        }
        "triangle" => {
            // An equilateral triangle as wide as the size, pointing up.
            let t = size * 3f32.sqrt() / 4.0;
            poly(&mut b, &[(0.0, -t), (h, t), (-h, t)]);
        }
        "star" => {
            let mut pts = Vec::with_capacity(10);
            for i in 0..10 {
                let r = if i % 2 == 0 { h } else { h * 0.382 };
                let a = std::f32::consts::PI * (i as f32) / 5.0 - std::f32::consts::FRAC_PI_2;
                pts.push((r * a.cos(), r * a.sin()));
            }
            poly(&mut b, &pts);
        }
        "cross" => poly(&mut b, &cross(size)),
        "x" => {
            // The cross turned by 45 degrees.
            let c = std::f32::consts::FRAC_1_SQRT_2;
            let pts: Vec<(f32, f32)> = cross(size)
                .iter()
                .map(|&(x, y)| ((x - y) * c, (x + y) * c))
                .collect();
            poly(&mut b, &pts);
        }
        "arrow" | "shape://carrow" => poly(&mut b, &[(h, 0.0), (-h, -h * 0.5), (-h, h * 0.5)]),
        "shape://oarrow" => {
            b.move_to(-h, -h * 0.5);
            b.line_to(h, 0.0);
            b.line_to(-h, h * 0.5);
        }
        "shape://vertline" => {
            b.move_to(0.0, -h);
            b.line_to(0.0, h);
        }
        "shape://horline" => {
            b.move_to(-h, 0.0);
            b.line_to(h, 0.0);
        }
        "shape://slash" => {
            b.move_to(-h, h);
            b.line_to(h, -h);
        }
        "shape://backslash" => {
            b.move_to(-h, -h);
            b.line_to(h, h);
        }
        "shape://plus" => {
            b.move_to(0.0, -h);
            b.line_to(0.0, h);
            b.move_to(-h, 0.0);
            b.line_to(h, 0.0);
        }
        "shape://times" => {
            b.move_to(-h, -h);
            b.line_to(h, h);
            b.move_to(-h, h);
            b.line_to(h, -h);
        }
        _ => return None,
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_well_known_mark_has_a_path_of_its_size() {
        for name in [
            "square",
            "circle",
            "triangle",
            "star",
            "cross",
            "x",
            "arrow",
            "shape://vertline",
            "shape://horline",
            "shape://slash",
            "shape://backslash",
            "shape://dot",
            "shape://plus",
            "shape://times",
            "shape://oarrow",
            "shape://carrow",
        ] {
            let p = mark_path(name, 16.0).unwrap_or_else(|| panic!("{name}"));
            let b = p.bounds();
            assert!(b.width() <= 16.01 && b.height() <= 16.01, "{name}: {b:?}");
            assert!(b.width().max(b.height()) >= 2.0, "{name}: {b:?}");
        }
        assert!(mark_path("ttf://Webdings#0x64", 16.0).is_none());
    }
}
