//! Page layout of the permit certificate: positions, wording and colours of every element.

use chrono::{Datelike, NaiveDate};
use printpdf::FontId;

use super::canvas::{Canvas, Metrics, Rgbf, Style};
use super::certificate::{CertificateData, CertificateRoom, DocumentError, GradeColour};
use super::qr::qr_matrix;

pub(super) const TITLE: &str = "居住出租房屋准入证";
const QR_CAPTION: &str = "扫码核验·入住登记";
const NUMBER_LABEL: &str = "准入证编号";
const GRADE_LABEL: &str = "房屋安全等级：";
const ADDRESS_LABEL: &str = "房屋地址：";
const LANDLORD_LABEL: &str = "房东：";
const OCCUPANTS_LABEL: &str = "核定居住人数：";
const VALIDITY_LABEL: &str = "有效期：";
const ISSUED_LABEL: &str = "发证日期：";
const TABLE_HEADS: [&str; 3] = ["房间", "面积", "可住人数"];
const NO_ROOMS: &str = "—";
const MORE_ROOMS: (&str, &str) = ("另有 ", " 间，扫码查看全部");
/// What `cn_date`, the area and occupant formats and the issuer line add around data.
const FORMATTED: &str = "0123456789.年月日至 m²人·";
const NOTICE_TITLE: &str = "租住人员须知";
const NOTICE: [&str; 6] = [
    "1. 严禁在室内、楼道、楼梯间停放电动自行车或为其充电。",
    "2. 保持疏散通道、安全出口畅通，不得堆放杂物、封堵门窗。",
    "3. 不得私拉乱接电线，不得使用大功率电器，人走断电。",
    "4. 居住人数不得超过核定人数，不得擅自分隔房间、改变用途。",
    "5. 入住、退租须扫描本证二维码登记。",
    "6. 发现隐患请拨打 119，或向村网格员报告。",
];
const FOOTER: &str = "本证须张贴于出租房屋显著位置，涂改、转借无效。";
const AUTHORITY_LABEL: &str = "发证机关：";
const COMMITTEE: &str = "村民委员会";
const CONTACT_LABEL: &str = "咨询电话：";

const INK: Rgbf = Rgbf(0.12, 0.12, 0.12);
const ACCENT: Rgbf = Rgbf(0.11, 0.23, 0.42);
const MUTED: Rgbf = Rgbf(0.40, 0.40, 0.40);
const LINE: Rgbf = Rgbf(0.68, 0.71, 0.76);
const HEAD_FILL: Rgbf = Rgbf(0.91, 0.93, 0.96);
const NOTICE_FILL: Rgbf = Rgbf(0.97, 0.97, 0.96);
const WHITE: Rgbf = Rgbf(1.0, 1.0, 1.0);
const LABEL: Style = Style::left(11.0, MUTED);
const CELL: Style = Style::centre(10.5, INK);

const CENTRE: f32 = 105.0;
const LEFT: f32 = 20.0;
const RIGHT: f32 = 190.0;
pub(super) const QR_SIZE: f32 = 45.0;
pub(super) const QR_X: f32 = RIGHT - QR_SIZE;
pub(super) const QR_Y: f32 = 86.0;
const VALUE_X: f32 = LEFT + 29.0;
const VALUE_W: f32 = QR_X - 5.0 - VALUE_X;
const HEAD_H: f32 = 8.0;
const ROW_H: f32 = 7.0;
/// Font sizes tried, largest first, for data that may be long.
const VALUE_SIZES: [f32; 3] = [12.0, 11.0, 10.0];
const ROOM_SIZES: [f32; 3] = [10.5, 9.5, 8.5];

/// Line advance in mm for text set at `size` pt.
pub(super) fn leading(size: f32) -> f32 {
    size * 25.4 / 72.0 * 1.45
}

