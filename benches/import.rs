//! Benchmark of issue #11: dry run and commit of a register of 100 000 houses (50 000
//! landlords, two villages), 200 000 rooms and 100 000 residents on SQLite, printing each
//! phase's time and the process's peak memory (VmHWM). The file is imported twice: first on an
//! empty register (houses, rooms and residents written, the residents as stays waiting for their
//! house's permit), then, once every house has a permit, again (everything unchanged). `ANJU_BENCH_HOUSES` overrides the 100 000; `ANJU_BENCH_DATABASE_URL=postgres://…/db`
//! benchmarks PostgreSQL (an empty database). The workbook is written in constant-memory mode
//! before the clock starts, so the peak is the import's.
use std::time::Instant;

use anju::Config;
use anju::domain::role::Role;
use anju::entities::user;
use anju::services::Actor;
use anju::services::imports::{
    commit, dry_run,
    template::{HOUSES, RESIDENTS, ROOMS},
};
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

/// A GB 11643 resident ID number: region, birth date, sequence, check digit.
fn resident_id(i: usize) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()
        + chrono::Duration::days((i % 15_000) as i64);
    let body = format!("110105{}{:03}", birth.format("%Y%m%d"), i / 15_000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// The register of `houses` houses (50 000 landlords per 100 000 houses, two villages), two
/// rooms each and one resident per house.
fn workbook(path: &std::path::Path, houses: usize) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let places = [
        ("锦绣村", "锦绣村第一网格"),
        ("锦绣村", "锦绣村第二网格"),
        ("倪宅村", "倪宅村第一网格"),
        ("倪宅村", "倪宅村第二网格"),
    ];
    // The same address may not stand in both villages (rooms name a house by address alone).
    let address = |i: usize| format!("东区{}组{}号", i % 30 + 1, i);
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    ws.set_name(HOUSES.0).unwrap();
    for (c, h) in HOUSES.1.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..houses {
        let r = i as u32 + 1;
        let (v, g) = places[i % places.len()];
        ws.write_string(r, 0, v).unwrap();
        ws.write_string(r, 1, g).unwrap();
        ws.write_string(r, 2, address(i)).unwrap();
        ws.write_number(r, 3, (i % 5 + 1) as f64).unwrap();
        ws.write_string(r, 4, "砖混结构").unwrap();
        ws.write_string(r, 5, format!("房东{}", i / 2)).unwrap();
        ws.write_number(r, 6, (13_600_000_000u64 + (i / 2) as u64) as f64)
            .unwrap();
    }
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    ws.set_name(ROOMS.0).unwrap();
    for (c, h) in ROOMS.1.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..houses * 2 {
        let r = i as u32 + 1;
        ws.write_string(r, 0, address(i / 2)).unwrap();
        ws.write_string(r, 1, format!("10{}", i % 2 + 1)).unwrap();
        ws.write_number(r, 2, 1.0).unwrap();
        ws.write_number(r, 3, 14.0).unwrap();
        ws.write_string(r, 4, "卧室").unwrap();
    }
    let ws = wb.add_worksheet_with_constant_memory().unwrap();
    ws.set_name(RESIDENTS.0).unwrap();
    for (c, h) in RESIDENTS.1.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..houses {
        let r = i as u32 + 1;
        ws.write_string(r, 0, address(i)).unwrap();
        ws.write_string(r, 1, "101").unwrap();
        ws.write_string(r, 2, format!("住户{i}")).unwrap();
        ws.write_string(r, 3, "居民身份证").unwrap();
        ws.write_string(r, 4, resident_id(i)).unwrap();
        ws.write_number(r, 5, (15_000_000_000u64 + i as u64) as f64)
            .unwrap();
        ws.write_string(r, 6, "2025-06-01").unwrap();
    }
    wb.save(path).unwrap();
}

