//! Limits counted by several instances on one PostgreSQL database hold on all of them: a lockout
//! earned on one instance refuses the right password on another, a successful sign-in clears the
//! account everywhere, and the table keeps no phone number. On SQLite, one instance per database,
//! each instance counts for itself and the table stays empty.
mod common;

use common::*;
use rocket::http::Status;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

const SHARED_WITHIN: std::time::Duration = std::time::Duration::from_millis(2500);

fn on_postgres(app: &TestApp) -> bool {
    app.db.get_database_backend() == DbBackend::Postgres
}

async fn sign_in(b: &Browser, phone: &str, password: &str) -> Status {
    b.post_form("/login", &[("phone", phone), ("password", password)])
        .await
        .status()
}

#[rocket::async_test]
async fn a_lockout_counted_on_one_instance_holds_on_the_other() {
    let app = TestApp::with(|c| c.login_account_limit = 3).await;
    let (one, other) = (app.browser().await, app.browser().await);
    for _ in 0..3 {
        assert_eq!(
            sign_in(&one, LANDLORD, "wrong-password").await,
            Status::UnprocessableEntity
        );
    }
    assert_eq!(
        sign_in(&one, LANDLORD, DEMO_PASSWORD).await,
        Status::TooManyRequests
    );
    tokio::time::sleep(SHARED_WITHIN).await;
    let r = other
        .post_form(
            "/login",
            &[("phone", LANDLORD), ("password", DEMO_PASSWORD)],
        )
        .await;
    if on_postgres(&app) {
        assert_eq!(r.status(), Status::TooManyRequests);
        assert!(r.into_string().await.unwrap_or_default().contains("后再试"));
    } else {
        // SQLite serves one instance: a second one on the same file counts for itself.
        assert_eq!(r.status(), Status::SeeOther);
        assert_eq!(app.count("rate_hits").await, 0);
    }
}

#[rocket::async_test]
async fn a_successful_sign_in_clears_the_account_on_every_instance() {
    let app = TestApp::with(|c| c.login_account_limit = 3).await;
    let (one, other) = (app.browser().await, app.browser().await);
    for _ in 0..2 {
        assert_eq!(
            sign_in(&one, LANDLORD, "wrong-password").await,
            Status::UnprocessableEntity
        );
    }
    assert_eq!(
        sign_in(&other, LANDLORD, DEMO_PASSWORD).await,
        Status::SeeOther
    );
    tokio::time::sleep(SHARED_WITHIN).await;
    // Two more wrong guesses on the other instance: the two before the success no longer count.
    let fresh = app.browser().await;
    for _ in 0..2 {
        assert_eq!(
            sign_in(&fresh, LANDLORD, "wrong-password").await,
            Status::UnprocessableEntity
        );
    }
    assert_eq!(
        sign_in(&fresh, LANDLORD, DEMO_PASSWORD).await,
        Status::SeeOther
    );
}

#[rocket::async_test]
async fn the_shared_counts_keep_no_phone_number_or_address() {
    let app = TestApp::with(|c| c.login_account_limit = 3).await;
    let one = app.browser().await;
    assert_eq!(
        sign_in(&one, LANDLORD, "wrong-password").await,
        Status::UnprocessableEntity
    );
    tokio::time::sleep(SHARED_WITHIN).await;
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT key FROM rate_hits",
        ))
        .await
        .expect("rate hits");
    let keys: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "key").expect("key"))
        .collect();
    if on_postgres(&app) {
        // The account's and the address's counters, each as a hash.
        assert_eq!(keys.len(), 2, "{keys:?}");
    } else {
        assert!(keys.is_empty());
    }
    for k in keys {
        assert_eq!(k.len(), 64);
        assert!(!k.contains(LANDLORD) && !k.contains("127.0.0.1"));
    }
}

#[rocket::async_test]
async fn public_scans_are_limited_across_instances() {
    let app = TestApp::with(|c| c.public_rate_per_minute = 4).await;
    let (one, other) = (app.browser().await, app.browser().await);
    for _ in 0..4 {
        let (s, _) = one.get_text("/p/HJ-JX-2026-000001").await;
        assert_ne!(s, Status::TooManyRequests);
    }
    tokio::time::sleep(SHARED_WITHIN).await;
    let (s, _) = other.get_text("/p/HJ-JX-2026-000001").await;
    if on_postgres(&app) {
        assert_eq!(s, Status::TooManyRequests);
    } else {
        assert_ne!(s, Status::TooManyRequests);
    }
}
