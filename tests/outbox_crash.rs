//! Pulling the plug: a real `anju serve` with events still undelivered is killed with SIGKILL;
//! after a restart on the same database every event reaches the receiver, none lost.
mod common;
#[path = "support/http_peer.rs"]
mod http_peer;
#[path = "support/server.rs"]
mod server;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use http_peer::{HttpPeer, Reply};

fn id_of(body: &[u8]) -> i64 {
    let v: serde_json::Value = serde_json::from_slice(body).expect("json");
    v["id"].as_i64().expect("an id")
}

/// A landlord's application through the public API: one `application.submitted`, one `task.created`.
fn submit_application(s: &server::Server, token: &str, n: u32) {
    let (_, body) = s
        .request(
            "GET",
            "/api/v1/villages",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
        .unwrap();
    let villages: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let v = &villages.as_array().unwrap()[0];
    let (village, grid) = (
        v["id"].as_i64().unwrap(),
        v["grids"][0]["id"].as_i64().unwrap(),
    );
    let house = format!(
        r#"{{"village_id":{village},"grid_id":{grid},"address":"断电路 {n} 号","floors":2,"structure":"brick_concrete",
        "rooms":[{{"label":"101","floor":1,"area_m2":14,"kind":"bedroom"}}]}}"#
    );
    let (st, body) = s
        .post_json("/api/v1/properties", Some(token), &house)
        .unwrap();
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    let (st, body) = s
        .post_json(
            "/api/v1/applications",
            Some(token),
            &format!(r#"{{"property_id":{}}}"#, id_of(&body)),
        )
        .unwrap();
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    let app = id_of(&body);
    for kind in ["ownership_proof", "house_photo"] {
        let (_, photo) = s.upload(token, &png(40, 30)).unwrap();
        let photo: serde_json::Value = serde_json::from_slice(&photo).unwrap();
        let doc = format!(
            r#"{{"kind":"{kind}","photo_id":"{}"}}"#,
            photo["id"].as_str().unwrap()
        );
        let (st, _) = s
            .post_json(
                &format!("/api/v1/applications/{app}/documents"),
                Some(token),
                &doc,
            )
            .unwrap();
        assert_eq!(st, 201);
    }
    let submit = r#"{"pledge_accepted":true,"owner_name":"王房东","ownership_doc_no":"浙(2020)花街镇不动产权第0001234号"}"#;
    let (st, body) = s
        .post_json(
            &format!("/api/v1/applications/{app}/submit"),
            Some(token),
            submit,
        )
        .unwrap();
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_pending_when_the_server_is_killed_are_delivered_after_the_restart() {
    let peer = HttpPeer::start().await;
    peer.answer(|_| Reply::status(503));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let url = fresh_database_url(tmp.path()).await;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_anju"));
    let env = [
        ("ANJU_SCHEDULER", "true"),
        ("ANJU_WEBHOOK_ALLOW_PRIVATE", "true"),
        (
            "ANJU_WEBHOOK_RETRY_SECONDS",
            "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
        ),
    ];
    let (url2, data2, peer_url) = (url.clone(), data.clone(), peer.url.clone());
    let mut first = tokio::task::spawn_blocking(move || {
        let s = server::Server::start(bin, &data2, Some(&url2), &env);
        let admin = s.token(ADMIN, DEMO_PASSWORD);
        let sub =
            format!(r#"{{"url":"{peer_url}","events":["application.submitted","task.created"]}}"#);
        let (st, body) = s.post_json("/api/v1/webhooks", Some(&admin), &sub).unwrap();
        assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
        let landlord = s.token(LANDLORD, DEMO_PASSWORD);
        for n in 1..=3 {
            submit_application(&s, &landlord, n);
        }
        s
    })
    .await
    .unwrap();
    // The platform is down: attempts are made and fail, the events wait.
    let tried = peer.wait_for(1, 15).await;
    assert!(
        !tried.is_empty(),
        "the dispatcher tried while the receiver was down"
    );
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reaped");
    drop(first);

    peer.answer(|_| Reply::status(200));
    let before = peer.received().len();
    let second =
        tokio::task::spawn_blocking(move || server::Server::start(bin, &data, Some(&url), &env))
            .await
            .unwrap();
    let want = 6;
    // A delivery claimed at the moment of the kill waits out its 60 s lease before another run takes it.
    let deadline = std::time::Instant::now() + Duration::from_secs(75);
    let delivered = loop {
        let ok: HashSet<String> = peer.received()[before..]
            .iter()
            .filter_map(|r| r.header("webhook-id").map(str::to_string))
            .collect();
        if ok.len() >= want || std::time::Instant::now() > deadline {
            break ok;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let all_ids: HashSet<String> = peer
        .received()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_string))
        .collect();
    assert_eq!(
        all_ids.len(),
        want,
        "three applications and their three tasks were recorded"
    );
    assert_eq!(
        delivered, all_ids,
        "every event arrived after the restart, none lost"
    );
    drop(second);
}
