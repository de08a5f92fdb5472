//! The outbox on a real, migrated database (SQLite and PostgreSQL): events exist exactly when their
//! change commits, webhooks reach a local receiver signed as Standard Webhooks says, failed ones
//! come back with the same id, two dispatchers deliver once, and the admin sees every attempt.
mod common;
#[path = "support/http_peer.rs"]
mod http_peer;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use hmac::{KeyInit, Mac};
use http_peer::{HttpPeer, Received, Reply};
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use anju::entities::{delivery, event};
use anju::services::events::dispatch::run_until_idle;

/// The receiver's own check of a delivery, written from the Standard Webhooks text and not from
/// Anju's code: HMAC-SHA256 keyed with the base64-decoded secret over "id.timestamp.body".
fn signature_verifies(secret: &str, r: &Received) -> bool {
    let key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret is base64");
    let (Some(id), Some(ts), Some(sig)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = B64.encode(mac.finalize().into_bytes());
    sig.split(' ').any(|s| s == format!("v1,{expected}"))
}

async fn private_app(retry: &str) -> TestApp {
    let retry = retry.to_string();
    TestApp::with(move |c| {
        c.webhook_allow_private = true;
        c.webhook_retry_seconds = retry;
    })
    .await
}

async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> (i32, String) {
    let admin = app.api(ADMIN).await;
    let (s, v) = admin
        .post(
            "/webhooks",
            json!({"url": url, "events": events, "description": "网格平台"}),
        )
        .await;
    assert_eq!(s, Status::Created, "{v}");
    (
        v["id"].as_i64().expect("id") as i32,
        v["secret"].as_str().expect("secret").to_string(),
    )
}

async fn kinds(app: &TestApp) -> Vec<String> {
    event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[rocket::async_test]
async fn an_event_exists_exactly_when_its_transaction_commits() {
    let app = TestApp::new().await;
    let ev = || anju::services::events::NewEvent {
        kind: anju::domain::event::EventKind::StayFlood,
        data: json!({"permit_number": "X"}),
        village_id: None,
        landlord_id: None,
        inspector_id: None,
    };
    let tx = anju::db::begin_write(&app.db).await.unwrap();
    anju::services::events::record(&tx, chrono::Utc::now(), ev())
        .await
        .unwrap();
    drop(tx);
    assert_eq!(
        app.count("events").await,
        0,
        "rolled back with its transaction"
    );
    let tx = anju::db::begin_write(&app.db).await.unwrap();
    anju::services::events::record(&tx, chrono::Utc::now(), ev())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        app.count("events").await,
        1,
        "committed with its transaction"
    );
}

#[rocket::async_test]
async fn a_submitted_application_reaches_the_receiver_signed_with_its_task() {
    let app = private_app("1").await;
    let peer = HttpPeer::start().await;
    let (sub, secret) =
        subscribe(&app, &peer.url, &["application.submitted", "task.created"]).await;
    let landlord = app.api(LANDLORD).await;
    let (house, application) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    assert_eq!(
        kinds(&app).await,
        vec!["application.submitted", "task.created"]
    );

    let st = app.state().await;
    run_until_idle(&st).await.unwrap();
    let got = peer.wait_for(2, 5).await;
    assert_eq!(got.len(), 2, "one delivery per event");
    for r in &got {
        assert_eq!(r.method, "POST");
        assert!(
            signature_verifies(&secret, r),
            "signature of {:?}",
            r.text()
        );
        let body = r.json();
        assert_eq!(
            r.header("webhook-id"),
            body["id"].as_str(),
            "webhook-id is the event id"
        );
        let text = r.text();
        for personal in ["王房东", LANDLORD, INSPECTOR_JX, "13900000003"] {
            assert!(
                !text.contains(personal),
                "{personal} must not leave in {text}"
            );
        }
    }
    let submitted = got
        .iter()
        .map(Received::json)
        .find(|b| b["type"] == "application.submitted")
        .unwrap();
    assert_eq!(submitted["data"]["application_id"], application);
    let task = got
        .iter()
        .map(Received::json)
        .find(|b| b["type"] == "task.created")
        .unwrap();
    let data = task["data"].as_object().unwrap();
    for field in [
        "task_id",
        "kind",
        "property_id",
        "address",
        "village",
        "grid_id",
        "grid_name",
        "inspector_id",
        "due_at",
    ] {
        assert!(
            data.contains_key(field),
            "task.created carries {field}: {task}"
        );
    }
    assert_eq!(task["data"]["property_id"], house);

    // The admin sees both deliveries as delivered, with the receiver's status code.
    let admin = app.api(ADMIN).await;
    let (s, list) = admin.get(&format!("/webhooks/{sub}/deliveries")).await;
    assert_eq!(s, Status::Ok);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter().all(|d| d["status"] == "delivered"
            && d["last_status_code"] == 200
            && d["attempts"] == 1),
        "{list:?}"
    );
    // And the inspector got an in-app notice of the new task.
    let inspector = app.api(INSPECTOR_JX).await;
    let (_, notes) = inspector.get("/notifications?unread=true").await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "task.created"),
        "{notes}"
    );
}

