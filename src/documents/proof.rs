//! The residence proof (居住证明): one A4 page on the certificate's canvas, font subset and QR.

use chrono::NaiveDate;
use printpdf::{FontId, PdfDocument};

use super::canvas::{Canvas, Metrics, Rgbf, Style};
use super::certificate::{CertificateRenderer, DocumentError};
use super::layout::{clean, cn_date, leading};
use super::qr::qr_matrix;

const TITLE: &str = "居住证明";
const NUMBER_LABEL: &str = "证明编号";
const QR_CAPTION: &str = "扫码核验真伪";
const ROW_LABELS: [&str; 7] = [
    "居住人：",
    "证件号码：",
    "居住地址：",
    "所在村：",
    "居住期间：",
    "居住天数：",
    "出具人：",
];
const FOOTER: [&str; 3] = [
    "本证明依据《居住证暂行条例》第九条，由安居系统根据居住登记出具，并经电子签名。",
    "证件号码按规定隐去部分数字；扫描二维码可核验本证明的真伪及所载信息。涂改无效。",
    "本证明所依据的登记按保存期限删除后，本证明随之失效。",
];

const INK: Rgbf = Rgbf(0.12, 0.12, 0.12);
const ACCENT: Rgbf = Rgbf(0.11, 0.23, 0.42);
const MUTED: Rgbf = Rgbf(0.40, 0.40, 0.40);
const CENTRE: f32 = 105.0;
const LEFT: f32 = 20.0;
const RIGHT: f32 = 190.0;
const VALUE_X: f32 = LEFT + 27.0;
// As on the certificate: a verification URL with its signature makes a dense symbol, and at
// 45 mm its modules stay about four pixels wide on a 150 dpi screen or scan.
const QR_SIZE: f32 = 45.0;
const SIZES: [f32; 3] = [12.0, 11.0, 10.0];

/// What a residence proof prints. Its QR carries the proof's verification URL.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofData {
    pub number: String,
    pub name: String,
    pub doc_type_label: String,
    pub doc_masked: String,
    pub address: String,
    pub village_name: String,
    pub town_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: u32,
    pub issuer_label: String,
    pub issued_on: NaiveDate,
    pub qr_url: String,
}

impl CertificateRenderer {
    /// The residence proof as PDF bytes; refuses what the font cannot print or the page cannot hold.
    pub fn render_proof(&self, data: &ProofData) -> Result<Vec<u8>, DocumentError> {
        for (field, text) in [
            ("居住人", data.name.as_str()),
            ("地址", &data.address),
            ("村", &data.village_name),
        ] {
            let missing = self.missing_glyphs(text);
            if !missing.is_empty() {
                return Err(DocumentError::MissingGlyphs {
                    field,
                    chars: missing.into_iter().collect(),
                });
            }
        }
        let mut doc = PdfDocument::new(&format!("{TITLE} {}", clean(&data.number)));
        doc.metadata.info.creator = "Anju 安居".to_string();
        let drawn = page(&self.metrics(), data, FontId::new())?;
        super::file::save(doc, drawn, self)
    }
}

