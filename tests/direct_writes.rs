//! Check-ins on SQLite run on the writer's own connection (db::direct): what they write reads back
//! through the pool exactly as the pool writes it, the audit chain runs on across both kinds of
//! connection, another process holding the file makes a check-in wait rather than fail, and the
//! unique index still decides when one person races into two houses.
mod common;

use std::sync::Arc;
use std::time::Duration;

use anju::crypto::pii::PiiCipher;
use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::OccupancyRule;
use anju::domain::stay::{CheckIn, Lang};
use anju::entities::{event, stay};
use anju::error::AppError;
use anju::services::stays::CheckedIn;
use anju::services::{audit, stays};
use common::*;
use sea_orm::{
    ColumnTrait, Database, EntityTrait, QueryFilter, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

fn tenant(n: u32, room_id: i32) -> CheckIn {
    CheckIn {
        name: format!("租客{n}"),
        doc: DocNumber::parse(DocType::ResidentId, &resident_id(n), today_cst()).unwrap(),
        phone: Phone::parse("13812345678").unwrap(),
        room_id,
        move_in: today_cst(),
        move_out_expected: today_cst().checked_add_days(chrono::Days::new(180)),
        employer: Some("镇东电子厂".into()),
    }
}

/// The tenant checks out with the code (a write on the pool's connection).
async fn check_out(app: &TestApp, cipher: &PiiCipher, stay: &CheckedIn) {
    stays::check_out_with_code(&app.db, cipher, stay.stay_id, &stay.checkout_code, Lang::Zh)
        .await
        .expect("checked out");
}

#[rocket::async_test]
async fn a_check_in_reads_back_through_the_pool_as_written_and_the_audit_chain_runs_on() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let p = permit_by_number(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let cipher = app.keys().await.pii;
    let rule = OccupancyRule::default();
    let before = chrono::Utc::now();
    let first = stays::check_in(&app.db, &cipher, &rule, p.id, tenant(1, room), Lang::Zh)
        .await
        .unwrap();

    let s = stay::Entity::find_by_id(first.stay_id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the stay is visible to the pool once committed");
    assert_eq!(s.status, "pending");
    assert_eq!(s.permit_id, Some(p.id));
    assert_eq!(s.room_id, room);
    assert_eq!(s.name.as_deref(), Some("租客1"));
    assert_eq!(s.move_in, today_cst());
    assert_eq!(s.move_out_expected, tenant(1, room).move_out_expected);
    assert_eq!(s.employer.as_deref(), Some("镇东电子厂"));
    assert!(s.doc_masked.as_deref().is_some_and(|m| m.contains('*')));
    let since = s.created_at - before;
    assert!(
        since >= chrono::Duration::zero() && since < chrono::Duration::minutes(1),
        "the instant round-trips: {} after {before}",
        s.created_at
    );
    let pending = event::Entity::find()
        .filter(event::Column::Kind.eq("stay.pending"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "one event for the tenant's check-in");
    assert!(
        pending[0]
            .payload
            .contains(&format!("\"stay_id\":{}", first.stay_id))
    );

    // A pooled write (the tenant checks out) between two direct ones: one unbroken chain.
    check_out(&app, &cipher, &first).await;
    stays::check_in(&app.db, &cipher, &rule, p.id, tenant(2, room), Lang::Zh)
        .await
        .unwrap();
    assert_eq!(audit::verify_chain(&app.db).await.unwrap(), None);
    assert_eq!(app.count("stays").await, 2);
}

#[rocket::async_test]
async fn a_check_in_waits_while_another_process_holds_the_file_then_goes_through() {
    let app = TestApp::new().await;
    if !app.config.is_sqlite() {
        // PostgreSQL has no file lock; writers there queue on the permit's row (tests/stays.rs).
        return;
    }
    let (number, _) = active_permit(&app, 4).await;
    let p = permit_by_number(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let cipher = app.keys().await.pii;
    // Another pool on the same file, writing outside this process's writer turn as another
    // process would.
    let other = Database::connect(app.config.database_url.as_str())
        .await
        .unwrap();
    let held = other
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await
        .unwrap();
    let (db, id) = (app.db.clone(), p.id);
    let waiting = rocket::tokio::spawn(async move {
        stays::check_in(
            &db,
            &cipher,
            &OccupancyRule::default(),
            id,
            tenant(3, room),
            Lang::Zh,
        )
        .await
    });
    rocket::tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "the check-in waits for the file");
    held.commit().await.unwrap();
    let done = waiting.await.unwrap().expect("then it goes through");
    assert_eq!(done.status, "pending");
    assert_eq!(app.count("stays").await, 1);
    assert_eq!(audit::verify_chain(&app.db).await.unwrap(), None);
}

#[rocket::async_test]
async fn one_person_racing_into_two_houses_is_admitted_once() {
    let app = TestApp::new().await;
    let mut places = Vec::new();
    for _ in 0..2 {
        let (number, _) = active_permit(&app, 4).await;
        let p = permit_by_number(&app, &number).await;
        places.push((p.id, permit_rooms(&app, &number).await[0]));
    }
    let cipher = Arc::new(app.keys().await.pii);
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (db, cipher, (permit, room)) = (app.db.clone(), cipher.clone(), places[n % 2]);
        tasks.push(rocket::tokio::spawn(async move {
            stays::check_in(
                &db,
                &cipher,
                &OccupancyRule::default(),
                permit,
                tenant(9, room),
                Lang::Zh,
            )
            .await
        }));
    }
    let (mut admitted, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(AppError::Conflict(m)) => {
                assert!(m.contains("请先在原住处办理退租"), "{m}");
                refused += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((admitted, refused), (1, 7));
    let open = stay::Entity::find()
        .filter(stay::Column::OpenDocHash.is_not_null())
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
}

#[rocket::async_test]
async fn check_ins_that_arrive_together_all_commit_and_the_chain_holds() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 40).await;
    let p = permit_by_number(&app, &number).await;
    let rooms = permit_rooms(&app, &number).await;
    let cipher = Arc::new(app.keys().await.pii);
    // No area or per-room limit: every one of them is admitted, most of them into a batch that
    // another writer opened.
    let rule = Arc::new(OccupancyRule {
        per_person_area_m2: 0.0,
        persons_per_room: u32::MAX,
        ..OccupancyRule::default()
    });
    let mut tasks = Vec::new();
    for n in 100..124u32 {
        let (db, cipher, rule, room) = (
            app.db.clone(),
            cipher.clone(),
            rule.clone(),
            rooms[n as usize % 2],
        );
        tasks.push(rocket::tokio::spawn(async move {
            let now = chrono::Utc::now();
            let flood = u64::MAX; // more than an hour's threshold at once, on purpose
            stays::check_in_with_flood_limit(
                &db,
                &cipher,
                &rule,
                flood,
                p.id,
                tenant(n, room),
                Lang::Zh,
                now,
            )
            .await
        }));
    }
    let mut admitted = Vec::new();
    for t in tasks {
        admitted.push(t.await.unwrap().expect("admitted"));
    }
    let mut ids: Vec<i32> = admitted.iter().map(|a| a.stay_id).collect();
    // Each caller was answered after its stay was committed: all of them are there, once.
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 24);
    let stored = stay::Entity::find()
        .filter(stay::Column::Id.is_in(ids.clone()))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 24);
    // A pooled writer after them finds the file free, and chains on.
    let first = &admitted[0];
    check_out(&app, &cipher, first).await;
    assert_eq!(audit::verify_chain(&app.db).await.unwrap(), None);
}
