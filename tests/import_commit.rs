//! Importing existing registers: committing a checked import through the background job.
mod common;
#[path = "support/imports.rs"]
mod imports_support;

use common::*;
use imports_support::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[rocket::async_test]
async fn a_committed_import_is_written_by_the_job_audited_and_a_second_import_changes_nothing() {
    let app = TestApp::new().await;
    let mut rows: Vec<Vec<String>> = (1..=12).map(house).collect();
    rows[5][3] = "0".into();
    let file = houses_xlsx(&rows);
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &file).await;
    let id = v["id"].as_i64().unwrap();
    let houses = app.count("properties").await;
    let (s, c) = commit(&official, id).await;
    assert_eq!(s, Status::Accepted);
    assert_eq!(c, serde_json::json!({"id": id, "status": "running"}));
    assert_eq!(progress(&official, id).await["status"], "running");
    assert_eq!(
        app.count("properties").await,
        houses,
        "the request itself writes no house"
    );
    // Committing twice is refused.
    assert_eq!(commit(&official, id).await.0, Status::Conflict);

    anju::jobs::run_all(&*app.state().await, "t").await;
    let p = progress(&official, id).await;
    assert_eq!(p["status"], "done", "{p}");
    assert_eq!(
        (p["done"].as_i64(), p["total"].as_i64()),
        (Some(11), Some(11))
    );
    assert_eq!(app.count("properties").await, houses + 11);
    let a = audits(&app, "import.commit").await;
    assert_eq!(a.len(), 1);
    assert!(
        a[0].detail.contains(&sha256_hex(&file)) && a[0].detail.contains("\"create\":11"),
        "{}",
        a[0].detail
    );
    assert_eq!(audits(&app, "import.property_create").await.len(), 11);

    // The landlords got accounts nobody can sign in to until they claim them.
    let landlord = anju::entities::user::Entity::find()
        .filter(anju::entities::user::Column::Phone.eq("13700000001"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an imported landlord");
    assert_eq!(
        (landlord.role.as_str(), landlord.name.as_str()),
        ("landlord", "房东1")
    );
    let b = app.browser().await;
    let r = b
        .post_form(
            "/login",
            &[("phone", "13700000001"), ("password", "!unclaimed")],
        )
        .await;
    assert_ne!(
        r.status(),
        Status::SeeOther,
        "no password signs in an unclaimed account"
    );

    // The same file again: every row unchanged, nothing to write.
    let (_, again) = dry_run(&official, &file).await;
    assert_eq!(again["rows"]["unchanged"], 11, "{again}");
    assert_eq!(again["rows"]["create"], 0);
    let id2 = again["id"].as_i64().unwrap();
    assert_eq!(commit(&official, id2).await.0, Status::Accepted);
    anju::jobs::run_all(&*app.state().await, "t").await;
    assert_eq!(progress(&official, id2).await["status"], "done");
    assert_eq!(app.count("properties").await, houses + 11);
    assert_eq!(audits(&app, "import.property_create").await.len(), 11);

    // A changed row is an update of the same house.
    rows[0][3] = "5".into();
    let (_, changed) = dry_run(&official, &houses_xlsx(&rows[..1])).await;
    assert_eq!(changed["rows"]["update"], 1, "{changed}");
    commit(&official, changed["id"].as_i64().unwrap()).await;
    anju::jobs::run_all(&*app.state().await, "t").await;
    let h = anju::entities::property::Entity::find()
        .filter(anju::entities::property::Column::Address.eq("导入路1号"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].floors, 5);
}

#[rocket::async_test]
async fn an_import_killed_between_batches_resumes_after_the_last_committed_batch() {
    let app = TestApp::new().await;
    let rows: Vec<Vec<String>> = (1..=7).map(house).collect();
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &houses_xlsx(&rows)).await;
    let id = v["id"].as_i64().unwrap();
    commit(&official, id).await;
    let houses = app.count("properties").await;
    let now = chrono::Utc::now();
    // One batch of three is committed, then the process dies.
    let st = app.state().await;
    let rule = anju::domain::occupancy::OccupancyRule::default();
    let n = anju::services::imports::commit::run_batch(&app.db, &st.pii, &rule, id as i32, 3, now)
        .await
        .unwrap();
    assert_eq!(n, Some(3));
    let p = progress(&official, id).await;
    assert_eq!(
        (p["status"].as_str(), p["done"].as_i64()),
        (Some("running"), Some(3))
    );
    assert_eq!(app.count("properties").await, houses + 3);
    // The next instance's scheduler picks it up and writes only the rest.
    anju::jobs::run_all(&*app.state().await, "another").await;
    let p = progress(&official, id).await;
    assert_eq!(
        (p["status"].as_str(), p["done"].as_i64()),
        (Some("done"), Some(7))
    );
    assert_eq!(
        app.count("properties").await,
        houses + 7,
        "no house written twice"
    );
    assert_eq!(audits(&app, "import.property_create").await.len(), 7);
}

