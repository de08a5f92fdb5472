//! Benchmark of issue #9: events dispatched per second to a local receiver with 4 webhook
//! subscriptions, and the delay from an event's commit to its arrival with the dispatcher woken
//! on commit (goals: ≥ 500 events/s on SQLite; p50 ≤ 1 s). `ANJU_BENCH_DATABASE_URL=postgres://…`
//! (an empty database) runs it on PostgreSQL; `ANJU_BENCH_EVENTS` overrides the 5 000 events.
#[path = "../tests/support/http_peer.rs"]
mod http_peer;

use std::time::{Duration, Instant};

use anju::domain::event::EventKind;
use anju::domain::role::Role;
use anju::services::Actor;
use anju::services::events::dispatch::{run_until_idle, spawn};
use anju::services::events::{NewEvent, record, webhooks};
use rocket::local::asynchronous::Client;
use rocket::tokio;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn event(n: usize) -> NewEvent {
    NewEvent {
        kind: EventKind::TaskCreated,
        data: serde_json::json!({"task_id": n, "kind": "initial", "property_id": n, "address": format!("锦绣路 {n} 号"),
            "village": "锦绣村", "grid_id": 1, "grid_name": "锦绣村第一网格", "inspector_id": 3, "due_at": "2026-12-01T09:00:00Z"}),
        village_id: None,
        landlord_id: None,
        inspector_id: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run() {
    let events: usize = std::env::var("ANJU_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("ANJU_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("anju.db").display()));
    let cfg = anju::Config {
        data_dir: dir.path().to_path_buf(),
        database_url: url.clone(),
        scheduler: false,
        webhook_allow_private: true,
        ..anju::Config::default()
    }
    .validated()
    .unwrap();
    let db = anju::db::connect(&cfg).await.unwrap();
    anju::db::migrate(&db).await.unwrap();
    anju::services::seed::ensure_town(&db, "HJ", "花街镇")
        .await
        .unwrap();
    anju::services::seed::seed_demo(&db).await.unwrap();
    let client = Client::tracked(anju::build(cfg, db.clone()).await.unwrap())
        .await
        .unwrap();
    let st = client.rocket().state::<anju::AppRef>().unwrap().clone();
    let admin = anju::entities::user::Entity::find()
        .filter(anju::entities::user::Column::Phone.eq("13900000001"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let actor = Actor {
        id: admin.id,
        role: Role::TownAdmin,
        name: admin.name,
        village_id: None,
    };
    let peer = http_peer::HttpPeer::start().await;
    for n in 0..4 {
        let raw = webhooks::RawSubscription {
            url: format!("{}/sub{n}", peer.url),
            events: vec!["task.created".into()],
            description: None,
        };
        webhooks::create(&db, &st.pii, &actor, raw, true, chrono::Utc::now())
            .await
            .unwrap();
    }
    println!(
        "backend: {}",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    // Throughput: a backlog of events, dispatched as fast as the dispatcher goes.
    for chunk in (0..events).collect::<Vec<_>>().chunks(500) {
        let tx = anju::db::begin_write(&db).await.unwrap();
        for &n in chunk {
            record(&tx, chrono::Utc::now(), event(n)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let start = Instant::now();
    run_until_idle(&st).await.unwrap();
    let took = start.elapsed();
    let got = peer.wait_for(events * 4, 30).await.len();
    assert_eq!(got, events * 4, "every delivery arrived");
    println!(
        "dispatch: {events} events × 4 subscriptions = {got} deliveries in {:.2} s: {:.0} events/s, {:.0} deliveries/s (goal ≥ 500 events/s)",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64(),
        got as f64 / took.as_secs_f64()
    );

    // Latency: the dispatcher loop running, one event committed every 20 ms.
    spawn(st.clone());
    let base = peer.received().len();
    let samples = 200;
    let mut committed = Vec::with_capacity(samples);
    for n in 0..samples {
        let tx = anju::db::begin_write(&db).await.unwrap();
        let mut e = event(events + n);
        e.data["seq"] = serde_json::json!(n);
        record(&tx, chrono::Utc::now(), e).await.unwrap();
        tx.commit().await.unwrap();
        committed.push(Instant::now());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = peer.wait_for(base + samples * 4, 30).await;
    let mut delays: Vec<Duration> = got[base..]
        .iter()
        .filter(|r| r.path == "/sub0")
        .filter_map(|r| {
            let seq = r.json()["data"]["seq"].as_u64()? as usize;
            Some(r.at.saturating_duration_since(committed[seq]))
        })
        .collect();
    delays.sort();
    println!(
        "commit → delivery ({} events, one every 20 ms): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal p50 ≤ 1 s)",
        delays.len(),
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        percentile(&delays, 0.9).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

fn main() {
    unsafe { std::env::set_var("ROCKET_LOG_LEVEL", "off") };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}
