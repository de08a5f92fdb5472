//! Two `anju serve` processes on one PostgreSQL database, each with its own data directory,
//! behind a local nginx: what one instance does, the other sees (sign-ins, lockouts, permits and
//! their suspension), and a SIGKILL of one loses no acknowledged write while the other takes
//! over its jobs. PostgreSQL only (SQLite serves one instance); run by `.ci/run`'s PostgreSQL pass.
mod common;
#[path = "support/http_peer.rs"]
mod http_peer;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/server.rs"]
mod server;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use http_peer::{HttpPeer, Reply};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;
use server::Server;

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn get(s: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let (st, body) = s.request("GET", path, &h, b"").expect("GET");
    (st, json(&body))
}

fn post(s: &Server, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let (st, b) = s.post_json(path, token, body).expect("POST");
    (st, json(&b))
}

/// nginx in front of both instances, round robin, telling them the client's address.
fn nginx(dir: &Path, upstreams: &[u16]) -> Option<Server> {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let servers: String = upstreams
        .iter()
        .map(|p| format!("server 127.0.0.1:{p};"))
        .collect();
    let d = dir.display();
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
         events {{ worker_connections 256; }}
         http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
           fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
           client_max_body_size 20m;
           upstream anju {{ {servers} }}
           server {{ listen 127.0.0.1:{port};
             location / {{ proxy_pass http://anju; proxy_set_header Host $host;
               proxy_set_header X-Real-IP $remote_addr;
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }} }} }}"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("nginx.conf");
    let child = Command::new(bin)
        .args(["-e", &format!("{d}/error.log"), "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    let proxy = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.request("GET", "/healthz", &[], b"").map(|r| r.0).ok() != Some(200) {
        assert!(Instant::now() < deadline, "nginx did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(proxy)
}

/// A landlord's submitted application in 锦绣村 with `rooms` bedrooms, made through `s`.
fn submitted(s: &Server, landlord: &str, n: u32, rooms: u32) -> i64 {
    let (_, villages) = get(s, "/api/v1/villages", Some(landlord));
    let v = villages
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == "锦绣村"))
        .expect("锦绣村")
        .clone();
    let rooms: Vec<String> = (0..rooms)
        .map(|i| {
            format!(
                r#"{{"label":"{}","floor":1,"area_m2":14,"kind":"bedroom"}}"#,
                101 + i
            )
        })
        .collect();
    let house = format!(
        r#"{{"village_id":{},"grid_id":{},"address":"双机路 {n} 号","floors":2,"structure":"brick_concrete","rooms":[{}]}}"#,
        v["id"],
        v["grids"][0]["id"],
        rooms.join(",")
    );
    let (st, h) = post(s, "/api/v1/properties", Some(landlord), &house);
    assert_eq!(st, 201, "{h}");
    let (st, a) = post(
        s,
        "/api/v1/applications",
        Some(landlord),
        &format!(r#"{{"property_id":{}}}"#, h["id"]),
    );
    assert_eq!(st, 201, "{a}");
    let id = a["id"].as_i64().expect("application id");
    for kind in ["ownership_proof", "house_photo"] {
        let (st, photo) = s.upload(landlord, &png(40, 30)).expect("upload");
        assert_eq!(st, 201);
        let doc = format!(
            r#"{{"kind":"{kind}","photo_id":"{}"}}"#,
            json(&photo)["id"].as_str().unwrap_or("")
        );
        let (st, d) = post(
            s,
            &format!("/api/v1/applications/{id}/documents"),
            Some(landlord),
            &doc,
        );
        assert_eq!(st, 201, "{d}");
    }
    let submit = r#"{"pledge_accepted":true,"owner_name":"王房东","ownership_doc_no":"浙(2020)花街镇不动产权第0001234号"}"#;
    let (st, r) = post(
        s,
        &format!("/api/v1/applications/{id}/submit"),
        Some(landlord),
        submit,
    );
    assert_eq!(st, 200, "{r}");
    id
}

/// Stands in for the inspection (tested elsewhere): the application passed, the house green.
async fn passed(url: &str, application: i64) {
    let db = Database::connect(url).await.expect("connect");
    for sql in [
        format!("UPDATE applications SET status = 'passed' WHERE id = {application}"),
        format!(
            "UPDATE properties SET grade = 'green' WHERE id = (SELECT property_id FROM applications WHERE id = {application})"
        ),
    ] {
        db.execute_unprepared(&sql).await.expect("passed");
    }
}

/// Approves through `s`; the permit number and its QR signature.
fn approve(s: &Server, official: &str, application: i64) -> (String, String) {
    let (st, r) = post(
        s,
        &format!("/api/v1/applications/{application}/approve"),
        Some(official),
        "{}",
    );
    assert_eq!(st, 201, "{r}");
    let number = r["permit_number"].as_str().expect("number").to_string();
    let qr = r["qr_url"].as_str().expect("qr_url");
    let sig = qr.split("sig=").nth(1).expect("sig").to_string();
    (number, sig)
}

async fn count(url: &str, sql: &str) -> i64 {
    let db = Database::connect(url).await.expect("connect");
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count")
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_a_proxy_act_as_one() {
    if !std::env::var("ANJU_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!(
            "two_instances_behind_a_proxy_act_as_one: PostgreSQL only (ANJU_TEST_DATABASE_URL)"
        );
        return;
    }
    // Photos in one bucket for both (moto's S3 server, as in tests/object_storage.rs).
    if !s3::moto_installed() {
        assert!(
            std::env::var("CI").is_err(),
            "moto is missing (CI installs it)"
        );
        eprintln!("two_instances_behind_a_proxy_act_as_one: no moto here, skipped");
        return;
    }
    let bucket = tokio::task::spawn_blocking(s3::S3Server::start)
        .await
        .expect("moto");
    let endpoint = bucket.endpoint();
    s3::create_bucket(&endpoint, "anju-shared").await;
    let peer = HttpPeer::start().await;
    peer.answer(|_| Reply::status(503));
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = fresh_database_url(tmp.path()).await;
    let bin = Path::new(env!("CARGO_BIN_EXE_anju"));
    let secret =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
    let env: Vec<(&str, &str)> = vec![
        ("ANJU_SCHEDULER", "true"),
        ("ANJU_WEBHOOK_ALLOW_PRIVATE", "true"),
        (
            "ANJU_WEBHOOK_RETRY_SECONDS",
            "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
        ),
        ("ANJU_TRUSTED_PROXIES", "127.0.0.1"),
        ("ANJU_LOGIN_ACCOUNT_LIMIT", "3"),
        ("ANJU_PUBLIC_RATE_PER_MINUTE", "100000"),
        ("ANJU_STAY_FLOOD_PER_HOUR", "1000"),
        ("ROCKET_SECRET_KEY", secret),
        ("ANJU_MASTER_KEY", TEST_MASTER_KEY),
        ("ANJU_STORAGE_URL", "s3://anju-shared/town"),
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "anju-test"),
        ("AWS_SECRET_ACCESS_KEY", "anju-test-secret"),
        ("AWS_REGION", "us-east-1"),
    ];
    let (u, t) = (url.clone(), tmp.path().to_path_buf());
    let e: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (a, b, proxy) = tokio::task::spawn_blocking(move || {
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let a = Server::start(bin, &t.join("a"), Some(&u), &e);
        let b = Server::start(bin, &t.join("b"), Some(&u), &e);
        let proxy = nginx(&t, &[a.port, b.port]);
        (a, b, proxy)
    })
    .await
    .expect("start");
    let Some(proxy) = proxy else {
        assert!(
            std::env::var("CI").is_err(),
            "nginx is missing (CI installs it)"
        );
        eprintln!("two_instances_behind_a_proxy_act_as_one: no nginx here, skipped");
        return;
    };

    // Sign-ins made on one instance hold on the other; so does a lockout.
    let (u2, peer_url) = (url.clone(), peer.url.clone());
    let (a, b, proxy, number) = tokio::task::spawn_blocking(move || {
        let admin = a.token(ADMIN, DEMO_PASSWORD);
        let (st, _) = get(&b, "/api/v1/villages", Some(&admin));
        assert_eq!(st, 200, "a token made on one instance is good on the other");
        // A photo uploaded through one is read through the other, byte for byte.
        let (st, up) = a.upload(&admin, &png(64, 48)).expect("upload");
        assert_eq!(st, 201, "{}", String::from_utf8_lossy(&up));
        let id = json(&up)["id"].as_str().unwrap_or_default().to_string();
        // A browser signed in on one instance keeps its session on the other.
        let cookie = a.sign_in_cookie(ADMIN, DEMO_PASSWORD);
        let on_a = a
            .request("GET", &format!("/photos/{id}"), &[("Cookie", &cookie)], b"")
            .expect("photo on A");
        let on_b = b
            .request("GET", &format!("/photos/{id}"), &[("Cookie", &cookie)], b"")
            .expect("photo on B");
        assert_eq!((on_a.0, on_b.0), (200, 200));
        assert!(on_b.1.starts_with(&[0xFF, 0xD8]) && on_a.1 == on_b.1);
        let sub = format!(r#"{{"url":"{peer_url}","events":["stay.pending"]}}"#);
        let (st, r) = post(&proxy, "/api/v1/webhooks", Some(&admin), &sub);
        assert_eq!(st, 201, "{r}");
        for _ in 0..3 {
            let (st, _) = post(
                &a,
                "/api/v1/auth/login",
                None,
                &format!(r#"{{"phone":"{OFFICIAL_NZ}","password":"wrong-one"}}"#),
            );
            assert_eq!(st, 422);
        }
        std::thread::sleep(Duration::from_millis(2500));
        let (st, r) = post(
            &b,
            "/api/v1/auth/login",
            None,
            &format!(r#"{{"phone":"{OFFICIAL_NZ}","password":"{DEMO_PASSWORD}"}}"#),
        );
        assert_eq!(
            st, 429,
            "the lockout counted on one instance holds on the other: {r}"
        );

        // Through the proxy, requests alternate between the instances.
        let landlord = proxy.token(LANDLORD, DEMO_PASSWORD);
        let official = proxy.token(OFFICIAL_JX, DEMO_PASSWORD);
        let app = submitted(&proxy, &landlord, 1, 10);
        let later = submitted(&proxy, &landlord, 2, 1);
        (a, b, proxy, (app, later, landlord, official))
    })
    .await
    .expect("sign-ins");
    let (app, later, _landlord, official) = number;
    passed(&u2, app).await;
    passed(&u2, later).await;
    let (a_dir, u4) = (tmp.path().join("a"), url.clone());
    let (a, b, proxy, number, sig) = tokio::task::spawn_blocking(move || {
        let (number, sig) = approve(&a, &official, app);
        let (st, v) = get(&b, &format!("/api/v1/verify/{number}?sig={sig}"), None);
        assert_eq!(st, 200);
        assert_eq!(
            (&v["authentic"], &v["status"]),
            (&Value::Bool(true), &Value::from("active")),
            "a permit approved on one verifies on the other: {v}"
        );
        // A suspension on one shows on the other's verification within 2 s.
        let (st, r) = post(
            &a,
            &format!("/api/v1/permits/{number}/suspend"),
            Some(&official),
            r#"{"reason":"消防通道堵塞"}"#,
        );
        assert_eq!(st, 200, "{r}");
        let t = Instant::now();
        loop {
            let (_, v) = get(&b, &format!("/api/v1/verify/{number}"), None);
            if v["status"] == "suspended" {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "still {v} on the other instance"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (st, r) = post(
            &b,
            &format!("/api/v1/permits/{number}/reinstate"),
            Some(&official),
            r#"{"reason":"已整改"}"#,
        );
        assert_eq!(st, 200, "{r}");

        // A key rotated on one instance signs on the other within 3 s; the old QR still verifies.
        let out = Command::new(bin)
            .arg("rotate-signing-key")
            .env("ANJU_DATA_DIR", &a_dir)
            .env("ANJU_DATABASE_URL", &u4)
            .env("ANJU_MASTER_KEY", TEST_MASTER_KEY)
            .output()
            .expect("anju rotate-signing-key");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(3));
        let (newer, new_sig) = approve(&b, &official, later);
        let key_of = |s: &str| s.split('.').next().unwrap_or_default().to_string();
        assert_ne!(
            key_of(&new_sig),
            key_of(&sig),
            "B signs with the rotated key"
        );
        for (n, s) in [(&number, &sig), (&newer, &new_sig)] {
            for one in [&a, &b] {
                let (_, v) = get(one, &format!("/api/v1/verify/{n}?sig={s}"), None);
                assert_eq!(v["authentic"], true, "{n} on port {}: {v}", one.port);
            }
        }
        (a, b, proxy, number, sig)
    })
    .await
    .expect("permit");

    // Check-ins through the proxy while one instance is killed: every acknowledged one is kept,
    // and the survivor delivers every event, the dead one's claimed deliveries included.
    let proxy = std::sync::Arc::new(proxy);
    let rooms = {
        let (p, n, l) = (proxy.clone(), number.clone(), landlord_token(&proxy));
        tokio::task::spawn_blocking(move || {
            let (_, permit) = get(&p, &format!("/api/v1/permits/{n}"), Some(&l));
            let (_, house) = get(
                &p,
                &format!("/api/v1/properties/{}", permit["property_id"]),
                Some(&l),
            );
            house["rooms"]
                .as_array()
                .map(|rs| {
                    rs.iter()
                        .filter_map(|r| r["id"].as_i64())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .await
        .expect("rooms")
    };
    assert_eq!(rooms.len(), 10);
    let mut a = a;
    let burst: Vec<_> = (0..16u32)
        .map(|i| {
            let (p, n, s, room) = (proxy.clone(), number.clone(), sig.clone(), rooms[i as usize % 10]);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(40 * u64::from(i)));
                let body = format!(
                    r#"{{"sig":"{s}","name":"租客{i}","doc_type":"resident_id","doc_number":"{}","phone":"1370000{i:04}","room_id":{room},"move_in":"{}"}}"#,
                    resident_id(100 + i),
                    today_cst().format("%Y-%m-%d")
                );
                match p.post_json(&format!("/api/v1/permits/{n}/stays"), None, &body) {
                    Ok((201, b)) => json(&b)["stay_id"].as_i64(),
                    other => {
                        // Cut off with the killed instance (nginx answers 502), or refused.
                        eprintln!("check-in {i}: {:?}", other.map(|(s, b)| (s, String::from_utf8_lossy(&b).into_owned())));
                        None
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.child.kill().expect("SIGKILL");
    a.child.wait().expect("reaped");
    let acked: Vec<i64> = burst
        .into_iter()
        .filter_map(|t| t.join().ok().flatten())
        .collect();
    assert!(
        acked.len() >= 8,
        "the survivor kept taking check-ins: {acked:?}"
    );
    for id in &acked {
        assert_eq!(
            count(&url, &format!("SELECT COUNT(*) FROM stays WHERE id = {id}")).await,
            1,
            "acknowledged check-in {id} is in the database"
        );
    }
    peer.answer(|_| Reply::status(200));
    let before = peer.received().len();
    let want = count(
        &url,
        "SELECT COUNT(*) FROM events WHERE kind = 'stay.pending'",
    )
    .await;
    assert!(want >= acked.len() as i64);
    // A delivery the dead instance had claimed waits out its 60 s lease, then the survivor sends it.
    let deadline = Instant::now() + Duration::from_secs(80);
    let delivered = loop {
        let ids: HashSet<String> = peer.received()[before..]
            .iter()
            .filter_map(|r| r.header("webhook-id").map(str::to_string))
            .collect();
        if ids.len() as i64 >= want || Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        delivered.len() as i64,
        want,
        "every check-in's event reached the platform"
    );
    drop(b);
}

fn landlord_token(proxy: &Server) -> String {
    proxy.token(LANDLORD, DEMO_PASSWORD)
}