#[rocket::async_test]
async fn a_receiver_answering_503_gets_the_same_event_id_again_and_410_stops_the_subscription() {
    let app = private_app("1,1,1").await;
    let peer = HttpPeer::start().await;
    peer.answer(|_| Reply::status(503));
    let (sub, secret) = subscribe(&app, &peer.url, &["application.submitted"]).await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let st = app.state().await;
    run_until_idle(&st).await.unwrap();
    assert_eq!(peer.received().len(), 1);
    let d = delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.attempts, d.last_status_code),
        ("pending", 1, Some(503))
    );

    // A receiver that says when to come back is believed over the schedule's 1 s.
    peer.answer(|_| Reply::status(429).with_header("retry-after", "2"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = chrono::Utc::now();
    run_until_idle(&st).await.unwrap();
    let d = delivery::Entity::find_by_id(d.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.attempts, d.last_status_code), (2, Some(429)));
    assert!(
        d.next_attempt_at >= before + chrono::Duration::seconds(2),
        "Retry-After honoured: {}",
        d.next_attempt_at
    );

    peer.answer(|_| Reply::status(204));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    run_until_idle(&st).await.unwrap();
    let got = peer.received();
    assert_eq!(got.len(), 3, "retried once each backoff passed");
    assert_eq!(
        got[0].header("webhook-id"),
        got[2].header("webhook-id"),
        "same id on the retry"
    );
    assert_eq!(got[0].body, got[2].body, "same body on the retry");
    assert!(signature_verifies(&secret, &got[2]));
    let d = delivery::Entity::find_by_id(d.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.status.as_str(), d.attempts), ("delivered", 3));
    assert_eq!(
        app.count("delivery_attempts").await,
        3,
        "every attempt is recorded"
    );

    // A 410 Gone disables the subscription: no more deliveries are made for it.
    peer.answer(|_| Reply::status(410));
    let landlord2 = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord2, "锦绣村第二网格").await;
    run_until_idle(&st).await.unwrap();
    let admin = app.api(ADMIN).await;
    let (_, subs) = admin.get("/webhooks").await;
    let s = subs
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sub)
        .unwrap()
        .clone();
    assert_eq!(s["active"], false, "{s}");
    let failed = delivery::Entity::find()
        .filter(delivery::Column::Status.eq("failed"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "the 410 is final");

    // The admin retries it by hand once the platform is back: it goes out again and arrives.
    peer.answer(|_| Reply::status(200));
    let (s, _) = admin
        .post(
            &format!("/webhooks/{sub}/deliveries/{}/retry", failed[0].id),
            json!({}),
        )
        .await;
    assert_eq!(s, Status::Accepted);
    run_until_idle(&st).await.unwrap();
    let d = delivery::Entity::find_by_id(failed[0].id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "delivered");
    let (s, _) = admin
        .post(
            &format!("/webhooks/{sub}/deliveries/{}/retry", failed[0].id),
            json!({}),
        )
        .await;
    assert_eq!(s, Status::Conflict, "only a failed delivery can be retried");
}

#[rocket::async_test]
async fn two_dispatchers_at_once_deliver_each_event_once_per_subscription() {
    let app = private_app("1").await;
    let peer = HttpPeer::start().await;
    subscribe(&app, &peer.url, &["application.submitted", "task.created"]).await;
    subscribe(&app, &format!("{}/second", peer.url), &["task.created"]).await;
    let landlord = app.api(LANDLORD).await;
    for grid in ["锦绣村第一网格", "锦绣村第二网格", "锦绣村第一网格"] {
        submitted_in_grid(&app, &landlord, grid).await;
    }
    let (a, b) = (app.state().await, app.state().await);
    let (ra, rb) = tokio::join!(run_until_idle(&a), run_until_idle(&b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.fanned_out + rb.fanned_out,
        6,
        "each event fanned out once"
    );
    let got = peer.wait_for(9, 5).await;
    assert_eq!(
        got.len(),
        9,
        "3 submissions + 3 tasks to the first, 3 tasks to the second"
    );
    let mut pairs: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.header("webhook-id").unwrap_or("").to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 9, "no event twice to one subscription");
}