fn page(m: &Metrics<'_>, data: &ProofData, font: FontId) -> Result<Canvas, DocumentError> {
    let too_long = |field| DocumentError::FieldTooLong { field };
    let required = |field, s: &str| match clean(s) {
        s if s.is_empty() => Err(DocumentError::EmptyField { field }),
        s => Ok(s),
    };
    let name = required("居住人", &data.name)?;
    let address = required("地址", &data.address)?;
    let village = required("村", &data.village_name)?;
    let town = required("乡镇", &data.town_name)?;
    if data.to < data.from {
        return Err(DocumentError::InvalidField {
            field: "居住期间",
            reason: "截止日期早于起始日期",
        });
    }
    let qr = qr_matrix(&data.qr_url)?;
    let mut c = Canvas::new(font);

    c.rect((10.0, 10.0, 190.0, 277.0), None, Some((ACCENT, 1.6)));
    c.rect((12.5, 12.5, 185.0, 272.0), None, Some((ACCENT, 0.5)));
    c.text(m, TITLE, (CENTRE, 34.0), Style::centre(28.0, ACCENT).bold());
    let issuer = format!("{town} · {village}");
    c.text(m, &issuer, (CENTRE, 43.0), Style::centre(12.0, MUTED));
    c.hline(LEFT, RIGHT, 48.0, ACCENT, 0.8);
    let number = format!("{NUMBER_LABEL}：{}", clean(&data.number));
    c.text(m, &number, (RIGHT, 55.0), Style::right(10.5, MUTED));

    let (from, to) = (cn_date(data.from), cn_date(data.to));
    let statement = format!(
        "兹证明 {name}（{} {}）自 {from} 至 {to} 居住于{town}{village} {address}，共计 {} 天。",
        data.doc_type_label, data.doc_masked, data.days
    );
    let (size, lines) = m
        .fit(&statement, &[14.0, 13.0, 12.0], RIGHT - LEFT, 5)
        .ok_or(too_long("地址"))?;
    let mut y = 70.0;
    for line in &lines {
        c.text(m, line, (LEFT, y), Style::left(size, INK));
        y += leading(size) + 1.0;
    }
    y += 6.0;
    c.hline(LEFT, RIGHT, y - 5.0, Rgbf(0.68, 0.71, 0.76), 0.4);

    let values = [
        name,
        format!("{} {}", data.doc_type_label, data.doc_masked),
        address,
        format!("{town} {village}"),
        format!("{from} 至 {to}"),
        format!("{} 天", data.days),
        clean(&data.issuer_label),
    ];
    let width = RIGHT - VALUE_X;
    for (label, value) in ROW_LABELS.iter().zip(values.iter()) {
        c.text(m, label, (LEFT, y), Style::left(11.0, MUTED));
        let (size, lines) = m.fit(value, &SIZES, width, 3).ok_or(too_long("地址"))?;
        for line in &lines {
            c.text(m, line, (VALUE_X, y), Style::left(size, INK));
            y += leading(size);
        }
        y += 2.5;
    }

    let qr_y = y.max(180.0) + 4.0;
    c.qr(&qr, RIGHT - QR_SIZE, qr_y, QR_SIZE);
    let caption_at = (RIGHT - QR_SIZE / 2.0, qr_y + QR_SIZE + 4.5);
    c.text(m, QR_CAPTION, caption_at, Style::centre(10.0, INK));
    let issued = format!("出具日期：{}", cn_date(data.issued_on));
    c.text(m, &issued, (LEFT, qr_y + 12.0), Style::left(12.0, INK));
    c.text(
        m,
        "（电子签名，核验见右侧二维码）",
        (LEFT, qr_y + 20.0),
        Style::left(10.0, MUTED),
    );

    let mut fy = 258.0;
    for line in FOOTER {
        c.text(m, line, (LEFT, fy), Style::left(9.0, MUTED));
        fy += leading(9.0);
    }
    if !c.missing.is_empty() {
        return Err(DocumentError::MissingGlyphs {
            field: "证明模板",
            chars: c.missing.into_iter().collect(),
        });
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> ProofData {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        ProofData {
            number: "JZ-2026-ABCDEFGHJK".into(),
            name: "李小明".into(),
            doc_type_label: "居民身份证".into(),
            doc_masked: "110101********1234".into(),
            address: "锦绣村北区 3 号".into(),
            village_name: "锦绣村".into(),
            town_name: "花街镇".into(),
            from: d(3, 1),
            to: d(11, 30),
            days: 275,
            issuer_label: "房东（出租人） 王建国".into(),
            issued_on: d(11, 30),
            qr_url: "https://anju.example.gov.cn/verify-proof/JZ-2026-ABCDEFGHJK?sig=abcd1234.Zk9yTm90aGluZ0J1dEFUZXN0U2lnbmF0dXJlVGhhdElzNjRCeXRlc0xvbmdBQUFBQUFBQUFBQUFBQUFB".into(),
        }
    }

    #[test]
    fn a_proof_renders_as_a_small_pdf() {
        let r = CertificateRenderer::new().unwrap();
        let pdf = r.render_proof(&sample()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 100 * 1024, "{} bytes", pdf.len());
    }

    #[test]
    fn unprintable_proofs_are_refused() {
        let r = CertificateRenderer::new().unwrap();
        let mut data = sample();
        data.name = "陈\u{2A6A5}".into();
        assert!(matches!(
            r.render_proof(&data),
            Err(DocumentError::MissingGlyphs {
                field: "居住人",
                ..
            })
        ));
        let mut data = sample();
        data.to = data.from.pred_opt().unwrap();
        assert!(matches!(
            r.render_proof(&data),
            Err(DocumentError::InvalidField { .. })
        ));
        let mut data = sample();
        data.address = "很长的地址".repeat(60);
        assert!(matches!(
            r.render_proof(&data),
            Err(DocumentError::FieldTooLong { .. })
        ));
    }
}
