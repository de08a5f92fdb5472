//! Task lists at county scale on SQLite: 1 000 grids, 2 000 inspectors, 200 000 houses and
//! 500 000 tasks; times an inspector's task list and the admin's overdue filter through the
//! same service function the pages use. Plain `fn main`, prints figures (target ≤ 50 ms each).
use std::time::{Duration, Instant};

use anju::domain::role::Role;
use anju::entities::{grid, inspection_task, inspector_grid, property, user, village};
use anju::services::Actor;
use anju::services::inspections::tasks::{TaskFilter, list};
use chrono::Utc;
use sea_orm::sea_query::{InsertStatement, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

const VILLAGES: usize = 50;
const GRIDS: usize = 1_000;
const INSPECTORS: usize = 2_000;
const HOUSES: usize = 200_000;
const TASKS: usize = 500_000;
/// SQLite allows 32 766 bound values per statement.
const ROWS_PER_INSERT: usize = 1_500;

/// A cheap deterministic generator so runs are comparable.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

async fn flush<C: ConnectionTrait>(tx: &C, stmt: &mut Option<InsertStatement>, rows: &mut usize) {
    if let Some(s) = stmt.take() {
        tx.execute(&s).await.expect("insert");
    }
    *rows = 0;
}

async fn seed(db: &DatabaseConnection) -> (i32, i32) {
    let now = Utc::now();
    let town = anju::services::seed::ensure_town(db, "HJ", "花街镇")
        .await
        .expect("town");
    let tx = db.begin().await.expect("begin");
    let mut q = Query::insert();
    q.into_table(village::Entity).columns([
        village::Column::TownId,
        village::Column::Code,
        village::Column::Name,
        village::Column::CreatedAt,
    ]);
    for v in 0..VILLAGES {
        q.values_panic([
            town.id.into(),
            format!("V{v}").into(),
            format!("村{v}").into(),
            now.into(),
        ]);
    }
    tx.execute(&q).await.expect("villages");
    let mut q = Query::insert();
    q.into_table(grid::Entity).columns([
        grid::Column::VillageId,
        grid::Column::Name,
        grid::Column::CreatedAt,
    ]);
    for g in 0..GRIDS {
        q.values_panic([
            ((g % VILLAGES) as i32 + 1).into(),
            format!("网格{g}").into(),
            now.into(),
        ]);
    }
    tx.execute(&q).await.expect("grids");
    // User 1 is the admin, 2 the landlord, then the inspectors (2 per grid).
    let mut q = Query::insert();
    q.into_table(user::Entity).columns([
        user::Column::Role,
        user::Column::Phone,
        user::Column::Name,
        user::Column::PasswordHash,
        user::Column::Active,
        user::Column::CreatedAt,
    ]);
    q.values_panic([
        "town_admin".into(),
        "13800000000".into(),
        "管理员".into(),
        "x".into(),
        true.into(),
        now.into(),
    ]);
    q.values_panic([
        "landlord".into(),
        "13800000001".into(),
        "房东".into(),
        "x".into(),
        true.into(),
        now.into(),
    ]);
    tx.execute(&q).await.expect("users");
    let mut stmt: Option<InsertStatement> = None;
    let mut rows = 0;
    for i in 0..INSPECTORS {
        let s = stmt.get_or_insert_with(|| {
            let mut q = Query::insert();
            q.into_table(user::Entity).columns([
                user::Column::Role,
                user::Column::Phone,
                user::Column::Name,
                user::Column::PasswordHash,
                user::Column::Active,
                user::Column::CreatedAt,
            ]);
            q
        });
        s.values_panic([
            "inspector".into(),
            format!("139{i:08}").into(),
            format!("网格员{i}").into(),
            "x".into(),
            true.into(),
            now.into(),
        ]);
        rows += 1;
        if rows == ROWS_PER_INSERT {
            flush(&tx, &mut stmt, &mut rows).await;
        }
    }
    flush(&tx, &mut stmt, &mut rows).await;
    let mut q = Query::insert();
    q.into_table(inspector_grid::Entity).columns([
        inspector_grid::Column::UserId,
        inspector_grid::Column::GridId,
    ]);
    for i in 0..INSPECTORS {
        q.values_panic([(i as i32 + 3).into(), ((i % GRIDS) as i32 + 1).into()]);
    }
    tx.execute(&q).await.expect("inspector grids");
    for h in 0..HOUSES {
        let s = stmt.get_or_insert_with(|| {
            let mut q = Query::insert();
            q.into_table(property::Entity).columns([
                property::Column::LandlordId,
                property::Column::VillageId,
                property::Column::GridId,
                property::Column::Address,
                property::Column::Floors,
                property::Column::Structure,
                property::Column::CreatedAt,
                property::Column::UpdatedAt,
            ]);
            q
        });
        let g = h % GRIDS;
        s.values_panic([
            2.into(),
            ((g % VILLAGES) as i32 + 1).into(),
            (g as i32 + 1).into(),
            format!("某村 {h} 号").into(),
            2.into(),
            "brick_concrete".into(),
            now.into(),
            now.into(),
        ]);
        rows += 1;
        if rows == ROWS_PER_INSERT {
            flush(&tx, &mut stmt, &mut rows).await;
        }
    }
    flush(&tx, &mut stmt, &mut rows).await;
    let mut rng = Lcg(42);
    let statuses = [
        "done",
        "done",
        "done",
        "cancelled",
        "open",
        "open",
        "in_progress",
    ];
    for t in 0..TASKS {
        let s = stmt.get_or_insert_with(|| {
            let mut q = Query::insert();
            q.into_table(inspection_task::Entity).columns([
                inspection_task::Column::Kind,
                inspection_task::Column::Status,
                inspection_task::Column::PropertyId,
                inspection_task::Column::GridId,
                inspection_task::Column::AssigneeId,
                inspection_task::Column::DueAt,
                inspection_task::Column::ChecklistKey,
                inspection_task::Column::CreatedAt,
            ]);
            q
        });
        let house = (rng.next() as usize) % HOUSES;
        let g = house % GRIDS;
        let inspector = g + (rng.next() as usize % 2) * GRIDS + 3;
        let due = now + chrono::Duration::hours(rng.next() as i64 % (24 * 240) - 24 * 120);
        let status = statuses[rng.next() as usize % statuses.len()];
        let kind = ["initial", "routine", "reinspection"][t % 3];
        s.values_panic([
            kind.into(),
            status.into(),
            (house as i32 + 1).into(),
            (g as i32 + 1).into(),
            (inspector as i32).into(),
            due.into(),
            "rental-safety".into(),
            (due - chrono::Duration::days(3)).into(),
        ]);
        rows += 1;
        if rows == ROWS_PER_INSERT {
            flush(&tx, &mut stmt, &mut rows).await;
        }
    }
    flush(&tx, &mut stmt, &mut rows).await;
    tx.commit().await.expect("commit");
    db.execute_unprepared("ANALYZE").await.expect("analyze");
    (1, 3)
}

async fn time<F, Fut>(label: &str, runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let mut times = Vec::with_capacity(runs);
    let mut total = 0;
    for _ in 0..runs {
        let t = Instant::now();
        total = f().await;
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[runs / 2];
    let worst = times[runs - 1];
    println!(
        "{label:<44} median {:>8.2} ms   max {:>8.2} ms   ({total} matching)",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
    median
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        // ANJU_BENCH_DIR keeps the seeded database for looking at query plans afterwards.
        let data_dir = std::env::var("ANJU_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| dir.path().to_path_buf());
        let config = anju::Config {
            data_dir,
            ..anju::Config::default()
        }
        .validated()
        .expect("config");
        let db = anju::db::connect(&config).await.expect("connect");
        anju::db::migrate(&db).await.expect("migrate");
        let t = Instant::now();
        let seeded = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM inspection_tasks"))
            .await
            .expect("count")
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        // A kept database (ANJU_BENCH_DIR) is reused as it is.
        let (admin_id, inspector_id) = if seeded > 0 { (1, 3) } else { seed(&db).await };
        println!("seeded {GRIDS} grids, {INSPECTORS} inspectors, {HOUSES} houses, {TASKS} tasks in {:.1} s", t.elapsed().as_secs_f64());
        let inspector = Actor { id: inspector_id, role: Role::Inspector, name: "网格员".into(), village_id: None };
        let admin = Actor { id: admin_id, role: Role::TownAdmin, name: "管理员".into(), village_id: None };
        let mine = TaskFilter { active_only: true, ..Default::default() };
        let overdue = TaskFilter { overdue: true, ..Default::default() };
        let runs = 30;
        let a = time("inspector's task list (page 1 of 20)", runs, || async {
            list(&db, &inspector, &mine, 0, 20, chrono::Utc::now()).await.expect("list").1
        })
        .await;
        let b = time("admin overdue filter (page 1 of 20)", runs, || async {
            list(&db, &admin, &overdue, 0, 20, chrono::Utc::now()).await.expect("list").1
        })
        .await;
        let c = time("admin overdue filter (page 50 of 20)", runs, || async {
            list(&db, &admin, &overdue, 49, 20, chrono::Utc::now()).await.expect("list").1
        })
        .await;
        if std::env::var("ANJU_BENCH_PARTS").is_ok() {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
            let q = || inspection_task::Entity::find()
                .filter(inspection_task::Column::Status.is_in(["open", "in_progress"]))
                .filter(inspection_task::Column::DueAt.lt(Utc::now()));
            time("  count only", runs, || async {
                q().select_only().column_as(inspection_task::Column::Id.count(), "n").into_tuple::<i64>().one(&db).await.unwrap().unwrap() as u64
            }).await;
            time("  page only", runs, || async {
                q().order_by_asc(inspection_task::Column::DueAt).order_by_asc(inspection_task::Column::Id).limit(20).all(&db).await.unwrap().len() as u64
            }).await;
            println!("{}", sea_orm::QueryTrait::build(&q().select_only().column_as(inspection_task::Column::Id.count(), "n"), sea_orm::DbBackend::Sqlite));
        }
        let target = Duration::from_millis(50);
        for (name, d) in [("inspector list", a), ("overdue filter", b), ("overdue filter p50", c)] {
            println!("{name}: {}", if d <= target { "within 50 ms" } else { "OVER 50 ms" });
        }
    });
}
