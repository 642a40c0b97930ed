//! Comparing two maps as a person would: a pixel differs when no pixel within one pixel of
//! it in the other image has nearly its colour (antialiasing and half-pixel shifts are not
//! differences), plus the mean difference over every channel.

/// RGB pixels of a PNG: width, height, 3 bytes a pixel (alpha dropped).
pub fn rgb(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut r = d.read_info().expect("a PNG");
    let mut buf = vec![0; r.output_buffer_size().expect("a PNG's size")];
    let f = r.next_frame(&mut buf).expect("a PNG's pixels");
    let n = f.color_type.samples();
    let data = &buf[..f.buffer_size()];
    let px = data
        .chunks(n)
        .flat_map(|c| match n {
            4 | 3 => [c[0], c[1], c[2]],
            _ => [c[0], c[0], c[0]],
        })
        .collect();
    (f.width, f.height, px)
}

/// How two maps differ.
#[derive(Debug, Clone, Copy)]
pub struct Difference {
    /// Share of pixels with no close colour within one pixel in the other image.
    pub far: f64,
    /// Mean absolute difference per channel (0–255).
    pub mean: f64,
    /// Share of the first image's pixels that are not near white (a blank pair compares
    /// equal; callers check the maps show something).
    pub inked: f64,
}

/// Compare two PNGs of the same size (panics when the sizes differ).
pub fn compare(first: &[u8], second: &[u8]) -> Difference {
    let (w1, h1, a) = rgb(first);
    let (w2, h2, b) = rgb(second);
    assert_eq!((w1, h1), (w2, h2), "the maps' sizes differ");
    let pixels = (w1 * h1) as usize;
    let (w, h) = (i64::from(w1), i64::from(h1));
    let px = |img: &[u8], x: i64, y: i64| -> [u8; 3] {
        let i = ((y * w + x) * 3) as usize;
        [img[i], img[i + 1], img[i + 2]]
    };
    let close = |p: [u8; 3], q: [u8; 3]| p.iter().zip(q).all(|(x, y)| x.abs_diff(y) <= 48);
    let mut far = 0usize;
    let mut sum = 0u64;
    for y in 0..h {
        for x in 0..w {
            let (pa, pb) = (px(&a, x, y), px(&b, x, y));
            sum += pa
                .iter()
                .zip(pb)
                .map(|(p, q)| u64::from(p.abs_diff(q)))
                .sum::<u64>();
            let near = |img: &[u8], p: [u8; 3]| {
                (-1..=1).any(|dy| {
                    (-1..=1).any(|dx| {
                        let (nx, ny) = (x + dx, y + dy);
                        nx >= 0 && ny >= 0 && nx < w && ny < h && close(px(img, nx, ny), p)
                    })
                })
            };
            if !near(&b, pa) || !near(&a, pb) {
                far += 1;
            }
        }
    }
    let inked = a.chunks(3).filter(|p| p.iter().any(|v| *v < 230)).count();
    Difference {
        far: far as f64 / pixels.max(1) as f64,
        mean: sum as f64 / (pixels * 3).max(1) as f64,
        inked: inked as f64 / pixels.max(1) as f64,
    }
}
