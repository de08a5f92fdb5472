//! Minimal drawing surface over printpdf ops: millimetres from the top-left corner, one font.

use std::collections::BTreeSet;

use printpdf::PaintMode;
use printpdf::{
    Color, CurTransMat, DictItem, ExternalStream, ExternalXObject, FontId, Mm, Op, PdfFontHandle,
    Point, Pt, Rect, Rgb, TextItem, TextRenderingMode, XObject, XObjectId,
};

use super::qr::{QUIET_ZONE, QrMatrix};
use super::subset::FontSource;

pub const PAGE_W: f32 = 210.0;
pub const PAGE_H: f32 = 297.0;
const PT_TO_MM: f32 = 25.4 / 72.0;

/// An sRGB colour, kept as plain floats so layout constants stay `const`.
#[derive(Clone, Copy)]
pub struct Rgbf(pub f32, pub f32, pub f32);

impl Rgbf {
    fn pdf(self) -> Color {
        Color::Rgb(Rgb {
            r: self.0,
            g: self.1,
            b: self.2,
            icc_profile: None,
        })
    }
}

/// Horizontal anchor of a text run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
    Right,
}

/// How a text run is set: size in pt, anchor, colour, and weight.
#[derive(Clone, Copy)]
pub struct Style {
    pub size: f32,
    pub align: Align,
    pub colour: Rgbf,
    pub bold: bool,
}

impl Style {
    pub const fn left(size: f32, colour: Rgbf) -> Self {
        Self {
            size,
            align: Align::Left,
            colour,
            bold: false,
        }
    }

    pub const fn centre(size: f32, colour: Rgbf) -> Self {
        Self {
            align: Align::Centre,
            ..Self::left(size, colour)
        }
    }

    pub const fn right(size: f32, colour: Rgbf) -> Self {
        Self {
            align: Align::Right,
            ..Self::left(size, colour)
        }
    }

    pub const fn bold(self) -> Self {
        Self { bold: true, ..self }
    }
}

/// Measures text with the embedded font's advances; separate from [`Canvas`] so layout
/// decisions (fit, wrap) can be made before anything is drawn.
pub struct Metrics<'f> {
    pub font: &'f FontSource,
}

impl Metrics<'_> {
    /// Advance width in mm of `c` set at `size` pt (no kerning: CJK text has none to speak of).
    fn char_width(&self, c: char, size: f32) -> f32 {
        self.font
            .glyph(c)
            .map_or(0.0, |g| f32::from(self.font.advance(g)))
            / f32::from(self.font.units_per_em.max(1))
            * size
            * PT_TO_MM
    }

    /// Advance width in mm of `text` set at `size` pt.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c, size)).sum()
    }

    /// Greedy line breaking within `max_w` mm. Chinese may break between any two characters;
    /// runs of ASCII letters/digits (house numbers, permit codes) are kept whole when the line
    /// offers an earlier break, and closing punctuation never starts a line.
    pub fn wrap(&self, text: &str, size: f32, max_w: f32) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let widths: Vec<f32> = chars.iter().map(|&c| self.char_width(c, size)).collect();
        let mut lines = Vec::new();
        let mut start = 0;
        loop {
            while start < chars.len() && chars[start] == ' ' {
                start += 1;
            }
            if start == chars.len() {
                return lines;
            }
            let (mut end, mut w, mut last_break) = (start, 0.0, None);
            while end < chars.len() {
                if end > start && w + widths[end] > max_w {
                    break;
                }
                w += widths[end];
                end += 1;
                if end < chars.len() && can_break(chars[end - 1], chars[end]) {
                    last_break = Some(end);
                }
            }
            if end < chars.len() {
                end = last_break.unwrap_or(end);
            }
            let line: String = chars[start..end].iter().collect();
            lines.push(line.trim_end().to_string());
            start = end;
        }
    }

    /// The first size in `sizes` at which `text` wraps into at most `max_lines` lines.
    pub fn fit(
        &self,
        text: &str,
        sizes: &[f32],
        max_w: f32,
        max_lines: usize,
    ) -> Option<(f32, Vec<String>)> {
        sizes.iter().find_map(|&size| {
            let lines = self.wrap(text, size, max_w);
            (lines.len() <= max_lines).then_some((size, lines))
        })
    }
}

