//! The date-dependent use cases with the application's clock at a Saturday, a Sunday, late on
//! a Friday and early on a Monday in the town (China time), whatever day the suite runs on.
mod common;

use anju::domain::clock::{Clock, town_time};
use anju::entities::{inspection_task, permit, stay};
use chrono::{DateTime, Duration, Utc};
use common::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    town_time(y, m, d, h, min).expect("a real town time")
}

/// A house in 锦绣村第一网格 with a submitted application, through the API; returns the
/// application's initial inspection task.
async fn submitted_task(app: &TestApp) -> inspection_task::Model {
    let landlord = app.api(LANDLORD).await;
    let (_, id) = submitted_in_grid(app, &landlord, "锦绣村第一网格").await;
    inspection_task::Entity::find()
        .filter(inspection_task::Column::ApplicationId.eq(id))
        .order_by_desc(inspection_task::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("task")
}

async fn due_of_a_task_submitted_at(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let app = TestApp::with(|c| c.clock = Clock::starting_at(at)).await;
    let t = submitted_task(&app).await;
    (t.created_at, t.due_at)
}

fn same_minute(a: DateTime<Utc>, b: DateTime<Utc>) {
    assert!((a - b).num_seconds().abs() < 60, "{a} is not {b}");
}

#[rocket::async_test]
async fn a_task_submitted_on_saturday_morning_is_due_on_wednesday_morning() {
    // Three working days (the default) from a Saturday: Monday, Tuesday, Wednesday.
    let (created, due) = due_of_a_task_submitted_at(cst(2026, 11, 28, 10, 0)).await;
    same_minute(created, cst(2026, 11, 28, 10, 0));
    same_minute(due, cst(2026, 12, 2, 10, 0));
}

#[rocket::async_test]
async fn a_task_submitted_late_on_sunday_night_is_due_on_wednesday_night() {
    let (_, due) = due_of_a_task_submitted_at(cst(2026, 11, 29, 23, 30)).await;
    same_minute(due, cst(2026, 12, 2, 23, 30));
}

#[rocket::async_test]
async fn a_task_submitted_early_on_monday_in_china_while_utc_says_sunday_is_due_on_thursday() {
    let (_, due) = due_of_a_task_submitted_at(cst(2026, 11, 30, 3, 45)).await;
    same_minute(due, cst(2026, 12, 3, 3, 45));
}

#[rocket::async_test]
async fn a_task_submitted_late_on_friday_night_is_due_on_wednesday_night() {
    let (_, due) = due_of_a_task_submitted_at(cst(2026, 11, 27, 23, 30)).await;
    same_minute(due, cst(2026, 12, 2, 23, 30));
}

#[rocket::async_test]
async fn a_task_submitted_early_on_friday_in_china_is_not_due_on_a_saturday() {
    // 03:00 Friday in the town is Thursday 19:00 in UTC: counted by UTC weekdays, one working
    // day later would be Saturday 03:00 in the town.
    let app = TestApp::with(|c| {
        c.clock = clock_at_cst(2026, 11, 27, 3, 0);
        c.inspection_due_working_days = 1;
    })
    .await;
    let t = submitted_task(&app).await;
    same_minute(t.due_at, cst(2026, 11, 30, 3, 0));
}

#[rocket::async_test]
async fn a_task_is_overdue_by_the_applications_clock_not_the_machines() {
    // Submitted on Saturday, due Wednesday 10:00; at 09:50 it is not overdue, at 10:10 it is.
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 28, 10, 0)).await;
    let t = submitted_task(&app).await;
    for (clock, overdue) in [
        (clock_at_cst(2026, 12, 2, 9, 50), false),
        (clock_at_cst(2026, 12, 2, 10, 10), true),
    ] {
        let st = app.state_at(clock).await;
        let f = anju::services::inspections::tasks::TaskFilter {
            overdue: true,
            ..Default::default()
        };
        let admin = admin_actor(&app).await;
        let (rows, _) = anju::services::inspections::tasks::list(
            &st.db,
            &admin,
            &f,
            0,
            50,
            st.config.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(
            rows.iter().any(|r| r.id == t.id),
            overdue,
            "at {}",
            st.config.clock.now()
        );
    }
}

async fn admin_actor(app: &TestApp) -> anju::services::Actor {
    let u = anju::entities::user::Entity::find()
        .filter(anju::entities::user::Column::Phone.eq(ADMIN))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    anju::services::Actor {
        id: u.id,
        role: anju::domain::role::Role::TownAdmin,
        name: u.name,
        village_id: u.village_id,
    }
}

