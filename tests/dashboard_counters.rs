//! The command room's standing counts are kept by the database (m012): after check-ins, a
//! confirmation, a rejection, a check-out, a suspension and a new application they equal a
//! recount of the rows, on SQLite and PostgreSQL.
mod common;

use std::collections::BTreeMap;

use common::*;
use rocket::http::Status;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

/// `(village_id, metric) → n` from a query returning those three columns.
async fn counts(app: &TestApp, sql: &str) -> BTreeMap<(i64, String), i64> {
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("counts");
    rows.iter()
        .map(|r| {
            let v: i32 = r.try_get("", "village_id").expect("village");
            let m: String = r.try_get("", "metric").expect("metric");
            let n: i64 = r.try_get("", "n").expect("n");
            ((i64::from(v), m), n)
        })
        .filter(|(_, n)| *n != 0)
        .collect()
}

const RECOUNT: &str = "\
    SELECT village_id, 'houses' AS metric, COUNT(*) AS n FROM properties GROUP BY village_id \
    UNION ALL SELECT village_id, 'grade_' || COALESCE(grade, 'none'), COUNT(*) FROM properties GROUP BY 1, 2 \
    UNION ALL SELECT village_id, 'permit_' || status, COUNT(*) FROM permits GROUP BY 1, 2 \
    UNION ALL SELECT village_id, 'app_' || status, COUNT(*) FROM applications GROUP BY 1, 2 \
    UNION ALL SELECT p.village_id, 'stay_' || s.status, COUNT(*) FROM stays s \
        JOIN properties p ON p.id = s.property_id GROUP BY 1, 2";

async fn assert_counters_match(app: &TestApp, after: &str) {
    let kept = counts(app, "SELECT village_id, metric, n FROM dashboard_counts").await;
    let recount = counts(app, RECOUNT).await;
    assert_eq!(
        kept, recount,
        "kept counters differ from a recount after {after}"
    );
}

async fn check_in(app: &TestApp, permit: &str, sig: &str, n: u32) -> i64 {
    let rooms = permit_rooms(app, permit).await;
    let anyone = app.api(LANDLORD).await;
    let (s, v) = anyone
        .post(
            &format!("/permits/{permit}/stays"),
            json!({"sig": sig, "name": format!("租客{n}"), "doc_type": "resident_id",
                "doc_number": resident_id(n), "phone": "13700000007", "room_id": rooms[n as usize % rooms.len()],
                "move_in": app.config.clock.today().format("%Y-%m-%d").to_string()}),
        )
        .await;
    assert_eq!(s, Status::Created, "check-in: {v}");
    v["stay_id"].as_i64().expect("stay id")
}

#[rocket::async_test]
async fn the_kept_counts_equal_a_recount_through_a_busy_day() {
    let app = TestApp::new().await;
    assert_counters_match(&app, "the demo town").await;

    let (permit, sig) = active_permit(&app, 6).await;
    assert_counters_match(&app, "a permit").await;
    let a = check_in(&app, &permit, &sig, 21).await;
    let b = check_in(&app, &permit, &sig, 22).await;
    check_in(&app, &permit, &sig, 23).await;
    assert_counters_match(&app, "three check-ins").await;

    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(&format!("/stays/{a}/confirm"), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let (s, v) = landlord
        .post(&format!("/stays/{b}/reject"), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let (s, v) = landlord
        .post(&format!("/stays/{a}/checkout"), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_counters_match(&app, "a confirmation, a rejection and a check-out").await;

    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(
            &format!("/permits/{permit}/suspend"),
            json!({"reason": "消防通道堵塞"}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_counters_match(&app, "a suspension").await;
    let landlord = app.api(LANDLORD).await;
    submitted_in_grid(&app, &landlord, "倪宅村第一网格").await;
    assert_counters_match(&app, "a new application").await;
    let (s, snap) = app.api(ADMIN).await.get("/dashboard").await;
    assert_eq!(s, Status::Ok, "{snap}");
    assert_eq!(snap["permits"]["suspended"], 1);
    assert_eq!(snap["residents"]["now"], 0);
    assert_eq!(snap["residents"]["pending"], 1);
}
