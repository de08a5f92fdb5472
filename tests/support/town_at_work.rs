//! A demo town at work, built through the services and the API: houses in two villages with an
//! inspection that found two hazards, one that passed, applications waiting, a permit with a
//! confirmed tenant, and one hazard and one task past their time. The command room's tests count it.
use anju::entities::{finding, inspection_task as task};
use rocket::http::Status;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::json;

use super::common::checklist::{checklist_v1, failing, passing};
use super::common::*;

/// The grid's inspector inspects the house of application `app_id`, failing `failed`.
async fn inspect(app: &TestApp, inspector: &str, app_id: i32, failed: &[&str]) {
    let api = app.api(inspector).await;
    let (_, tasks) = api.get("/tasks").await;
    let task = tasks
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["application_id"] == app_id))
        .and_then(|t| t["id"].as_i64())
        .expect("the application's task");
    let (_, photo) = api.upload(&png(50, 40)).await;
    let (s, r) = api
        .post(
            &format!("/tasks/{task}/inspection"),
            json!({"submission_id": uuid::Uuid::new_v4().to_string(), "checklist": "rental-safety",
                "version": 1, "answers": failing(passing(&checklist_v1(), None), failed, photo["id"].as_str())}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{r}");
}

/// The demo town after: in 锦绣村 a house inspected with two hazards (one now past its
/// deadline), a house with an active permit and a confirmed tenant, an application waiting for
/// its inspection (its task now overdue); in 倪宅村 a house that passed its inspection and one
/// waiting for its inspection.
/// Returns the 锦绣村 and 倪宅村 application ids, the permit's number and the villages' ids.
pub async fn a_town_at_work(app: &TestApp) -> (i32, i32, String, i32, i32) {
    let landlord = app.api(LANDLORD).await;
    let (_, hazards) = submitted_in_grid(app, &landlord, "锦绣村第一网格").await;
    inspect(
        app,
        INSPECTOR_JX,
        hazards,
        &["wiring.conduit", "clutter.no_combustibles"],
    )
    .await;
    let (_, nz) = submitted_in_grid(app, &landlord, "倪宅村第一网格").await;
    inspect(app, INSPECTOR_NZ, nz, &[]).await;
    let (_, waiting) = submitted_in_grid(app, &landlord, "锦绣村第二网格").await;
    // Waits for its inspection, due within the usual three working days.
    submitted_in_grid(app, &landlord, "倪宅村第二网格").await;

    let (permit, sig) = active_permit(app, 4).await;
    let rooms = permit_rooms(app, &permit).await;
    let (s, v) = landlord
        .post(
            &format!("/permits/{permit}/stays"),
            json!({"sig": sig, "name": "租客一", "doc_type": "resident_id",
                "doc_number": resident_id(21), "phone": "13700000007", "room_id": rooms[0],
                "move_in": app.config.clock.today().format("%Y-%m-%d").to_string()}),
        )
        .await;
    assert_eq!(s, Status::Created, "check-in: {v}");
    let (s, v) = landlord
        .post(&format!("/stays/{}/confirm", v["stay_id"]), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    // A second tenant's check-in waits for the landlord's confirmation.
    let (s, v) = landlord
        .post(
            &format!("/permits/{permit}/stays"),
            json!({"sig": sig, "name": "租客二", "doc_type": "resident_id",
                "doc_number": resident_id(22), "phone": "13700000008", "room_id": rooms[0],
                "move_in": app.config.clock.today().format("%Y-%m-%d").to_string()}),
        )
        .await;
    assert_eq!(s, Status::Created, "second check-in: {v}");

    // Time moves on for one hazard and the waiting application's task.
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    let f = finding::Entity::find()
        .one(&app.db)
        .await
        .expect("finding query")
        .expect("a finding");
    let mut fm: finding::ActiveModel = f.into();
    fm.deadline_at = Set(Some(past));
    fm.update(&app.db).await.expect("deadline");
    for t in task::Entity::find().all(&app.db).await.expect("tasks") {
        if t.application_id == Some(waiting) {
            let mut tm: task::ActiveModel = t.into();
            tm.due_at = Set(past);
            tm.update(&app.db).await.expect("due");
        }
    }
    let (jx, _) = village_and_grid(app, "锦绣村第一网格").await;
    let (nzv, _) = village_and_grid(app, "倪宅村第一网格").await;
    (hazards, nz, permit, jx, nzv)
}
