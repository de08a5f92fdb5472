//! Residence proofs (居住证明): issued by the landlord, the village's official or the tenant with
//! the check-out code; the PDF passes qpdf, its text extracts and its QR decodes (zbarimg, rqrr)
//! to the verification URL; a tampered signature fails; every issue is audited; retention revokes.
//!
//! Needs qpdf, poppler-utils and zbar-tools like tests/certificate_pdf.rs (missing tools fail
//! unless ANJU_SKIP_EXTERNAL_TOOLS=1).
mod common;

use std::process::Command;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

/// A permit with one tenant (李小明) whose check-in the landlord has confirmed.
async fn confirmed_stay(app: &TestApp) -> (i32, String) {
    let (number, sig) = active_permit(app, 4).await;
    let room = permit_rooms(app, &number).await[0];
    let anon = app.browser().await;
    let r = anon
        .client
        .post(format!("/api/v1/permits/{number}/stays"))
        .header(rocket::http::ContentType::JSON)
        .body(
            json!({"sig": sig, "name": "李小明", "doc_type": "resident_id",
                "doc_number": resident_id(42), "phone": "13712345678", "room_id": room,
                "move_in": today_cst().format("%Y-%m-%d").to_string()})
            .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    let v: Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    let id = v["stay_id"].as_i64().unwrap() as i32;
    let code = v["checkout_code"].as_str().unwrap().to_string();
    (id, code)
}

async fn confirm(app: &TestApp, stay: i32) {
    let landlord = app.api(LANDLORD).await;
    let (s, _) = landlord
        .post(&format!("/stays/{stay}/confirm"), json!({}))
        .await;
    assert_eq!(s, Status::Ok);
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest[rest.find('/').unwrap()..].to_string()
}

fn sig_of(verify_url: &str) -> String {
    verify_url.split_once("?sig=").unwrap().1.to_string()
}

/// Runs a tool; `None` only when it is absent and skipping was asked for.
fn run(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("ANJU_SKIP_EXTERNAL_TOOLS").as_deref() == Ok("1") {
                None
            } else {
                panic!("{program} not found: apt-get install -y qpdf poppler-utils zbar-tools")
            }
        }
        Err(e) => panic!("running {program}: {e}"),
    }
}

/// qpdf --check, pdftotext and both QR decoders on the PDF; false when tools are skipped.
fn check_pdf(pdf: &[u8], expected_text: &[&str], qr_url: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proof.pdf");
    std::fs::write(&path, pdf).unwrap();
    let p = path.to_str().unwrap();
    let Some(out) = run("qpdf", &["--check", p]) else {
        return false;
    };
    assert!(out.status.success(), "qpdf --check failed");
    let Some(out) = run("pdftotext", &["-enc", "UTF-8", p, "-"]) else {
        return false;
    };
    let text: String = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect();
    for want in expected_text {
        let want: String = want.split_whitespace().collect();
        assert!(text.contains(&want), "pdftotext lacks {want:?}:\n{text}");
    }
    let prefix = dir.path().join("page");
    let prefix = prefix.to_str().unwrap();
    let Some(out) = run("pdftoppm", &["-r", "150", "-png", "-singlefile", p, prefix]) else {
        return false;
    };
    assert!(out.status.success(), "pdftoppm failed");
    let png = format!("{prefix}.png");
    let Some(out) = run("zbarimg", &["--raw", "-q", &png]) else {
        return false;
    };
    assert!(out.status.success(), "zbarimg found no QR code");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), qr_url);
    let img = image::open(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "rqrr finds one QR symbol");
    assert_eq!(grids[0].decode().unwrap().1, qr_url);
    true
}

