//! Benchmark of issue #11: dry run and commit of a 房屋 sheet of 100 000 houses (50 000
//! landlords, two villages) on SQLite, printing each phase's time and the process's peak memory
//! (VmHWM). `ANJU_BENCH_HOUSES` overrides the 100 000; `ANJU_BENCH_DATABASE_URL=postgres://…/db`
//! benchmarks PostgreSQL (an empty database). The workbook is written in constant-memory mode
//! before the clock starts, so the peak is the import's.
use std::time::Instant;

use anju::Config;
use anju::domain::role::Role;
use anju::entities::user;
use anju::services::Actor;
use anju::services::imports::{commit, dry_run, template::HOUSES};
use rocket::tokio;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn workbook(path: &std::path::Path, houses: usize) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    ws.set_name(HOUSES.0).unwrap();
    for (c, h) in HOUSES.1.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let places = [
        ("锦绣村", "锦绣村第一网格"),
        ("锦绣村", "锦绣村第二网格"),
        ("倪宅村", "倪宅村第一网格"),
        ("倪宅村", "倪宅村第二网格"),
    ];
    for i in 0..houses {
        let r = i as u32 + 1;
        let (v, g) = places[i % places.len()];
        ws.write_string(r, 0, v).unwrap();
        ws.write_string(r, 1, g).unwrap();
        ws.write_string(r, 2, format!("东区{}组{}号", i % 30 + 1, i))
            .unwrap();
        ws.write_number(r, 3, (i % 5 + 1) as f64).unwrap();
        ws.write_string(r, 4, "砖混结构").unwrap();
        ws.write_string(r, 5, format!("房东{}", i / 2)).unwrap();
        ws.write_number(r, 6, (13_600_000_000u64 + (i / 2) as u64) as f64)
            .unwrap();
    }
    wb.save(path).unwrap();
}

fn main() {
    let houses: usize = std::env::var("ANJU_BENCH_HOUSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("ANJU_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("anju.db").display()));
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        database_url: url,
        ..Config::default()
    }
    .validated()
    .expect("config");
    let file = dir.path().join("houses.xlsx");
    let t = Instant::now();
    workbook(&file, houses);
    let bytes = std::fs::read(&file).unwrap();
    println!(
        "workbook: {houses} houses, {:.1} MB, written in {:.1} s",
        bytes.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = anju::db::connect(&cfg).await.unwrap();
        anju::db::migrate(&db).await.unwrap();
        anju::services::seed::ensure_town(&db, "HJ", "花街镇")
            .await
            .unwrap();
        anju::services::seed::seed_demo(&db).await.unwrap();
        let admin = user::Entity::find()
            .filter(user::Column::Phone.eq("13900000001"))
            .one(&db)
            .await
            .unwrap()
            .expect("the demo admin");
        let actor = Actor {
            id: admin.id,
            role: Role::TownAdmin,
            name: admin.name,
            village_id: None,
        };
        println!(
            "backend: {}; peak memory before the import: {:.0} MB",
            if cfg.is_sqlite() {
                "SQLite (WAL)"
            } else {
                "PostgreSQL"
            },
            vm_hwm_mb()
        );
        let t = Instant::now();
        let checked = dry_run::dry_run(&db, chrono::Utc::now(), &actor, &bytes)
            .await
            .unwrap();
        println!(
            "dry run: {:.1} s (create {}, error {}), peak memory {:.0} MB (goal ≤ 20 s)",
            t.elapsed().as_secs_f64(),
            checked.rows.create,
            checked.rows.error,
            vm_hwm_mb()
        );
        for e in checked.errors.iter().take(3) {
            println!("  refused: row {} {}: {}", e.row, e.column, e.message);
        }
        drop(bytes);
        commit::start(&db, &actor, checked.id).await.unwrap();
        let t = Instant::now();
        let report = commit::run(&db, chrono::Utc::now()).await.unwrap();
        println!(
            "commit: {:.1} s ({report}), peak memory {:.0} MB (goals ≤ 60 s, ≤ 300 MB)",
            t.elapsed().as_secs_f64(),
            vm_hwm_mb()
        );
    });
}
