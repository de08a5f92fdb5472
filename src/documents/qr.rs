//! QR code for the permit verification URL: a module matrix for vector drawing and inline SVG.

use std::fmt::Write as _;

use qrcode::{EcLevel, QrCode};

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
pub fn qr_matrix(url: &str) -> Result<QrMatrix, DocumentError> {
    if url.trim().is_empty() {
        return Err(DocumentError::EmptyField {
            field: "二维码链接",
        });
    }
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)?;
    let width = code.width();
    let modules = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok(QrMatrix { width, modules })
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
