//! The command room at county scale: `seed-scale` generation speed, then snapshot, trend and search
//! p50/p99 through the same service functions the routes call, and the cost of 50 open screens
//! after one change (how many computations, how long until all 50 have the new snapshot).
//! SQLite by default; set `ANJU_BENCH_DATABASE_URL=postgres://…/postgres` for PostgreSQL (a fresh
//! database is made). Scale: `ANJU_BENCH_HOUSES` (200 000) and `ANJU_BENCH_STAYS` (1 000 000).
//! Plain `fn main`, prints figures.
use std::time::{Duration, Instant};

use anju::services::dashboard::{Scope, compute, search, trend};
use anju::{Config, db};
use sea_orm::{ConnectionTrait, Database, Statement};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(mut xs: Vec<Duration>, p: f64) -> Duration {
    xs.sort();
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, xs: Vec<Duration>) {
    println!(
        "{what:<28} p50 {:>8.1} ms   p99 {:>8.1} ms   (n={})",
        pct(xs.clone(), 0.5).as_secs_f64() * 1000.0,
        pct(xs.clone(), 0.99).as_secs_f64() * 1000.0,
        xs.len()
    );
}

async fn database_url(dir: &std::path::Path) -> String {
    if let Ok(url) = std::env::var("ANJU_BENCH_KEEP_URL") {
        return url;
    }
    match std::env::var("ANJU_BENCH_DATABASE_URL") {
        Ok(admin) if admin.starts_with("postgres") => {
            let name = format!("anju_bench_{}", uuid::Uuid::new_v4().simple());
            let conn = Database::connect(admin.as_str()).await.expect("connect");
            conn.execute_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin.clone());
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("anju.db").display()),
    }
}

#[rocket::main]
async fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let houses = env_usize("ANJU_BENCH_HOUSES", 200_000);
    let stays = env_usize("ANJU_BENCH_STAYS", 1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        database_url: database_url(dir.path()).await,
        forms_dir: std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/forms")),
        scheduler: false,
        ..Config::default()
    }
    .validated()
    .expect("config");
    let conn = db::connect(&config).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    anju::services::seed::ensure_town(&conn, "HJ", "花街镇")
        .await
        .expect("town");
    println!(
        "backend: {:?}; {houses} houses, {stays} stays",
        conn.get_database_backend()
    );
    let t = Instant::now();
    // `ANJU_BENCH_KEEP_URL` names a database to keep between runs: seeded once, then reused.
    match anju::services::seed_scale::seed_scale(&conn, houses, stays, 7).await {
        Ok(made) => {
            println!(
                "seed-scale: {} villages; {} houses in {:.1} s ({:.0} houses/s with their rooms, applications, inspections, findings and permits); {} stays in {:.1} s more; {:.1} s in all, of which {:.1} s making the set-aside indexes again",
                made.villages,
                made.houses,
                made.houses_seconds,
                made.houses as f64 / made.houses_seconds,
                made.stays,
                made.seconds - made.houses_seconds,
                t.elapsed().as_secs_f64(),
                made.index_seconds
            );
        }
        Err(e) if std::env::var_os("ANJU_BENCH_KEEP_URL").is_some() => {
            println!("seed-scale skipped on the kept database: {e}")
        }
        Err(e) => panic!("seed-scale: {e}"),
    }
    // Both databases plan the window queries from fresh statistics.
    conn.execute_unprepared("ANALYZE").await.expect("analyze");
    let town = Scope { village_id: None };
    let one = Scope {
        village_id: Some(4),
    };
    let now = chrono::Utc::now();
    // The first computation after seeding reads cold pages; it is printed apart, and the
    // percentiles are of the warm computations that a running command room makes.
    const RUNS: usize = 100;
    for (name, scope) in [("snapshot (town)", town), ("snapshot (one village)", one)] {
        let t = Instant::now();
        compute(&conn, scope, now).await.expect("snapshot");
        println!(
            "{name:<28} first (cold) {:>8.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        let mut xs = vec![];
        for _ in 0..RUNS {
            let t = Instant::now();
            compute(&conn, scope, now).await.expect("snapshot");
            xs.push(t.elapsed());
        }
        report(name, xs);
    }
    let t = Instant::now();
    trend::weekly(&conn, town, now, 12).await.expect("trend");
    println!(
        "{:<28} first (cold) {:>8.1} ms",
        "trend 12 weeks (town)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut xs = vec![];
    for _ in 0..RUNS {
        let t = Instant::now();
        trend::weekly(&conn, town, now, 12).await.expect("trend");
        xs.push(t.elapsed());
    }
    report("trend 12 weeks (town)", xs);

    let rocket = anju::build(config.clone(), conn.clone())
        .await
        .expect("build");
    let client = rocket::local::asynchronous::Client::tracked(rocket)
        .await
        .expect("client");
    let st = client
        .rocket()
        .state::<anju::AppRef>()
        .expect("state")
        .clone();
    let admin = anju::services::Actor {
        id: 1,
        role: anju::domain::role::Role::TownAdmin,
        name: "bench".into(),
        village_id: None,
    };
    // A permit number as an official would type it off a certificate.
    let number: String = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT number FROM permits ORDER BY id LIMIT 1 OFFSET 1233",
        ))
        .await
        .expect("a permit")
        .and_then(|row| row.try_get("", "number").ok())
        .unwrap_or_default();
    let mut xs = vec![];
    for (i, q) in ["桃柳", number.as_str(), "住户4242", "5号"]
        .iter()
        .cycle()
        .take(40)
        .enumerate()
    {
        let t = Instant::now();
        let r = search::search(&st, &admin, town, q).await.expect("search");
        xs.push(t.elapsed());
        if i < 4 {
            println!(
                "  search {q:<12} → {} houses, {} permits, {} residents",
                r.houses.len(),
                r.permits.len(),
                r.residents.len()
            );
        }
    }
    report("search", xs);

    // 50 open screens and one change.
    let mut screens: Vec<_> = (0..50).map(|_| st.dashboard.subscribe(&st)).collect();
    for _ in &screens {
        st.dashboard
            .snapshot(&st, town)
            .await
            .expect("first snapshot");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for rx in screens.iter_mut() {
        rx.borrow_and_update();
    }
    let before = st.dashboard.computations();
    anju::services::audit::record(
        &conn,
        None,
        "bench.change",
        "bench",
        1,
        serde_json::json!({}),
    )
    .await
    .expect("a change");
    let t = Instant::now();
    let all = futures::future::join_all(screens.iter_mut().map(|rx| {
        let st = st.clone();
        async move {
            rx.changed().await.expect("a new generation");
            st.dashboard.snapshot(&st, town).await.expect("snapshot");
        }
    }));
    all.await;
    println!(
        "50 screens, one change: {} computation(s); all 50 had the new snapshot {:.0} ms after the change",
        st.dashboard.computations() - before,
        t.elapsed().as_secs_f64() * 1000.0
    );
}
