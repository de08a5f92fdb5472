//! Issue 8, resources: oversized images, files at rest, an export whose database fails
//! mid-stream, and settings that used to be stored or applied wrongly.
mod common;
#[path = "support/server.rs"]
mod server;

use common::*;
use rocket::http::Status;
use serde_json::json;

/// An all-black PNG: a few hundred kilobytes on the wire, `w`×`h` pixels once decoded.
fn black_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(image::GrayImage::new(w, h))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[rocket::async_test]
async fn a_64_megapixel_png_is_refused_with_a_message_and_a_normal_photo_still_works() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    let before = app.count("uploads").await;
    let bomb = black_png(8000, 8000);
    assert!(
        bomb.len() < 1024 * 1024,
        "small on the wire: {}",
        bomb.len()
    );
    let (s, v) = api.upload(&bomb).await;
    assert!((400..500).contains(&s.code), "{s} {v}");
    assert!(
        v["fields"]["file"][0]
            .as_str()
            .unwrap_or("")
            .contains("像素过多"),
        "{v}"
    );
    assert_eq!(app.count("uploads").await, before);
    let (s, v) = api.upload(&png(640, 480)).await;
    assert_eq!(s, Status::Created, "{v}");
    assert_eq!(
        (v["width"].clone(), v["height"].clone()),
        (json!(640), json!(480))
    );
}

#[rocket::async_test]
async fn a_csv_export_whose_database_fails_mid_stream_aborts_instead_of_ending_short() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 2).await;
    let room = permit_rooms(&app, &number).await[0];
    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(
            &format!("/permits/{number}/stays"),
            json!({"sig": sig, "name": "赵六", "doc_type": "resident_id", "doc_number": resident_id(3),
                "phone": "13600000000", "room_id": room, "move_in": app.config.clock.today()}),
        )
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let (s, _) = landlord
        .post(&format!("/stays/{}/confirm", v["stay_id"]), json!({}))
        .await;
    assert_eq!(s, Status::Ok);
    let admin = app.signed_in(ADMIN).await;
    // A whole export first, so the failure below is the database's and not the route's.
    let r = admin.get("/residents/export.csv").await;
    assert_eq!(r.status(), Status::Ok);
    assert!(r.into_string().await.unwrap().contains("赵六"));

    let r = admin.get("/residents/export.csv").await;
    assert_eq!(
        r.status(),
        Status::Ok,
        "headers are sent before the rows are read"
    );
    // The body is produced as it is read: take the table away before the first chunk of rows.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("ALTER TABLE stays RENAME TO stays_gone")
        .await
        .unwrap();
    let body = r.into_bytes().await;
    app.db
        .execute_unprepared("ALTER TABLE stays_gone RENAME TO stays")
        .await
        .unwrap();
    assert!(
        body.is_none(),
        "the download must fail, not end as a short file: {:?}",
        body.map(|b| String::from_utf8_lossy(&b).into_owned())
    );
}

#[test]
fn every_file_and_folder_the_server_creates_in_its_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let url = format!("sqlite://{}?mode=rwc", data.join("anju.db").display());
    let server = server::Server::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_anju")),
        &data,
        Some(&url),
        &[],
    );
    let token = server.token(LANDLORD, DEMO_PASSWORD);
    let (s, body) = server.upload(&token, &png(64, 48)).unwrap();
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&body));

    let mut seen = Vec::new();
    let mut stack = vec![data.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", p.display());
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
        }
        seen.push(p.strip_prefix(&data).unwrap().display().to_string());
    }
    for want in ["anju.db", "anju.db-wal", "secret_key", "uploads", "keys"] {
        assert!(seen.iter().any(|s| s == want), "{want} not among {seen:?}");
    }
    assert!(
        seen.iter().any(|s| s.ends_with(".jpg")),
        "a stored photo among {seen:?}"
    );
}

#[rocket::async_test]
async fn a_lower_case_town_code_in_the_environment_is_stored_upper_case() {
    use sea_orm::EntityTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anju"))
        .arg("migrate")
        .env("ANJU_DATA_DIR", dir.path())
        .env("ANJU_DATABASE_URL", &url)
        .env("ANJU_TOWN_CODE", "hj")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let town = anju::entities::town::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(town.code, "HJ");
}

#[rocket::async_test]
async fn retention_months_beyond_the_calendar_stop_the_start_and_never_wipe() {
    let app = TestApp::new().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anju"))
        .arg("migrate")
        .env("ANJU_DATA_DIR", &app.config.data_dir)
        .env("ANJU_DATABASE_URL", &app.config.database_url)
        .env("ANJU_RETENTION_MONTHS", "4000000000")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ANJU_RETENTION_MONTHS"));

    // An ended stay; a wipe with an overflowing window must refuse, not treat "now" as the cutoff.
    let (number, sig) = active_permit(&app, 2).await;
    let room = permit_rooms(&app, &number).await[0];
    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(
            &format!("/permits/{number}/stays"),
            json!({"sig": sig, "name": "赵六", "doc_type": "resident_id", "doc_number": resident_id(4),
                "phone": "13600000000", "room_id": room, "move_in": app.config.clock.today()}),
        )
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let id = v["stay_id"].as_i64().unwrap();
    let (s, _) = landlord
        .post(&format!("/stays/{id}/reject"), json!({}))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(
        anju::services::stays::retention_wipe(&app.db, u32::MAX, app.config.clock.now())
            .await
            .is_err()
    );
    assert_eq!(
        anju::services::stays::retention_wipe(&app.db, 1, app.config.clock.now())
            .await
            .unwrap(),
        0
    );
    let kept: i64 = {
        use sea_orm::{ConnectionTrait, Statement};
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM stays WHERE id = {id} AND name IS NOT NULL"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    };
    assert_eq!(kept, 1, "the ended stay keeps its name");
}
