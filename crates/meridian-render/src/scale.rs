//! The scale denominator of a map, as GeoServer computes it by default (the OGC way): the
//! map's ground width over its width on a screen of 0.28 mm pixels (90.71 DPI), with degrees
//! taken as 6378137 × 2π / 360 metres.

/// Metres in one degree on the OGC's sphere.
const METRES_PER_DEGREE: f64 = 6_378_137.0 * 2.0 * std::f64::consts::PI / 360.0;

/// The OGC's standard rendering pixel: 0.28 mm.
const STANDARD_DPI: f64 = 25.4 / 0.28;

/// The scale denominator of a map `ground_width` wide (map units: degrees when `geographic`,
/// else metres) drawn `pixels` wide at `dpi` (the standard 90.71 when `None`).
pub fn scale_denominator(
    ground_width: f64,
    geographic: bool,
    pixels: u32,
    dpi: Option<f64>,
) -> f64 {
    let metres = if geographic {
        ground_width * METRES_PER_DEGREE
    } else {
        ground_width
    };
    let dpi = dpi.filter(|d| *d > 0.0).unwrap_or(STANDARD_DPI);
    let screen_metres = f64::from(pixels.max(1)) / dpi * 0.0254;
    metres / screen_metres
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_world_on_a_256_pixel_tile() {
        // A web mercator zoom-0 tile: GeoServer reports 559 082 264.
        let s = scale_denominator(2.0 * 20_037_508.342_789_244, false, 256, None);
        assert!((s - 559_082_264.0).abs() < 1.0, "{s}");
        // 360 degrees over 768 pixels.
        let s = scale_denominator(360.0, true, 768, None);
        assert!((s - 186_360_755.0).abs() < 10.0, "{s}");
    }
}
