//! Sign-in security: client addresses behind proxies, the lockout under concurrency, server-side
//! sessions (logout, password change, reset, disable), token lifetime, CSRF rotation, guard errors.
mod common;

use std::net::SocketAddr;

use common::*;
use rocket::http::{ContentType, Cookie, Header, Status};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};

const PEER: &str = "203.0.113.5:40000";

async fn user_id(app: &TestApp, phone: &str) -> i32 {
    anju::entities::user::Entity::find()
        .filter(anju::entities::user::Column::Phone.eq(phone))
        .one(&app.db)
        .await
        .expect("query")
        .expect("user")
        .id
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

/// An API sign-in from `peer` carrying whatever forwarding headers the caller adds.
async fn api_login(
    b: &Browser,
    phone: &str,
    password: &str,
    peer: &str,
    headers: &[(&'static str, String)],
) -> Status {
    let mut req = b
        .client
        .post("/api/v1/auth/login")
        .remote(peer.parse::<SocketAddr>().expect("addr"))
        .header(ContentType::JSON)
        .body(json!({"phone": phone, "password": password}).to_string());
    for (k, v) in headers {
        req = req.header(Header::new(*k, v.clone()));
    }
    req.dispatch().await.status()
}

#[rocket::async_test]
async fn a_spoofed_forwarded_header_does_not_escape_the_per_address_sign_in_limit() {
    let app = TestApp::with(|c| c.login_ip_limit = 3).await;
    let b = app.browser().await;
    let mut statuses = vec![];
    for i in 0..5u32 {
        // A different account each time, so only the address limit can stop the guesses.
        let phone = format!("1380000{:04}", i);
        let spoof = vec![
            ("X-Real-IP", format!("10.9.{i}.1")),
            ("X-Forwarded-For", format!("10.8.{i}.1")),
        ];
        statuses.push(api_login(&b, &phone, "wrong-password", PEER, &spoof).await);
    }
    assert_eq!(
        statuses,
        vec![
            Status::UnprocessableEntity,
            Status::UnprocessableEntity,
            Status::UnprocessableEntity,
            Status::TooManyRequests,
            Status::TooManyRequests
        ]
    );
}

#[rocket::async_test]
async fn a_spoofed_forwarded_header_does_not_escape_the_public_limit() {
    let app = TestApp::with(|c| c.public_rate_per_minute = 2).await;
    let b = app.browser().await;
    let mut statuses = vec![];
    for i in 0..4u32 {
        let r = b
            .client
            .get("/api/v1/keys/permit-signing")
            .remote(PEER.parse().expect("addr"))
            .header(Header::new("X-Real-IP", format!("10.9.{i}.1")))
            .header(Header::new("X-Forwarded-For", format!("10.8.{i}.1")))
            .dispatch()
            .await;
        statuses.push(r.status());
    }
    assert_eq!(
        statuses,
        vec![
            Status::Ok,
            Status::Ok,
            Status::TooManyRequests,
            Status::TooManyRequests
        ]
    );
}

#[rocket::async_test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_one_counted() {
    let app = TestApp::with(|c| {
        c.login_ip_limit = 2;
        c.trusted_proxies = "127.0.0.0/8".into();
    })
    .await;
    let b = app.browser().await;
    let proxy = "127.0.0.1:5000";
    let from = |client: &str| vec![("X-Forwarded-For", format!("6.6.6.6, {client}"))];
    for i in 0..2u32 {
        let phone = format!("1380000{:04}", i);
        let s = api_login(&b, &phone, "wrong-password", proxy, &from("198.51.100.7")).await;
        assert_eq!(s, Status::UnprocessableEntity);
    }
    let s = api_login(
        &b,
        "13800009999",
        "wrong-password",
        proxy,
        &from("198.51.100.7"),
    )
    .await;
    assert_eq!(
        s,
        Status::TooManyRequests,
        "the forwarded client used its quota"
    );
    let s = api_login(
        &b,
        "13800009998",
        "wrong-password",
        proxy,
        &from("198.51.100.8"),
    )
    .await;
    assert_eq!(
        s,
        Status::UnprocessableEntity,
        "another client behind the same proxy is counted apart"
    );
    let real_ip = vec![("X-Real-IP", "198.51.100.9".to_string())];
    let s = api_login(&b, LANDLORD, DEMO_PASSWORD, proxy, &real_ip).await;
    assert_eq!(s, Status::Ok);
}

#[rocket::async_test]
async fn forty_parallel_wrong_passwords_check_at_most_five_and_then_the_right_one_waits() {
    let app = TestApp::new().await;
    let b = app.browser().await;
    let attempts = (0..40).map(|_| {
        b.client
            .post("/api/v1/auth/login")
            .header(ContentType::JSON)
            .body(json!({"phone": LANDLORD, "password": "wrong-password"}).to_string())
            .dispatch()
    });
    let statuses: Vec<Status> = rocket::futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == Status::UnprocessableEntity)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == Status::TooManyRequests)
        .count();
    assert!(checked <= 5, "{checked} passwords were verified");
    assert_eq!(checked + refused, 40, "{statuses:?}");
    let s = api_login(&b, LANDLORD, DEMO_PASSWORD, PEER, &[]).await;
    assert_eq!(
        s,
        Status::TooManyRequests,
        "the right password inside the lockout waits too"
    );
}

