//! The permit certificate (居住出租房屋准入证): one A4 page, embedded CJK font subset, QR as an image mask.

use chrono::NaiveDate;
use printpdf::{FontId, PdfDocument};

use super::canvas::{Metrics, Rgbf};
use super::layout::{self, TITLE, clean};
use super::subset::FontSource;

/// WenQuanYi Micro Hei (Apache-2.0): Droid Sans Fallback's CJK glyphs plus Latin and digits,
/// which Droid Sans Fallback alone lacks; a single face.
pub(super) static FONT_BYTES: &[u8] =
    include_bytes!("../../templates/assets/fonts/wqy-microhei.ttf");

#[derive(Debug, Clone, PartialEq)]
pub struct CertificateRoom {
    pub label: String,
    pub area_m2: f64,
    pub max_occupants: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeColour {
    Green,
    Yellow,
    Red,
}

impl GradeColour {
    pub fn words(self) -> &'static str {
        match self {
            GradeColour::Green => "绿色·合格",
            GradeColour::Yellow => "黄色·整改中",
            GradeColour::Red => "红色·重大隐患",
        }
    }

    /// Band fill and the text colour that stays legible on it (and on a greyscale printer).
    pub(super) fn colours(self) -> (Rgbf, Rgbf) {
        match self {
            GradeColour::Green => (Rgbf(0.13, 0.53, 0.29), Rgbf(1.0, 1.0, 1.0)),
            GradeColour::Yellow => (Rgbf(0.98, 0.80, 0.20), Rgbf(0.22, 0.17, 0.0)),
            GradeColour::Red => (Rgbf(0.76, 0.12, 0.12), Rgbf(1.0, 1.0, 1.0)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CertificateData {
    pub permit_number: String,
    pub address: String,
    pub landlord_name: String,
    pub rooms: Vec<CertificateRoom>,
    pub max_occupants: u32,
    pub grade: GradeColour,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub village_name: String,
    pub town_name: String,
    /// Printed for questions beside the issuing authority; empty prints none.
    pub contact_phone: String,
    pub qr_url: String,
}

#[derive(thiserror::Error, Debug)]
pub enum DocumentError {
    #[error("证书字体缺少“{field}”中的字：{chars}")]
    MissingGlyphs { field: &'static str, chars: String },
    #[error("“{field}”不能为空")]
    EmptyField { field: &'static str },
    #[error("“{field}”过长，证书上排不下")]
    FieldTooLong { field: &'static str },
    #[error("“{field}”无效：{reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    #[error("内置证书字体无法解析")]
    FontLoad,
    #[error("二维码生成失败：{0}")]
    Qr(#[from] qrcode::types::QrError),
    #[error("PDF 文件写出失败：{0}")]
    Write(#[from] std::io::Error),
}

/// Renders certificates; holds the font's located tables so each render only copies the
/// glyphs it draws.
pub struct CertificateRenderer {
    pub(super) font: FontSource,
}

impl CertificateRenderer {
    /// Locates the embedded font's tables (once at start) and checks it covers the wording.
    pub fn new() -> Result<Self, DocumentError> {
        let font = FontSource::parse(FONT_BYTES).ok_or(DocumentError::FontLoad)?;
        let renderer = Self { font };
        for text in layout::fixed_texts() {
            let missing = renderer.missing_glyphs(text);
            if !missing.is_empty() {
                return Err(DocumentError::MissingGlyphs {
                    field: "证书模板",
                    chars: missing.into_iter().collect(),
                });
            }
        }
        Ok(renderer)
    }

    /// Characters of `text` the font cannot draw, each once, in order; whitespace is ignored
    /// because rendering normalises it to plain spaces.
    pub fn missing_glyphs(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            if self.font.glyph(c).is_none() && !missing.contains(&c) {
                missing.push(c);
            }
        }
        missing
    }

    /// Refuses data with characters the font cannot print (e.g. rare name characters).
    pub fn check_coverage(&self, data: &CertificateData) -> Result<(), DocumentError> {
        let fields = [
            ("证号", data.permit_number.as_str()),
            ("地址", &data.address),
            ("房东", &data.landlord_name),
            ("村", &data.village_name),
            ("乡镇", &data.town_name),
        ];
        let rooms = data.rooms.iter().map(|r| ("房间", r.label.as_str()));
        for (field, text) in fields.into_iter().chain(rooms) {
            let missing = self.missing_glyphs(text);
            if !missing.is_empty() {
                return Err(DocumentError::MissingGlyphs {
                    field,
                    chars: missing.into_iter().collect(),
                });
            }
        }
        Ok(())
    }

    /// Everything `render` would refuse (glyphs, empty or overlong fields, bad values),
    /// without producing the PDF: for checking a permit before it is approved.
    pub fn validate(&self, data: &CertificateData) -> Result<(), DocumentError> {
        self.check_coverage(data)?;
        layout::page(&self.metrics(), data, FontId::new()).map(|_| ())
    }

    /// The certificate as PDF bytes.
    pub fn render(&self, data: &CertificateData) -> Result<Vec<u8>, DocumentError> {
        self.check_coverage(data)?;
        let mut doc = PdfDocument::new(&format!("{TITLE} {}", clean(&data.permit_number)));
        doc.metadata.info.creator = "Anju 安居".to_string();
        let drawn = layout::page(&self.metrics(), data, FontId::new())?;
        super::file::save(doc, drawn, self)
    }

    pub(super) fn metrics(&self) -> Metrics<'_> {
        Metrics { font: &self.font }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::canvas::PAGE_H;
    use crate::documents::layout::{QR_SIZE, QR_X, QR_Y};
    use printpdf::{Op, PaintMode};

    const URL: &str = "https://anju.example.gov.cn/p/AJ-330102-2026-000123?sig=\
        Zk9yTm90aGluZ0J1dEFUZXN0U2lnbmF0dXJlVGhhdElzNjRCeXRlc0xvbmdBQUFBQUFBQUFBQUFBQUFB";

    fn sample(rooms: usize) -> CertificateData {
        CertificateData {
            permit_number: "AJ-330102-2026-000123".into(),
            address: "浙江省杭州市西湖区转塘街道长埭村 3 组 58 号 B 栋".into(),
            landlord_name: "王建国".into(),
            rooms: (0..rooms)
                .map(|i| CertificateRoom {
                    label: format!("{}0{} 室", 1 + i / 4, 1 + i % 4),
                    area_m2: 12.0 + i as f64,
                    max_occupants: 2,
                })
                .collect(),
            max_occupants: 2 * rooms as u32,
            grade: GradeColour::Green,
            valid_from: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2027, 11, 26).unwrap(),
            village_name: "长埭村".into(),
            town_name: "转塘街道".into(),
            contact_phone: "0571-87000000".into(),
            qr_url: URL.into(),
        }
    }

    #[test]
    fn renderer_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CertificateRenderer>();
    }

    #[test]
    fn renders_a_small_pdf() {
        let r = CertificateRenderer::new().unwrap();
        for (rooms, grade) in [
            (4, GradeColour::Green),
            (16, GradeColour::Yellow),
            (0, GradeColour::Red),
        ] {
            let mut data = sample(rooms);
            data.grade = grade;
            let pdf = r.render(&data).unwrap();
            assert!(pdf.starts_with(b"%PDF-"));
            assert!(pdf.len() < 200 * 1024, "{} bytes", pdf.len());
        }
    }

    #[test]
    fn the_embedded_font_program_holds_the_outlines_of_what_is_drawn() {
        let pdf = CertificateRenderer::new()
            .unwrap()
            .render(&sample(2))
            .unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        let program = doc.objects.values().find_map(|o| match o {
            lopdf::Object::Stream(s) if s.dict.has(b"Length1") => Some(s),
            _ => None,
        });
        let program = program.expect("a font program is embedded");
        let length = program.dict.get(b"Length1").unwrap().as_i64().unwrap();
        let bytes = program.decompressed_content().unwrap();
        assert_eq!(usize::try_from(length).unwrap(), bytes.len());
        let font = printpdf::ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).unwrap();
        for c in "居住出租房屋准入证王建国".chars() {
            let g = font.lookup_glyph_index(c as u32).expect("drawn, so mapped");
            let glyph = font.get_or_decode_glyph(g).unwrap();
            assert!(!glyph.outline.is_empty(), "{c} is drawn with its outline");
        }
    }

    #[test]
    fn missing_glyphs_are_reported_once_in_order() {
        let r = CertificateRenderer::new().unwrap();
        assert!(r.missing_glyphs("王建国 AJ-2026 14.0 m²\n").is_empty());
        // U+2A6A5 (CJK Ext. B) and an emoji are outside the font.
        assert_eq!(
            r.missing_glyphs("张\u{2A6A5}三\u{2A6A5}😀"),
            vec!['\u{2A6A5}', '😀']
        );
        let mut data = sample(2);
        data.landlord_name = "陈\u{2A6A5}".into();
        match r.check_coverage(&data) {
            Err(DocumentError::MissingGlyphs { field, chars }) => {
                assert_eq!(field, "房东");
                assert_eq!(chars, "\u{2A6A5}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(r.render(&data).is_err());
    }

    #[test]
    fn unprintable_data_is_refused() {
        let r = CertificateRenderer::new().unwrap();
        let mut data = sample(2);
        data.address = "很长的地址".repeat(40);
        assert!(matches!(
            r.validate(&data),
            Err(DocumentError::FieldTooLong { field: "地址" })
        ));
        let mut data = sample(2);
        data.landlord_name = " \n ".into();
        assert!(matches!(
            r.validate(&data),
            Err(DocumentError::EmptyField { field: "房东" })
        ));
        let mut data = sample(2);
        data.valid_until = data.valid_from.pred_opt().unwrap();
        assert!(matches!(
            r.validate(&data),
            Err(DocumentError::InvalidField { .. })
        ));
        let mut data = sample(2);
        data.rooms[1].area_m2 = f64::NAN;
        assert!(matches!(
            r.validate(&data),
            Err(DocumentError::InvalidField {
                field: "面积", ..
            })
        ));
        assert!(
            r.validate(&sample(40)).is_ok(),
            "many rooms overflow into a note"
        );
    }

    /// Rasterises the QR exactly as handed to the PDF (the image mask's bits under the `cm`
    /// before its `Do`, mapped to PDF points, bottom-left origin) and decodes it, so a flipped
    /// axis, a wrong bit order or a misplaced symbol in the drawing code fails here.
    #[test]
    fn qr_drawn_in_the_pdf_decodes_to_the_url() {
        let r = CertificateRenderer::new().unwrap();
        let drawn = layout::page(&r.metrics(), &sample(4), FontId::new()).unwrap();
        let ops = &drawn.ops;
        let at = ops
            .iter()
            .position(|op| matches!(op, Op::Unknown { key, .. } if key == "Do"))
            .expect("the QR is painted");
        let Op::Unknown { value, .. } = &ops[at] else {
            unreachable!()
        };
        let [printpdf::DictItem::Name(name)] = value.as_slice() else {
            panic!("Do names one image, not {value:?}")
        };
        let [a, b, c, d, e, f] = match &ops[at - 1] {
            Op::SetTransformationMatrix { matrix } => matrix.as_array(),
            other => panic!("the image follows its matrix, not {other:?}"),
        };
        assert_eq!((b, c), (0.0, 0.0), "upright");
        let (id, xobject) = drawn
            .xobjects
            .first()
            .expect("the mask is in the resources");
        assert_eq!(id.0.as_bytes(), name.as_slice());
        let printpdf::XObject::External(mask) = xobject else {
            panic!("an image mask of our own")
        };
        let int = |k: &str| match mask.stream.dict.get(k) {
            Some(printpdf::DictItem::Int(i)) => *i as usize,
            other => panic!("{k}: {other:?}"),
        };
        assert!(matches!(
            mask.stream.dict.get("ImageMask"),
            Some(printpdf::DictItem::Bool(true))
        ));
        assert_eq!(int("BitsPerComponent"), 1);
        let (w, h) = (int("Width"), int("Height"));
        let row_bytes = w.div_ceil(8);
        assert_eq!(mask.stream.content.len(), row_bytes * h);
        // The unit square lands on the layout's 45 mm square.
        let mm = 72.0 / 25.4;
        let (qx, qy) = (QR_X * mm, (PAGE_H - QR_Y - QR_SIZE) * mm);
        assert!((e - qx).abs() < 0.01 && (f - qy).abs() < 0.01);
        assert!((a - QR_SIZE * mm).abs() < 0.01 && (d - QR_SIZE * mm).abs() < 0.01);
        let scale = 3.0; // px per pt, about 216 dpi
        let side = (a * scale) as u32;
        let img = image::GrayImage::from_fn(side, side, |px, py| {
            // Image space: row 0 at the top of the unit square, as PDF paints images.
            let u = (px as f32 + 0.5) / side as f32;
            let v = (py as f32 + 0.5) / side as f32;
            let (col, row) = ((u * w as f32) as usize, (v * h as f32) as usize);
            let bit = mask.stream.content[row * row_bytes + col / 8] & (0x80 >> (col % 8));
            // A 0 sample is painted (black), a 1 leaves the white ground.
            image::Luma([if bit == 0 { 0 } else { 255 }])
        });
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, URL);
        assert!(ops.iter().any(|op| matches!(op, Op::DrawRectangle { rectangle } if rectangle.mode == Some(PaintMode::Fill))));
    }

    /// The mask paints exactly the dark modules, and its quiet zone and row padding not at all.
    #[test]
    fn qr_mask_paints_each_dark_module_and_nothing_else() {
        let m = crate::documents::qr::qr_matrix(URL).unwrap();
        let q = crate::documents::qr::QUIET_ZONE;
        let k = crate::documents::canvas::QR_SAMPLES;
        let w = m.width_with_quiet_zone();
        let mask = crate::documents::canvas::qr_mask(&m);
        let bits = &mask.stream.content;
        let row_bytes = (w * k).div_ceil(8);
        assert_eq!(bits.len(), row_bytes * w * k);
        for row in 0..w * k {
            for col in 0..row_bytes * 8 {
                let (x, y) = (col / k, row / k);
                let inside = x >= q && y >= q && x < w - q && y < w - q;
                let dark = inside && m.is_dark(x - q, y - q);
                let painted = bits[row * row_bytes + col / 8] & (0x80 >> (col % 8)) == 0;
                assert_eq!(painted, dark, "sample ({col}, {row}) of module ({x}, {y})");
            }
        }
    }

    #[test]
    fn wrapping_keeps_codes_whole_and_punctuation_attached() {
        let r = CertificateRenderer::new().unwrap();
        let m = r.metrics();
        let lines = m.wrap(
            "长埭村三组ABC-1203号，东侧",
            12.0,
            m.width("长埭村三组ABC-12", 12.0),
        );
        assert_eq!(lines[0], "长埭村三组");
        assert!(lines.iter().all(|l| !l.starts_with('，')));
        assert_eq!(lines.concat(), "长埭村三组ABC-1203号，东侧");
    }
}