#[rocket::async_test]
async fn the_result_page_offers_the_commit_and_shows_the_progress_bar_while_running() {
    let app = TestApp::new().await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &houses_xlsx(&[house(1), house(2)])).await;
    let id = v["id"].as_i64().unwrap();
    let html = result_page(&official, id).await;
    assert!(
        html.contains(&format!("action=\"/imports/{id}/commit?_csrf=")),
        "{html}"
    );
    assert!(
        !html.contains("<progress"),
        "no progress bar before the commit"
    );
    commit(&official, id).await;
    let html = result_page(&official, id).await;
    assert!(!html.contains("/commit?_csrf="), "no second commit");
    assert!(
        html.contains("<progress id=\"import-progress\" value=\"0\" max=\"2\""),
        "{html}"
    );
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "the page refreshes itself while running"
    );
    anju::jobs::run_all(&*app.state().await, "t").await;
    let html = result_page(&official, id).await;
    assert!(html.contains("导入完成") && html.contains("value=\"2\" max=\"2\""));
    assert!(!html.contains("http-equiv=\"refresh\""));
}

#[rocket::async_test]
async fn residents_imported_while_a_permit_is_suspended_join_it_behind_its_tenants_when_reinstated()
{
    let app = TestApp::new().await;
    // Rooms 101 and 102 of 14 m² (two people each), at most 3 on the permit.
    let (number, _) = active_permit(&app, 3).await;
    let rooms = permit_rooms(&app, &number).await;
    let h = "锦绣村东区 8 号";
    let house = permit_by_number(&app, &number).await.property_id;
    let landlord = app.api(LANDLORD).await;
    for (n, room) in [(61, rooms[0]), (62, rooms[1])] {
        let (s, v) = landlord
            .post(
                &format!("/properties/{house}/stays"),
                serde_json::json!({"name": format!("租客{n}"), "doc_type": "resident_id",
                    "doc_number": resident_id(n), "phone": "13700000007", "room_id": room,
                    "move_in": app.config.clock.today().format("%Y-%m-%d").to_string()}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
    }
    let api = app.api(OFFICIAL_JX).await;
    let (s, v) = api
        .post(
            &format!("/permits/{number}/suspend"),
            serde_json::json!({"reason": "消防通道堵塞"}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    // While suspended the village imports two people who live there: they wait for the permit.
    let official = app.signed_in(OFFICIAL_JX).await;
    let people = vec![resident(h, "101", 63), resident(h, "102", 64)];
    let (_, v) = dry_run(&official, &register_xlsx(&[], &[], &people)).await;
    assert_eq!(v["rows"]["create"], 2, "{v}");
    commit_and_run(&app, &official, &v).await;
    let waiting: Vec<i32> = stays_of(&app, h)
        .await
        .into_iter()
        .filter(|s| s.permit_id.is_none())
        .map(|s| s.id)
        .collect();
    assert_eq!(waiting.len(), 2);
    assert_eq!(
        open_stay_counters_hold(&app).await,
        2,
        "residents waiting for a permit count in their rooms, not on the permit"
    );

    let (s, v) = api
        .post(
            &format!("/permits/{number}/reinstate"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let mut after = stays_of(&app, h).await;
    after.sort_by_key(|s| s.id);
    let status: Vec<(&str, bool)> = after
        .iter()
        .map(|s| (s.status.as_str(), s.permit_id.is_some()))
        .collect();
    assert_eq!(
        status,
        vec![
            ("active", true),
            ("active", true),
            ("active", true),
            ("rejected", false),
        ],
        "the first waiting resident takes the permit's third place, the second finds it full"
    );
    assert_eq!(after[3].id, waiting[1]);
    assert_eq!(
        after[3].open_doc_hash, None,
        "the refused person is free again"
    );
    assert_eq!(open_stay_counters_hold(&app).await, 3);
    let joined = audits(&app, "stay.join_permit").await;
    assert_eq!(joined.len(), 1);
}