/// The raw (encrypted) session cookie of a signed-in browser, as an attacker would copy it.
fn copied_session(b: &Browser) -> Cookie<'static> {
    let raw = b
        .client
        .cookies()
        .get("anju_session")
        .expect("a session cookie")
        .value()
        .to_string();
    Cookie::new("anju_session", raw)
}

async fn get_with(b: &Browser, path: &str, cookie: &Cookie<'static>) -> (Status, Option<String>) {
    let r = b
        .client
        .get(path.to_string())
        .cookie(cookie.clone())
        .dispatch()
        .await;
    let location = r.headers().get_one("Location").map(str::to_string);
    (r.status(), location)
}

#[rocket::async_test]
async fn a_copied_cookie_dies_at_logout() {
    let app = TestApp::new().await;
    let owner = app.signed_in(LANDLORD).await;
    let copy = copied_session(&owner);
    let thief = app.browser().await;
    assert_eq!(get_with(&thief, "/landlord", &copy).await.0, Status::Ok);

    let r = owner.post_form("/logout", &[]).await;
    assert_eq!(r.status(), Status::SeeOther);

    let (status, location) = get_with(&thief, "/landlord", &copy).await;
    assert_eq!(status, Status::SeeOther);
    assert_eq!(location.as_deref(), Some("/login"));
    let before = app.count("properties").await;
    let token = thief.csrf().await;
    let r = thief
        .client
        .post(format!("/landlord/houses?_csrf={token}"))
        .cookie(copy.clone())
        .header(ContentType::Form)
        .body("address=x&floors=2&structure=frame")
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/login"));
    assert_eq!(app.count("properties").await, before);
    assert_eq!(audited(&app, "session.end").await, 1);
}

#[rocket::async_test]
async fn changing_the_password_ends_the_other_sessions_and_tokens_but_not_this_one() {
    let app = TestApp::new().await;
    let here = app.signed_in(LANDLORD).await;
    let elsewhere = app.signed_in(LANDLORD).await;
    let api = app.api(LANDLORD).await;

    let wrong = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "not-my-password"),
                ("new_password", "brand-new-pass"),
                ("new_password2", "brand-new-pass"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), Status::UnprocessableEntity);
    assert!(
        wrong
            .into_string()
            .await
            .unwrap_or_default()
            .contains("当前密码不正确")
    );
    assert_eq!(elsewhere.get("/landlord").await.status(), Status::Ok);

    let r = here
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "brand-new-pass"),
                ("new_password2", "brand-new-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        here.get("/landlord").await.status(),
        Status::Ok,
        "this session stays"
    );
    assert_eq!(elsewhere.get("/landlord").await.status(), Status::SeeOther);
    assert_eq!(api.get("/villages").await.0, Status::Unauthorized);
    let b = app.browser().await;
    assert_eq!(
        api_login(&b, LANDLORD, DEMO_PASSWORD, PEER, &[]).await,
        Status::UnprocessableEntity
    );
    assert_eq!(
        api_login(&b, LANDLORD, "brand-new-pass", PEER, &[]).await,
        Status::Ok
    );
    assert_eq!(audited(&app, "user.password_change").await, 1);
}

