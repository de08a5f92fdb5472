//! Public verification: the page a scanned QR opens and `GET /verify`, signatures and keys,
//! live status, no personal data, rate limits.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

/// Approves a passed application and returns (number, qr_url path with query).
async fn issued(app: &TestApp) -> (String, String) {
    let id = passed_application(app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(&format!("/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let url = v["qr_url"].as_str().unwrap();
    let path = url
        .strip_prefix("http://127.0.0.1:8000")
        .unwrap()
        .to_string();
    (v["permit_number"].as_str().unwrap().to_string(), path)
}

fn sig_of(path: &str) -> &str {
    path.split_once("?sig=").unwrap().1
}

async fn verify_api(b: &Browser, number: &str, sig: &str) -> (Status, Value) {
    let (s, body) = b
        .get_text(&format!("/api/v1/verify/{number}?sig={sig}"))
        .await;
    (s, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[rocket::async_test]
async fn a_scanned_qr_opens_a_page_showing_an_authentic_valid_permit_without_personal_data() {
    let app = TestApp::new().await;
    let (number, path) = issued(&app).await;
    let anon = app.browser().await;
    let (s, html) = anon.get_text(&path).await;
    assert_eq!(s, Status::Ok);
    for want in [
        "真实有效",
        "有效",
        "锦绣村",
        "最多 6 人",
        "现住人数",
        "入住登记",
        &number,
    ] {
        assert!(html.contains(want), "page shows {want}");
    }
    assert!(
        html.contains(&format!("/p/{number}/checkin?sig=")),
        "check-in link"
    );
    for secret in ["王房东", "13900000004", "东区 12 号", "不动产权"] {
        assert!(!html.contains(secret), "page must not show {secret}");
    }
    let (s, v) = verify_api(&anon, &number, sig_of(&path)).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["authentic"], true);
    assert_eq!(v["status"], "active");
    assert_eq!(v["max_occupants"], 6);
    assert_eq!(v["occupants"], 0);
    assert_eq!(v["grade"], "green");
    assert_eq!(v["village"], "锦绣村");
    assert!(v["valid_until"].is_string());
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys.len(),
        7,
        "exactly the documented fields, nothing personal: {keys:?}"
    );
}

#[rocket::async_test]
async fn a_changed_number_or_signature_reads_not_authentic() {
    let app = TestApp::new().await;
    let (number, path) = issued(&app).await;
    let second = issued(&app).await;
    let anon = app.browser().await;
    let sig = sig_of(&path);
    // Another real permit's number with this signature.
    let (s, v) = verify_api(&anon, &second.0, sig).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["authentic"], false);
    // One character of the signature changed.
    let mut bad: Vec<char> = sig.chars().collect();
    let last = bad.len() - 3;
    bad[last] = if bad[last] == 'A' { 'B' } else { 'A' };
    let bad: String = bad.into_iter().collect();
    assert_eq!(verify_api(&anon, &number, &bad).await.1["authentic"], false);
    assert_eq!(verify_api(&anon, &number, "").await.1["authentic"], false);
    assert_eq!(
        verify_api(&anon, &number, "deadbeef.zz").await.1["authentic"],
        false
    );
    let (_, html) = anon.get_text(&format!("/p/{number}?sig={bad}")).await;
    assert!(html.contains("无法核验") && !html.contains("真实有效"));
    assert!(!html.contains("/checkin"), "no check-in from a forged code");
    // A number that matches no permit.
    let (s, v) = verify_api(&anon, "HJ-JX-2020-000777", sig).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["authentic"], false);
    assert_eq!(v["status"], Value::Null);
    let (s, html) = anon
        .get_text(&format!("/p/HJ-JX-2020-000777?sig={sig}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("查无此证"));
    let (s, _) = anon.get_text("/p/not-a-number").await;
    assert_eq!(s, Status::Ok, "junk reads as unknown, not an error");
}

#[rocket::async_test]
async fn the_page_shows_the_live_status_of_every_permit_state() {
    let app = TestApp::new().await;
    let (number, path) = issued(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let anon = app.browser().await;
    let shows =
        |html: &str, label: &str| html.contains(&format!("big {}\">{label}<", badge(label)));
    fn badge(label: &str) -> &'static str {
        match label {
            "有效" => "green",
            "已暂停" => "yellow",
            "已吊销" => "red",
            _ => "grey",
        }
    }
    let (_, html) = anon.get_text(&path).await;
    assert!(shows(&html, "有效"));
    official
        .post(
            &format!("/permits/{number}/suspend"),
            json!({"reason": "整改中"}),
        )
        .await;
    let (_, html) = anon.get_text(&path).await;
    assert!(shows(&html, "已暂停"), "suspended");
    assert!(html.contains("真实有效"), "still an authentic code");
    assert!(!html.contains("/checkin"), "no check-in while suspended");
    assert_eq!(
        verify_api(&anon, &number, sig_of(&path)).await.1["status"],
        "suspended"
    );
    official
        .post(&format!("/permits/{number}/reinstate"), json!({}))
        .await;
    let (_, html) = anon.get_text(&path).await;
    assert!(shows(&html, "有效"), "reinstated");
    official
        .post(
            &format!("/permits/{number}/revoke"),
            json!({"reason": "违规"}),
        )
        .await;
    let (_, html) = anon.get_text(&path).await;
    assert!(
        shows(&html, "已吊销"),
        "revoked reads 已吊销 from the old print"
    );
    assert_eq!(
        verify_api(&anon, &number, sig_of(&path)).await.1["status"],
        "revoked"
    );

    let (other, other_path) = issued(&app).await;
    let until = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        anju::entities::permit::Entity::find()
            .filter(anju::entities::permit::Column::Number.eq(other.clone()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .valid_until
    };
    anju::services::permit_expiry::run(&app.db, until + chrono::Days::new(1))
        .await
        .unwrap();
    let (_, html) = anon.get_text(&other_path).await;
    assert!(shows(&html, "已过期"), "expired");
    assert!(!html.contains("/checkin"));
}

#[rocket::async_test]
async fn certificates_printed_before_a_key_rotation_still_verify() {
    let app = TestApp::new().await;
    let (old_number, old_path) = issued(&app).await;
    let admin = app.signed_in(ADMIN).await;
    let (s, html) = admin.get_text("/admin/keys").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("当前"));
    let r = admin.post_form("/admin/keys/rotate", &[]).await;
    assert_eq!(
        r.status(),
        Status::SeeOther,
        "unconfirmed: back with a message"
    );
    let r = admin
        .post_form("/admin/keys/rotate", &[("confirm", "yes")])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (new_number, new_path) = issued(&app).await;
    assert_ne!(
        sig_of(&old_path).split('.').next(),
        sig_of(&new_path).split('.').next(),
        "the new permit is signed with the new key"
    );
    let anon = app.browser().await;
    let (s, keys) = anon.get_text("/api/v1/keys/permit-signing").await;
    assert_eq!(s, Status::Ok);
    let keys: Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(keys["keys"][0]["current"], true);
    assert_eq!(
        keys["keys"][0]["key_id"].as_str(),
        sig_of(&new_path).split('.').next()
    );
    for (n, p) in [(&old_number, &old_path), (&new_number, &new_path)] {
        assert_eq!(
            verify_api(&anon, n, sig_of(p)).await.1["authentic"],
            true,
            "{n}"
        );
    }
}

#[rocket::async_test]
async fn a_verifying_instance_picks_up_a_key_rotated_elsewhere() {
    let app = TestApp::new().await;
    let anon = app.browser().await; // loaded its keyring before the rotation
    // Another instance (or the CLI) rotates: in the data directory or the database's key ring.
    app.keys().await.keyring.rotate().await.unwrap();
    let (number, path) = issued(&app).await;
    assert_eq!(
        verify_api(&anon, &number, sig_of(&path)).await.1["authentic"],
        true
    );
}

#[rocket::async_test]
async fn public_verification_is_rate_limited_per_address() {
    let app = TestApp::with(|c| c.public_rate_per_minute = 3).await;
    let (number, path) = issued(&app).await;
    let anon = app.browser().await;
    for _ in 0..2 {
        assert_eq!(anon.get(&path).await.status(), Status::Ok);
    }
    assert_eq!(
        verify_api(&anon, &number, sig_of(&path)).await.0,
        Status::Ok
    );
    let (s, v) = verify_api(&anon, &number, sig_of(&path)).await;
    assert_eq!(s, Status::TooManyRequests);
    assert!(v["message"].as_str().unwrap().contains("再试"), "{v}");
    let (s, html) = anon.get_text(&path).await;
    assert_eq!(s, Status::TooManyRequests);
    assert!(html.contains("再试"));
    assert_eq!(anon.get_text("/healthz").await, (Status::Ok, "ok".into()));
}

#[rocket::async_test]
async fn current_occupants_count_only_active_stays() {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = TestApp::new().await;
    let (number, path) = issued(&app).await;
    let p = anju::entities::permit::Entity::find()
        .filter(anju::entities::permit::Column::Number.eq(number.clone()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let room = anju::entities::room::Entity::find()
        .filter(anju::entities::room::Column::PropertyId.eq(p.property_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    for (i, status) in ["active", "pending", "checked_out", "active"]
        .iter()
        .enumerate()
    {
        anju::entities::stay::ActiveModel {
            permit_id: Set(Some(p.id)),
            property_id: Set(p.property_id),
            village_id: Set(p.village_id),
            room_id: Set(room.id),
            status: Set(status.to_string()),
            doc_type: Set("resident_id".into()),
            move_in: Set(p.valid_from),
            checkout_code_hash: Set(format!("{i:064}")),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let anon = app.browser().await;
    let (_, v) = verify_api(&anon, &number, sig_of(&path)).await;
    assert_eq!(v["occupants"], 2);
    let (_, html) = anon.get_text(&path).await;
    assert!(html.contains("<dt>现住人数</dt><dd>2 人</dd>"));
}
