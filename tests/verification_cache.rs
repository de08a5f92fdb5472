//! The verification page keeps each permit's live status in memory (issue 14), and yet a
//! suspension, a check-in or a check-out shows at once on the instance that made it and within
//! two seconds on another instance of the same database; another instance's command room hears
//! of the change too. On SQLite and PostgreSQL.
mod common;

use std::time::{Duration, Instant};

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

async fn verified(app: &TestApp, number: &str, sig: &str) -> Value {
    let anon = app.browser().await;
    let (s, body) = anon
        .get_text(&format!("/api/v1/verify/{number}?sig={}", urlencode(sig)))
        .await;
    assert_eq!(s, Status::Ok, "{body}");
    serde_json::from_str(&body).expect("verification JSON")
}

async fn house_and_room(app: &TestApp, number: &str) -> (i32, i32) {
    use anju::entities::room;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let p = permit_by_number(app, number).await;
    let r = room::Entity::find()
        .filter(room::Column::PropertyId.eq(p.property_id))
        .one(&app.db)
        .await
        .expect("room query")
        .expect("a room");
    (p.property_id, r.id)
}

/// The landlord registers a tenant, who lives there at once.
async fn registered_by_landlord(app: &TestApp, number: &str, n: u32) -> i64 {
    let (house, room) = house_and_room(app, number).await;
    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(
            &format!("/properties/{house}/stays"),
            json!({"name": format!("租客{n}"), "doc_type": "resident_id",
                "doc_number": resident_id(n), "phone": "13700000007", "room_id": room,
                "move_in": app.config.clock.today().format("%Y-%m-%d").to_string()}),
        )
        .await;
    assert_eq!(s, Status::Created, "registration: {v}");
    v["stay_id"].as_i64().expect("stay id")
}

/// The village official suspends the permit.
async fn suspended(app: &TestApp, number: &str) {
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(
            &format!("/permits/{number}/suspend"),
            json!({"reason": "消防通道堵塞"}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
}

#[rocket::async_test]
async fn a_suspension_shows_at_once_on_a_page_that_was_just_read() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    for _ in 0..3 {
        assert_eq!(verified(&app, &number, &sig).await["status"], "active");
    }
    suspended(&app, &number).await;
    let v = verified(&app, &number, &sig).await;
    assert_eq!(v["status"], "suspended", "{v}");
    let (s, page) = app
        .browser()
        .await
        .get_text(&format!("/p/{number}?sig={}", urlencode(&sig)))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains("暂停"), "the page says suspended too");
}

/// The status badge of a valid permit (the word alone is also in 有效期).
const ACTIVE: &str = ">有效</span>";

/// The verification page as a stranger's phone gets it.
async fn page(app: &TestApp, number: &str, sig: &str) -> String {
    let (s, page) = app
        .browser()
        .await
        .get_text(&format!("/p/{number}?sig={}", urlencode(sig)))
        .await;
    assert_eq!(s, Status::Ok, "{page}");
    page
}

#[rocket::async_test]
async fn a_page_served_again_and_again_turns_suspended_at_once() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    for _ in 0..3 {
        let p = page(&app, &number, &sig).await;
        assert!(p.contains(ACTIVE) && p.contains("入住登记</a>"), "{p}");
    }
    suspended(&app, &number).await;
    let p = page(&app, &number, &sig).await;
    assert!(p.contains("已暂停</span>"), "{p}");
    assert!(
        !p.contains("入住登记</a>"),
        "no check-in on a suspended permit: {p}"
    );
}

#[rocket::async_test]
async fn a_page_served_again_and_again_counts_a_new_tenant_at_once() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    for _ in 0..2 {
        assert!(page(&app, &number, &sig).await.contains("<dd>0 人</dd>"));
    }
    registered_by_landlord(&app, &number, 43).await;
    let p = page(&app, &number, &sig).await;
    assert!(p.contains("<dd>1 人</dd>"), "{p}");
}

#[rocket::async_test]
async fn a_page_served_just_before_midnight_says_expired_just_after_on_its_last_day() {
    let last_day = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("a date");
    let before_midnight = anju::domain::clock::town_time(2026, 11, 29, 23, 59)
        .expect("a town time")
        + chrono::Duration::seconds(56);
    let app =
        TestApp::with(|c| c.clock = anju::domain::clock::Clock::starting_at(before_midnight)).await;
    let (number, _) = active_permit(&app, 2).await;
    permit_ending_on(&app, &number, last_day).await;

    let (t, mut reads) = (Instant::now(), 0);
    while app.config.clock.today() == last_day {
        let p = page(&app, &number, "").await;
        if app.config.clock.today() == last_day {
            assert!(p.contains(ACTIVE), "{p}");
            reads += 1;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the clock does not run"
        );
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reads > 1,
        "the setup ran past midnight: nothing was read on the last day"
    );
    let p = page(&app, &number, "").await;
    assert!(p.contains("已过期</span>"), "{p}");
}

#[rocket::async_test]
async fn a_check_in_and_a_check_out_change_the_count_at_once() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    assert_eq!(verified(&app, &number, &sig).await["occupants"], 0);
    let stay = registered_by_landlord(&app, &number, 41).await;
    assert_eq!(verified(&app, &number, &sig).await["occupants"], 1);
    registered_by_landlord(&app, &number, 42).await;
    assert_eq!(verified(&app, &number, &sig).await["occupants"], 2);
    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(&format!("/stays/{stay}/checkout"), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(verified(&app, &number, &sig).await["occupants"], 1);
}

#[rocket::async_test]
async fn another_instance_sees_a_suspension_within_two_seconds() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let other = app.other_instance().await;
    assert_eq!(verified(&other, &number, &sig).await["status"], "active");
    assert_eq!(verified(&other, &number, &sig).await["status"], "active");
    suspended(&app, &number).await;
    let t = Instant::now();
    loop {
        let v = verified(&other, &number, &sig).await;
        if v["status"] == "suspended" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "still {v} on the other instance"
        );
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[rocket::async_test]
async fn another_instances_command_room_hears_of_a_change_within_three_seconds() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let other = app.other_instance().await;
    let st = other.state().await;
    let mut rx = st.dashboard.subscribe(&st);
    // The first round only learns where the audit log stands.
    let _ = rocket::tokio::time::timeout(Duration::from_secs(3), rx.changed()).await;
    rx.borrow_and_update();
    registered_by_landlord(&app, &number, 43).await;
    let t = Instant::now();
    rocket::tokio::time::timeout(Duration::from_secs(3), rx.changed())
        .await
        .expect("the other instance's screens were told within 3 s")
        .expect("the hub is alive");
    let scope = anju::services::dashboard::Scope { village_id: None };
    let snap = st
        .dashboard
        .snapshot(&st, scope)
        .await
        .expect("the snapshot");
    assert_eq!(snap.residents.now, 1, "counted after {:?}", t.elapsed());
}
