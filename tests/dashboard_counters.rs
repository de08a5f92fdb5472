//! The command room's standing counts are kept by the database (m012): after check-ins, a
//! confirmation, a rejection, a check-out, a suspension and a new application they equal a
//! recount of the rows, on SQLite and PostgreSQL; so do the check-ins and check-outs per
//! town-local day (m018), recounted here by `town_date` rather than by SQL.
mod common;

use std::collections::BTreeMap;

use anju::domain::clock::{town_date, town_time};
use anju::domain::stay::StayStatus;
use anju::entities::stay;
use chrono::NaiveDate;
use common::*;
use rocket::http::Status;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
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

type Days = BTreeMap<(String, NaiveDate, i32), i64>;

/// `dashboard_days` as kept by the triggers.
async fn days_kept(app: &TestApp) -> Days {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT series, day, village_id, n FROM dashboard_days",
        ))
        .await
        .expect("days");
    rows.iter()
        .map(|r| {
            let key = (
                r.try_get::<String>("", "series").expect("series"),
                r.try_get::<NaiveDate>("", "day").expect("day"),
                r.try_get::<i32>("", "village_id").expect("village"),
            );
            (key, r.try_get::<i64>("", "n").expect("n"))
        })
        .filter(|(_, n)| *n != 0)
        .collect()
}

/// The same, counted from the stays by the town's calendar.
async fn days_recounted(app: &TestApp) -> Days {
    let mut days = Days::new();
    for s in stay::Entity::find().all(&app.db).await.expect("stays") {
        let v = s.village_id;
        *days
            .entry(("check_in".into(), town_date(s.created_at), v))
            .or_default() += 1;
        if let (true, Some(ended)) = (s.status == StayStatus::CheckedOut.as_str(), s.ended_at) {
            *days
                .entry(("check_out".into(), town_date(ended), v))
                .or_default() += 1;
        }
    }
    days
}

async fn assert_counters_match(app: &TestApp, after: &str) {
    let kept = counts(app, "SELECT village_id, metric, n FROM dashboard_counts").await;
    let recount = counts(app, RECOUNT).await;
    assert_eq!(
        kept, recount,
        "kept counters differ from a recount after {after}"
    );
    assert_eq!(
        days_kept(app).await,
        days_recounted(app).await,
        "kept day counters differ from the stays after {after}"
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

#[rocket::async_test]
async fn a_stay_counts_on_the_town_day_it_was_made_and_ended_not_the_utc_one() {
    let app = TestApp::new().await;
    let (permit, sig) = active_permit(&app, 6).await;
    let a = check_in(&app, &permit, &sig, 31).await;
    let b = check_in(&app, &permit, &sig, 32).await;
    let landlord = app.api(LANDLORD).await;
    for id in [a, b] {
        for step in ["confirm", "checkout"] {
            let (s, v) = landlord
                .post(&format!("/stays/{id}/{step}"), json!({}))
                .await;
            assert_eq!(s, Status::Ok, "{step}: {v}");
        }
    }
    // 00:30 CST on 2 March is still 1 March in UTC; 23:59 CST on 2 March is already 15:59 UTC.
    let just_after_midnight = town_time(2026, 3, 2, 0, 30).expect("a time");
    let just_before = town_time(2026, 3, 2, 23, 59).expect("a time");
    for (id, made, ended) in [
        (a, just_after_midnight, just_before),
        (b, just_before, just_after_midnight),
    ] {
        stay::Entity::update_many()
            .col_expr(stay::Column::CreatedAt, Expr::value(made))
            .col_expr(stay::Column::EndedAt, Expr::value(Some(ended)))
            .filter(stay::Column::Id.eq(id as i32))
            .exec(&app.db)
            .await
            .expect("moved in time");
    }
    assert_counters_match(&app, "two stays moved to the edges of a day").await;
    let march_2 = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a day");
    let kept = days_kept(&app).await;
    let on = |series: &str| {
        kept.iter()
            .filter(|((s, d, _), _)| s == series && *d == march_2)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    assert_eq!((on("check_in"), on("check_out")), (2, 2), "{kept:?}");
}

/// PostgreSQL bumps the counters as a transaction commits (m020): a writer that has changed a
/// stay of the village but not yet committed holds no counter another check-in of the village
/// needs, and what it rolls back was never counted. (SQLite has one writer at a time: there the
/// held transaction would hold every other writer by design, so there is nothing to show.) The
/// change is to a stay of another house of the village: a change to a stay of the same permit
/// holds that permit's own open-stay counter (m021) to its commit, as check-ins on one permit
/// are decided one after another anyway.
#[rocket::async_test]
async fn an_uncommitted_change_in_a_village_holds_up_no_other_check_in_there() {
    use sea_orm::TransactionTrait;
    let app = TestApp::new().await;
    if app.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let (permit, sig) = active_permit(&app, 6).await;
    let (other, other_sig) = active_permit(&app, 6).await;
    let first = check_in(&app, &other, &other_sig, 31).await;
    let held = app.db.begin().await.expect("begin");
    // Moves the stay between the village's `stay_pending` and `stay_rejected` counters, the
    // first of which the next check-in bumps too.
    held.execute_raw(Statement::from_string(
        sea_orm::DbBackend::Postgres,
        format!("UPDATE stays SET status = 'rejected' WHERE id = {first}"),
    ))
    .await
    .expect("update");
    let next = rocket::tokio::time::timeout(
        std::time::Duration::from_secs(10),
        check_in(&app, &permit, &sig, 32),
    )
    .await;
    assert!(
        next.is_ok(),
        "a check-in waited for an uncommitted change of its village"
    );
    held.rollback().await.expect("rollback");
    assert_counters_match(&app, "a change rolled back beside a check-in").await;
}