fn can_break(before: char, after: char) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '#');
    let closing = "，。、；：？！）》」』】,.;:?!)]%";
    !(closing.contains(after) || word(before) && word(after))
}

/// Collects page operations; every coordinate is in mm from the page's top-left corner.
pub struct Canvas {
    pub ops: Vec<Op>,
    /// The font every text run is set in; [`super::file::save`] puts the subset under it.
    pub font: FontId,
    /// Every character drawn, for the font subset.
    pub used: BTreeSet<char>,
    /// Characters drawn that the font lacks. Data fields are checked before layout; this
    /// catches template wording, so no string reaches the page unchecked.
    pub missing: Vec<char>,
    /// Images the ops paint (`Do`), for the document's resources.
    pub xobjects: Vec<(XObjectId, XObject)>,
}

impl Canvas {
    pub fn new(font: FontId) -> Self {
        Self {
            ops: Vec::with_capacity(256),
            font,
            used: BTreeSet::new(),
            missing: Vec::new(),
            xobjects: Vec::new(),
        }
    }

    fn pt(x: f32, y: f32) -> Point {
        Point::new(Mm(x), Mm(PAGE_H - y))
    }

    /// Draws one line of text with its baseline at `y`. Bold is drawn as fill plus a thin
    /// stroke because the embedded face has only one weight.
    pub fn text(&mut self, m: &Metrics<'_>, text: &str, (x, y): (f32, f32), style: Style) {
        self.used.extend(text.chars());
        for c in text.chars().filter(|&c| c != ' ') {
            if m.font.glyph(c).is_none() && !self.missing.contains(&c) {
                self.missing.push(c);
            }
        }
        let Style {
            size,
            align,
            colour,
            bold,
        } = style;
        let x = match align {
            Align::Left => x,
            Align::Centre => x - m.width(text, size) / 2.0,
            Align::Right => x - m.width(text, size),
        };
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFillColor { col: colour.pdf() });
        if bold {
            self.ops.push(Op::SetOutlineColor { col: colour.pdf() });
            self.ops.push(Op::SetOutlineThickness {
                pt: Pt(size / 40.0),
            });
        }
        self.ops.push(Op::SetTextRenderingMode {
            mode: if bold {
                TextRenderingMode::FillStroke
            } else {
                TextRenderingMode::Fill
            },
        });
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::External(self.font.clone()),
            size: Pt(size),
        });
        self.ops.push(Op::SetTextCursor {
            pos: Self::pt(x, y),
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        });
        self.ops.push(Op::EndTextSection);
    }

    /// Rectangle with top-left corner `(x, y)`: filled with `fill`, outlined with `stroke`
    /// (colour, width in pt), or both.
    pub fn rect(
        &mut self,
        (x, y, w, h): (f32, f32, f32, f32),
        fill: Option<Rgbf>,
        stroke: Option<(Rgbf, f32)>,
    ) {
        if let Some(c) = fill {
            self.ops.push(Op::SetFillColor { col: c.pdf() });
        }
        if let Some((c, width)) = stroke {
            self.ops.push(Op::SetOutlineColor { col: c.pdf() });
            self.ops.push(Op::SetOutlineThickness { pt: Pt(width) });
        }
        let mode = match (fill.is_some(), stroke.is_some()) {
            (true, true) => PaintMode::FillStroke,
            (true, false) => PaintMode::Fill,
            (false, _) => PaintMode::Stroke,
        };
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Mm(x).into(),
                y: Mm(PAGE_H - y - h).into(),
                width: Mm(w).into(),
                height: Mm(h).into(),
                mode: Some(mode),
                winding_order: None,
            },
        });
    }

    /// Horizontal rule from `x1` to `x2` at `y`.
    pub fn hline(&mut self, x1: f32, x2: f32, y: f32, colour: Rgbf, width_pt: f32) {
        self.rect((x1, y, x2 - x1, 0.0), None, Some((colour, width_pt)));
    }

    /// The QR symbol, `size` mm square including the quiet zone, on a white ground so it scans
    /// even if a background is ever added behind it.
    ///
    /// Drawn as a one-bit image mask painted in black ([`qr_mask`]): about 0.6 KB compressed,
    /// where the same modules as vector blocks took 1.6 KB. A mask is painted in one operation,
    /// so no seams appear between neighbouring modules. printpdf has no op for `Do` on a name
    /// it did not make, so it goes in as `Op::Unknown` (written because `save` turns printpdf's
    /// `secure` filter off; no `Unknown` op anywhere carries data from outside this module).
    pub fn qr(&mut self, matrix: &QrMatrix, x: f32, y: f32, size: f32) {
        self.rect((x, y, size, size), Some(Rgbf(1.0, 1.0, 1.0)), None);
        let id = XObjectId::new();
        self.xobjects
            .push((id.clone(), XObject::External(qr_mask(matrix))));
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetFillColor {
            col: Rgbf(0.0, 0.0, 0.0).pdf(),
        });
        self.ops.push(Op::SetTransformationMatrix {
            matrix: qr_transform(x, y, size),
        });
        self.ops.push(Op::Unknown {
            key: "Do".into(),
            value: vec![DictItem::Name(id.0.into_bytes())],
        });
        self.ops.push(Op::RestoreGraphicsState);
    }
}

