//! The command room: the snapshot counts what was done through the services, each role sees its
//! own scope, the stream pushes a new snapshot after a check-in with one computation for many
//! screens, a closed month's report comes out the same after later changes, and search.
mod common;

use std::time::{Duration, Instant};

use anju::services::dashboard::{Scope, compute};
use common::checklist::{checklist_v1, failing, passing};
use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::LocalResponse;
use rocket::tokio::io::AsyncReadExt;
use serde_json::{Value, json};

/// A landlord's application in 锦绣村 inspected with two hazards (both major, 7 days to fix).
async fn inspected_with_two_hazards(app: &TestApp) -> i32 {
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(app, &landlord, "锦绣村第一网格").await;
    let inspector = app.api(INSPECTOR_JX).await;
    let (_, tasks) = inspector.get("/tasks").await;
    let task = tasks[0]["id"].as_i64().expect("the initial task");
    let (_, photo) = inspector.upload(&png(50, 40)).await;
    let ans = failing(
        passing(&checklist_v1(), None),
        &["wiring.conduit", "clutter.no_combustibles"],
        photo["id"].as_str(),
    );
    let (s, r) = inspector
        .post(
            &format!("/tasks/{task}/inspection"),
            json!({"submission_id": uuid::Uuid::new_v4().to_string(), "checklist": "rental-safety",
                "version": 1, "answers": ans}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    assert_eq!(r["outcome"], "failed");
    a
}

async fn check_in(app: &TestApp, permit: &str, sig: &str, n: u32) -> i64 {
    let rooms = permit_rooms(app, permit).await;
    let anyone = app.api(LANDLORD).await;
    let (s, v) = anyone
        .post(
            &format!("/permits/{permit}/stays"),
            json!({"sig": sig, "name": format!("租客{n}"), "doc_type": "resident_id",
                "doc_number": resident_id(n), "phone": "13700000007", "room_id": rooms[0],
                "move_in": app.config.clock.today().format("%Y-%m-%d").to_string()}),
        )
        .await;
    assert_eq!(s, Status::Created, "check-in: {v}");
    v["stay_id"].as_i64().expect("stay id")
}

fn village<'a>(snap: &'a Value, name: &str) -> &'a Value {
    snap["villages"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == name))
        .expect("the village's row")
}

