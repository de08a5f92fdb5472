//! The `anju` command: migrate, create-user, seed-demo, and refusing bad configuration clearly.
mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::*;

fn anju(app: &TestApp) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_anju"));
    c.env("ANJU_DATA_DIR", &app.config.data_dir)
        .env("ANJU_DATABASE_URL", &app.config.database_url)
        .env("ANJU_FORMS_DIR", &app.config.forms_dir)
        // The installation's master key (set on PostgreSQL), so the command sees its key ring.
        .env("ANJU_MASTER_KEY", &app.config.master_key.0)
        .env("RUST_LOG", "error");
    c
}

#[rocket::async_test]
async fn create_user_reads_the_password_from_stdin_and_the_account_can_sign_in() {
    let app = TestApp::new().await;
    let mut child = anju(&app)
        .args([
            "create-user",
            "--role",
            "inspector",
            "--phone",
            "13512345678",
            "--name",
            "新网格员",
            "--password-stdin",
            "--grid",
            "锦绣村第二网格",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"walk-the-grid-1\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = app.browser().await;
    let r = b
        .post_form(
            "/login",
            &[("phone", "13512345678"), ("password", "walk-the-grid-1")],
        )
        .await;
    assert_eq!(r.headers().get_one("Location"), Some("/inspector"));
}

#[rocket::async_test]
async fn create_user_refuses_a_bad_phone_with_a_message_and_stores_nothing() {
    let app = TestApp::new().await;
    let before = app.count("users").await;
    let mut child = anju(&app)
        .args([
            "create-user",
            "--role",
            "landlord",
            "--phone",
            "12345",
            "--name",
            "某人",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"some-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("手机号"));
    assert_eq!(app.count("users").await, before);
}

#[rocket::async_test]
async fn migrate_and_seed_demo_run_twice_without_change() {
    let app = TestApp::new().await;
    for _ in 0..2 {
        assert!(anju(&app).arg("migrate").status().unwrap().success());
        let out = anju(&app).arg("seed-demo").output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("already seeded"));
    }
    assert_eq!(app.count("users").await, 6);
}

#[rocket::async_test]
async fn a_bad_setting_stops_the_start_with_a_message_naming_it() {
    let app = TestApp::new().await;
    let out = anju(&app)
        .arg("migrate")
        .env("ANJU_PUBLIC_URL", "anju.example")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ANJU_PUBLIC_URL"));
    let out = anju(&app)
        .arg("migrate")
        .env("ANJU_PUBLIC_RATE_PER_MINUTE", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("public_rate_per_minute")
    );
}

#[rocket::async_test]
async fn the_cookie_secret_is_generated_once_with_mode_0600_and_reused() {
    let app = TestApp::new().await;
    let _first = app.browser().await;
    let path = app.config.data_dir.join("secret_key");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let _second = app.browser().await;
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "reused, not regenerated"
    );
    // A session cookie made by one instance is accepted by another built from the same data directory.
    let a = app.signed_in(LANDLORD).await;
    let sealed = a.client.cookies().get("anju_session").unwrap().clone();
    let b = app.browser().await;
    let r = b.client.get("/landlord").cookie(sealed).dispatch().await;
    assert_eq!(r.status(), rocket::http::Status::Ok);
}

#[rocket::async_test]
async fn two_instances_migrating_a_fresh_database_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_anju"))
            .arg("migrate")
            .env("ANJU_DATA_DIR", dir.path())
            .env("ANJU_DATABASE_URL", &url)
            .env("RUST_LOG", "error")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[rocket::async_test]
async fn settings_in_the_anju_table_of_rocket_toml_are_read_and_checked() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Rocket.toml"),
        "[default.anju]\npublic_url = \"ftp://wrong\"\n",
    )
    .unwrap();
    let out = anju(&app)
        .arg("migrate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ftp://wrong"));
    std::fs::write(
        dir.path().join("Rocket.toml"),
        "[default.anju]\npublic_url = \"https://anju.example.org\"\n",
    )
    .unwrap();
    let out = anju(&app)
        .arg("migrate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
