//! Photos in S3-compatible storage (`ANJU_STORAGE_URL=s3://…`), against a real S3 server: moto's
//! server (PyPI `moto[server]`, installed by `.ci/run`) started here as `python3 -m moto.server`
//! on a free loopback port. `anju copy-uploads` moves an installation's folder into the bucket. An
//! uploaded photo lands in the bucket and not on this machine's disk, reads back
//! byte-identical on this instance and on a second one with another data directory, and with the
//! server gone an upload is a prompt 503 in Chinese. Without moto the test says why and
//! skips, unless `CI` is set. One test in this file: it sets the `AWS_*` variables of the process.
mod common;
#[path = "support/s3.rs"]
mod s3;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use s3::{S3Server, moto_installed};

const BUCKET: &str = "anju-photos";

/// The bucket as an operator's tool sees it, from the same `AWS_*` settings, without Anju.
fn bucket() -> impl ObjectStore {
    AmazonS3Builder::from_env()
        .with_bucket_name(BUCKET)
        .build()
        .expect("an S3 client for the bucket")
}

async fn get_photo(b: &Browser, id: &str) -> (Status, Vec<u8>) {
    let r = b.get(&format!("/photos/{id}")).await;
    (r.status(), r.into_bytes().await.unwrap_or_default())
}

#[test]
fn photos_in_a_shared_s3_bucket() {
    if !moto_installed() {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        assert!(
            !ci,
            "CI is set but moto is missing: python3 -m pip install 'moto[server]'"
        );
        eprintln!(
            "SKIPPED photos_in_a_shared_s3_bucket: python3 cannot import moto.server (pip install 'moto[server]'); CI is unset"
        );
        return;
    }
    let mut s3 = S3Server::start();
    // Set before any runtime thread exists, and this file holds no other test.
    unsafe {
        std::env::set_var("AWS_ENDPOINT", s3.endpoint());
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_ACCESS_KEY_ID", "anju-test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "anju-test-secret");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let rt = rocket::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        s3::create_bucket(&s3.endpoint(), BUCKET).await;

        an_installation_copies_its_folder_into_the_bucket().await;
        photos_live_in_the_bucket_and_a_dead_store_is_a_503(&mut s3).await;
    });
}

/// An installation that kept photos in its uploads folder copies them with `anju copy-uploads`
/// (again: nothing more is copied), then serves them from the bucket.
async fn an_installation_copies_its_folder_into_the_bucket() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    let (s, v) = api.upload(&png(40, 30)).await;
    assert_eq!(s, Status::Created, "{v}");
    let id = v["id"].as_str().expect("an upload id").to_string();
    let sha = v["sha256"].as_str().expect("a hash").to_string();
    let on_disk = std::fs::read(
        app.config
            .uploads_dir()
            .join(anju::media::relative_path(&sha)),
    )
    .expect("the photo in the uploads folder");
    // A temporary file a crash left behind is not a photo and is not copied.
    std::fs::write(
        app.config
            .uploads_dir()
            .join(&sha[..2])
            .join(format!("{sha}.tmp0f3c")),
        b"half",
    )
    .expect("a stray file");
    let url = format!("s3://{BUCKET}/moved");
    let copy = || {
        let out = Command::new(env!("CARGO_BIN_EXE_anju"))
            .arg("copy-uploads")
            .env("ANJU_DATA_DIR", &app.config.data_dir)
            .env("ANJU_STORAGE_URL", &url)
            .output()
            .expect("run anju copy-uploads");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        text
    };
    let first = copy();
    assert!(first.contains("copied 1, 0 already there"), "{first}");
    let again = copy();
    assert!(again.contains("copied 0, 1 already there"), "{again}");
    let listed: Vec<String> = bucket()
        .list(Some(&ObjectPath::from("moved")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list the bucket");
    assert_eq!(
        listed,
        vec![format!("moved/{}", anju::media::relative_path(&sha))]
    );

    let mut moved = app.config.clone();
    moved.storage_url = url.clone();
    let other_dir = tempfile::tempdir().expect("tempdir");
    moved.data_dir = other_dir.path().to_path_buf();
    let b = Browser {
        client: Client::tracked(anju::build(moved, app.db.clone()).await.expect("build"))
            .await
            .expect("client"),
    };
    let r = b
        .post_form(
            "/login",
            &[("phone", LANDLORD), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (s, served) = get_photo(&b, &id).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(served, on_disk);
}

/// A photo uploaded to an instance on the bucket is in the bucket and not on disk, and a second
/// instance reads it; with the server gone, uploads and reads are a prompt 503.
async fn photos_live_in_the_bucket_and_a_dead_store_is_a_503(s3: &mut S3Server) {
    let app = TestApp::with(|c| c.storage_url = format!("s3://{BUCKET}/hj")).await;
    let api = app.api(LANDLORD).await;
    let (s, v) = api.upload(&png(64, 48)).await;
    assert_eq!(s, Status::Created, "{v}");
    let id = v["id"].as_str().expect("an upload id").to_string();
    let sha = v["sha256"].as_str().expect("a hash").to_string();

    // In the bucket under the town's prefix, at the same key layout as the local folder…
    let listed: Vec<String> = bucket()
        .list(Some(&ObjectPath::from("hj")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list the bucket");
    let key = format!("hj/{}", anju::media::relative_path(&sha));
    assert_eq!(listed, vec![key.clone()]);
    // …and nothing on this machine's disk.
    let uploads = app.config.uploads_dir();
    assert!(
        !uploads.exists()
            || std::fs::read_dir(&uploads)
                .expect("uploads dir")
                .next()
                .is_none(),
        "{} should stay empty",
        uploads.display()
    );

    let in_bucket = bucket()
        .get(&ObjectPath::from(key.as_str()))
        .await
        .expect("the object")
        .bytes()
        .await
        .expect("its bytes");
    let landlord = app.signed_in(LANDLORD).await;
    let (s, served) = get_photo(&landlord, &id).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(served, in_bucket.to_vec(), "served byte for byte as stored");

    // A second instance on another machine: its own data directory, the same database and bucket.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let mut other = app.config.clone();
    other.data_dir = other_dir.path().to_path_buf();
    let second = Browser {
        client: Client::tracked(
            anju::build(other.clone(), app.db.clone())
                .await
                .expect("build"),
        )
        .await
        .expect("client"),
    };
    let r = second
        .post_form(
            "/login",
            &[("phone", LANDLORD), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (s, served_there) = get_photo(&second, &id).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(served_there, served);
    assert!(
        !other.uploads_dir().exists()
            || std::fs::read_dir(other.uploads_dir())
                .expect("dir")
                .next()
                .is_none()
    );

    // The store goes away: an upload is refused within seconds, in Chinese, and records nothing.
    s3.stop();
    let before = app.count("uploads").await;
    let started = Instant::now();
    let (s, v) = api.upload(&png(32, 32)).await;
    assert_eq!(s, Status::ServiceUnavailable, "{v}");
    assert_eq!(v["error"], "unavailable");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("照片存储")),
        "{v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(app.count("uploads").await, before);
    // Reading a known photo says the same, not "no such photo".
    let (s, _) = get_photo(&landlord, &id).await;
    assert_eq!(s, Status::ServiceUnavailable);
}
