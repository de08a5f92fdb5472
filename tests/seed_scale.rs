//! `anju seed-scale`'s synthetic county: villages of different sizes, red houses, overdue work,
//! a year of stays, numbers the pages understand, and standing counts that agree with the rows;
//! on SQLite and PostgreSQL.
mod common;

use anju::domain::clock::town_date;
use anju::domain::dashboard::{week_index, week_starts};
use anju::domain::permit_number::parse_permit_number;
use anju::domain::stay::StayStatus;
use anju::entities::stay;
use anju::services::dashboard::trend::weekly;
use anju::services::dashboard::{Scope, compute};
use anju::services::seed_scale::seed_scale;
use common::*;
use rocket::http::Status;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

async fn numbers(app: &TestApp, sql: &str) -> Vec<i64> {
    let backend = app.db.get_database_backend();
    app.db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("query")
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).expect("a number"))
        .collect()
}

#[rocket::async_test]
async fn a_synthetic_county_is_spread_like_a_real_one() {
    let app = TestApp::new().await;
    let made = seed_scale(&app.db, 16_000, 12_000, 7)
        .await
        .expect("seed-scale");
    assert_eq!(made.houses, 16_000);
    assert!(made.villages > 3, "{} villages", made.villages);

    let sizes = numbers(
        &app,
        "SELECT COUNT(*) FROM properties GROUP BY village_id ORDER BY 1",
    )
    .await;
    let (small, large) = (sizes[0], sizes[sizes.len() - 1]);
    assert!(large >= 3 * small, "village sizes {sizes:?}");

    let town = compute(&app.db, Scope { village_id: None }, chrono::Utc::now())
        .await
        .expect("snapshot");
    assert_eq!(town.houses, 16_000);
    assert!(town.grades.red > 0 && town.grades.yellow > 0 && town.grades.green > 0);
    assert!(town.hazards.overdue > 0, "some hazards are overdue");
    assert!(town.inspections.overdue > 0, "some patrols are overdue");
    assert!(town.permits.active > 0 && town.residents.now > 0);

    // Stays reach back about a year, not all into the same week.
    let days = numbers(
        &app,
        "SELECT COUNT(DISTINCT move_in) FROM stays WHERE move_in IS NOT NULL",
    )
    .await;
    assert!(days[0] > 300, "{} distinct move-in days", days[0]);
}

#[rocket::async_test]
async fn its_standing_counts_agree_with_the_rows() {
    let app = TestApp::new().await;
    seed_scale(&app.db, 3_000, 4_000, 11)
        .await
        .expect("seed-scale");
    let kept = numbers(
        &app,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM dashboard_counts WHERE metric = 'houses'",
    )
    .await;
    let rows = numbers(&app, "SELECT COUNT(*) FROM properties").await;
    assert_eq!(kept, rows);
    let kept = numbers(
        &app,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM dashboard_counts WHERE metric = 'stay_active'",
    )
    .await;
    let rows = numbers(&app, "SELECT COUNT(*) FROM stays WHERE status = 'active'").await;
    assert_eq!(kept, rows);
}

#[rocket::async_test]
async fn every_synthetic_permit_number_opens_its_pages() {
    let app = TestApp::new().await;
    seed_scale(&app.db, 1_500, 1_000, 3)
        .await
        .expect("seed-scale");
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT number FROM permits ORDER BY id",
        ))
        .await
        .expect("permits");
    let all: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "number").expect("number"))
        .collect();
    assert!(all.len() > 100, "{} permits", all.len());
    for n in &all {
        assert!(
            parse_permit_number(n).is_some(),
            "{n} is not a permit number"
        );
    }
    let admin = app.signed_in(ADMIN).await;
    let (s, page) = admin
        .get_text(&format!("/admin/permits/{}", all[all.len() / 2]))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains(&all[all.len() / 2]));
}

#[rocket::async_test]
async fn a_county_is_only_seeded_into_an_empty_database() {
    let app = TestApp::new().await;
    seed_scale(&app.db, 500, 100, 1).await.expect("first");
    assert!(seed_scale(&app.db, 500, 100, 1).await.is_err());
    assert_eq!(app.count("properties").await, 500);
}

