//! Claiming the account an import made for a landlord's phone: with an official's claim code or an
//! SMS code, refused with a wrong, spent or expired one; a phone with a password stays refused; an
//! unclaimed account's sign-in is refused like a wrong password, and as slowly.
mod common;
#[path = "support/http_peer.rs"]
mod http_peer;
#[path = "support/imports.rs"]
mod imports_support;

use std::time::{Duration, Instant};

use anju::domain::account::Registration;
use anju::services::claims;
use common::*;
use http_peer::{HttpPeer, Received, Reply};
use imports_support::*;
use rocket::http::{ContentType, Status};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

const IMPORTED: &str = "13700000042";

/// Two houses imported under one phone through the official's import; their ids.
async fn imported_houses(app: &TestApp, phone: &str) -> Vec<i32> {
    use anju::entities::property;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows: Vec<Vec<String>> = (1..=2)
        .map(|i| {
            let mut r = house(i);
            r[5] = "导入房东".into();
            r[6] = phone.into();
            r
        })
        .collect();
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &houses_xlsx(&rows)).await;
    assert_eq!(v["rows"]["create"], 2, "{v}");
    assert_eq!(
        commit(&official, v["id"].as_i64().unwrap()).await.0,
        Status::Accepted
    );
    anju::jobs::run_all(&*app.state().await, "t").await;
    let mut ids: Vec<i32> = property::Entity::find()
        .filter(property::Column::Address.is_in(["导入路1号", "导入路2号"]))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|h| h.id)
        .collect();
    ids.sort();
    assert_eq!(ids.len(), 2);
    ids
}

async fn register(app: &TestApp, phone: &str, code: Option<&str>) -> (Status, Value) {
    let b = app.browser().await;
    let mut body = json!({"name": "王认领", "phone": phone, "password": DEMO_PASSWORD});
    if let Some(c) = code {
        body["sms_code"] = json!(c);
    }
    let r = b
        .client
        .post("/api/v1/landlords")
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
        .await;
    let s = r.status();
    (
        s,
        serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
    )
}