pub(super) fn cn_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Collapses any whitespace (newlines, ideographic spaces) to single spaces: only U+0020 is
/// guaranteed printable, and stray line breaks from form input must not break the layout.
pub(super) fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every fixed string the page can show, so the renderer can prove at start-up that the
/// font covers them (the canvas re-checks whatever is actually drawn).
pub(super) fn fixed_texts() -> impl Iterator<Item = &'static str> {
    let grades = [GradeColour::Green, GradeColour::Yellow, GradeColour::Red].map(|g| g.words());
    let labels = [
        TITLE,
        QR_CAPTION,
        NUMBER_LABEL,
        GRADE_LABEL,
        ADDRESS_LABEL,
        LANDLORD_LABEL,
        OCCUPANTS_LABEL,
        VALIDITY_LABEL,
        ISSUED_LABEL,
        NO_ROOMS,
        MORE_ROOMS.0,
        MORE_ROOMS.1,
        FORMATTED,
        NOTICE_TITLE,
        FOOTER,
        AUTHORITY_LABEL,
        COMMITTEE,
        CONTACT_LABEL,
    ];
    labels
        .into_iter()
        .chain(TABLE_HEADS)
        .chain(NOTICE)
        .chain(grades)
}

/// The page drawn, top to bottom. Fails on data that cannot be laid out faithfully:
/// an official document is refused rather than printed truncated.
pub(super) fn page(
    m: &Metrics<'_>,
    data: &CertificateData,
    font: FontId,
) -> Result<Canvas, DocumentError> {
    let too_long = |field| DocumentError::FieldTooLong { field };
    let required = |field, s: &str| match clean(s) {
        s if s.is_empty() => Err(DocumentError::EmptyField { field }),
        s => Ok(s),
    };
    let number = required("证号", &data.permit_number)?;
    let address = required("地址", &data.address)?;
    let landlord = required("房东", &data.landlord_name)?;
    let town = required("乡镇", &data.town_name)?;
    let issuer = format!("{town} · {}", required("村", &data.village_name)?);
    if data.valid_until < data.valid_from {
        return Err(DocumentError::InvalidField {
            field: "有效期",
            reason: "截止日期早于起始日期",
        });
    }
    let qr = qr_matrix(&data.qr_url)?;
    let mut c = Canvas::new(font);

    c.rect((10.0, 10.0, 190.0, 277.0), None, Some((ACCENT, 1.6)));
    c.rect((12.5, 12.5, 185.0, 272.0), None, Some((ACCENT, 0.5)));
    c.text(m, TITLE, (CENTRE, 32.0), Style::centre(26.0, ACCENT).bold());
    let (size, _) = m
        .fit(&issuer, &[12.0, 11.0, 10.0, 9.0], 160.0, 1)
        .ok_or(too_long("发证单位"))?;
    c.text(m, &issuer, (CENTRE, 41.0), Style::centre(size, MUTED));
    c.hline(LEFT, RIGHT, 46.0, ACCENT, 0.8);
    c.text(m, NUMBER_LABEL, (CENTRE, 53.0), Style::centre(10.0, MUTED));
    let (size, _) = m
        .fit(&number, &[22.0, 20.0, 18.0, 16.0, 14.0, 12.0], 165.0, 1)
        .ok_or(too_long("证号"))?;
    c.text(m, &number, (CENTRE, 62.5), Style::centre(size, INK).bold());

    let (fill, ink) = data.grade.colours();
    c.rect((LEFT, 67.5, RIGHT - LEFT, 12.0), Some(fill), None);
    let grade = format!("{GRADE_LABEL}{}", data.grade.words());
    c.text(m, &grade, (CENTRE, 75.7), Style::centre(15.0, ink).bold());

    // Left column: labelled values; the QR sits to their right.
    let mut y = 91.0;
    let row = |c: &mut Canvas, label: &str, (size, lines): (f32, Vec<String>), y: &mut f32| {
        c.text(m, label, (LEFT, *y), LABEL);
        for line in &lines {
            c.text(m, line, (VALUE_X, *y), Style::left(size, INK));
            *y += leading(size);
        }
        *y += 3.0;
    };
    let fitted = m.fit(&address, &VALUE_SIZES, VALUE_W, 3);
    row(
        &mut c,
        ADDRESS_LABEL,
        fitted.ok_or(too_long("地址"))?,
        &mut y,
    );
    let fitted = m.fit(&landlord, &VALUE_SIZES, VALUE_W, 2);
    row(
        &mut c,
        LANDLORD_LABEL,
        fitted.ok_or(too_long("房东"))?,
        &mut y,
    );
    y += 1.5;
    c.text(m, OCCUPANTS_LABEL, (LEFT, y), LABEL);
    let occupants = format!("{} 人", data.max_occupants);
    c.text(
        m,
        &occupants,
        (VALUE_X, y + 0.5),
        Style::left(18.0, ACCENT).bold(),
    );
    y += leading(18.0) + 2.0;
    let (from, until) = (cn_date(data.valid_from), cn_date(data.valid_until));
    let fitted = m.fit(&format!("{from} 至 {until}"), &VALUE_SIZES, VALUE_W, 1);
    row(
        &mut c,
        VALIDITY_LABEL,
        fitted.ok_or(too_long("有效期"))?,
        &mut y,
    );

    c.qr(&qr, QR_X, QR_Y, QR_SIZE);
    let caption_at = (QR_X + QR_SIZE / 2.0, QR_Y + QR_SIZE + 4.5);
    c.text(m, QR_CAPTION, caption_at, Style::centre(10.0, INK));

    let notice_top = notice(m, &mut c, 270.0);
    let table_top = y.max(QR_Y + QR_SIZE + 8.0) + 3.0;
    rooms_table(m, &mut c, &data.rooms, table_top, notice_top - 6.0)?;

    // The village committee issues the permit under the town; both are named, with a phone.
    let authority = format!(
        "{AUTHORITY_LABEL}{town} {}{COMMITTEE}",
        required("村", &data.village_name)?
    );
    let (size, _) = m
        .fit(&authority, &[10.0, 9.0, 8.0], 110.0, 1)
        .ok_or(too_long("发证机关"))?;
    c.text(m, &authority, (LEFT, 275.0), Style::left(size, INK));
    let phone = clean(&data.contact_phone);
    if !phone.is_empty() {
        let contact = format!("{CONTACT_LABEL}{phone}");
        c.text(m, &contact, (RIGHT, 275.0), Style::right(10.0, INK));
    }
    c.text(m, FOOTER, (LEFT, 280.5), Style::left(9.0, MUTED));
    let issued = format!("{ISSUED_LABEL}{from}");
    c.text(m, &issued, (RIGHT, 280.5), Style::right(9.0, MUTED));
    if !c.missing.is_empty() {
        return Err(DocumentError::MissingGlyphs {
            field: "证书模板",
            chars: c.missing.into_iter().collect(),
        });
    }
    Ok(c)
}

