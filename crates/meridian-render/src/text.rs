//! Text as paths: fonts from the system (fontdb), shaped by rustybuzz, outlines from the
//! font into tiny-skia paths. A family that is not installed falls back to DejaVu's serif or
//! sans face, then to any face.

use rustybuzz::ttf_parser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tiny_skia::{Path, PathBuilder};

/// One face, parsed once: its font file's bytes are kept for the life of the process (a
/// few fonts at most: those the styles name, and their fallbacks).
pub(crate) struct FaceData {
    face: rustybuzz::Face<'static>,
}

struct Fonts {
    db: fontdb::Database,
    loaded: Mutex<HashMap<fontdb::ID, Arc<FaceData>>>,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        db.set_serif_family("DejaVu Serif");
        db.set_sans_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans Mono");
        if db.is_empty() {
            tracing::warn!("no fonts installed: labels and legends are drawn without text (install fonts-dejavu-core)");
        }
        Fonts {
            db,
            loaded: Mutex::new(HashMap::new()),
        }
    })
}

/// The face for the first of `families` that is installed (generic names `serif`,
/// `sans-serif`, `monospace` understood), bold and italic as asked.
pub(crate) fn face(families: &[String], bold: bool, italic: bool) -> Option<Arc<FaceData>> {
    let f = fonts();
    let mut wanted: Vec<fontdb::Family<'_>> = families
        .iter()
        .map(|n| match n.trim().to_ascii_lowercase().as_str() {
            "serif" => fontdb::Family::Serif,
            "sans-serif" | "sansserif" | "sans" | "dialog" => fontdb::Family::SansSerif,
            "monospace" | "monospaced" => fontdb::Family::Monospace,
            _ => fontdb::Family::Name(n.trim()),
        })
        .collect();
    // What Java's logical fonts and common families fall back to.
    let serifish = families.iter().any(|n| {
        n.to_ascii_lowercase().contains("serif") && !n.to_ascii_lowercase().contains("sans")
            || n.to_ascii_lowercase().contains("times")
    });
    wanted.push(if serifish {
        fontdb::Family::Serif
    } else {
        fontdb::Family::SansSerif
    });
    let query = fontdb::Query {
        families: &wanted,
        weight: if bold {
            fontdb::Weight::BOLD
        } else {
            fontdb::Weight::NORMAL
        },
        style: if italic {
            fontdb::Style::Italic
        } else {
            fontdb::Style::Normal
        },
        stretch: fontdb::Stretch::Normal,
    };
    let id =
        f.db.query(&query)
            .or_else(|| f.db.faces().next().map(|fc| fc.id))?;
    let mut loaded = match f.loaded.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    if let Some(d) = loaded.get(&id) {
        return Some(d.clone());
    }
    let d = f.db.with_face_data(id, |data, index| {
        let bytes: &'static [u8] = Box::leak(data.to_vec().into_boxed_slice());
        rustybuzz::Face::from_slice(bytes, index).map(|face| Arc::new(FaceData { face }))
    })??;
    loaded.insert(id, d.clone());
    Some(d)
}

/// A line of text laid out at a size: its outline with the baseline's left end at the origin
/// (y down), its advance width, and the font's ascent and descent at that size.
pub(crate) struct TextLine {
    pub path: Path,
    pub width: f32,
    pub ascent: f32,
    pub descent: f32,
    /// Each glyph on its own (labels that follow a line place them one by one).
    pub glyphs: Vec<Glyph>,
}

/// One glyph of a line: its outline with its own baseline origin at (0, 0) (none for a
/// space), where the line puts it, and how far it advances.
pub(crate) struct Glyph {
    pub path: Option<Path>,
    pub x: f32,
    pub advance: f32,
}

struct Sink {
    b: PathBuilder,
    scale: f32,
    x: f32,
}

impl ttf_parser::OutlineBuilder for Sink {
    fn move_to(&mut self, x: f32, y: f32) {
        self.b.move_to(self.x + x * self.scale, -y * self.scale);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.b.line_to(self.x + x * self.scale, -y * self.scale);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.b.quad_to(
            self.x + x1 * self.scale,
            -y1 * self.scale,
            self.x + x * self.scale,
            -y * self.scale,
        );
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.b.cubic_to(
            self.x + x1 * self.scale,
            -y1 * self.scale,
            self.x + x2 * self.scale,
            -y2 * self.scale,
            self.x + x * self.scale,
            -y * self.scale,
        );
    }
    fn close(&mut self) {
        self.b.close();
    }
}

/// Shape `text` with `face` at `size` pixels.
pub(crate) fn layout(face: &FaceData, text: &str, size: f32) -> Option<TextLine> {
    layout_spaced(face, text, size, 0.0)
}