#[rocket::async_test]
async fn the_change_password_page_is_for_signed_in_users_and_checks_the_new_password() {
    let app = TestApp::new().await;
    let anon = app.browser().await;
    assert_eq!(
        anon.get("/account/password").await.status(),
        Status::SeeOther
    );
    let b = app.signed_in(INSPECTOR_JX).await;
    let (s, html) = b.get_text("/account/password").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("修改密码"));
    let r = b
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "12345678"),
                ("new_password2", "12345678"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(
        r.into_string()
            .await
            .unwrap_or_default()
            .contains("不能全是数字")
    );
    let r = b
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "brand-new-pass"),
                ("new_password2", "brand-new-typo"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(
        r.into_string()
            .await
            .unwrap_or_default()
            .contains("两次输入的新密码不一致")
    );
    let b2 = app.browser().await;
    assert_eq!(
        api_login(&b2, INSPECTOR_JX, DEMO_PASSWORD, PEER, &[]).await,
        Status::Ok
    );
}

fn temporary_password_in(html: &str) -> String {
    let start = html
        .find("id=\"temporary_password\">")
        .expect("the password is shown")
        + 24;
    html[start..].chars().take_while(|c| *c != '<').collect()
}

#[rocket::async_test]
async fn an_admin_reset_ends_every_session_and_token_and_the_temporary_password_signs_in() {
    let app = TestApp::new().await;
    let id = user_id(&app, LANDLORD).await;
    let landlord = app.signed_in(LANDLORD).await;
    let landlord_api = app.api(LANDLORD).await;
    let admin = app.signed_in(ADMIN).await;

    // The list links to a page that asks first; opening it changes nothing.
    let (s, html) = admin
        .get_text(&format!("/admin/users/{id}/reset-password"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("确认重置"), "{html}");
    assert_eq!(landlord.get("/landlord").await.status(), Status::Ok);
    assert_eq!(audited(&app, "user.password_reset").await, 0);

    let r = admin
        .post_form(&format!("/admin/users/{id}/reset-password"), &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    let temp = temporary_password_in(&r.into_string().await.unwrap_or_default());
    assert!(temp.len() >= 8, "{temp:?}");
    assert_eq!(landlord.get("/landlord").await.status(), Status::SeeOther);
    assert_eq!(landlord_api.get("/villages").await.0, Status::Unauthorized);
    let b = app.browser().await;
    assert_eq!(
        api_login(&b, LANDLORD, DEMO_PASSWORD, PEER, &[]).await,
        Status::UnprocessableEntity
    );
    assert_eq!(api_login(&b, LANDLORD, &temp, PEER, &[]).await, Status::Ok);
    assert_eq!(audited(&app, "user.password_reset").await, 1);

    let (s, html) = admin.get_text("/admin/users").await;
    assert_eq!(s, Status::Ok);
    assert!(!html.contains(&temp), "the password is shown only once");
}

#[rocket::async_test]
async fn the_reset_password_api_is_for_the_town_admin_only() {
    let app = TestApp::new().await;
    let id = user_id(&app, INSPECTOR_JX).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, _) = official
        .post(&format!("/users/{id}/reset-password"), json!({}))
        .await;
    assert_eq!(s, Status::Forbidden);
    let admin = app.api(ADMIN).await;
    let (s, v) = admin
        .post(&format!("/users/{id}/reset-password"), json!({}))
        .await;
    assert_eq!(s, Status::Ok);
    let temp = v["temporary_password"]
        .as_str()
        .expect("a password")
        .to_string();
    let b = app.browser().await;
    assert_eq!(
        api_login(&b, INSPECTOR_JX, &temp, PEER, &[]).await,
        Status::Ok
    );
    let (s, _) = admin.post("/users/999999/reset-password", json!({})).await;
    assert_eq!(s, Status::NotFound);
}

#[rocket::async_test]
async fn disabling_an_account_asks_first_then_ends_its_sessions_and_tokens() {
    let app = TestApp::new().await;
    let id = user_id(&app, INSPECTOR_JX).await;
    let inspector = app.signed_in(INSPECTOR_JX).await;
    let inspector_api = app.api(INSPECTOR_JX).await;
    let admin = app.signed_in(ADMIN).await;

    let (s, html) = admin.get_text("/admin/users").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains(&format!("/admin/users/{id}/disable")));
    let (s, html) = admin.get_text(&format!("/admin/users/{id}/disable")).await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("确认停用"));
    assert_eq!(
        inspector.get("/inspector").await.status(),
        Status::Ok,
        "asking changes nothing"
    );

    let r = admin
        .post_form(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(inspector.get("/inspector").await.status(), Status::SeeOther);
    assert_eq!(inspector_api.get("/villages").await.0, Status::Unauthorized);
    let b = app.browser().await;
    assert_eq!(
        api_login(&b, INSPECTOR_JX, DEMO_PASSWORD, PEER, &[]).await,
        Status::UnprocessableEntity
    );
    assert!(admin.get_text("/admin/users").await.1.contains("已停用"));

    let r = admin
        .post_form(&format!("/admin/users/{id}/enable"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        api_login(&b, INSPECTOR_JX, DEMO_PASSWORD, PEER, &[]).await,
        Status::Ok
    );
    assert_eq!(audited(&app, "user.disable").await, 1);
    assert_eq!(audited(&app, "user.enable").await, 1);

    let me = user_id(&app, ADMIN).await;
    let (_, html) = admin.get_text("/admin/users").await;
    assert!(
        !html.contains(&format!("/admin/users/{me}/disable")),
        "the admin's own row offers no 停用"
    );
    let r = admin
        .post_form(&format!("/admin/users/{me}/disable"), &[])
        .await;
    assert_eq!(
        r.status(),
        Status::Conflict,
        "the admin cannot lock themselves out"
    );
    let official = app.signed_in(OFFICIAL_JX).await;
    let r = official
        .post_form(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn a_bearer_token_expires_after_the_configured_days() {
    let app = TestApp::with(|c| c.token_ttl_days = 30).await;
    let api = app.api(LANDLORD).await;
    let age = |days: i64| {
        let at = chrono::Utc::now() - chrono::Duration::days(days);
        anju::entities::api_token::Entity::update_many()
            .col_expr(
                anju::entities::api_token::Column::CreatedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .exec(&app.db)
    };
    age(29).await.expect("age the token");
    assert_eq!(api.get("/villages").await.0, Status::Ok);
    age(31).await.expect("age the token");
    assert_eq!(api.get("/villages").await.0, Status::Unauthorized);
}

#[rocket::async_test]
async fn the_csrf_token_from_before_sign_in_is_refused_after_it() {
    let app = TestApp::new().await;
    let b = app.browser().await;
    let before = b.csrf().await;
    let r = b
        .post_form_with_token(
            "/login",
            &[("phone", LANDLORD), ("password", DEMO_PASSWORD)],
            Some(&before),
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let r = b
        .post_form_with_token("/landlord/houses", &[("address", "x")], Some(&before))
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert_ne!(b.csrf().await, before);
}

fn csrf_set_cookie(headers: &rocket::http::HeaderMap<'_>) -> String {
    headers
        .get("Set-Cookie")
        .find(|c| c.starts_with("anju_csrf="))
        .expect("a CSRF cookie is set")
        .to_string()
}

#[rocket::async_test]
async fn the_csrf_cookie_is_secure_when_the_public_url_is_https() {
    let app = TestApp::with(|c| c.public_url = "https://anju.example.org".into()).await;
    let b = app.browser().await;
    let r = b.get("/login").await;
    assert!(csrf_set_cookie(r.headers()).contains("Secure"));

    let plain = TestApp::new().await;
    let b = plain.browser().await;
    let r = b.get("/login").await;
    assert!(!csrf_set_cookie(r.headers()).contains("Secure"));
}

#[rocket::async_test]
async fn a_database_error_in_the_auth_guard_answers_500_not_signed_out() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let api = app.api(LANDLORD).await;
    for table in ["sessions", "api_tokens"] {
        app.db
            .execute_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!("DROP TABLE {table}"),
            ))
            .await
            .expect("drop");
    }
    let r = b.get("/landlord").await;
    assert_eq!(r.status(), Status::InternalServerError);
    let (s, v): (Status, Value) = api.get("/villages").await;
    assert_eq!(s, Status::InternalServerError, "{v}");
}
