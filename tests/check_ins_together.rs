//! Check-ins arriving at once on one permit (decided together in one transaction on either
//! database): each is answered as if it had come alone — its own stay, code and audit entry, one
//! open stay per person, a wrong room refused for that check-in only.
mod common;

use std::sync::Arc;

use anju::crypto::pii::PiiCipher;
use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::OccupancyRule;
use anju::domain::stay::{CheckIn, Lang};
use anju::error::AppError;
use anju::services::{audit, stays};
use common::*;

async fn permit_id(app: &TestApp, number: &str) -> i32 {
    permit_by_number(app, number).await.id
}

fn input(n: u32, room_id: i32) -> CheckIn {
    CheckIn {
        name: format!("同时{n}"),
        doc: DocNumber::parse(DocType::ResidentId, &resident_id(n), today_cst()).expect("id"),
        phone: Phone::parse("13812345678").expect("phone"),
        room_id,
        move_in: today_cst(),
        move_out_expected: None,
        employer: None,
    }
}

/// Any number of people per room: the caps are not what these tests are about.
fn roomy() -> OccupancyRule {
    OccupancyRule {
        per_person_area_m2: 0.0,
        persons_per_room: u32::MAX,
        ..OccupancyRule::default()
    }
}

/// Runs the check-ins all at once and returns their answers in the order given.
async fn at_once(
    app: &TestApp,
    permit: i32,
    inputs: Vec<CheckIn>,
) -> Vec<Result<stays::CheckedIn, AppError>> {
    let cipher: Arc<PiiCipher> = Arc::new(app.keys().await.pii);
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let (db, cipher) = (app.db.clone(), cipher.clone());
            rocket::tokio::spawn(async move {
                stays::check_in(&db, &cipher, &roomy(), permit, input, Lang::Zh).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[rocket::async_test]
async fn twelve_at_once_each_get_their_own_stay_code_and_audit_entry() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 12).await;
    let id = permit_id(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let answers = at_once(&app, id, (0..12).map(|n| input(n, room)).collect()).await;
    let admitted: Vec<stays::CheckedIn> =
        answers.into_iter().map(|a| a.expect("admitted")).collect();
    let mut ids: Vec<i32> = admitted.iter().map(|c| c.stay_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12, "twelve different stays");
    let mut codes: Vec<&str> = admitted.iter().map(|c| c.checkout_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 12, "twelve different codes");
    assert_eq!(app.count("stays").await, 12);
    assert_eq!(open_stay_counters_hold(&app).await, 12);
    assert_eq!(
        audit::verify_chain(&app.db).await.expect("chain read"),
        None,
        "the audit chain is whole"
    );
    let logged = app.count("audit_log WHERE action = 'stay.check_in'").await;
    assert_eq!(logged, 12, "one audit entry per check-in");
    // Each code checks its own tenant out.
    let cipher = app.keys().await.pii;
    for c in &admitted {
        let out =
            stays::check_out_with_code(&app.db, &cipher, c.stay_id, &c.checkout_code, Lang::Zh)
                .await;
        assert!(
            out.is_ok(),
            "stay {} checks out with its code: {out:?}",
            c.stay_id
        );
    }
}

#[rocket::async_test]
async fn one_person_checking_in_eight_times_at_once_on_one_permit_is_admitted_once() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 12).await;
    let id = permit_id(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let answers = at_once(&app, id, (0..8).map(|_| input(5, room)).collect()).await;
    let admitted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(admitted, 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.is_err()) {
        match a {
            Err(AppError::Conflict(m)) => assert!(m.contains("未结束的居住登记"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(app.count("stays").await, 1);
    assert_eq!(open_stay_counters_hold(&app).await, 1);
}

#[rocket::async_test]
async fn a_room_of_another_house_is_refused_for_that_check_in_only() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 12).await;
    let (other, _) = active_permit(&app, 12).await;
    let id = permit_id(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let elsewhere = permit_rooms(&app, &other).await[0];
    let inputs = (0..6)
        .map(|n| input(n + 20, if n == 3 { elsewhere } else { room }))
        .collect();
    let answers = at_once(&app, id, inputs).await;
    for (n, a) in answers.iter().enumerate() {
        if n == 3 {
            assert!(
                matches!(a, Err(AppError::Validation(fe)) if fe.0.contains_key("room_id")),
                "the other house's room is refused beside the field: {a:?}"
            );
        } else {
            assert!(a.is_ok(), "check-in {n}: {a:?}");
        }
    }
    assert_eq!(app.count("stays").await, 5);
    assert_eq!(open_stay_counters_hold(&app).await, 5);
}

/// Checks `n` in at another house first, so that they hold an open stay when they try again.
async fn living_elsewhere(app: &TestApp, n: u32) {
    let (elsewhere, _) = active_permit(app, 12).await;
    let id = permit_id(app, &elsewhere).await;
    let room = permit_rooms(app, &elsewhere).await[0];
    let cipher = app.keys().await.pii;
    stays::check_in(&app.db, &cipher, &roomy(), id, input(n, room), Lang::Zh)
        .await
        .expect("checked in at the other house");
}

#[rocket::async_test]
async fn a_person_living_elsewhere_is_refused_among_others_checking_in_at_once() {
    let app = TestApp::new().await;
    living_elsewhere(&app, 40).await;
    let (number, _) = active_permit(&app, 12).await;
    let id = permit_id(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let answers = at_once(&app, id, [41, 40, 42, 43].map(|n| input(n, room)).into()).await;
    match &answers[1] {
        Err(AppError::Conflict(m)) => assert!(m.contains("未结束的居住登记"), "{m}"),
        other => panic!("the person living elsewhere is refused: {other:?}"),
    }
    for n in [0, 2, 3] {
        assert!(answers[n].is_ok(), "newcomer {n}: {:?}", answers[n]);
    }
    assert_eq!(app.count("stays").await, 4);
    assert_eq!(open_stay_counters_hold(&app).await, 4);
}

/// Three places left and four people at once, one of whom lives elsewhere: whatever order they
/// arrive in, that person takes no place, and the three newcomers fill the permit.
#[rocket::async_test]
async fn a_person_living_elsewhere_takes_no_place_on_a_nearly_full_permit() {
    let app = TestApp::new().await;
    living_elsewhere(&app, 50).await;
    let (number, _) = active_permit(&app, 3).await;
    let id = permit_id(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let answers = at_once(&app, id, [50, 51, 52, 53].map(|n| input(n, room)).into()).await;
    assert!(answers[0].is_err(), "{:?}", answers[0]);
    for (n, a) in answers.iter().enumerate().skip(1) {
        assert!(a.is_ok(), "newcomer {n}: {a:?}");
    }
    assert_eq!(app.count("stays").await, 4);
    assert_eq!(open_stay_counters_hold(&app).await, 4);
}

/// This process guesses the audit chain's tail from what it appended last; after it appended to
/// another database the guess is wrong, and check-ins decided together read the true tail.
#[rocket::async_test]
async fn check_ins_chain_on_the_true_tail_after_another_database_was_written() {
    let app = TestApp::new().await;
    let other = TestApp::new().await;
    let (number, _) = active_permit(&app, 12).await;
    let id = permit_id(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    assert!(at_once(&app, id, vec![input(60, room)]).await[0].is_ok());
    let tx = anju::db::begin_write(&other.db).await.unwrap();
    audit::record(
        &tx,
        None,
        "test.elsewhere",
        "test",
        1,
        serde_json::json!({}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let answers = at_once(&app, id, (61..65).map(|n| input(n, room)).collect()).await;
    for a in &answers {
        assert!(a.is_ok(), "{a:?}");
    }
    let logged = app.count("audit_log WHERE action = 'stay.check_in'").await;
    assert_eq!(logged, 5, "one audit entry per check-in");
    assert_eq!(
        audit::verify_chain(&app.db).await.expect("chain read"),
        None,
        "the audit chain is whole"
    );
}