/// Every imported house gets an approved application and an active permit for 4 people, as if
/// the village had approved them between the two imports (not timed).
async fn grant_permits(db: &sea_orm::DatabaseConnection, by: i32) {
    use anju::entities::{application, permit, property};
    use sea_orm::{QuerySelect, Set};
    let now = chrono::Utc::now();
    let houses: Vec<(i32, i32, i32)> = property::Entity::find()
        .select_only()
        .columns([
            property::Column::Id,
            property::Column::LandlordId,
            property::Column::VillageId,
        ])
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    for chunk in houses.chunks(1000) {
        let apps: Vec<application::ActiveModel> = chunk
            .iter()
            .map(|(id, l, v)| application::ActiveModel {
                property_id: Set(*id),
                landlord_id: Set(*l),
                village_id: Set(*v),
                status: Set("approved".into()),
                submitted_at: Set(Some(now)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        application::Entity::insert_many(apps)
            .exec(db)
            .await
            .unwrap();
    }
    let apps: Vec<(i32, i32, i32, i32)> = application::Entity::find()
        .select_only()
        .columns([
            application::Column::Id,
            application::Column::PropertyId,
            application::Column::LandlordId,
            application::Column::VillageId,
        ])
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    for chunk in apps.chunks(1000) {
        let permits: Vec<permit::ActiveModel> = chunk
            .iter()
            .map(|(a, p, l, v)| permit::ActiveModel {
                number: Set(format!("BENCH-{a}")),
                application_id: Set(*a),
                property_id: Set(*p),
                village_id: Set(*v),
                landlord_id: Set(*l),
                status: Set("active".into()),
                valid_from: Set(day("2025-01-01")),
                valid_until: Set(day("2099-12-31")),
                max_occupants: Set(4),
                grade: Set("green".into()),
                signature: Set("bench".into()),
                issued_at: Set(now),
                issued_by: Set(by),
                ..Default::default()
            })
            .collect();
        permit::Entity::insert_many(permits).exec(db).await.unwrap();
    }
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
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "workbook: {houses} houses, {} rooms, {houses} residents, {:.1} MB, written in {:.1} s",
        houses * 2,
        size as f64 / 1e6,
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
        let admin_id = admin.id;
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
        let keys = anju::crypto::shared::open(&cfg, &db).await.unwrap();
        let rule = anju::domain::occupancy::OccupancyRule::default();
        let mut total_commit = 0.0;
        for pass in ["first import (no permits yet: residents wait for them)", "second import, after the houses got permits"] {
            println!("{pass}:");
            // As the upload handler does: the file read into memory, then handed over.
            let bytes = std::fs::read(&file).unwrap();
            let t = Instant::now();
            let checked = dry_run::dry_run(&db, &keys.pii, &rule, chrono::Utc::now(), &actor, bytes)
                .await
                .unwrap();
            println!(
                "  dry run: {:.1} s (create {}, update {}, unchanged {}, error {}), peak memory {:.0} MB (goal ≤ 20 s)",
                t.elapsed().as_secs_f64(),
                checked.rows.create,
                checked.rows.update,
                checked.rows.unchanged,
                checked.rows.error,
                vm_hwm_mb()
            );
            for e in checked.errors.iter().take(2) {
                println!("    refused: {} row {} {}: {}", e.sheet, e.row, e.column, e.message);
            }
            commit::start(&db, &actor, checked.id).await.unwrap();
            let t = Instant::now();
            let report = commit::run(&db, &keys.pii, &rule, chrono::Utc::now())
                .await
                .unwrap();
            let took = t.elapsed().as_secs_f64();
            total_commit += took;
            println!(
                "  commit: {took:.1} s ({report}), peak memory {:.0} MB",
                vm_hwm_mb()
            );
            if total_commit == took {
                let t = Instant::now();
                grant_permits(&db, admin_id).await;
                println!("  (permits granted in {:.1} s, not timed)", t.elapsed().as_secs_f64());
            }
        }
        println!(
            "commit of {houses} houses, {} rooms and {houses} residents: {total_commit:.1} s in all, peak memory {:.0} MB (goals ≤ 60 s, ≤ 300 MB)",
            houses * 2,
            vm_hwm_mb()
        );
    });
}