#[rocket::async_test]
async fn subscriptions_to_loopback_or_metadata_addresses_are_refused() {
    let app = TestApp::new().await;
    let admin = app.api(ADMIN).await;
    for url in [
        "http://127.0.0.1:9/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "ftp://example.com/x",
    ] {
        let (s, v) = admin
            .post("/webhooks", json!({"url": url, "events": ["task.created"]}))
            .await;
        assert_eq!(s, Status::UnprocessableEntity, "{url}: {v}");
        assert!(v["fields"]["url"].is_array(), "{v}");
    }
    let (s, v) = admin
        .post(
            "/webhooks",
            json!({"url": "https://93.184.215.14/hook", "events": ["task.deleted"]}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(v["fields"]["events"].is_array(), "{v}");
    let private = private_app("5").await;
    let admin = private.api(ADMIN).await;
    let (s, _) = admin
        .post(
            "/webhooks",
            json!({"url": "http://10.0.0.8/x", "events": ["task.created"]}),
        )
        .await;
    assert_eq!(
        s,
        Status::Created,
        "the grid platform on the town's network"
    );
    let (s, _) = admin
        .post(
            "/webhooks",
            json!({"url": "http://169.254.169.254/x", "events": ["task.created"]}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "never the metadata service");
    let official = private.api(OFFICIAL_JX).await;
    let (s, _) = official
        .post(
            "/webhooks",
            json!({"url": "http://10.0.0.8/x", "events": ["task.created"]}),
        )
        .await;
    assert_eq!(s, Status::Forbidden);
}

#[rocket::async_test]
async fn the_admin_subscribes_on_a_page_sees_the_secret_once_and_deletes_after_confirming() {
    let app = private_app("5").await;
    let peer = HttpPeer::start().await;
    let b = app.signed_in(ADMIN).await;
    let (s, html) = b.get_text("/admin/webhooks").await;
    assert_eq!(s, Status::Ok);
    assert!(
        html.contains("还没有订阅") && html.contains("新检查任务"),
        "labels, not codes only"
    );
    let r = b
        .post_form(
            "/admin/webhooks",
            &[
                ("url", &peer.url),
                ("events", "task.created"),
                ("description", "四平台"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let html = r.into_string().await.unwrap();
    assert!(
        html.contains("whsec_") && html.contains("只显示这一次"),
        "secret shown once"
    );
    let (_, again) = b.get_text("/admin/webhooks").await;
    assert!(!again.contains("whsec_"), "and never again");
    let r = b
        .post_form(
            "/admin/webhooks",
            &[("url", "nonsense"), ("events", "task.created")],
        )
        .await;
    let html = r.into_string().await.unwrap();
    assert!(html.contains("地址格式不正确"), "message next to the field");
    let id = anju::entities::webhook_subscription::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, html) = b.get_text(&format!("/admin/webhooks/{id}/delete")).await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("确定删除"));
    let r = b
        .post_form(&format!("/admin/webhooks/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.count("webhook_subscriptions").await, 0);
}

#[rocket::async_test]
async fn the_bell_counts_unread_notices_and_the_list_marks_them_read() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let inspector = app.signed_in(INSPECTOR_JX).await;
    let (_, home) = inspector.get_text("/inspector").await;
    assert!(
        home.contains("class=\"badge\">1<"),
        "the bell shows one unread notice"
    );
    let (_, list) = inspector.get_text("/notifications").await;
    assert!(
        list.contains("新的检查任务") && list.contains("锦绣村第一网格 8 号"),
        "{list}"
    );
    let r = inspector.post_form("/notifications/read-all", &[]).await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, home) = inspector.get_text("/inspector").await;
    assert!(!home.contains("class=\"badge\">"), "no number once read");
    let (_, list) = inspector.get_text("/notifications?unread=true").await;
    assert!(list.contains("没有未读通知"));
}

#[rocket::async_test]
async fn an_inspector_reports_another_matter_from_the_visit() {
    let app = private_app("5").await;
    let peer = HttpPeer::start().await;
    subscribe(&app, &peer.url, &["event.reported"]).await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let task = anju::entities::inspection_task::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let inspector = app.api(INSPECTOR_JX).await;
    let (_, photo) = inspector.upload(&png(60, 40)).await;
    let body = json!({"category": "fire_hazard", "description": "三楼楼道停放电动车充电", "photo_ids": [photo["id"]]});
    let (s, v) = inspector
        .post(&format!("/tasks/{}/events", task.id), body.clone())
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let (s, v) = inspector
        .post(
            &format!("/tasks/{}/events", task.id),
            json!({"category": "ufo", "description": ""}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    let other = app.api(INSPECTOR_NZ).await;
    let (s, _) = other
        .post(&format!("/tasks/{}/events", task.id), body)
        .await;
    assert_eq!(s, Status::Forbidden, "not their grid");
    let st = app.state().await;
    run_until_idle(&st).await.unwrap();
    let got = peer.wait_for(1, 5).await;
    assert_eq!(got.len(), 1);
    let b = got[0].json();
    assert_eq!(
        (b["type"].as_str(), b["data"]["category"].as_str()),
        (Some("event.reported"), Some("fire_hazard"))
    );
    let official = app.api(OFFICIAL_JX).await;
    let (_, notes) = official.get("/notifications").await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "event.reported"),
        "{notes}"
    );
    // The same works from the page, without JavaScript.
    let b = app.signed_in(INSPECTOR_JX).await;
    let (s, html) = b
        .get_text(&format!("/inspector/tasks/{}/report", task.id))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("消防隐患"));
    let other = app.signed_in(INSPECTOR_NZ).await;
    let (s, _) = other
        .get_text(&format!("/inspector/tasks/{}/report", task.id))
        .await;
    assert_eq!(s, Status::Forbidden, "not a form for another grid's task");
    let r = b
        .post_form(
            &format!("/inspector/tasks/{}/report", task.id),
            &[("category", "other"), ("description", "")],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(r.into_string().await.unwrap().contains("请描述看到的情况"));
}

#[rocket::async_test]
async fn deadlines_make_their_events_once_however_often_the_job_runs() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, _) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    // An open finding due in one day, and a check-in waiting since yesterday.
    let house = anju::entities::property::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let task = anju::entities::inspection_task::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    let insp = anju::entities::inspection::ActiveModel {
        task_id: Set(task.id),
        submission_id: Set("t".into()),
        inspector_id: Set(task.assignee_id.unwrap()),
        property_id: Set(house.id),
        village_id: Set(house.village_id),
        application_id: Set(task.application_id),
        checklist_key: Set("rental-safety".into()),
        checklist_version: Set(1),
        checklist_hash: Set("h".into()),
        outcome: Set("failed".into()),
        grade: Set("yellow".into()),
        answers: Set("[]".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    anju::entities::finding::ActiveModel {
        inspection_id: Set(insp.id),
        property_id: Set(house.id),
        village_id: Set(house.village_id),
        application_id: Set(task.application_id),
        item_key: Set("wiring.no_improvised".into()),
        severity: Set("major".into()),
        status: Set("open".into()),
        deadline_at: Set(Some(now + chrono::Duration::days(1))),
        photo_ids: Set("[]".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let run = |at| anju::services::events::timed::run(&app.db, at);
    run(now).await.unwrap();
    run(now).await.unwrap();
    assert_eq!(
        kinds(&app)
            .await
            .iter()
            .filter(|k| *k == "finding.due_soon")
            .count(),
        1,
        "due soon, once"
    );
    run(now + chrono::Duration::days(2)).await.unwrap();
    run(now + chrono::Duration::days(3)).await.unwrap();
    assert_eq!(
        kinds(&app)
            .await
            .iter()
            .filter(|k| *k == "finding.overdue")
            .count(),
        1,
        "overdue, once"
    );
    let official = app.api(OFFICIAL_JX).await;
    let (_, notes) = official.get("/notifications").await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "finding.overdue"),
        "the official hears of it"
    );
    let v: Vec<Value> = event::Entity::find()
        .filter(event::Column::Kind.eq("finding.overdue"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect();
    assert_eq!(v[0]["property_id"], house.id);
}
