//! `anju seed-scale`: a synthetic county for demos and load tests. The demo town comes first (so
//! the demo accounts sign in), then villages of very different sizes, grids, inspectors,
//! landlords, houses with a room, applications, permits, inspections, findings (some overdue,
//! some red houses) and stays over the last year. Rows go in as multi-row inserts with ids
//! assigned here, one transaction per batch; PostgreSQL's sequences are moved past them at the end.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, Statement, TransactionTrait,
};

use crate::domain::role::Role;
use crate::entities::{grid, inspector_grid, property, user, village};
use crate::error::AppError;

mod bulk;
mod houses;
mod stays;

/// The county's shape that the houses are spread over.
struct County {
    villages: Vec<(i32, String, String)>,
    quota: Vec<usize>,
    grids_of: Vec<Vec<i32>>,
    first_landlord: i32,
    landlords: i32,
    admin: i32,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
}

/// The largest id of a table (0 when empty): rows made here take the ids after it.
async fn max_of<C: ConnectionTrait>(db: &C, table: &str) -> Result<i64, AppError> {
    let q = format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}");
    let r = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), q))
        .await?;
    Ok(match r {
        Some(r) => r
            .try_get::<i32>("", "m")
            .map(i64::from)
            .or_else(|_| r.try_get::<i64>("", "m"))?,
        None => 0,
    })
}

/// What was made, for the command's summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Made {
    pub villages: usize,
    pub houses: usize,
    pub stays: usize,
    /// Generating the houses with their rooms, applications, inspections, findings and permits.
    pub houses_seconds: f64,
    /// Houses and stays together.
    pub seconds: f64,
    /// Of those, making the indexes set aside during the load again (SQLite).
    pub index_seconds: f64,
}