#[rocket::async_test]
async fn the_snapshot_counts_an_application_an_inspection_with_two_hazards_a_permit_and_a_check_in()
{
    let app = TestApp::new().await;
    let admin = app.api(ADMIN).await;
    let (s, empty) = admin.get("/dashboard").await;
    assert_eq!(s, Status::Ok, "{empty}");
    assert_eq!(empty["houses"], 0);
    assert_eq!(empty["villages"].as_array().map(|v| v.len()), Some(3));

    inspected_with_two_hazards(&app).await;
    let (_, s1) = admin.get("/dashboard").await;
    assert_eq!(s1["houses"], 1);
    assert_eq!(s1["applications"]["rectifying"], 1);
    assert_eq!(s1["grades"]["yellow"], 1);
    assert_eq!(s1["inspections"]["done_30d"], 1);
    assert_eq!(s1["hazards"]["open"], 2);
    assert_eq!(s1["hazards"]["found_30d"], 2);
    assert_eq!(s1["hazards"]["overdue"], 0, "the deadline is a week away");
    assert_eq!(s1["hazards"]["rectification_rate"], 0.0);
    assert_eq!(s1["day_changes"]["hazards_found"], 2);

    let (permit, sig) = active_permit(&app, 4).await;
    let stay = check_in(&app, &permit, &sig, 11).await;
    let (_, s2) = admin.get("/dashboard").await;
    assert_eq!(s2["houses"], 2);
    assert_eq!(s2["permits"]["active"], 1);
    assert_eq!(s2["residents"]["pending"], 1);
    assert_eq!(s2["residents"]["check_ins_7d"], 1);
    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(&format!("/stays/{stay}/confirm"), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let (_, s3) = admin.get("/dashboard").await;
    assert_eq!(s3["residents"]["now"], 1);
    assert_eq!(s3["residents"]["pending"], 0);
    assert_eq!(village(&s3, "锦绣村")["houses"], 2);
    assert_eq!(village(&s3, "锦绣村")["residents_now"], 1);
    assert_eq!(village(&s3, "倪宅村")["houses"], 0);

    // Ten days on, both hazards are overdue: the same count as the overdue findings list.
    let later = app.config.clock.now() + chrono::Duration::days(10);
    let snap = compute(&app.db, Scope { village_id: None }, later)
        .await
        .expect("snapshot");
    assert_eq!(snap.hazards.overdue, 2);
    let st = app.state().await;
    let admin_actor = anju::services::Actor {
        id: 1,
        role: anju::domain::role::Role::TownAdmin,
        name: "管理员".into(),
        village_id: None,
    };
    let (_, listed) = anju::services::inspections::findings::overdue_list(
        &app.db,
        &st.checklists,
        &admin_actor,
        None,
        0,
        50,
        later,
    )
    .await
    .expect("overdue list");
    assert_eq!(
        listed, 2,
        "the wall and the list count overdue the same way"
    );
}

#[rocket::async_test]
async fn an_official_sees_their_village_only_and_landlords_and_inspectors_nothing() {
    let app = TestApp::new().await;
    inspected_with_two_hazards(&app).await;
    let jx = app.api(OFFICIAL_JX).await;
    let (s, mine) = jx.get("/dashboard").await;
    assert_eq!(s, Status::Ok);
    assert_eq!(mine["houses"], 1);
    assert_eq!(mine["villages"].as_array().map(|v| v.len()), Some(1));
    let nz_id = village(&app.api(ADMIN).await.get("/dashboard").await.1, "倪宅村")["id"].clone();
    let (s, _) = jx.get(&format!("/dashboard?village_id={nz_id}")).await;
    assert_eq!(
        s,
        Status::Forbidden,
        "another village is refused, not narrowed"
    );
    let (s, _) = jx
        .get(&format!("/dashboard/trend?village_id={nz_id}"))
        .await;
    assert_eq!(s, Status::Forbidden);
    let (_, nz) = app.api(OFFICIAL_NZ).await.get("/dashboard").await;
    assert_eq!(nz["houses"], 0);
    assert_eq!(nz["hazards"]["open"], 0);
    let (s, one) = app
        .api(ADMIN)
        .await
        .get(&format!("/dashboard?village_id={nz_id}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert_eq!(one["houses"], 0);
    let (s, _) = app
        .api(ADMIN)
        .await
        .get("/dashboard?village_id=999999")
        .await;
    assert_eq!(s, Status::NotFound);
    for who in [LANDLORD, INSPECTOR_JX] {
        let (s, _) = app.api(who).await.get("/dashboard").await;
        assert_eq!(s, Status::Forbidden, "{who}");
        let (s, _) = app
            .api(who)
            .await
            .get(&format!("/search?q={}", urlencode("锦绣")))
            .await;
        assert_eq!(s, Status::Forbidden, "{who}");
    }
    let page = app.signed_in(OFFICIAL_JX).await;
    let (s, html) = page.get_text("/command").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("锦绣村 出租房屋态势"), "{html}");
    assert_eq!(
        app.signed_in(LANDLORD).await.get("/command").await.status(),
        Status::Forbidden
    );
}

/// Reads server-sent events until a `snapshot` for which `want` holds, or fails after `within`.
async fn snapshot_where(
    r: &mut LocalResponse<'_>,
    within: Duration,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    let mut text = String::new();
    let mut buf = [0u8; 16384];
    loop {
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if event
                .lines()
                .any(|l| l.strip_prefix("event:").map(str::trim) == Some("snapshot"))
            {
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|l| l.trim_start())
                    .collect();
                let v: Value = serde_json::from_str(&data).expect("snapshot JSON");
                if want(&v) {
                    return v;
                }
            }
        }
        let left = within
            .checked_sub(start.elapsed())
            .expect("no matching snapshot in time");
        let n = rocket::tokio::time::timeout(left, r.read(&mut buf))
            .await
            .expect("no matching snapshot in time")
            .expect("read the stream");
        assert!(n > 0, "the stream ended");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[rocket::async_test]
async fn the_stream_pushes_a_new_snapshot_within_three_seconds_of_a_check_in_computed_once_for_every_screen()
 {
    let app = TestApp::new().await;
    let (permit, sig) = active_permit(&app, 4).await;
    let admin = app.api(ADMIN).await;
    let auth = rocket::http::Header::new("Authorization", format!("Bearer {}", admin.token));
    let mut screens = Vec::new();
    for _ in 0..10 {
        let r = admin
            .client
            .get("/api/v1/dashboard/stream")
            .header(auth.clone())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(
            r.content_type(),
            Some(rocket::http::ContentType::EventStream)
        );
        screens.push(r);
    }
    for r in screens.iter_mut() {
        let first = snapshot_where(r, Duration::from_secs(5), |_| true).await;
        assert_eq!(first["residents"]["pending"], 0);
    }
    let st = admin
        .client
        .rocket()
        .state::<anju::AppRef>()
        .expect("state")
        .clone();
    let before = st.dashboard.computations();
    check_in(&app, &permit, &sig, 21).await;
    let changed = Instant::now();
    for r in screens.iter_mut() {
        let s = snapshot_where(r, Duration::from_secs(5), |v| {
            v["residents"]["pending"] == 1
        })
        .await;
        assert_eq!(s["residents"]["check_ins_7d"], 1);
    }
    assert!(
        changed.elapsed() < Duration::from_secs(3),
        "took {:?}",
        changed.elapsed()
    );
    let spent = st.dashboard.computations() - before;
    assert!(spent <= 2, "ten screens, one change: {spent} computations");
}

#[rocket::async_test]
async fn a_closed_months_report_is_the_same_when_regenerated_after_later_changes() {
    let mut app = TestApp::with(|c| c.clock = clock_at_cst(2026, 10, 20, 10, 0)).await;
    let (permit, sig) = active_permit(&app, 4).await;
    check_in(&app, &permit, &sig, 31).await;
    app.config.clock = clock_at_cst(2026, 11, 5, 10, 0);
    let october = report(&app, "2026-10").await;
    // November: another house with a permit and a check-in, and October's stay ends.
    let (p2, s2) = active_permit(&app, 2).await;
    check_in(&app, &p2, &s2, 32).await;
    let again = report(&app, "2026-10").await;
    assert_eq!(october, again, "the same file");
    let rows = read(&again);
    let jx = rows
        .iter()
        .find(|r| r[0] == "锦绣村")
        .expect("锦绣村's row");
    // Columns: village, houses, new permits, inspections, found, fixed, overdue, residents, ins, outs.
    assert_eq!(&jx[2..4], ["1", "0"], "new permits, inspections: {jx:?}");
    assert_eq!(jx[8], "1", "check-ins: {jx:?}");
    let total = rows.iter().find(|r| r[0] == "合计").expect("the total");
    assert_eq!(total[2], "1");
    assert_eq!(total[8], "1");
    let november = read(&report(&app, "2026-11").await);
    let jx = november
        .iter()
        .find(|r| r[0] == "锦绣村")
        .expect("锦绣村's row");
    // Houses are stamped with the system time when registered (properties::create), so both
    // count by the end of the real current month; the permit and check-in follow the test clock.
    assert_eq!(&jx[2..3], ["1"], "{jx:?}");
    assert_eq!(jx[8], "1", "{jx:?}");
    let b = app.signed_in(ADMIN).await;
    assert_eq!(
        b.get("/command/report?month=2026-13").await.status(),
        Status::UnprocessableEntity
    );
}

async fn report(app: &TestApp, month: &str) -> Vec<u8> {
    let b = app.signed_in(ADMIN).await;
    let r = b.get(&format!("/command/report?month={month}")).await;
    assert_eq!(r.status(), Status::Ok);
    r.into_bytes().await.expect("the workbook")
}

fn read(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = wb.worksheet_range("月报").expect("the sheet");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[rocket::async_test]
async fn search_finds_houses_by_address_permits_by_number_and_residents_by_whole_document_number() {
    let app = TestApp::new().await;
    let (permit, sig) = active_permit(&app, 4).await;
    check_in(&app, &permit, &sig, 41).await;
    let admin = app.api(ADMIN).await;
    let (s, r) = admin.get(&format!("/search?q={}", urlencode("东区"))).await;
    assert_eq!(s, Status::Ok, "{r}");
    assert_eq!(r["houses"].as_array().map(|h| h.len()), Some(1));
    let (_, r) = admin.get(&format!("/search?q={permit}")).await;
    assert_eq!(r["permits"][0]["number"], permit.as_str());
    let (_, r) = admin.get(&format!("/search?q={}", resident_id(41))).await;
    assert_eq!(r["residents"][0]["name"], "租客41");
    assert!(
        !r["residents"][0]["doc_masked"]
            .as_str()
            .unwrap_or("")
            .contains(&resident_id(41))
    );
    let partial: String = resident_id(41).chars().take(10).collect();
    let (_, r) = admin.get(&format!("/search?q={partial}")).await;
    assert_eq!(
        r["residents"].as_array().map(|x| x.len()),
        Some(0),
        "only whole numbers match"
    );
    let (_, r) = admin
        .get(&format!("/search?q={}", urlencode("租客41")))
        .await;
    assert_eq!(r["residents"].as_array().map(|x| x.len()), Some(1));
    let (s, _) = admin.get("/search?q=x").await;
    assert_eq!(s, Status::UnprocessableEntity);
    // 倪宅村's official finds nothing of 锦绣村.
    let (_, r) = app
        .api(OFFICIAL_NZ)
        .await
        .get(&format!("/search?q={}", resident_id(41)))
        .await;
    assert_eq!(r["residents"].as_array().map(|x| x.len()), Some(0));
    let page = app.signed_in(OFFICIAL_JX).await;
    let (s, html) = page
        .get_text(&format!("/command/search?q={}", urlencode("东区")))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("锦绣村东区 8 号"));
}