#[rocket::async_test]
async fn a_permit_expires_when_its_last_day_ends_in_the_town() {
    // Valid until Sunday 29 November; Monday 00:30 CST is still Sunday 16:30 in UTC.
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 29, 23, 30)).await;
    let (number, _) = active_permit(&app, 2).await;
    permit_ending_on(
        &app,
        &number,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
    )
    .await;
    let status = || async {
        permit::Entity::find()
            .filter(permit::Column::Number.eq(number.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .status
    };

    let sunday_night = app.state_at(clock_at_cst(2026, 11, 29, 23, 30)).await;
    anju::jobs::run_all(&sunday_night, "t").await;
    assert_eq!(status().await, "active");

    let monday_early = app.state_at(clock_at_cst(2026, 11, 30, 0, 30)).await;
    anju::jobs::run_all(&monday_early, "t").await;
    assert_eq!(status().await, "expired");
}

#[rocket::async_test]
async fn a_permit_approved_early_on_monday_in_china_is_valid_from_monday() {
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 30, 3, 45)).await;
    let (number, _) = active_permit(&app, 2).await;
    let p = permit::Entity::find()
        .filter(permit::Column::Number.eq(number.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        p.valid_from,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    );
}

async fn check_in_moving_in(app: &TestApp, number: &str, sig: &str, move_in: &str) -> Status {
    let room = permit_rooms(app, number).await[0];
    let b = app.browser().await;
    b.client
        .post(format!("/api/v1/permits/{number}/stays"))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"sig": sig, "name": "王五", "doc_type": "resident_id", "doc_number": resident_id(1),
            "phone": "13700000000", "room_id": room, "move_in": move_in}).to_string())
        .dispatch()
        .await
        .status()
}

#[rocket::async_test]
async fn moving_in_today_early_on_monday_in_china_is_today_not_tomorrow() {
    // 03:45 on Monday 30 November in the town; UTC still says Sunday 29.
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 30, 3, 45)).await;
    let (number, sig) = active_permit(&app, 2).await;
    let b = app.browser().await;
    let r = b.get(&format!("/p/{number}/checkin?sig={sig}")).await;
    assert_eq!(r.status(), Status::Ok);
    let html = r.into_string().await.unwrap();
    assert!(html.contains("2026-11-30"), "the form proposes today");
    assert_eq!(
        check_in_moving_in(&app, &number, &sig, "2026-11-30").await,
        Status::Created
    );
}

#[rocket::async_test]
async fn a_pending_stay_lapses_by_the_applications_clock_on_a_saturday() {
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 28, 10, 0)).await;
    let (number, sig) = active_permit(&app, 2).await;
    assert_eq!(
        check_in_moving_in(&app, &number, &sig, "2026-11-28").await,
        Status::Created
    );
    let status = || async {
        stay::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .expect("stay")
            .status
    };
    // The default is 72 hours: still pending on Tuesday 09:00, lapsed on Tuesday 11:00.
    let st = app.state_at(clock_at_cst(2026, 12, 1, 9, 0)).await;
    anju::jobs::run_all(&st, "t").await;
    assert_eq!(status().await, "pending");
    let st = app.state_at(clock_at_cst(2026, 12, 1, 11, 0)).await;
    anju::jobs::run_all(&st, "t").await;
    assert_eq!(status().await, "lapsed");
}

#[rocket::async_test]
async fn a_fixed_clock_keeps_running_across_requests() {
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 29, 23, 30)).await;
    let a = app.config.clock.now();
    assert!(a - cst(2026, 11, 29, 23, 30) < Duration::minutes(1));
    assert!(app.config.clock.now() >= a);
}

#[rocket::async_test]
async fn tasks_since_a_date_count_from_midnight_in_the_town() {
    // Submitted at 03:00 on Saturday 28 November in the town, which is Friday 19:00 in UTC.
    let app = TestApp::with(|c| c.clock = clock_at_cst(2026, 11, 28, 3, 0)).await;
    let t = submitted_task(&app).await;
    let admin = app.api(ADMIN).await;
    let ids = |v: serde_json::Value| -> Vec<i64> {
        v.as_array()
            .expect("a list")
            .iter()
            .filter_map(|r| r["id"].as_i64())
            .collect()
    };
    let (s, v) = admin.get("/tasks?since=2026-11-28").await;
    assert_eq!(s, Status::Ok, "{v}");
    assert!(ids(v).contains(&i64::from(t.id)));
    let (_, v) = admin.get("/tasks?since=2026-11-29").await;
    assert!(!ids(v).contains(&i64::from(t.id)));
}
