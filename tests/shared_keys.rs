//! Several instances on one PostgreSQL share one key ring sealed under the master key: what one
//! signs the other verifies, a rotation on one reaches the other within seconds, personal data
//! written through one reads through the other. SQLite keeps its key files.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use rocket::http::Status;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

fn on_postgres(app: &TestApp) -> bool {
    !app.config.is_sqlite()
}

/// Approves a fresh passed application through `instance`; returns the permit number and its QR token.
async fn approved_through(app: &TestApp, instance: &TestApp) -> (String, String) {
    approved_by(app, &instance.api(OFFICIAL_JX).await).await
}

/// Approves a fresh passed application with the official's client of an already running instance.
async fn approved_by(app: &TestApp, official: &Api) -> (String, String) {
    let id = passed_application(app).await;
    let (s, v) = official
        .post(&format!("/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{v}");
    let url = v["qr_url"].as_str().expect("qr_url");
    let sig = url.split_once("?sig=").expect("a signed QR url").1;
    (
        v["permit_number"].as_str().expect("number").to_string(),
        sig.to_string(),
    )
}

async fn authentic_through(instance: &TestApp, number: &str, sig: &str) -> bool {
    let (s, body) = instance
        .browser()
        .await
        .get_text(&format!("/api/v1/verify/{number}?sig={sig}"))
        .await;
    assert_eq!(s, Status::Ok, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["authentic"] == true
}

async fn key_ring_rows(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    app.db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT kind, sealed FROM key_ring ORDER BY kind, idx",
        ))
        .await
        .expect("key_ring query")
        .into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "kind").expect("kind"),
                r.try_get::<Vec<u8>>("", "sealed").expect("sealed"),
            )
        })
        .collect()
}

#[rocket::async_test]
async fn a_permit_approved_through_one_instance_verifies_through_another() {
    let a = TestApp::new().await;
    let b = a.other_instance().await;
    let (number, sig) = approved_through(&a, &a).await;
    assert!(authentic_through(&a, &number, &sig).await);
    if on_postgres(&a) {
        assert!(authentic_through(&b, &number, &sig).await);
    } else {
        // SQLite: one instance, its keys in its data directory as before; none in the database.
        assert!(
            a.config
                .keys_dir()
                .join("permit-signing/key-1.ed25519")
                .exists()
        );
        assert!(a.config.keys_dir().join("pii.key").exists());
        assert!(key_ring_rows(&a).await.is_empty());
    }
}

#[rocket::async_test]
async fn a_key_rotated_on_one_instance_signs_on_the_other_within_seconds() {
    let a = TestApp::new().await;
    if !on_postgres(&a) {
        return; // Two SQLite instances do not share a database; rotation there is in signing_cli.
    }
    let b = a.other_instance().await;
    // B's instance is running (its ring loaded) before the rotation.
    let b_official = b.api(OFFICIAL_JX).await;
    let (old_number, old_sig) = approved_by(&a, &b_official).await;
    let b_anon = b.browser().await;
    let admin = a.signed_in(ADMIN).await;
    let r = admin
        .post_form("/admin/keys/rotate", &[("confirm", "yes")])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, keys) = a
        .browser()
        .await
        .get_text("/api/v1/keys/permit-signing")
        .await;
    let keys: Value = serde_json::from_str(&keys).expect("json");
    let new_id = keys["keys"][0]["key_id"]
        .as_str()
        .expect("key id")
        .to_string();
    assert_eq!(keys["keys"][0]["current"], true);
    assert!(!old_sig.starts_with(&format!("{new_id}.")));

    // B's running instance, left alone, shows the new key as current within 3 seconds.
    let started = Instant::now();
    loop {
        let (_, body) = b_anon.get_text("/api/v1/keys/permit-signing").await;
        let v: Value = serde_json::from_str(&body).expect("json");
        if v["keys"][0]["key_id"] == new_id.as_str() && v["keys"][0]["current"] == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "B still signs with the old key: {body}"
        );
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (number, sig) = approved_by(&a, &b_official).await;
    assert!(
        sig.starts_with(&format!("{new_id}.")),
        "B signs with {new_id}: {sig}"
    );
    for instance in [&a, &b] {
        assert!(authentic_through(instance, &number, &sig).await);
        assert!(authentic_through(instance, &old_number, &old_sig).await);
    }
}

