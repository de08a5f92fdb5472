//! The certificate of a real approved permit: downloaded through the API and the pages, its QR
//! decoded (pdftoppm + zbarimg, as in tests/certificate_pdf.rs) back to the permit's URL; and
//! the issue's done-story from approval to revocation.
mod common;

use std::process::Command;

use common::*;
use rocket::http::{Header, Status};
use serde_json::json;

/// Rasterises the PDF at 150 dpi and returns what zbarimg reads from it.
fn decode_qr(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("qpdf installed");
    assert!(out.status.success(), "qpdf --check");
    let prefix = dir.path().join("page");
    let st = Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-singlefile"])
        .arg(&path)
        .arg(&prefix)
        .status()
        .expect("pdftoppm installed");
    assert!(st.success());
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(dir.path().join("page.png"))
        .output()
        .expect("zbarimg installed");
    assert!(out.status.success(), "zbarimg found no QR code");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext installed");
    String::from_utf8_lossy(&out.stdout).to_string()
}

async fn api_pdf(api: &Api, number: &str) -> (Status, Vec<u8>) {
    let r = api
        .client
        .get(format!("/api/v1/permits/{number}/certificate.pdf"))
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", api.token),
        ))
        .dispatch()
        .await;
    let s = r.status();
    (s, r.into_bytes().await.unwrap_or_default())
}

#[rocket::async_test]
async fn the_certificate_of_an_approved_permit_downloads_through_the_api_and_its_qr_scans_to_the_permit_url()
 {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(&format!("/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let number = v["permit_number"].as_str().unwrap();
    let landlord = app.api(LANDLORD).await;
    let (_, permit) = landlord.get(&format!("/permits/{number}")).await;
    let (s, pdf) = api_pdf(&landlord, number).await;
    assert_eq!(s, Status::Ok);
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(decode_qr(&pdf), permit["qr_url"].as_str().unwrap());
    let text = pdf_text(&pdf);
    for want in [number, "王房东", "锦绣村"] {
        assert!(text.contains(want), "certificate text has {want}");
    }
    assert_eq!(
        api_pdf(&official, number).await.0,
        Status::Ok,
        "the official"
    );
    let other = app.api(OFFICIAL_NZ).await;
    assert_eq!(api_pdf(&other, number).await.0, Status::Forbidden);
}

#[rocket::async_test]
async fn an_address_the_certificate_font_cannot_print_is_refused_at_approval() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let id =
        passed_application_as(&app, &landlord, "锦绣村𠮷祥巷 3 号", design_example_rooms()).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(&format!("/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    let msg = v["fields"]["certificate"][0].as_str().unwrap();
    assert!(msg.contains("𠮷") && msg.contains("地址"), "{msg}");
    assert_eq!(app.count("permits").await, 0, "nothing issued");
    let (_, a) = official.get(&format!("/applications/{id}")).await;
    assert_eq!(a["status"], "passed", "still waiting for a decision");
    let b = app.signed_in(OFFICIAL_JX).await;
    let r = b
        .post_form(
            &format!("/official/applications/{id}/approve"),
            &[("valid_months", "12")],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let html = r.into_string().await.unwrap();
    assert!(html.contains("准入证无法打印"), "message beside the form");
}

/// The issue's "done means": the official approves, the landlord downloads the certificate,
/// its QR opens the verification page reading 有效; after revocation the same URL reads 已吊销.
#[rocket::async_test]
async fn the_official_approves_the_landlord_prints_and_a_scan_shows_valid_then_revoked() {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;

    let official = app.signed_in(OFFICIAL_JX).await;
    let (s, html) = official.get_text("/official/queue").await;
    assert_eq!(s, Status::Ok);
    assert!(
        html.contains(&format!("/official/applications/{id}/review")),
        "in the queue"
    );
    let (s, html) = official
        .get_text(&format!("/official/applications/{id}/review"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("最多可住 <b>6</b> 人") && html.contains("房屋照片"));
    let r = official
        .post_form(
            &format!("/official/applications/{id}/approve"),
            &[("valid_months", "12"), ("max_occupants", "")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let loc = r.headers().get_one("Location").unwrap().to_string();
    let number = loc.rsplit('/').next().unwrap().to_string();
    let (_, html) = official.get_text("/official/queue").await;
    assert!(
        !html.contains(&format!("申请 #{id}")),
        "gone from the queue"
    );

    let landlord = app.signed_in(LANDLORD).await;
    let (_, home) = landlord.get_text("/landlord").await;
    assert!(
        home.contains(&format!("准入证已发放：{number}")),
        "notified"
    );
    assert!(
        home.contains(&format!("/permits/{number}/certificate.pdf")),
        "download button"
    );
    let r = landlord
        .get(&format!("/permits/{number}/certificate.pdf"))
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(
        r.content_type().map(|c| c.to_string()),
        Some("application/pdf".into())
    );
    let pdf = r.into_bytes().await.unwrap();
    let url = decode_qr(&pdf);
    let path = url
        .strip_prefix("http://127.0.0.1:8000")
        .expect("QR carries the public URL")
        .to_string();
    assert!(path.starts_with(&format!("/p/{number}?sig=")));

    let phone = app.browser().await;
    let (s, html) = phone.get_text(&path).await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("big green\">有效<"), "reads 有效");

    let r = official
        .post_form(
            &format!("/official/permits/{number}/revoke"),
            &[("reason", "擅自改变房屋用途")],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity, "asks to confirm");
    let r = official
        .post_form(
            &format!("/official/permits/{number}/revoke"),
            &[("reason", "擅自改变房屋用途"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = phone.get_text(&path).await;
    assert!(
        html.contains("big red\">已吊销<"),
        "the same URL reads 已吊销"
    );
    assert!(!html.contains("/checkin"));
}

#[rocket::async_test]
async fn the_certificate_names_the_issuing_authority_and_the_configured_contact_phone() {
    let app = TestApp::with(|c| c.contact_phone = "0571-86001234".into()).await;
    let id = passed_application(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(&format!("/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let number = v["permit_number"].as_str().unwrap();
    let (s, pdf) = api_pdf(&app.api(LANDLORD).await, number).await;
    assert_eq!(s, Status::Ok);
    let text: String = pdf_text(&pdf).split_whitespace().collect();
    assert!(text.contains("发证机关：花街镇锦绣村村民委员会"), "{text}");
    assert!(text.contains("咨询电话：0571-86001234"), "{text}");
}