#[rocket::async_test]
async fn an_imported_landlord_claims_the_houses_with_the_officials_claim_code() {
    let app = TestApp::new().await;
    let houses = imported_houses(&app, IMPORTED).await;

    // Without a code the registration asks for one, beside the code field; nothing is set.
    let (s, v) = register(&app, IMPORTED, None).await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert!(v["fields"]["sms_code"].is_array(), "{v}");
    let page = app.browser().await;
    let r = page
        .post_form(
            "/register",
            &[
                ("name", "王认领"),
                ("phone", IMPORTED),
                ("password", DEMO_PASSWORD),
                ("password2", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let html = r.into_string().await.unwrap();
    assert!(
        html.contains("name=\"sms_code\""),
        "the page asks for the code"
    );
    assert!(
        html.contains("formaction=\"/register/sms-code?_csrf="),
        "a button that works without script"
    );
    // This town has no SMS provider: the button says so and points to the claim code.
    let r = page
        .post_form(
            "/register/sms-code",
            &[("name", "王认领"), ("phone", IMPORTED)],
        )
        .await;
    assert_eq!(r.status(), Status::BadRequest);
    assert!(r.into_string().await.unwrap().contains("认领码"));

    // Only the official of the house's village hands out a claim code.
    let nz = app.api(OFFICIAL_NZ).await;
    assert_eq!(
        nz.post(&format!("/properties/{}/claim-code", houses[0]), json!({}))
            .await
            .0,
        Status::Forbidden
    );
    let official = app.api(OFFICIAL_JX).await;
    let (s, issued) = official
        .post(&format!("/properties/{}/claim-code", houses[0]), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{issued}");
    let code = issued["claim_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(issued["phone"], "137****0042");
    let rows = anju::entities::claim_code::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        rows.iter().all(|r| !r.code_hash.contains(&code)),
        "stored as a keyed hash only"
    );
    assert_eq!(audits(&app, "user.claim_code_issue").await.len(), 1);

    // A wrong code is refused beside the field and claims nothing.
    let wrong = if code == "12345678" {
        "87654321"
    } else {
        "12345678"
    };
    let (s, v) = register(&app, IMPORTED, Some(wrong)).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(v["fields"]["sms_code"].is_array(), "{v}");

    // The right code, on the registration page: signed in, and the imported houses are there.
    let r = page
        .post_form(
            "/register",
            &[
                ("name", "王认领"),
                ("phone", IMPORTED),
                ("password", DEMO_PASSWORD),
                ("password2", DEMO_PASSWORD),
                ("sms_code", &code),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/landlord"));
    let (_, home) = page.get_text("/landlord").await;
    assert!(
        home.contains("导入路1号") && home.contains("导入路2号"),
        "{home}"
    );
    let api = app.api(IMPORTED).await;
    let (_, list) = api.get("/properties").await;
    assert_eq!(list["total"], 2, "{list}");
    let claimed = audits(&app, "user.claim").await;
    assert_eq!(claimed.len(), 1);
    assert!(
        claimed[0].detail.contains("claim_code"),
        "{}",
        claimed[0].detail
    );

    // The code is spent, and the phone now has a password: registering it is refused as always.
    let (s, v) = register(&app, IMPORTED, Some(&code)).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(v["fields"]["phone"].is_array(), "{v}");
    let (s, v) = register(&app, LANDLORD, Some("123456")).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        v["fields"]["phone"][0].as_str().unwrap().contains("已注册"),
        "{v}"
    );
    // And no claim code is made for an account that has a password.
    let (s, _) = official
        .post(&format!("/properties/{}/claim-code", houses[1]), json!({}))
        .await;
    assert_eq!(s, Status::Conflict);
}

#[rocket::async_test]
async fn an_expired_claim_code_and_an_older_one_are_refused() {
    let app = TestApp::new().await;
    let houses = imported_houses(&app, IMPORTED).await;
    let official = {
        use anju::entities::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let u = user::Entity::find()
            .filter(user::Column::Phone.eq(OFFICIAL_JX))
            .one(&app.db)
            .await
            .unwrap()
            .expect("the demo official");
        anju::services::auth::actor_of(&u).unwrap()
    };
    let reg = || Registration::parse("王认领", IMPORTED, DEMO_PASSWORD).unwrap();

    let monday = app.state_at(clock_at_cst(2026, 5, 4, 10, 0)).await;
    let first = claims::issue(&monday, &official, houses[0]).await.unwrap();
    let second = claims::issue(&monday, &official, houses[1]).await.unwrap();
    // A new code replaces the one before it.
    let r = claims::register_or_claim(&monday, reg(), Some(&first.claim_code)).await;
    assert!(
        matches!(r, Err(anju::error::AppError::Validation(_))),
        "the older code"
    );
    // Eight days later the newest one has expired too.
    let later = app.state_at(clock_at_cst(2026, 5, 12, 10, 0)).await;
    let r = claims::register_or_claim(&later, reg(), Some(&second.claim_code)).await;
    assert!(
        matches!(r, Err(anju::error::AppError::Validation(_))),
        "expired"
    );
    let b = app.browser().await;
    let r = b
        .post_form(
            "/login",
            &[("phone", IMPORTED), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_ne!(r.status(), Status::SeeOther, "still unclaimed");
    // Within the seven days it works.
    let r = claims::register_or_claim(&monday, reg(), Some(&second.claim_code)).await;
    assert!(matches!(r, Ok(claims::Registered::Claimed(_))));
}

/// The six-digit code in an Aliyun request's `TemplateParam` (`{"code":"123456"}`, percent-encoded).
fn aliyun_code(r: &Received) -> String {
    let q = r.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let raw = q
        .split('&')
        .find_map(|kv| kv.strip_prefix("TemplateParam="))
        .expect("TemplateParam");
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let b = raw.as_bytes()[i];
        if b == b'%'
            && i + 2 < raw.len() + 1
            && let Ok(v) = u8::from_str_radix(&raw[i + 1..i + 3], 16)
        {
            bytes.push(v);
            i += 3;
            continue;
        }
        bytes.push(b);
        i += 1;
    }
    let v: Value = serde_json::from_slice(&bytes).expect("JSON template parameters");
    v["code"].as_str().expect("a code").to_string()
}

#[rocket::async_test]
async fn an_imported_landlord_claims_with_an_sms_code_and_a_wrong_or_expired_one_is_refused() {
    let peer = HttpPeer::start().await;
    peer.answer(|_| {
        Reply::json(
            200,
            json!({"Code": "OK", "Message": "OK", "BizId": "1^0", "RequestId": "R"}),
        )
    });
    let url = peer.url.clone();
    let app = TestApp::with(move |c| {
        c.sms_provider = "aliyun".into();
        c.sms_endpoint = url;
        c.sms_access_key_id = "LTAI-test".into();
        c.sms_access_key_secret = "secret".into();
        c.sms_sign_name = "花街镇".into();
    })
    .await;
    let houses = imported_houses(&app, IMPORTED).await;
    // The page's “获取验证码” button sends the code and keeps what was typed.
    let page = app.browser().await;
    let r = page
        .post_form(
            "/register/sms-code",
            &[("name", "王认领"), ("phone", IMPORTED)],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let html = r.into_string().await.unwrap();
    assert!(
        html.contains("验证码已发送至 137****0042") && html.contains("value=\"王认领\""),
        "{html}"
    );
    let got = peer.wait_for(1, 5).await;
    let code = aliyun_code(&got[0]);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, v) = register(&app, IMPORTED, Some(wrong)).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(v["fields"]["sms_code"].is_array(), "{v}");
    // Eleven minutes later the code has expired.
    let later = app
        .state_at(anju::domain::clock::Clock::starting_at(
            chrono::Utc::now() + chrono::Duration::minutes(11),
        ))
        .await;
    let reg = Registration::parse("王认领", IMPORTED, DEMO_PASSWORD).unwrap();
    let r = claims::register_or_claim(&later, reg, Some(&code)).await;
    assert!(
        matches!(r, Err(anju::error::AppError::Validation(_))),
        "an expired SMS code"
    );
    let (s, v) = register(&app, IMPORTED, Some(&code)).await;
    assert_eq!(s, Status::Created, "{v}");
    assert_eq!(v["claimed"], true);
    let api = app.api(IMPORTED).await;
    let (s, h) = api.get(&format!("/properties/{}", houses[1])).await;
    assert_eq!(s, Status::Ok, "{h}");
    assert_eq!(h["address"], "导入路2号");
    assert!(audits(&app, "user.claim").await[0].detail.contains("sms"));
}

/// Median time of a refused sign-in, its status and the message beside the field.
async fn refusal_time(b: &Browser, phone: &str) -> (Duration, Status, String) {
    let mut times = Vec::new();
    let mut message = String::new();
    let mut status = Status::Ok;
    for _ in 0..5 {
        let t = Instant::now();
        let r = b
            .post_form(
                "/login",
                &[("phone", phone), ("password", "wrong-password-1")],
            )
            .await;
        times.push(t.elapsed());
        status = r.status();
        let html = r.into_string().await.unwrap_or_default();
        let start = html.find("class=\"err\">").map(|i| i + 12).unwrap_or(0);
        message = html[start..].chars().take_while(|c| *c != '<').collect();
    }
    times.sort();
    (times[2], status, message)
}

#[rocket::async_test]
async fn an_unclaimed_sign_in_is_refused_like_a_wrong_password_and_as_slowly() {
    let app = TestApp::with(|c| {
        c.login_account_limit = 100;
        c.login_ip_limit = 1000;
    })
    .await;
    imported_houses(&app, IMPORTED).await;
    let b = app.browser().await;
    let (wrong, wrong_status, wrong_msg) = refusal_time(&b, LANDLORD).await;
    let (unclaimed, unclaimed_status, unclaimed_msg) = refusal_time(&b, IMPORTED).await;
    let (unknown, unknown_status, unknown_msg) = refusal_time(&b, "13600000000").await;
    assert_eq!(wrong_msg, "手机号或密码不正确");
    assert_ne!(wrong_status, Status::SeeOther);
    assert_eq!(
        (unclaimed_status, unclaimed_msg),
        (wrong_status, wrong_msg.clone())
    );
    assert_eq!((unknown_status, unknown_msg), (wrong_status, wrong_msg));
    // Each runs one Argon2 verification; without it the refusal took a fraction of a millisecond.
    assert!(
        unclaimed * 3 >= wrong,
        "unclaimed {unclaimed:?} vs wrong password {wrong:?}"
    );
    assert!(
        unknown * 3 >= wrong,
        "unknown {unknown:?} vs wrong password {wrong:?}"
    );
    // The API answers the same.
    let api = app.browser().await;
    let mut statuses = Vec::new();
    for phone in [LANDLORD, IMPORTED] {
        let r = api
            .client
            .post("/api/v1/auth/login")
            .header(ContentType::JSON)
            .body(json!({"phone": phone, "password": "!unclaimed"}).to_string())
            .dispatch()
            .await;
        statuses.push(r.status());
        let v: Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
        assert_eq!(v["fields"]["password"][0], "手机号或密码不正确", "{v}");
    }
    assert_eq!(statuses[0], statuses[1]);
    assert_ne!(statuses[0], Status::Ok);
}