/// A small deterministic generator (the same `--seed` makes the same county).
pub(super) struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % std::cmp::max(n, 1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// Rows of one table, flushed as a multi-row insert every `per` rows.
pub(super) struct Batch {
    q: InsertStatement,
    empty: InsertStatement,
    rows: usize,
    per: usize,
}

impl Batch {
    fn new<E: EntityTrait>(cols: Vec<E::Column>) -> Batch {
        let per = (30_000 / cols.len()).max(1);
        let mut q = Query::insert();
        q.into_table(E::default()).columns(cols);
        Batch {
            empty: q.clone(),
            q,
            rows: 0,
            per,
        }
    }
    /// Rows that reference each other's tables are flushed by the caller, in order.
    fn manual(mut self) -> Batch {
        self.per = usize::MAX;
        self
    }
    /// Adds a row (the values in the order of the columns given to `new`).
    fn row(&mut self, values: Vec<Expr>) {
        self.q.values_panic(values);
        self.rows += 1;
    }
    async fn push<C: ConnectionTrait>(
        &mut self,
        db: &C,
        values: Vec<Expr>,
    ) -> Result<(), AppError> {
        self.row(values);
        if self.rows >= self.per {
            self.flush(db).await?;
        }
        Ok(())
    }
    /// The statement inserting the rows so far, built for `backend`, and an empty batch again.
    /// Whether the batch holds as many rows as one statement should.
    fn full(&self) -> bool {
        self.rows >= self.per
    }
    fn take(&mut self, backend: DbBackend) -> Option<Statement> {
        if self.rows == 0 {
            return None;
        }
        let st = backend.build(&self.q);
        self.q = self.empty.clone();
        self.rows = 0;
        Some(st)
    }
    async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> Result<(), AppError> {
        if let Some(st) = self.take(db.get_database_backend()) {
            db.execute_raw(st).await?;
        }
        Ok(())
    }
}

async fn max_id<C: ConnectionTrait, E: EntityTrait>(
    db: &C,
    id: E::Column,
) -> Result<i64, AppError> {
    let q = Query::select()
        .expr_as(Expr::col(id).max(), "m")
        .from(E::default())
        .to_owned();
    Ok(match db.query_one(&q).await? {
        Some(r) => r
            .try_get::<Option<i32>>("", "m")?
            .map(i64::from)
            .unwrap_or(0),
        None => 0,
    })
}

fn v<T: Into<sea_orm::Value>>(x: T) -> Expr {
    Expr::val(x)
}

const SYLLABLES: [&str; 16] = [
    "桃", "柳", "石", "溪", "东", "西", "南", "北", "新", "安", "丰", "竹", "梅", "山", "湖", "塘",
];

/// Fills an empty database (apart from the demo town) with `houses` houses and `stays` stays.
#[tracing::instrument(level = "debug", skip_all, fields(houses, stays, seed))]
pub async fn seed_scale(
    db: &DatabaseConnection,
    houses: usize,
    stays: usize,
    seed: u64,
) -> Result<Made, AppError> {
    if property::Entity::find().count(db).await? > 0 {
        return Err(AppError::Conflict(
            "数据库中已有房屋：seed-scale 只填充空数据库".into(),
        ));
    }
    super::seed::seed_demo(db).await?;
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let now = Utc::now();
    let today = crate::domain::clock::town_date(now);
    let town = super::seed::ensure_town(db, "HJ", "花街镇").await?;
    let admin = user::Entity::find()
        .filter(user::Column::Role.eq(Role::TownAdmin.as_str()))
        .one(db)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| AppError::internal("no admin"))?;
    let hash = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .find(|u| u.role == Role::Landlord.as_str())
        .map(|u| u.password_hash)
        .ok_or_else(|| AppError::internal("no demo landlord"))?;

    // Villages: the demo three, then more until about 4 000 houses per village on average; sizes
    // fall off like a power law, so a few villages are large and many small.
    let mut villages: Vec<(i32, String, String)> = village::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name, v.code))
        .collect();
    let want = (houses / 4000).max(villages.len());
    let tx = db.begin().await?;
    let mut vid = max_id::<_, village::Entity>(&tx, village::Column::Id).await? as i32;
    let mut b = Batch::new::<village::Entity>(vec![
        village::Column::Id,
        village::Column::TownId,
        village::Column::Code,
        village::Column::Name,
        village::Column::CreatedAt,
    ]);
    while villages.len() < want {
        vid += 1;
        let k = villages.len();
        let name = format!(
            "{}{}{}村",
            SYLLABLES[k % 16],
            SYLLABLES[(k / 16 + 3) % 16],
            if k >= 256 {
                (k / 256).to_string()
            } else {
                String::new()
            }
        );
        b.push(
            &tx,
            vec![
                v(vid),
                v(town.id),
                v(format!("S{k:03}")),
                v(name.clone()),
                v(now),
            ],
        )
        .await?;
        villages.push((vid, name, format!("S{k:03}")));
    }
    b.flush(&tx).await?;
    let weights: Vec<f64> = (0..villages.len())
        .map(|k| 1.0 / ((k + 1) as f64).powf(0.8))
        .collect();
    let wsum: f64 = weights.iter().sum();
    let quota: Vec<usize> = weights
        .iter()
        .map(|w| ((w / wsum) * houses as f64).ceil() as usize)
        .collect();

    // Grids: demo villages keep theirs; others get one grid per 400 houses (2 to 12).
    let mut gid = max_id::<_, grid::Entity>(&tx, grid::Column::Id).await? as i32;
    let existing = grid::Entity::find().all(&tx).await?;
    let mut grids_of: Vec<Vec<i32>> = vec![vec![]; villages.len()];
    let mut gb = Batch::new::<grid::Entity>(vec![
        grid::Column::Id,
        grid::Column::VillageId,
        grid::Column::Name,
        grid::Column::CreatedAt,
    ]);
    for (k, (id, name, _)) in villages.iter().enumerate() {
        grids_of[k] = existing
            .iter()
            .filter(|g| g.village_id == *id)
            .map(|g| g.id)
            .collect();
        if grids_of[k].is_empty() {
            for n in 0..(quota[k] / 400).clamp(2, 12) {
                gid += 1;
                gb.push(
                    &tx,
                    vec![v(gid), v(*id), v(format!("{name}第{}网格", n + 1)), v(now)],
                )
                .await?;
                grids_of[k].push(gid);
            }
        }
    }
    gb.flush(&tx).await?;
    // One inspector per new village covering its grids, and landlords (one per five houses).
    let mut uid = max_id::<_, user::Entity>(&tx, user::Column::Id).await? as i32;
    let mut ub = Batch::new::<user::Entity>(vec![
        user::Column::Id,
        user::Column::Role,
        user::Column::Phone,
        user::Column::Name,
        user::Column::PasswordHash,
        user::Column::VillageId,
        user::Column::Active,
        user::Column::CreatedAt,
    ]);
    let mut ig = Batch::new::<inspector_grid::Entity>(vec![
        inspector_grid::Column::UserId,
        inspector_grid::Column::GridId,
    ]);
    for (k, gs) in grids_of.iter().enumerate().skip(3) {
        uid += 1;
        ub.push(
            &tx,
            vec![
                v(uid),
                v(Role::Inspector.as_str()),
                v(format!("1580000{k:04}")),
                v(format!("网格员{k}")),
                v(hash.clone()),
                v(Option::<i32>::None),
                v(true),
                v(now),
            ],
        )
        .await?;
        for g in gs {
            ig.push(&tx, vec![v(uid), v(*g)]).await?;
        }
    }
    let first_landlord = uid + 1;
    let landlords = (houses / 5).max(1) as i32;
    for n in 0..landlords {
        uid += 1;
        ub.push(
            &tx,
            vec![
                v(uid),
                v(Role::Landlord.as_str()),
                v(format!("159{n:08}")),
                v(format!("房东{n}")),
                v(hash.clone()),
                v(Option::<i32>::None),
                v(true),
                v(now),
            ],
        )
        .await?;
    }
    ub.flush(&tx).await?;
    ig.flush(&tx).await?;
    tx.commit().await?;

    // Houses with everything that hangs off them, in batches of 10 000 houses per transaction.
    let county = County {
        villages: villages.clone(),
        quota,
        grids_of,
        first_landlord,
        landlords,
        admin,
        now,
        today,
    };
    let started = std::time::Instant::now();
    // The batches go through their own connection (foreign keys unchecked on SQLite).
    let w = bulk::writer(db).await?;
    let (permitted, made, house_indexing) = houses::generate(&w, county, &mut rng, houses).await?;
    let houses_seconds = started.elapsed().as_secs_f64();

    let (done_stays, stay_indexing) =
        stays::generate(&w, permitted, stays, seed, now, &mut rng).await?;
    drop(w);
    if db.get_database_backend() == DbBackend::Postgres {
        let tables = ["villages", "grids", "users"]
            .into_iter()
            .chain(bulk::HOUSE_TABLES)
            .chain(["stays"]);
        for t in tables {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {t}), 1))"
            ))
            .await?;
        }
        // Freshly bulk-loaded tables have no visibility map yet, so every index-only count
        // would still visit the rows; autovacuum sets it in time, the county gets it now.
        db.execute_unprepared("VACUUM (ANALYZE)").await?;
    }
    Ok(Made {
        villages: villages.len(),
        houses: made,
        stays: done_stays,
        houses_seconds,
        seconds: started.elapsed().as_secs_f64(),
        index_seconds: house_indexing + stay_indexing,
    })
}