/// Shape `text` on one line, `spacing` pixels added after each glyph (`charSpacing`).
fn layout_spaced(face: &FaceData, text: &str, size: f32, spacing: f32) -> Option<TextLine> {
    let font = &face.face;
    let upem = font.units_per_em() as f32;
    if upem <= 0.0 || text.is_empty() || size.is_nan() || size <= 0.0 {
        return None;
    }
    let scale = size / upem;
    let mut buf = rustybuzz::UnicodeBuffer::new();
    buf.push_str(text);
    let glyphs = rustybuzz::shape(font, &[], buf);
    let mut sink = Sink {
        b: PathBuilder::new(),
        scale,
        x: 0.0,
    };
    let mut pen = 0.0f32;
    let mut each = Vec::with_capacity(glyphs.len());
    for (info, pos) in glyphs.glyph_infos().iter().zip(glyphs.glyph_positions()) {
        sink.x = pen + pos.x_offset as f32 * scale;
        let id = ttf_parser::GlyphId(u16::try_from(info.glyph_id).unwrap_or(0));
        let _ = font.outline_glyph(id, &mut sink);
        let mut one = Sink {
            b: PathBuilder::new(),
            scale,
            x: pos.x_offset as f32 * scale,
        };
        let _ = font.outline_glyph(id, &mut one);
        let advance = pos.x_advance as f32 * scale + spacing;
        each.push(Glyph {
            path: one.b.finish(),
            x: pen,
            advance,
        });
        pen += advance;
    }
    let path = sink.b.finish()?;
    Some(TextLine {
        path,
        width: pen,
        ascent: font.ascender() as f32 * scale,
        descent: -(font.descender() as f32) * scale,
        glyphs: each,
    })
}

/// `text` on as many lines as it takes to keep each within `wrap` pixels (`autoWrap`; words
/// are not broken, 0 = one line), each line centred on the widest; the first line's baseline
/// at y 0.
fn layout_block(
    face: &FaceData,
    text: &str,
    size: f32,
    wrap: f32,
    spacing: f32,
) -> Option<TextLine> {
    if wrap <= 0.0 || !text.contains(char::is_whitespace) {
        return layout_spaced(face, text, size, spacing);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        let fits = layout_spaced(face, &candidate, size, spacing).is_none_or(|l| l.width <= wrap);
        if !fits && !current.is_empty() {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() <= 1 {
        return layout_spaced(face, text, size, spacing);
    }
    let laid: Vec<TextLine> = lines
        .iter()
        .filter_map(|l| layout_spaced(face, l, size, spacing))
        .collect();
    let first = laid.first()?;
    let (ascent, descent) = (first.ascent, first.descent);
    let step = ascent + descent;
    let width = laid.iter().map(|l| l.width).fold(0.0f32, f32::max);
    let mut b = PathBuilder::new();
    for (i, l) in laid.iter().enumerate() {
        let t = tiny_skia::Transform::from_translate((width - l.width) / 2.0, i as f32 * step);
        if let Some(p) = l.path.clone().transform(t) {
            b.push_path(&p);
        }
    }
    Some(TextLine {
        path: b.finish()?,
        width,
        ascent,
        descent: descent + (laid.len() - 1) as f32 * step,
        // Lines of several rows are not set along a line.
        glyphs: Vec::new(),
    })
}

/// Lines laid out lately, by face, text, size, wrap and spacing (labels repeat from map to
/// map).
type Laid = HashMap<(usize, String, u32, u32, u32), Arc<TextLine>>;

/// Lines kept at most; the cache starts over when full.
const LAID_KEPT: usize = 20_000;

fn laid() -> &'static Mutex<Laid> {
    static LAID: OnceLock<Mutex<Laid>> = OnceLock::new();
    LAID.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A label's text laid out (wrapped at `wrap` pixels, `spacing` between glyphs), kept for
/// the next time the same text is set alike.
pub(crate) fn layout_cached(
    face: &Arc<FaceData>,
    text: &str,
    size: f32,
    wrap: f32,
    spacing: f32,
) -> Option<Arc<TextLine>> {
    let key = (
        Arc::as_ptr(face) as usize,
        text.to_string(),
        size.to_bits(),
        wrap.to_bits(),
        spacing.to_bits(),
    );
    {
        let l = match laid().lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        if let Some(t) = l.get(&key) {
            return Some(t.clone());
        }
    }
    let line = Arc::new(layout_block(face, text, size, wrap, spacing)?);
    let mut l = match laid().lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    if l.len() >= LAID_KEPT {
        l.clear();
    }
    l.insert(key, line.clone());
    Some(line)
}
