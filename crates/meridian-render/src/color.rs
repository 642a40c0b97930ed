//! Colors as SLD writes them (`#RRGGBB`, `#RGB`, `#AARRGGBB` as GeoServer accepts).

/// A color with alpha, straight (not premultiplied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha (255 opaque).
    pub a: u8,
}

impl Color {
    /// Opaque black.
    pub const BLACK: Color = Color::rgb(0, 0, 0);
    /// Opaque white.
    pub const WHITE: Color = Color::rgb(255, 255, 255);
    /// GeoServer's default fill grey (#808080).
    pub const GREY: Color = Color::rgb(128, 128, 128);

    /// An opaque color.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b, a: 255 }
    }

    /// Read `#RRGGBB`, `#RGB`, `#AARRGGBB`, or `0xRRGGBB` (WMS `BGCOLOR`).
    pub fn parse(text: &str) -> Option<Color> {
        let t = text.trim();
        let hex = t
            .strip_prefix('#')
            .or_else(|| t.strip_prefix("0x"))
            .or_else(|| t.strip_prefix("0X"))?;
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        match hex.len() {
            6 => Some(Color::rgb(byte(0)?, byte(2)?, byte(4)?)),
            8 => Some(Color {
                a: byte(0)?,
                r: byte(2)?,
                g: byte(4)?,
                b: byte(6)?,
            }),
            3 => {
                let d = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok().map(|v| v * 17);
                Some(Color::rgb(d(0)?, d(1)?, d(2)?))
            }
            _ => None,
        }
    }

    /// The same color with its alpha multiplied by `opacity` (0–1).
    pub fn with_opacity(self, opacity: f64) -> Color {
        let o = opacity.clamp(0.0, 1.0);
        Color {
            a: (f64::from(self.a) * o).round() as u8,
            ..self
        }
    }

    /// As tiny-skia's color.
    pub(crate) fn skia(self) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(self.r, self.g, self.b, self.a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sld_and_wms_colors_read() {
        assert_eq!(Color::parse("#4DFF4D"), Some(Color::rgb(0x4d, 0xff, 0x4d)));
        assert_eq!(Color::parse("#fff"), Some(Color::WHITE));
        assert_eq!(Color::parse("0xFFFFFF"), Some(Color::WHITE));
        assert_eq!(
            Color::parse("#80FF0000"),
            Some(Color {
                r: 255,
                g: 0,
                b: 0,
                a: 128
            })
        );
        assert_eq!(Color::parse("red"), None);
        assert_eq!(Color::parse("#12345"), None);
        assert_eq!(Color::parse("#ÿÿÿ"), None);
    }
}
