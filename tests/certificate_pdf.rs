//! Checks rendered certificates with the tools a reader's machine would use: qpdf (structure),
//! pdffonts (embedded subset), pdftotext (Chinese text extractable) and zbarimg on a 150 dpi
//! pdftoppm rendering (the printed QR scans back to the URL).
//!
//! Needs `apt-get install -y qpdf poppler-utils zbar-tools`. Missing tools FAIL the test so CI
//! cannot pass by accident; set ANJU_SKIP_EXTERNAL_TOOLS=1 to skip deliberately.

use std::path::Path;
use std::process::{Command, Output};

use anju::documents::certificate::*;
use chrono::NaiveDate;

const URL: &str = "https://anju.example.gov.cn/p/AJ-330102-2026-000123?sig=\
    Zk9yTm90aGluZ0J1dEFUZXN0U2lnbmF0dXJlVGhhdElzNjRCeXRlc0xvbmdBQUFBQUFBQUFBQUFBQUFB";

fn sample(rooms: usize, grade: GradeColour, long: bool) -> CertificateData {
    let address = if long {
        "浙江省杭州市西湖区转塘街道长埭村第三村民小组 58 号 B 栋东侧三层出租楼（原村办厂房改建）"
    } else {
        "浙江省杭州市西湖区转塘街道长埭村 3 组 58 号"
    };
    CertificateData {
        permit_number: "AJ-330102-2026-000123".into(),
        address: address.into(),
        landlord_name: "王建国".into(),
        rooms: (0..rooms)
            .map(|i| CertificateRoom {
                label: format!("{}0{} 室", 1 + i / 4, 1 + i % 4),
                area_m2: 14.0 + i as f64,
                max_occupants: 2,
            })
            .collect(),
        max_occupants: 2 * rooms as u32,
        grade,
        valid_from: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        valid_until: NaiveDate::from_ymd_opt(2027, 11, 26).unwrap(),
        village_name: "长埭村".into(),
        town_name: "转塘街道".into(),
        contact_phone: "0571-87000000".into(),
        qr_url: URL.into(),
    }
}

/// Runs a tool; `None` only when it is absent and skipping was asked for.
fn run(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("ANJU_SKIP_EXTERNAL_TOOLS").as_deref() == Ok("1") {
                eprintln!("skipping: {program} not installed (ANJU_SKIP_EXTERNAL_TOOLS=1)");
                None
            } else {
                panic!(
                    "{program} not found: apt-get install -y qpdf poppler-utils zbar-tools \
                     (or set ANJU_SKIP_EXTERNAL_TOOLS=1 to skip)"
                )
            }
        }
        Err(e) => panic!("running {program}: {e}"),
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Returns false when a tool was missing and skipping is allowed.
fn check_pdf(pdf: &Path, dir: &Path, expected_text: &[&str]) -> bool {
    let p = pdf.to_str().unwrap();
    let Some(out) = run("qpdf", &["--check", p]) else {
        return false;
    };
    assert!(
        out.status.success(),
        "qpdf --check failed:\n{}",
        stdout(&out)
    );

    let Some(out) = run("pdffonts", &[p]) else {
        return false;
    };
    let fonts = stdout(&out);
    let font_line = fonts
        .lines()
        .find(|l| l.contains("WenQuanYi"))
        .unwrap_or_else(|| {
            panic!("embedded font missing:\n{fonts}");
        });
    assert!(
        font_line.contains("yes yes yes"),
        "font must be embedded, subset and have ToUnicode:\n{fonts}"
    );

    let Some(out) = run("pdftotext", &["-enc", "UTF-8", p, "-"]) else {
        return false;
    };
    assert!(out.status.success());
    // pdftotext inserts layout spaces; compare without whitespace.
    let text: String = stdout(&out).split_whitespace().collect();
    for want in expected_text {
        let want: String = want.split_whitespace().collect();
        assert!(text.contains(&want), "pdftotext lacks {want:?}:\n{text}");
    }

    let prefix = dir.join("page");
    let prefix = prefix.to_str().unwrap();
    let Some(out) = run("pdftoppm", &["-r", "150", "-png", "-singlefile", p, prefix]) else {
        return false;
    };
    assert!(out.status.success(), "pdftoppm failed");
    let png = format!("{prefix}.png");
    let Some(out) = run("zbarimg", &["--raw", "-q", &png]) else {
        return false;
    };
    assert!(out.status.success(), "zbarimg found no QR code in {png}");
    assert_eq!(
        stdout(&out).trim_end_matches('\n'),
        URL,
        "QR payload differs"
    );
    true
}

#[test]
fn certificates_pass_external_pdf_tools() {
    let renderer = CertificateRenderer::new().unwrap();
    let cases = [
        (
            sample(4, GradeColour::Green, false),
            vec!["绿色·合格", "3 组 58 号"],
        ),
        (
            sample(14, GradeColour::Yellow, true),
            vec!["黄色·整改中", "304 室"],
        ),
        (
            sample(40, GradeColour::Red, true),
            vec!["红色·重大隐患", "另有 25 间"],
        ),
    ];
    for (data, extra) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("certificate.pdf");
        let pdf = renderer.render(&data).unwrap();
        assert!(pdf.len() <= 200 * 1024, "PDF is {} bytes", pdf.len());
        std::fs::write(&path, &pdf).unwrap();
        let mut expected = vec![
            "居住出租房屋准入证",
            "AJ-330102-2026-000123",
            "王建国",
            "2026年11月27日 至 2027年11月26日",
            "扫码核验·入住登记",
            "严禁在室内、楼道、楼梯间停放电动自行车",
            "发证机关：转塘街道 长埭村村民委员会",
            "咨询电话：0571-87000000",
        ];
        expected.extend(extra);
        if !check_pdf(&path, dir.path(), &expected) {
            return;
        }
    }
}
