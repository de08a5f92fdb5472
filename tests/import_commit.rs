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