#[rocket::async_test]
async fn personal_data_written_through_one_instance_reads_through_another() {
    let a = TestApp::new().await;
    if !on_postgres(&a) {
        return; // SQLite runs one instance per data directory.
    }
    let b = a.other_instance().await;
    let (number, sig) = approved_through(&a, &a).await;
    let room = permit_rooms(&a, &number).await[0];
    let doc = resident_id(7);
    let anon = a.browser().await;
    let r = anon
        .client
        .post(format!("/api/v1/permits/{number}/stays"))
        .header(rocket::http::ContentType::JSON)
        .body(
            json!({"sig": sig, "name": "王五", "doc_type": "resident_id", "doc_number": doc,
            "phone": "13700000000", "room_id": room, "move_in": today_cst()})
            .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    // B finds the person by the whole number (the keyed hash) and shows it decrypted, masked.
    let (s, found) = b.api(ADMIN).await.get(&format!("/search?q={doc}")).await;
    assert_eq!(s, Status::Ok, "{found}");
    let hit = &found["residents"][0];
    assert_eq!(hit["name"], "王五", "{found}");
    let masked = hit["doc_masked"].as_str().expect("masked number");
    assert!(masked.ends_with(&doc[doc.len() - 4..]), "{masked}");
    // And B's cipher opens what A sealed.
    let stay = anju::entities::stay::Entity::find()
        .one(&b.db)
        .await
        .expect("stay query")
        .expect("a stay");
    let sealed = stay.doc_number_enc.expect("sealed document number");
    assert_eq!(b.keys().await.pii.decrypt(&sealed).expect("decrypts"), doc);
}

#[rocket::async_test]
async fn the_key_ring_holds_no_seed_in_clear() {
    let a = TestApp::new().await;
    let _ = a.browser().await;
    if !on_postgres(&a) {
        assert!(key_ring_rows(&a).await.is_empty());
        return;
    }
    let master = anju::crypto::master::MasterKey::configured(TEST_MASTER_KEY, "")
        .expect("master key")
        .expect("configured");
    let table = anju::crypto::key_table::KeyTable::new(a.db.clone(), master);
    let mut seeds = table.seeds("permit-signing").await.expect("signing seeds");
    seeds.extend(table.seeds("pii").await.expect("pii seed"));
    let rows = key_ring_rows(&a).await;
    assert_eq!(rows.len(), 2, "key 1 and the personal-data key");
    assert_eq!(seeds.len(), 2);
    for (kind, sealed) in &rows {
        for (_, seed) in &seeds {
            assert!(
                !sealed.windows(seed.len()).any(|w| w == seed.as_slice()),
                "a {kind} row holds a seed in clear"
            );
        }
    }
}

#[rocket::async_test]
async fn a_wrong_master_key_refuses_to_start() {
    let a = TestApp::new().await;
    let _ = a.browser().await;
    if !on_postgres(&a) {
        return; // SQLite keeps its key files; the master key plays no part there.
    }
    let mut wrong = a.other_instance().await;
    wrong.config.master_key = anju::crypto::master::MasterKeyText(hex::encode([9u8; 32]));
    let err = match anju::build(wrong.config.clone(), wrong.db.clone()).await {
        Ok(_) => panic!("a wrong master key must stop the start"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("ANJU_MASTER_KEY"), "{err}");
    assert!(err.contains("拒绝启动"), "{err}");
}

/// `anju import-keys` against this installation's database and data directory.
fn import_keys(app: &TestApp) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_anju"))
        .arg("import-keys")
        .env("ANJU_DATA_DIR", &app.config.data_dir)
        .env("ANJU_DATABASE_URL", &app.config.database_url)
        .env("ANJU_MASTER_KEY", TEST_MASTER_KEY)
        .env_remove("ANJU_MASTER_KEY_FILE")
        .output()
        .expect("run anju")
}

#[rocket::async_test]
async fn import_keys_moves_file_keys_so_earlier_tokens_and_data_still_open() {
    // An installation that ran on PostgreSQL with key files (no master key yet).
    let files = TestApp::with(|c| c.master_key = Default::default()).await;
    let (number, sig) = approved_through(&files, &files).await;
    let sealed = files
        .keys()
        .await
        .pii
        .encrypt("330781199003071239")
        .expect("seal");
    if !on_postgres(&files) {
        let out = import_keys(&files);
        assert!(!out.status.success(), "import-keys needs PostgreSQL");
        return;
    }
    let mut shared = files.other_instance().await;
    shared.config.data_dir = files.config.data_dir.clone();
    shared.config.master_key = anju::crypto::master::MasterKeyText(TEST_MASTER_KEY.into());
    // A master key before the import would orphan those keys: the start is refused.
    let err = match anju::build(shared.config.clone(), shared.db.clone()).await {
        Ok(_) => panic!("file keys not yet imported must stop the start"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("anju import-keys"), "{err}");

    for _ in 0..2 {
        let out = import_keys(&files);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        key_ring_rows(&files).await.len(),
        2,
        "importing twice adds nothing"
    );
    let elsewhere = shared.other_instance().await; // no key files at all
    assert!(authentic_through(&elsewhere, &number, &sig).await);
    assert_eq!(
        elsewhere
            .keys()
            .await
            .pii
            .decrypt(&sealed)
            .expect("decrypts"),
        "330781199003071239"
    );
}

#[rocket::async_test]
async fn rotating_from_the_command_line_reaches_running_instances() {
    let a = TestApp::new().await;
    if !on_postgres(&a) {
        return; // On SQLite the command adds a key file (signing_cli).
    }
    let running = a.browser().await;
    let out = Command::new(env!("CARGO_BIN_EXE_anju"))
        .arg("rotate-signing-key")
        .env("ANJU_DATA_DIR", &a.config.data_dir)
        .env("ANJU_DATABASE_URL", &a.config.database_url)
        .env("ANJU_MASTER_KEY", TEST_MASTER_KEY)
        .env("RUST_LOG", "error")
        .output()
        .expect("run anju");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    loop {
        let (_, body) = running.get_text("/api/v1/keys/permit-signing").await;
        let v: Value = serde_json::from_str(&body).expect("json");
        if v["keys"].as_array().map(Vec::len) == Some(2) && v["keys"][0]["current"] == true {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{body}");
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !a.config.keys_dir().join("permit-signing").exists(),
        "no key files"
    );
}