/// The matrix that maps the unit square, where an image is painted, onto the `size` mm square
/// at `(x, y)` (mm from the page's top-left); an image's first row lands at the top.
fn qr_transform(x: f32, y: f32, size: f32) -> CurTransMat {
    let side = size / PT_TO_MM;
    let corner = Canvas::pt(x, y + size);
    CurTransMat::Raw([side, 0.0, 0.0, side, corner.x.0, corner.y.0])
}

/// Samples per module side in the QR's image mask. Poppler smooths any image it scales up by
/// less than 4×, which blurs one-sample modules on screen (a 30 mm symbol at 150 dpi); at four
/// samples a module, the smoothing only softens its edges, as anti-aliasing does a vector path.
pub const QR_SAMPLES: usize = 4;

/// The symbol with its quiet zone as an image mask: [`QR_SAMPLES`] bits per module side, rows
/// top to bottom, each padded to a whole byte; a 0 bit is painted (a dark module), a 1 bit is
/// left alone.
pub fn qr_mask(matrix: &QrMatrix) -> ExternalXObject {
    let w = matrix.width_with_quiet_zone() * QR_SAMPLES;
    let row_bytes = w.div_ceil(8);
    let mut bits = vec![0xFFu8; row_bytes * w];
    for (x, y, len) in matrix.dark_runs() {
        let (x, y) = ((x + QUIET_ZONE) * QR_SAMPLES, (y + QUIET_ZONE) * QR_SAMPLES);
        for row in y..y + QR_SAMPLES {
            for col in x..x + len * QR_SAMPLES {
                bits[row * row_bytes + col / 8] &= !(0x80 >> (col % 8));
            }
        }
    }
    let int = |v: usize| DictItem::Int(i64::try_from(v).unwrap_or(0));
    let name = |n: &str| DictItem::Name(n.as_bytes().to_vec());
    let dict = [
        ("Type", name("XObject")),
        ("Subtype", name("Image")),
        ("ImageMask", DictItem::Bool(true)),
        ("Width", int(w)),
        ("Height", int(w)),
        ("BitsPerComponent", int(1)),
    ];
    ExternalXObject {
        stream: ExternalStream {
            dict: dict.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            content: bits,
            compress: true,
        },
        width: None,
        height: None,
        dpi: None,
    }
}