/// Every non-zero counter, as (village, metric, n), in order.
async fn counters(app: &TestApp) -> Vec<(i32, String, i64)> {
    let backend = app.db.get_database_backend();
    app.db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT village_id, metric, CAST(n AS BIGINT) AS n FROM dashboard_counts \
             WHERE n <> 0 ORDER BY village_id, metric",
        ))
        .await
        .expect("counters")
        .iter()
        .map(|r| {
            (
                r.try_get("", "village_id").expect("village"),
                r.try_get("", "metric").expect("metric"),
                r.try_get("", "n").expect("n"),
            )
        })
        .collect()
}

#[rocket::async_test]
async fn its_counters_are_what_a_recount_of_the_rows_gives_and_the_triggers_keep_them_after() {
    let app = TestApp::new().await;
    seed_scale(&app.db, 2_500, 3_000, 5)
        .await
        .expect("seed-scale");
    let kept = counters(&app).await;
    assert!(kept.len() > 20, "{} counters", kept.len());
    anju::services::dashboard::recount::recount(&app.db)
        .await
        .expect("recount");
    assert_eq!(kept, counters(&app).await);
    let red = numbers(
        &app,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM dashboard_counts WHERE metric = 'grade_red'",
    )
    .await;
    let rows = numbers(&app, "SELECT COUNT(*) FROM properties WHERE grade = 'red'").await;
    assert_eq!(red, rows);

    // The per-row triggers set aside while seeding are back: a check-out moves the counters.
    let active = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM dashboard_counts WHERE metric = 'stay_active'";
    let before = numbers(&app, active).await[0];
    app.db
        .execute_unprepared(
            "UPDATE stays SET status = 'checked_out' \
             WHERE id = (SELECT MIN(id) FROM stays WHERE status = 'active')",
        )
        .await
        .expect("a check-out");
    assert_eq!(numbers(&app, active).await[0], before - 1);
}

#[rocket::async_test]
async fn the_indexes_set_aside_while_seeding_are_all_back_afterwards() {
    let app = TestApp::new().await;
    let before = app.index_definitions().await;
    assert!(before.len() > 30, "{before:?}");
    seed_scale(&app.db, 1_200, 1_500, 9)
        .await
        .expect("seed-scale");
    assert_eq!(app.index_definitions().await, before);
}

#[rocket::async_test]
async fn its_weekly_check_ins_and_check_outs_are_those_of_its_stays_by_the_town_calendar() {
    let app = TestApp::new().await;
    seed_scale(&app.db, 1_500, 4_000, 11)
        .await
        .expect("seed-scale");
    let now = chrono::Utc::now();
    let trend = weekly(&app.db, Scope { village_id: None }, now, 12)
        .await
        .expect("trend");
    let starts = week_starts(town_date(now), 12);
    let (mut ins, mut outs) = (vec![0i64; 12], vec![0i64; 12]);
    for s in stay::Entity::find().all(&app.db).await.expect("stays") {
        if let Some(w) = week_index(&starts, town_date(s.created_at)) {
            ins[w] += 1;
        }
        let ended = s
            .ended_at
            .filter(|_| s.status == StayStatus::CheckedOut.as_str());
        if let Some(w) = ended.and_then(|e| week_index(&starts, town_date(e))) {
            outs[w] += 1;
        }
    }
    assert!(ins.iter().sum::<i64>() > 500, "{ins:?}");
    assert!(outs.iter().sum::<i64>() > 200, "{outs:?}");
    assert_eq!((trend.check_ins, trend.check_outs), (ins, outs));
}

#[rocket::async_test]
async fn every_reference_it_writes_points_at_a_row_though_its_batches_skip_the_checks() {
    let app = TestApp::new().await;
    seed_scale(&app.db, 1_200, 2_000, 3)
        .await
        .expect("seed-scale");
    let backend = app.db.get_database_backend();
    if backend == sea_orm::DbBackend::Sqlite {
        let broken = app
            .db
            .query_all_raw(Statement::from_string(backend, "PRAGMA foreign_key_check"))
            .await
            .expect("foreign key check");
        assert!(broken.is_empty(), "{} rows point nowhere", broken.len());
    }
    // The application's own connections still refuse a dangling reference.
    let dangling = app
        .db
        .execute_unprepared(
            "UPDATE rooms SET property_id = 99999999 WHERE id = (SELECT MIN(id) FROM rooms)",
        )
        .await;
    assert!(dangling.is_err(), "a room moved to no house");
}
