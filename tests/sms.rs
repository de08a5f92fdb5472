//! Texts through the configured provider, against a local server speaking the provider's API:
//! who gets which text, quiet hours, the daily cap, permanent refusals, and one-time codes.
mod common;
#[path = "support/http_peer.rs"]
mod http_peer;

use common::*;
use http_peer::{HttpPeer, Received, Reply};
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use anju::entities::delivery;
use anju::services::events::dispatch::run_until_idle;

/// The query parameters of an Aliyun RPC request, decoded.
fn query(r: &Received) -> Vec<(String, String)> {
    let q = r.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param(r: &Received, name: &str) -> Option<String> {
    query(r)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

async fn aliyun_app(peer: &HttpPeer, tweak: impl FnOnce(&mut anju::Config)) -> TestApp {
    let url = peer.url.clone();
    TestApp::with(move |c| {
        c.sms_provider = "aliyun".into();
        c.sms_endpoint = url;
        c.sms_access_key_id = "LTAI-test".into();
        c.sms_access_key_secret = "secret".into();
        c.sms_sign_name = "花街镇".into();
        c.sms_quiet_start = 0;
        c.sms_quiet_end = 0;
        tweak(c);
    })
    .await
}

fn aliyun_ok(peer: &HttpPeer) {
    peer.answer(|_| Reply::json(200, json!({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "F655A8D5"})));
}

#[rocket::async_test]
async fn a_new_task_texts_its_inspector_through_aliyun() {
    let peer = HttpPeer::start().await;
    aliyun_ok(&peer);
    let app = aliyun_app(&peer, |_| {}).await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    run_until_idle(&*app.state().await).await.unwrap();
    let got = peer.wait_for(1, 5).await;
    assert_eq!(got.len(), 1, "one text: the inspector's task");
    let r = &got[0];
    assert_eq!(param(r, "PhoneNumbers").as_deref(), Some(INSPECTOR_JX));
    assert_eq!(param(r, "TemplateCode").as_deref(), Some("SMS_000000101"));
    assert_eq!(param(r, "SignName").as_deref(), Some("花街镇"));
    let d = delivery::Entity::find()
        .filter(delivery::Column::Channel.eq("sms"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        param(r, "OutId"),
        Some(d.id.to_string()),
        "OutId is the outbox delivery"
    );
    assert_eq!(d.status, "delivered");
    let tp: serde_json::Value = serde_json::from_str(&param(r, "TemplateParam").unwrap()).unwrap();
    assert_eq!(tp["address"], "锦绣村第一网格 8 号");
    assert!(
        r.header("authorization")
            .unwrap_or("")
            .starts_with("ACS3-HMAC-SHA256 Credential=LTAI-test")
    );
}

#[rocket::async_test]
async fn a_tenants_check_in_texts_the_landlord_through_tencent() {
    let peer = HttpPeer::start().await;
    peer.answer(|_| Reply::json(200, json!({"Response": {"SendStatusSet": [{"SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": "+8613900000004", "Code": "Ok", "Message": "send success"}], "RequestId": "a0aabda6"}})));
    let url = peer.url.clone();
    let app = TestApp::with(move |c| {
        c.sms_provider = "tencent".into();
        c.sms_endpoint = url;
        c.sms_access_key_id = "AKID-test".into();
        c.sms_access_key_secret = "secret".into();
        c.sms_sign_name = "花街镇".into();
        c.sms_sdk_app_id = "1400006666".into();
        c.sms_quiet_start = 0;
        c.sms_quiet_end = 0;
    })
    .await;
    let (number, sig) = active_permit(&app, 4).await;
    let rooms = permit_rooms(&app, &number).await;
    // Texts of the permit's approval went out first; only the check-in's counts here.
    run_until_idle(&*app.state().await).await.unwrap();
    let before = peer.received().len();
    let anon = app.browser().await;
    let r = anon
        .client
        .post(format!("/api/v1/permits/{number}/stays"))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"sig": sig, "name": "赵六", "doc_type": "resident_id", "doc_number": resident_id(7),
            "phone": "13600000000", "room_id": rooms[0], "move_in": today_cst().to_string()}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    run_until_idle(&*app.state().await).await.unwrap();
    let got = peer.wait_for(before + 1, 5).await;
    assert_eq!(got.len(), before + 1);
    let body = got[before].json();
    assert_eq!(got[before].header("x-tc-action"), Some("SendSms"));
    assert_eq!(
        body["PhoneNumberSet"],
        json!(["+8613900000004"]),
        "the landlord"
    );
    assert_eq!(body["TemplateId"], "1000109");
    assert!(
        !got[before].text().contains("赵六") && !got[before].text().contains("13600000000"),
        "no tenant data in the text"
    );
}

#[rocket::async_test]
async fn no_texts_at_night_they_wait_for_seven_in_the_morning() {
    let peer = HttpPeer::start().await;
    aliyun_ok(&peer);
    let app = aliyun_app(&peer, |c| {
        c.sms_quiet_start = 22;
        c.sms_quiet_end = 7;
        c.clock = clock_at_cst(2026, 5, 6, 23, 15);
    })
    .await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    run_until_idle(&*app.state().await).await.unwrap();
    assert!(peer.received().is_empty(), "nothing sent at 23:15");
    let d = delivery::Entity::find()
        .filter(delivery::Column::Channel.eq("sms"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "pending");
    assert_eq!(d.attempts, 0, "waiting is not an attempt");
    let seven = anju::domain::clock::town_time(2026, 5, 7, 7, 0).unwrap();
    assert_eq!(d.next_attempt_at, seven);
    let morning = app.state_at(clock_at_cst(2026, 5, 7, 7, 1)).await;
    run_until_idle(&morning).await.unwrap();
    assert_eq!(peer.wait_for(1, 5).await.len(), 1, "sent in the morning");
}

#[rocket::async_test]
async fn the_daily_cap_stops_texts_of_one_kind_to_one_number_and_bad_numbers_are_not_retried() {
    let peer = HttpPeer::start().await;
    aliyun_ok(&peer);
    let app = aliyun_app(&peer, |c| c.sms_daily_cap = 1).await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    run_until_idle(&*app.state().await).await.unwrap();
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    run_until_idle(&*app.state().await).await.unwrap();
    assert_eq!(
        peer.received().len(),
        1,
        "the second task.created text to the same inspector is over the cap"
    );
    let failed = delivery::Entity::find()
        .filter(delivery::Column::Status.eq("failed"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("上限")
    );

    // The provider refuses the number: recorded once, never tried again.
    peer.answer(|_| {
        Reply::json(
            200,
            json!({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "x"}),
        )
    });
    let app2 = aliyun_app(&peer, |c| c.webhook_retry_seconds = "1".into()).await;
    let landlord = app2.api(LANDLORD).await;
    submitted_in_grid(&app2, &landlord, "锦绣村第一网格").await;
    let st = app2.state().await;
    run_until_idle(&st).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    run_until_idle(&st).await.unwrap();
    let d = delivery::Entity::find()
        .filter(delivery::Column::Channel.eq("sms"))
        .one(&app2.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.attempts),
        ("failed", 1),
        "{:?}",
        d.last_error
    );
}

#[rocket::async_test]
async fn a_one_time_code_is_sent_now_rate_limited_stored_hashed_and_spent_once() {
    let peer = HttpPeer::start().await;
    aliyun_ok(&peer);
    let app = aliyun_app(&peer, |c| {
        // Codes go out at night too.
        c.sms_quiet_start = 0;
        c.sms_quiet_end = 23;
    })
    .await;
    let anon = app.browser().await;
    let send = |phone: &'static str| {
        anon.client
            .post("/api/v1/auth/sms-code")
            .header(rocket::http::ContentType::JSON)
            .body(json!({"phone": phone}).to_string())
            .dispatch()
    };
    let r = send("13812345678").await;
    assert_eq!(r.status(), Status::Accepted);
    let got = peer.wait_for(1, 5).await;
    assert_eq!(got.len(), 1, "sent at once, without the queue");
    assert_eq!(
        param(&got[0], "TemplateCode").as_deref(),
        Some("SMS_000000100")
    );
    let tp: serde_json::Value =
        serde_json::from_str(&param(&got[0], "TemplateParam").unwrap()).unwrap();
    let code = tp["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    assert_eq!(
        send("13812345678").await.status(),
        Status::TooManyRequests,
        "one a minute"
    );
    assert_eq!(send("1381234").await.status(), Status::UnprocessableEntity);
    let rows = anju::entities::sms_code::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| !r.code_hash.contains(&code) && !r.phone_hash.contains("13812345678")),
        "stored hashed"
    );

    let st = app.state().await;
    let phone = anju::domain::identity::Phone::parse("13812345678").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(
        !anju::services::events::sms_codes::verify(&st, &phone, wrong)
            .await
            .unwrap()
    );
    assert!(
        anju::services::events::sms_codes::verify(&st, &phone, &code)
            .await
            .unwrap(),
        "the right code"
    );
    assert!(
        !anju::services::events::sms_codes::verify(&st, &phone, &code)
            .await
            .unwrap(),
        "spent"
    );

    // Five an hour: the sixth within the hour is refused even a minute apart.
    let other = anju::domain::identity::Phone::parse("13812340000").unwrap();
    for m in 0..5u32 {
        let at = app.state_at(clock_at_cst(2026, 5, 6, 10, 2 * m)).await;
        anju::services::events::sms_codes::send(&at, &other)
            .await
            .unwrap();
    }
    let at = app.state_at(clock_at_cst(2026, 5, 6, 10, 30)).await;
    let r = anju::services::events::sms_codes::send(&at, &other).await;
    assert!(matches!(r, Err(anju::error::AppError::TooMany(_))), "{r:?}");
    // Ten minutes later a code has expired.
    let at = app.state_at(clock_at_cst(2026, 5, 6, 11, 30)).await;
    let last = peer.received().last().cloned().unwrap();
    let tp: serde_json::Value =
        serde_json::from_str(&param(&last, "TemplateParam").unwrap()).unwrap();
    assert!(
        !anju::services::events::sms_codes::verify(&at, &other, tp["code"].as_str().unwrap())
            .await
            .unwrap(),
        "expired"
    );
}

#[rocket::async_test]
async fn without_a_provider_codes_are_refused_with_a_message() {
    let app = TestApp::new().await;
    let anon = app.browser().await;
    let r = anon
        .client
        .post("/api/v1/auth/sms-code")
        .header(rocket::http::ContentType::JSON)
        .body(json!({"phone": "13812345678"}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::BadRequest);
    assert!(r.into_string().await.unwrap().contains("未配置短信服务"));
}