#[rocket::async_test]
async fn a_landlord_issues_a_proof_that_a_stranger_verifies_by_scanning_it() {
    let app = TestApp::new().await;
    let (stay, _) = confirmed_stay(&app).await;
    confirm(&app, stay).await;
    let landlord = app.api(LANDLORD).await;
    let (s, issued) = landlord
        .post(&format!("/stays/{stay}/proof"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{issued}");
    let number = issued["number"].as_str().unwrap().to_string();
    let verify_url = issued["verify_url"].as_str().unwrap().to_string();
    assert!(verify_url.starts_with(&format!(
        "{}/verify-proof/{number}?sig=",
        app.config.public_url
    )));

    let stranger = app.browser().await;
    let r = stranger
        .get(&path_of(issued["pdf_url"].as_str().unwrap()))
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(rocket::http::ContentType::PDF));
    let pdf = r.into_bytes().await.unwrap();
    assert!(pdf.len() < 100 * 1024, "{} bytes", pdf.len());
    let doc_masked = format!(
        "{}********{}",
        &resident_id(42)[..6],
        &resident_id(42)[14..]
    );
    let today = today_cst();
    let period = format!("{} 至", today.format("%Y年%-m月%-d日"));
    check_pdf(
        &pdf,
        &[
            "居住证明",
            &number,
            "李小明",
            &doc_masked,
            "锦绣村",
            "共计 1 天",
            &period,
            "房东（出租人）",
        ],
        &verify_url,
    );
    // The whole document number never appears on the paper.
    assert!(!String::from_utf8_lossy(&pdf).contains(&resident_id(42)));

    let (s, v) = stranger_api(
        &app,
        &format!("/verify-proof/{number}?sig={}", sig_of(&verify_url)),
    )
    .await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["authentic"], true);
    assert_eq!(v["name_masked"], "李**");
    assert_eq!(v["village"], "锦绣村");
    assert_eq!(v["address"], "锦绣村东区 8 号");
    assert_eq!(v["from"], today.format("%Y-%m-%d").to_string());
    assert_eq!(v["to"], today.format("%Y-%m-%d").to_string());
    assert_eq!(v["days"], 1);
    assert_eq!(v["doc_masked"], doc_masked);

    let (s, page) = stranger.get_text(&path_of(&verify_url)).await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains("真实有效的居住证明") && page.contains("李**"),
        "{page}"
    );
    assert!(
        !page.contains("李小明"),
        "the page shows the masked name only"
    );

    assert_eq!(audit_count(&app, "proof.issue").await, 1);
}

async fn stranger_api(app: &TestApp, path: &str) -> (Status, Value) {
    let b = app.browser().await;
    let r = b.client.get(format!("/api/v1{path}")).dispatch().await;
    let s = r.status();
    (
        s,
        serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
    )
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    anju::entities::audit_entry::Entity::find()
        .filter(anju::entities::audit_entry::Column::Action.eq(action))
        .count(&app.db)
        .await
        .unwrap() as i64
}