/// The tenants' rules box, growing upwards from `bottom`; returns its top edge.
fn notice(m: &Metrics<'_>, c: &mut Canvas, bottom: f32) -> f32 {
    let (size, pad) = (10.5, 5.0);
    let lines: Vec<String> = NOTICE
        .iter()
        .flat_map(|rule| m.wrap(rule, size, RIGHT - LEFT - 2.0 * pad))
        .collect();
    let height = 2.0 * pad + leading(12.0) + 2.0 + lines.len() as f32 * leading(size);
    let top = bottom - height;
    let frame = (LEFT, top, RIGHT - LEFT, height);
    c.rect(frame, Some(NOTICE_FILL), Some((ACCENT, 0.6)));
    let mut y = top + pad + 4.5;
    c.text(
        m,
        NOTICE_TITLE,
        (LEFT + pad, y),
        Style::left(12.0, ACCENT).bold(),
    );
    y += leading(12.0) + 2.0;
    for line in &lines {
        c.text(m, line, (LEFT + pad, y), Style::left(size, INK));
        y += leading(size);
    }
    top
}

/// Room table between `top` and `bottom`; splits into two side-by-side halves when the
/// rooms do not fit one, and beyond that says how many more the verification page lists.
fn rooms_table(
    m: &Metrics<'_>,
    c: &mut Canvas,
    rooms: &[CertificateRoom],
    top: f32,
    bottom: f32,
) -> Result<(), DocumentError> {
    let per_col = (((bottom - top - HEAD_H) / ROW_H).floor() as usize).max(1);
    let cols = if rooms.len() <= per_col { 1 } else { 2 };
    let capacity = per_col * cols;
    // The last slot becomes the "N more" note when the rooms overflow both halves.
    let shown = if rooms.len() <= capacity {
        rooms.len()
    } else {
        capacity - 1
    };
    let gap = 6.0;
    let col_w = (RIGHT - LEFT - gap * (cols as f32 - 1.0)) / cols as f32;
    let widths = [col_w * 0.5, col_w * 0.25, col_w * 0.25];
    let mut cells: Vec<[(String, f32); 3]> = Vec::with_capacity(shown + 1);
    for room in &rooms[..shown] {
        if !room.area_m2.is_finite() || room.area_m2 < 0.0 {
            return Err(DocumentError::InvalidField {
                field: "面积",
                reason: "须为非负数",
            });
        }
        let label = clean(&room.label);
        let (size, _) = m
            .fit(&label, &ROOM_SIZES, widths[0] - 4.0, 1)
            .ok_or(DocumentError::FieldTooLong { field: "房间" })?;
        cells.push([
            (label, size),
            (format!("{:.1} m²", room.area_m2), CELL.size),
            (format!("{} 人", room.max_occupants), CELL.size),
        ]);
    }
    if rooms.is_empty() {
        cells.push([0, 1, 2].map(|_| (NO_ROOMS.to_string(), CELL.size)));
    }
    let overflow = rooms.len() - shown;
    for col in 0..cols {
        let x = LEFT + col as f32 * (col_w + gap);
        let chunk = cells.iter().skip(col * per_col).take(per_col);
        let note = overflow > 0 && col == cols - 1;
        let rows = chunk.len() + usize::from(note);
        let h = HEAD_H + rows as f32 * ROW_H;
        c.rect((x, top, col_w, HEAD_H), Some(HEAD_FILL), None);
        let mut cx = x;
        for (i, head) in TABLE_HEADS.iter().enumerate() {
            let at = (cx + widths[i] / 2.0, top + 5.6);
            c.text(m, head, at, Style::centre(10.5, ACCENT).bold());
            if i > 0 {
                c.rect((cx, top, 0.0, h), None, Some((LINE, 0.5)));
            }
            cx += widths[i];
        }
        let mut y = top + HEAD_H;
        for row in chunk {
            c.hline(x, x + col_w, y, LINE, 0.4);
            let mut cx = x;
            for (i, (text, size)) in row.iter().enumerate() {
                let at = (cx + widths[i] / 2.0, y + ROW_H / 2.0 + 1.3);
                c.text(
                    m,
                    text,
                    at,
                    Style {
                        size: *size,
                        ..CELL
                    },
                );
                cx += widths[i];
            }
            y += ROW_H;
        }
        if note {
            // Blank out the column rules: the note spans the whole row.
            c.rect((x, y, col_w, ROW_H), Some(WHITE), None);
            c.hline(x, x + col_w, y, LINE, 0.4);
            let more = format!("{}{overflow}{}", MORE_ROOMS.0, MORE_ROOMS.1);
            let at = (x + col_w / 2.0, y + ROW_H / 2.0 + 1.3);
            c.text(m, &more, at, Style::centre(9.5, MUTED));
        }
        c.rect((x, top, col_w, h), None, Some((ACCENT, 0.7)));
    }
    Ok(())
}
