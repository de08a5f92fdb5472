//! QR code for the permit verification URL: a module matrix for vector drawing and inline SVG.

use std::fmt::Write as _;

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel};

use super::certificate::DocumentError;

/// Light modules required around the symbol by ISO/IEC 18004; scanners rely on it to find the
/// finder patterns, so every renderer here includes it rather than trusting the page margin.
pub const QUIET_ZONE: usize = 4;

/// The encoded symbol, without quiet zone: `width × width` modules, row-major, `true` = dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    pub width: usize,
    pub modules: Vec<bool>,
}

impl QrMatrix {
    /// Whether the module at column `x`, row `y` (top-left origin) is dark; outside is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x]
    }

    /// Width in modules including the quiet zone on both sides.
    pub fn width_with_quiet_zone(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Horizontal runs of dark modules as `(x, y, length)`, top-left origin, no quiet zone.
    /// Drawing runs instead of single modules keeps the PDF and SVG small and avoids hairline
    /// seams between abutting squares in anti-aliasing renderers.
    pub fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

/// Encodes `url` at error-correction level M: it survives a scuffed or partly soiled print
/// (~15 %) while keeping the symbol small enough to stay scannable at 45 mm.
///
/// The steps of `QrCode::with_error_correction_level`, but the mask is chosen by
/// [`penalty`]: qrcode's own scoring took a fifth of a certificate's render time.
pub fn qr_matrix(url: &str) -> Result<QrMatrix, DocumentError> {
    if url.trim().is_empty() {
        return Err(DocumentError::EmptyField {
            field: "二维码链接",
        });
    }
    let bits = qrcode::bits::encode_auto(url.as_bytes(), EcLevel::M)?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)?;
    let mut unmasked = Canvas::new(version, EcLevel::M);
    unmasked.draw_all_functional_patterns();
    unmasked.draw_data(&data, &ec);
    let width = usize::try_from(version.width()).unwrap_or(0);
    let masked = MASKS.iter().map(|&pattern| {
        let mut canvas = unmasked.clone();
        canvas.apply_mask(pattern);
        let modules: Vec<bool> = canvas
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        QrMatrix { width, modules }
    });
    masked
        .min_by_key(penalty)
        .ok_or(DocumentError::Qr(qrcode::types::QrError::InvalidVersion))
}

/// The eight mask patterns of a (non-micro) QR symbol, in the order of their numbers.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The mask evaluation score of ISO/IEC 18004 §7.8.3 (lower is easier to scan): runs of five
/// or more same-coloured modules (N1), 2×2 blocks of one colour (N2), finder-like patterns
/// 1:1:3:1:1 with four light modules on one side (N3, outside the symbol counts as light),
/// and the share of dark modules away from half (N4).
fn penalty(m: &QrMatrix) -> usize {
    let (w, modules) = (m.width, &m.modules);
    let mut score = 0;
    let mut column = vec![false; w];
    for (i, row) in modules.chunks_exact(w).enumerate() {
        score += line_penalty(row);
        for (j, module) in column.iter_mut().enumerate() {
            *module = modules[j * w + i];
        }
        score += line_penalty(&column);
    }
    for pair in modules.chunks_exact(w).collect::<Vec<_>>().windows(2) {
        let (above, below) = (pair[0], pair[1]);
        for x in 1..w {
            let c = below[x];
            if below[x - 1] == c && above[x] == c && above[x - 1] == c {
                score += 3;
            }
        }
    }
    let dark = modules.iter().filter(|&&d| d).count();
    let percent = dark * 100 / modules.len().max(1);
    score + 10 * (percent.abs_diff(50) / 5)
}

/// N1 and N3 of [`penalty`] along one row or column.
fn line_penalty(line: &[bool]) -> usize {
    let mut score = 0;
    let mut run = 0;
    for (i, &module) in line.iter().enumerate() {
        run = if i > 0 && line[i - 1] == module {
            run + 1
        } else {
            1
        };
        let run_ends = line.get(i + 1) != Some(&module);
        if run_ends && run >= 5 {
            score += run - 2;
        }
    }
    // Outside the symbol counts as light.
    let light = |from: usize, to: usize| {
        line.get(from..to.min(line.len()))
            .is_some_and(|s| !s.contains(&true))
    };
    for start in 0..line.len().saturating_sub(6) {
        // A pattern, not `==` on the slice: most positions fail at the first module or two.
        if matches!(
            line[start..start + 7],
            [true, false, true, true, true, false, true]
        ) && (light(start.saturating_sub(4), start) || light(start + 7, start + 11))
        {
            score += 40;
        }
    }
    score
}