#[rocket::async_test]
async fn a_tampered_or_missing_signature_shows_no_facts() {
    let app = TestApp::new().await;
    let (stay, _) = confirmed_stay(&app).await;
    confirm(&app, stay).await;
    let (_, issued) = app
        .api(LANDLORD)
        .await
        .post(&format!("/stays/{stay}/proof"), json!({}))
        .await;
    let number = issued["number"].as_str().unwrap();
    let sig = sig_of(issued["verify_url"].as_str().unwrap());
    // Flip one character of the signature part.
    let (key, body) = sig.split_once('.').unwrap();
    let first = if body.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{key}.{first}{}", &body[1..]);
    for bad in [tampered.as_str(), "", "nonsense"] {
        let (s, v) = stranger_api(&app, &format!("/verify-proof/{number}?sig={bad}")).await;
        assert_eq!(s, Status::Ok);
        assert_eq!(v["authentic"], false, "{bad}");
        assert!(v["name_masked"].is_null() && v["address"].is_null() && v["days"].is_null());
    }
    let (s, v) = stranger_api(&app, &format!("/verify-proof/JZ-2026-ABCDEFGHJK?sig={sig}")).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["authentic"], false);
    let (s, page) = app
        .browser()
        .await
        .get_text(&format!("/verify-proof/{number}?sig={tampered}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains("无法核验") && !page.contains("李*"));
    // The QR's signature does not open the PDF: its link has its own key.
    let b = app.browser().await;
    let r = b
        .get(&format!("/proofs/{number}/proof.pdf?key={sig}"))
        .await;
    assert_eq!(r.status(), Status::NotFound);
}

#[rocket::async_test]
async fn the_tenant_with_the_code_and_the_village_official_may_issue_and_nobody_else() {
    let app = TestApp::new().await;
    let (stay, code) = confirmed_stay(&app).await;
    let anon = app.browser().await;
    let post = |body: Value| {
        let c = &anon.client;
        async move {
            let r = c
                .post(format!("/api/v1/stays/{stay}/proof"))
                .header(rocket::http::ContentType::JSON)
                .body(body.to_string())
                .dispatch()
                .await;
            let s = r.status();
            (
                s,
                serde_json::from_str::<Value>(&r.into_string().await.unwrap_or_default())
                    .unwrap_or(Value::Null),
            )
        }
    };
    // Not yet confirmed by the landlord: nothing to prove.
    let (s, v) = post(json!({"checkout_code": code})).await;
    assert_eq!(s, Status::Conflict, "{v}");
    assert!(v["message"].as_str().unwrap().contains("尚未确认"));
    confirm(&app, stay).await;
    let (s, v) = post(json!({"checkout_code": "WRONGCODE2"})).await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    let (s, _) = post(json!({})).await;
    assert_eq!(s, Status::UnprocessableEntity);
    let (s, v) = post(json!({"checkout_code": code.to_lowercase()})).await;
    assert_eq!(s, Status::Created, "{v}");

    let (s, _) = app
        .api(OFFICIAL_JX)
        .await
        .post(&format!("/stays/{stay}/proof"), json!({}))
        .await;
    assert_eq!(s, Status::Created);
    for other in [OFFICIAL_NZ, INSPECTOR_JX, ADMIN] {
        let (s, _) = app
            .api(other)
            .await
            .post(&format!("/stays/{stay}/proof"), json!({}))
            .await;
        assert_eq!(s, Status::Forbidden, "{other}");
    }
    assert_eq!(audit_count(&app, "proof.issue").await, 2);
    assert_eq!(app.count("residence_proofs").await, 2);
}

#[rocket::async_test]
async fn the_landlord_and_the_tenant_get_the_pdf_from_the_pages() {
    let app = TestApp::new().await;
    let (stay, code) = confirmed_stay(&app).await;
    confirm(&app, stay).await;
    let landlord = app.signed_in(LANDLORD).await;
    let house = {
        let (_, houses) = app.api(LANDLORD).await.get("/properties").await;
        houses["items"][0]["id"].as_i64().unwrap()
    };
    let (s, page) = landlord
        .get_text(&format!("/landlord/houses/{house}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains("开具居住证明"),
        "the house page offers the proof"
    );
    let stay_id = stay.to_string();
    let r = landlord
        .post_form("/stays/proof", &[("stay_id", &stay_id)])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let to = r.headers().get_one("Location").unwrap().to_string();
    assert!(to.starts_with("/proofs/JZ-"), "{to}");
    let r = landlord.get(&to).await;
    assert_eq!(r.status(), Status::Ok);
    assert!(r.into_bytes().await.unwrap().starts_with(b"%PDF-"));

    let tenant = app.browser().await;
    let (s, page) = tenant
        .get_text(&format!("/stays/checkout?stay={stay}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains(&format!("/stays/proof?lang=zh&amp;stay={stay}")),
        "{page}"
    );
    assert!(page.contains("房东可在房屋页面为您办理退租"));
    let (s, page) = tenant.get_text(&format!("/stays/proof?stay={stay}")).await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains(&format!("value=\"{stay}\"")));
    let r = tenant
        .post_form(
            "/stays/proof",
            &[("stay_id", &stay_id), ("checkout_code", "NOTMYCODE2")],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let page = r.into_string().await.unwrap();
    assert!(page.contains("退租码不正确") && page.contains(&format!("value=\"{stay}\"")));
    let r = tenant
        .post_form(
            "/stays/proof",
            &[("stay_id", &stay_id), ("checkout_code", &code)],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(audit_count(&app, "proof.issue").await, 2);
}

#[rocket::async_test]
async fn a_checked_out_stay_is_proven_to_its_end_and_retention_revokes_the_proof() {
    let app = TestApp::new().await;
    let (stay, code) = confirmed_stay(&app).await;
    confirm(&app, stay).await;
    let anon = app.browser().await;
    let r = anon
        .client
        .post(format!("/api/v1/stays/{stay}/checkout"))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"checkout_code": code}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    let (s, issued) = app
        .api(LANDLORD)
        .await
        .post(&format!("/stays/{stay}/proof"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{issued}");
    let number = issued["number"].as_str().unwrap().to_string();
    let sig = sig_of(issued["verify_url"].as_str().unwrap());
    let (_, v) = stranger_api(&app, &format!("/verify-proof/{number}?sig={sig}")).await;
    assert_eq!(v["authentic"], true);

    let later = chrono::Utc::now() + chrono::Duration::days(800);
    let wiped = anju::services::stays::retention_wipe(&app.db, 24, later)
        .await
        .unwrap();
    assert_eq!(wiped, 1);
    let (_, v) = stranger_api(&app, &format!("/verify-proof/{number}?sig={sig}")).await;
    assert_eq!(v["authentic"], false);
    assert_eq!(v["revoked"], true);
    assert!(v["name_masked"].is_null());
    let (_, page) = app
        .browser()
        .await
        .get_text(&format!("/verify-proof/{number}?sig={sig}"))
        .await;
    assert!(page.contains("已失效"));
    let b = app.browser().await;
    let r = b.get(&path_of(issued["pdf_url"].as_str().unwrap())).await;
    assert_eq!(r.status(), Status::Conflict);
    let (s, v) = app
        .api(LANDLORD)
        .await
        .post(&format!("/stays/{stay}/proof"), json!({}))
        .await;
    assert_eq!(s, Status::Conflict, "{v}");
}
