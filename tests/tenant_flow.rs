//! The tenant's walk-through (issue 13 items 1–2): the check-in answers 303 with a reloadable
//! receipt that keeps the check-out code, the language switch keeps what was typed, English
//! pages show English dates, the QR page names the village and road and links to check-out.
mod common;

use common::*;
use rocket::http::Status;

fn form(room: &str, today: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "王小红".into()),
        ("doc_type", "resident_id".into()),
        ("doc_number", resident_id(77)),
        ("phone", "13912345678".into()),
        ("room_id", room.into()),
        ("move_in", today.into()),
        ("consent", "yes".into()),
    ]
}

fn pairs<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[rocket::async_test]
async fn a_check_in_redirects_to_a_receipt_that_survives_reloads_and_keeps_the_code() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let room = permit_rooms(&app, &number).await[0].to_string();
    let today = today_cst().format("%Y-%m-%d").to_string();
    let b = app.browser().await;
    let sig = urlencode(&sig);
    let f = form(&room, &today);
    let r = b
        .post_form(&format!("/p/{number}/checkin?sig={sig}"), &pairs(&f))
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let receipt = r.headers().get_one("Location").unwrap().to_string();
    assert!(receipt.starts_with("/stays/") && receipt.contains("/receipt?t="));
    let (s, first) = b.get_text(&receipt).await;
    assert_eq!(s, Status::Ok);
    assert!(first.contains("待房东确认"));
    let code_at = first.find("class=\"code\">").unwrap() + 13;
    let code: String = first[code_at..].chars().take_while(|c| *c != '<').collect();
    assert_eq!(code.len(), 10);
    // A reload shows the same code, and nothing was registered twice.
    let (s, again) = b.get_text(&receipt).await;
    assert_eq!(s, Status::Ok);
    assert!(again.contains(&code));
    assert_eq!(app.count("stays").await, 1);
    // The receipt shows the live status once the landlord confirms.
    let stay_id: i32 = receipt["/stays/".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (s, _) = app
        .api(LANDLORD)
        .await
        .post(&format!("/stays/{stay_id}/confirm"), serde_json::json!({}))
        .await;
    assert_eq!(s, Status::Ok);
    let (_, confirmed) = b.get_text(&receipt).await;
    assert!(confirmed.contains("在住") && confirmed.contains(&code));
    // The link is bound to its stay and cannot be forged or altered.
    let token = receipt
        .split("t=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (s, _) = b
        .get_text(&format!("/stays/{}/receipt?t={token}", stay_id + 1))
        .await;
    assert_eq!(s, Status::NotFound);
    let (s, _) = b
        .get_text(&format!("/stays/{stay_id}/receipt?t=AAAA{token}"))
        .await;
    assert_eq!(s, Status::NotFound);
    // The code from the receipt checks the tenant out.
    let r = b
        .post_form(
            "/stays/checkout",
            &[
                ("stay_id", &stay_id.to_string()),
                ("checkout_code", &code),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
}

#[rocket::async_test]
async fn the_receipt_link_expires_and_then_shows_no_code() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let room = permit_rooms(&app, &number).await[0].to_string();
    let today = today_cst().format("%Y-%m-%d").to_string();
    let b = app.browser().await;
    let f = form(&room, &today);
    let r = b
        .post_form(
            &format!("/p/{number}/checkin?sig={}", urlencode(&sig)),
            &pairs(&f),
        )
        .await;
    let receipt = r.headers().get_one("Location").unwrap().to_string();
    let stay_id: i32 = receipt["/stays/".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let token = receipt
        .split("t=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let pii = app.keys().await.pii;
    let later = chrono::Utc::now()
        + chrono::Duration::hours(anju::services::stays::receipt::RECEIPT_HOURS + 1);
    let opened = anju::services::stays::receipt::open(
        &app.db,
        &pii,
        stay_id,
        token,
        later,
        anju::domain::stay::Lang::Zh,
    )
    .await;
    assert!(
        matches!(opened, Err(anju::error::AppError::Conflict(ref m)) if m.contains("已过期")),
        "{opened:?}"
    );
    let fresh = anju::services::stays::receipt::open(
        &app.db,
        &pii,
        stay_id,
        token,
        chrono::Utc::now(),
        anju::domain::stay::Lang::Zh,
    )
    .await
    .unwrap();
    assert_eq!(fresh.checkout_code.len(), 10);
}

#[rocket::async_test]
async fn switching_language_keeps_what_was_typed_and_registers_nothing() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let room = permit_rooms(&app, &number).await[0].to_string();
    let b = app.browser().await;
    let sig = urlencode(&sig);
    let (s, zh) = b.get_text(&format!("/p/{number}/checkin?sig={sig}")).await;
    assert_eq!(s, Status::Ok);
    assert!(zh.contains("name=\"switch_lang\"") && zh.contains("form=\"checkin-form\""));
    assert!(zh.contains("年"), "Chinese dates on the Chinese page");
    let mut f = form(&room, "2026-01-01");
    f.push(("switch_lang", "1".into()));
    let r = b
        .post_form(
            &format!("/p/{number}/checkin?sig={sig}&lang=en"),
            &pairs(&f),
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let en = r.into_string().await.unwrap();
    assert!(en.contains("Tenant check-in"), "the page is in English");
    assert!(en.contains("value=\"王小红\"") && en.contains(&resident_id(77)));
    assert!(en.contains("value=\"13912345678\""));
    assert!(!en.contains("field-error"), "switching is not a submission");
    let valid_until = en.split("Valid until").nth(1).unwrap();
    let valid_until: String = valid_until.chars().take(60).collect();
    assert!(!valid_until.contains('年'), "English dates: {valid_until}");
    assert!(
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
        ]
        .iter()
        .any(|m| valid_until.contains(m)),
        "{valid_until}"
    );
    assert_eq!(app.count("stays").await, 0);
    // And back to Chinese, still keeping the values.
    let r = b
        .post_form(
            &format!("/p/{number}/checkin?sig={sig}&lang=zh"),
            &pairs(&f),
        )
        .await;
    let zh = r.into_string().await.unwrap();
    assert!(zh.contains("入住登记") && zh.contains("value=\"王小红\""));
}

#[rocket::async_test]
async fn the_qr_page_names_village_and_road_and_links_to_check_out() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let b = app.browser().await;
    let (s, page) = b
        .get_text(&format!("/p/{number}?sig={}", urlencode(&sig)))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains("锦绣村") && page.contains("锦绣村东区"),
        "{page}"
    );
    assert!(
        !page.contains("东区 8 号"),
        "the house number stays off the public page"
    );
    assert!(page.contains(&format!("href=\"/p/{number}/checkout\"")));
    // Without a good signature the road is not shown.
    let (_, forged) = b.get_text(&format!("/p/{number}?sig=x.y")).await;
    assert!(!forged.contains("锦绣村东区"));
    let (s, checkout) = b.get_text(&format!("/p/{number}/checkout")).await;
    assert_eq!(s, Status::Ok);
    assert!(checkout.contains("退租码") && checkout.contains("房东可在房屋页面为您办理退租"));
}