/// A small self-contained `<svg>` for HTML pages (4 px per module by default; CSS may resize
/// it, `crispEdges` keeps modules sharp). qrcode's own SVG renderer needs its `svg` feature,
/// which the project builds without, and one path is all that is needed.
pub fn qr_svg(url: &str) -> Result<String, DocumentError> {
    let matrix = qr_matrix(url)?;
    let size = matrix.width_with_quiet_zone();
    let px = size * 4;
    let mut path = String::with_capacity(matrix.width * matrix.width);
    for (x, y, len) in matrix.dark_runs() {
        // Writing into a String cannot fail.
        let _ = write!(
            path,
            "M{} {}h{}v1h-{}z",
            x + QUIET_ZONE,
            y + QUIET_ZONE,
            len,
            len
        );
    }
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img" aria-label="二维码" "#,
            r#"width="{px}" height="{px}" viewBox="0 0 {s} {s}" shape-rendering="crispEdges">"#,
            r##"<rect width="{s}" height="{s}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
        ),
        px = px,
        s = size,
        path = path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://anju.example.gov.cn/p/AJ-330102-2026-000123?sig=\
        Zk9yTm90aGluZ0J1dEFUZXN0U2lnbmF0dXJlVGhhdElzNjRCeXRlc0xvbmdBQUFBQUFBQUFBQUFBQUFB";

    /// Rasterises the matrix (with quiet zone) at `scale` px per module for rqrr.
    fn raster(m: &QrMatrix, scale: u32) -> image::GrayImage {
        let side = m.width_with_quiet_zone() as u32 * scale;
        image::GrayImage::from_fn(side, side, |px, py| {
            let x = (px / scale) as usize;
            let y = (py / scale) as usize;
            let dark =
                x >= QUIET_ZONE && y >= QUIET_ZONE && m.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
            image::Luma([if dark { 0 } else { 255 }])
        })
    }

    fn decode(img: image::GrayImage) -> (rqrr::MetaData, String) {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "expected exactly one QR symbol");
        grids[0].decode().expect("decodes")
    }

    #[test]
    fn matrix_decodes_back_to_url_at_level_m() {
        let m = qr_matrix(URL).unwrap();
        assert_eq!(m.modules.len(), m.width * m.width);
        let (meta, text) = decode(raster(&m, 4));
        assert_eq!(text, URL);
        // rqrr numbers ECC levels by their format bits: M = 0.
        assert_eq!(meta.ecc_level, 0);
    }

    #[test]
    fn the_mask_score_counts_runs_finder_lookalikes_blocks_and_balance() {
        let (t, f) = (true, false);
        // A run of six dark (3 + 1) and one of five light (3).
        assert_eq!(line_penalty(&[t, t, t, t, t, t, f, f, f, f, f]), 7);
        // 1:1:3:1:1 with four light modules before it; beyond the symbol counts as light too.
        assert_eq!(line_penalty(&[f, f, f, f, t, f, t, t, t, f, t]), 40);
        assert_eq!(line_penalty(&[t, f, t, t, t, f, t]), 40);
        assert_eq!(line_penalty(&[t, f, t, t, t, f, t, t, f, t, t]), 40);
        // All light 2×2: one block (3) and no dark at all (10 × 10).
        let light = QrMatrix {
            width: 2,
            modules: vec![f; 4],
        };
        assert_eq!(penalty(&light), 103);
        let balanced = QrMatrix {
            width: 2,
            modules: vec![t, f, f, t],
        };
        assert_eq!(penalty(&balanced), 0);
    }

    #[test]
    fn the_chosen_mask_scores_lowest_of_the_eight() {
        let chosen = qr_matrix(URL).unwrap();
        let bits = qrcode::bits::encode_auto(URL.as_bytes(), EcLevel::M).unwrap();
        let version = bits.version();
        let (data, ec) =
            qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).unwrap();
        let mut unmasked = Canvas::new(version, EcLevel::M);
        unmasked.draw_all_functional_patterns();
        unmasked.draw_data(&data, &ec);
        for pattern in MASKS {
            let mut c = unmasked.clone();
            c.apply_mask(pattern);
            let other = QrMatrix {
                width: chosen.width,
                modules: c
                    .into_colors()
                    .into_iter()
                    .map(|c| c == Color::Dark)
                    .collect(),
            };
            assert!(penalty(&chosen) <= penalty(&other));
            let (_, text) = decode(raster(&other, 4));
            assert_eq!(text, URL, "every mask decodes, {pattern:?} too");
        }
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = qr_matrix(URL).unwrap();
        let mut seen = vec![false; m.modules.len()];
        for (x, y, len) in m.dark_runs() {
            for dx in 0..len {
                assert!(!seen[y * m.width + x + dx]);
                seen[y * m.width + x + dx] = true;
            }
        }
        assert_eq!(seen, m.modules);
    }

    #[test]
    fn svg_is_small_and_well_formed() {
        let svg = qr_svg(URL).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(svg.len() < 12_000, "svg is {} bytes", svg.len());
    }

    #[test]
    fn empty_and_oversized_urls_are_errors() {
        assert!(matches!(
            qr_matrix("  "),
            Err(DocumentError::EmptyField { .. })
        ));
        let huge = "x".repeat(5000);
        assert!(matches!(qr_matrix(&huge), Err(DocumentError::Qr(_))));
    }
}
