//! `anju seed-scale`: a synthetic county for demos and load tests. The demo town comes first (so
//! the demo accounts sign in), then villages of very different sizes, grids, inspectors,
//! landlords, houses with a room, applications, permits, inspections, findings (some overdue,
//! some red houses) and stays over the last year. Rows go in as multi-row inserts with ids
//! assigned here, one transaction per batch; PostgreSQL's sequences are moved past them at the end.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, Statement, TransactionTrait,
};

use crate::domain::application::ApplicationStatus as A;
use crate::domain::inspection::{TaskStatus, finding_status};
use crate::domain::permit::PermitStatus as P;
use crate::domain::role::Role;
use crate::domain::stay::StayStatus as S;
use crate::entities::{
    application, finding, grid, inspection, inspection_task as task, inspector_grid, permit,
    property, room, stay, user, village,
};
use crate::error::AppError;

/// What was made, for the command's summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Made {
    pub villages: usize,
    pub houses: usize,
    pub stays: usize,
}

/// A small deterministic generator (the same `--seed` makes the same county).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
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
struct Batch {
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
        Batch { empty: q.clone(), q, rows: 0, per }
    }
    /// Rows that reference each other's tables are flushed by the caller, in order.
    fn manual(mut self) -> Batch {
        self.per = usize::MAX;
        self
    }
    async fn push<C: ConnectionTrait>(&mut self, db: &C, values: Vec<Expr>) -> Result<(), AppError> {
        self.q.values_panic(values);
        self.rows += 1;
        if self.rows >= self.per {
            self.flush(db).await?;
        }
        Ok(())
    }
    async fn flush<C: ConnectionTrait>(&mut self, db: &C) -> Result<(), AppError> {
        if self.rows > 0 {
            db.execute(&self.q).await?;
            self.q = self.empty.clone();
            self.rows = 0;
        }
        Ok(())
    }
}

async fn max_id<C: ConnectionTrait, E: EntityTrait>(db: &C, id: E::Column) -> Result<i64, AppError> {
    let q = Query::select().expr_as(Expr::col(id).max(), "m").from(E::default()).to_owned();
    Ok(match db.query_one(&q).await? {
        Some(r) => r.try_get::<Option<i32>>("", "m")?.map(i64::from).unwrap_or(0),
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
pub async fn seed_scale(db: &DatabaseConnection, houses: usize, stays: usize, seed: u64) -> Result<Made, AppError> {
    if property::Entity::find().count(db).await? > 0 {
        return Err(AppError::Conflict("数据库中已有房屋：seed-scale 只填充空数据库".into()));
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
    let mut villages: Vec<(i32, String)> = village::Entity::find().all(db).await?.into_iter().map(|v| (v.id, v.name)).collect();
    let want = (houses / 4000).max(villages.len());
    let tx = db.begin().await?;
    let mut vid = max_id::<_, village::Entity>(&tx, village::Column::Id).await? as i32;
    let mut b = Batch::new::<village::Entity>(vec![village::Column::Id, village::Column::TownId, village::Column::Code, village::Column::Name, village::Column::CreatedAt]);
    while villages.len() < want {
        vid += 1;
        let k = villages.len();
        let name = format!("{}{}{}村", SYLLABLES[k % 16], SYLLABLES[(k / 16 + 3) % 16], if k >= 256 { (k / 256).to_string() } else { String::new() });
        b.push(&tx, vec![v(vid), v(town.id), v(format!("S{k:03}")), v(name.clone()), v(now)]).await?;
        villages.push((vid, name));
    }
    b.flush(&tx).await?;
    let weights: Vec<f64> = (0..villages.len()).map(|k| 1.0 / ((k + 1) as f64).powf(0.8)).collect();
    let wsum: f64 = weights.iter().sum();
    let quota: Vec<usize> = weights.iter().map(|w| ((w / wsum) * houses as f64).ceil() as usize).collect();

    // Grids: demo villages keep theirs; others get one grid per 400 houses (2 to 12).
    let mut gid = max_id::<_, grid::Entity>(&tx, grid::Column::Id).await? as i32;
    let existing = grid::Entity::find().all(&tx).await?;
    let mut grids_of: Vec<Vec<i32>> = vec![vec![]; villages.len()];
    let mut gb = Batch::new::<grid::Entity>(vec![grid::Column::Id, grid::Column::VillageId, grid::Column::Name, grid::Column::CreatedAt]);
    for (k, (id, name)) in villages.iter().enumerate() {
        grids_of[k] = existing.iter().filter(|g| g.village_id == *id).map(|g| g.id).collect();
        if grids_of[k].is_empty() {
            for n in 0..(quota[k] / 400).clamp(2, 12) {
                gid += 1;
                gb.push(&tx, vec![v(gid), v(*id), v(format!("{name}第{}网格", n + 1)), v(now)]).await?;
                grids_of[k].push(gid);
            }
        }
    }
    gb.flush(&tx).await?;
    // One inspector per new village covering its grids, and landlords (one per five houses).
    let mut uid = max_id::<_, user::Entity>(&tx, user::Column::Id).await? as i32;
    let mut ub = Batch::new::<user::Entity>(vec![user::Column::Id, user::Column::Role, user::Column::Phone, user::Column::Name, user::Column::PasswordHash, user::Column::VillageId, user::Column::Active, user::Column::CreatedAt]);
    let mut ig = Batch::new::<inspector_grid::Entity>(vec![inspector_grid::Column::UserId, inspector_grid::Column::GridId]);
    for (k, gs) in grids_of.iter().enumerate().skip(3) {
        uid += 1;
        ub.push(&tx, vec![v(uid), v(Role::Inspector.as_str()), v(format!("1580000{k:04}")), v(format!("网格员{k}")), v(hash.clone()), v(Option::<i32>::None), v(true), v(now)]).await?;
        for g in gs {
            ig.push(&tx, vec![v(uid), v(*g)]).await?;
        }
    }
    let first_landlord = uid + 1;
    let landlords = (houses / 5).max(1) as i32;
    for n in 0..landlords {
        uid += 1;
        ub.push(&tx, vec![v(uid), v(Role::Landlord.as_str()), v(format!("159{n:08}")), v(format!("房东{n}")), v(hash.clone()), v(Option::<i32>::None), v(true), v(now)]).await?;
    }
    ub.flush(&tx).await?;
    ig.flush(&tx).await?;
    tx.commit().await?;

    // Houses with everything that hangs off them, in batches of 10 000 houses per transaction.
    let base = |t: &str| format!("SELECT COALESCE(MAX(id), 0) AS m FROM {t}");
    let start = |t: &'static str| {
        let q = base(t);
        async move {
            let r = db.query_one_raw(Statement::from_string(db.get_database_backend(), q)).await?;
            Ok::<i64, AppError>(match r {
                Some(r) => r.try_get::<i32>("", "m").map(i64::from).or_else(|_| r.try_get::<i64>("", "m"))?,
                None => 0,
            })
        }
    };
    let (mut hid, mut aid, mut pid, mut tid, mut iid, mut fid) = (
        start("properties").await? as i32, start("applications").await? as i32, start("permits").await? as i32,
        start("inspection_tasks").await? as i32, start("inspections").await? as i32, start("findings").await? as i32,
    );
    let mut permitted: Vec<(i32, i32, i32, i32)> = Vec::with_capacity(houses); // permit, house, room, village
    let mut k = 0usize;
    let mut left_in_village = quota[0];
    let mut made = 0usize;
    while made < houses {
        let tx = db.begin().await?;
        let mut hb = Batch::manual(Batch::new::<property::Entity>(vec![property::Column::Id, property::Column::LandlordId, property::Column::VillageId, property::Column::GridId, property::Column::Address, property::Column::Floors, property::Column::Structure, property::Column::CreatedAt, property::Column::UpdatedAt, property::Column::Grade]));
        let mut rb = Batch::manual(Batch::new::<room::Entity>(vec![room::Column::Id, room::Column::PropertyId, room::Column::Label, room::Column::Floor, room::Column::AreaM2, room::Column::Kind]));
        let mut ab = Batch::manual(Batch::new::<application::Entity>(vec![application::Column::Id, application::Column::PropertyId, application::Column::LandlordId, application::Column::VillageId, application::Column::Status, application::Column::SubmittedAt, application::Column::CreatedAt, application::Column::UpdatedAt]));
        let mut pb = Batch::manual(Batch::new::<permit::Entity>(vec![permit::Column::Id, permit::Column::Number, permit::Column::ApplicationId, permit::Column::PropertyId, permit::Column::VillageId, permit::Column::LandlordId, permit::Column::Status, permit::Column::ValidFrom, permit::Column::ValidUntil, permit::Column::MaxOccupants, permit::Column::Grade, permit::Column::Signature, permit::Column::IssuedAt, permit::Column::IssuedBy]));
        let mut tb = Batch::manual(Batch::new::<task::Entity>(vec![task::Column::Id, task::Column::Kind, task::Column::Status, task::Column::PropertyId, task::Column::ApplicationId, task::Column::GridId, task::Column::DueAt, task::Column::ChecklistKey, task::Column::CreatedAt, task::Column::CompletedAt]));
        let mut ib = Batch::manual(Batch::new::<inspection::Entity>(vec![inspection::Column::Id, inspection::Column::TaskId, inspection::Column::SubmissionId, inspection::Column::InspectorId, inspection::Column::PropertyId, inspection::Column::ApplicationId, inspection::Column::ChecklistKey, inspection::Column::ChecklistVersion, inspection::Column::ChecklistHash, inspection::Column::Outcome, inspection::Column::Grade, inspection::Column::Answers, inspection::Column::CreatedAt]));
        let mut fb = Batch::manual(Batch::new::<finding::Entity>(vec![finding::Column::Id, finding::Column::InspectionId, finding::Column::PropertyId, finding::Column::ApplicationId, finding::Column::ItemKey, finding::Column::Severity, finding::Column::Status, finding::Column::DeadlineAt, finding::Column::PhotoIds, finding::Column::ClosedAt, finding::Column::CreatedAt]));
        for n in 0..std::cmp::min(10_000, houses - made) {
            if n % 1000 == 999 {
                // 1 000 houses' rows stay under SQLite's 32 766 bound values per statement.
                for b in [&mut hb, &mut rb, &mut ab, &mut pb, &mut tb, &mut ib, &mut fb] {
                    b.flush(&tx).await?;
                }
            }
            while left_in_village == 0 && k + 1 < villages.len() {
                k += 1;
                left_in_village = quota[k];
            }
            left_in_village = left_in_village.saturating_sub(1);
            let (village_id, vname) = (&villages[k].0, &villages[k].1);
            let gs = &grids_of[k];
            let grid_id = gs[rng.below(gs.len() as u64) as usize];
            hid += 1;
            made += 1;
            let landlord = first_landlord + rng.below(landlords as u64) as i32;
            let created: DateTime<Utc> = now - Duration::minutes(rng.below(365 * 24 * 60) as i64 + 60 * 24 * 3);
            let g = match rng.below(1000) { 0..=749 => "green", 750..=919 => "yellow", _ => "red" };
            hb.push(&tx, vec![v(hid), v(landlord), v(*village_id), v(grid_id), v(format!("{vname}{}号", hid)), v(2 + rng.below(3) as i32), v("brick_concrete"), v(created), v(created), v(g)]).await?;
            let room_id = hid; // one room per house, same id
            rb.push(&tx, vec![v(room_id), v(hid), v("101"), v(1), v(20.0f64), v("bedroom")]).await?;
            aid += 1;
            let status = match rng.below(1000) { 0..=899 => A::Approved, 900..=929 => A::Submitted, 930..=949 => A::Inspecting, 950..=979 => A::Rectifying, 980..=989 => A::Passed, _ => A::Draft };
            let submitted = created + Duration::hours(2);
            ab.push(&tx, vec![v(aid), v(hid), v(landlord), v(*village_id), v(status.as_str()), v(Some(submitted)), v(created), v(submitted)]).await?;
            // The initial inspection, done two days after submission (or still open).
            tid += 1;
            let done = status != A::Submitted && status != A::Draft;
            let due = submitted + Duration::days(3);
            let open_due = now + Duration::hours(rng.below(24 * 10) as i64) - Duration::days(3);
            tb.push(&tx, vec![v(tid), v("initial"), v(if done { TaskStatus::Done } else { TaskStatus::Open }.as_str()), v(hid), v(Some(aid)), v(grid_id), v(if done { due } else { open_due }), v("rental-safety"), v(submitted), v(if done { Some(submitted + Duration::days(2)) } else { None })]).await?;
            if done {
                iid += 1;
                let at = submitted + Duration::days(2);
                ib.push(&tx, vec![v(iid), v(tid), v(format!("seed-{iid}")), v(admin), v(hid), v(Some(aid)), v("rental-safety"), v(1), v("seed"), v(if g == "green" { "passed" } else { "failed" }), v(g), v("[]"), v(at)]).await?;
                if g != "green" {
                    fid += 1;
                    let (sev, deadline) = if g == "red" { ("critical", None) } else { ("major", Some(now + Duration::days(rng.below(17) as i64 - 10))) };
                    fb.push(&tx, vec![v(fid), v(iid), v(hid), v(Some(aid)), v("wiring.conduit"), v(sev), v(finding_status::OPEN), v(deadline), v("[]"), v(Option::<DateTime<Utc>>::None), v(at)]).await?;
                }
                if rng.chance(150) {
                    fid += 1;
                    let closed = at + Duration::days(1 + rng.below(20) as i64);
                    let closed = std::cmp::min(closed, now);
                    fb.push(&tx, vec![v(fid), v(iid), v(hid), v(Some(aid)), v("clutter.no_combustibles"), v("major"), v(finding_status::CLOSED), v(Some(at + Duration::days(7))), v("[]"), v(Some(closed)), v(at)]).await?;
                }
            }
            if rng.chance(40) {
                // A routine patrol, a third of them overdue.
                tid += 1;
                tb.push(&tx, vec![v(tid), v("routine"), v(TaskStatus::Open.as_str()), v(hid), v(Option::<i32>::None), v(grid_id), v(now + Duration::hours(rng.below(24 * 20) as i64) - Duration::days(6)), v("rental-safety"), v(now - Duration::days(10)), v(Option::<DateTime<Utc>>::None)]).await?;
            }
            if status == A::Approved {
                pid += 1;
                let issued = submitted + Duration::days(4);
                let (st, until) = match rng.below(1000) {
                    0..=919 => (P::Active, today + Duration::days(1 + rng.below(730) as i64)),
                    920..=949 => (P::Suspended, today + Duration::days(60)),
                    950..=969 => (P::Revoked, today + Duration::days(60)),
                    _ => (P::Expired, today - Duration::days(1 + rng.below(90) as i64)),
                };
                pb.push(&tx, vec![v(pid), v(format!("SC{:08}", pid)), v(aid), v(hid), v(*village_id), v(landlord), v(st.as_str()), v(until - Duration::days(730)), v(until), v(2), v(g), v("seed"), v(issued), v(admin)]).await?;
                if st == P::Active {
                    permitted.push((pid, hid, room_id, *village_id));
                }
            }
        }
        for b in [&mut hb, &mut rb, &mut ab, &mut pb, &mut tb, &mut ib, &mut fb] {
            b.flush(&tx).await?;
        }
        tx.commit().await?;
    }

    // Stays over the last year on active permits: most ended, some living there now, a few pending.
    let mut sid = start("stays").await? as i32;
    let mut done_stays = 0usize;
    while done_stays < stays && !permitted.is_empty() {
        let tx = db.begin().await?;
        let mut sb = Batch::new::<stay::Entity>(vec![stay::Column::Id, stay::Column::PermitId, stay::Column::PropertyId, stay::Column::RoomId, stay::Column::Status, stay::Column::Name, stay::Column::DocType, stay::Column::DocHash, stay::Column::DocMasked, stay::Column::OpenDocHash, stay::Column::MoveIn, stay::Column::CheckoutCodeHash, stay::Column::CreatedAt, stay::Column::ConfirmedAt, stay::Column::EndedAt]);
        for _ in 0..std::cmp::min(20_000, stays - done_stays) {
            sid += 1;
            done_stays += 1;
            let (permit_id, house, room_id, _) = permitted[rng.below(permitted.len() as u64) as usize];
            let created = now - Duration::minutes(rng.below(365 * 24 * 60) as i64);
            let length = Duration::days(7 + rng.below(300) as i64);
            let (status, confirmed, ended) = if rng.chance(5) && now - created < Duration::days(2) || rng.chance(2) {
                (S::Pending, None, None)
            } else if created + length < now {
                (S::CheckedOut, Some(created + Duration::hours(3)), Some(created + length))
            } else {
                (S::Active, Some(created + Duration::hours(3)), None)
            };
            let doc = format!("{:064x}", (seed as u128) << 64 | sid as u128);
            let open = status.is_open().then(|| doc.clone());
            sb.push(&tx, vec![v(sid), v(permit_id), v(house), v(room_id), v(status.as_str()), v(Some(format!("住户{sid}"))), v("resident_id"), v(Some(doc)), v(Some("3301**********0000".to_string())), v(open), v(crate::domain::clock::town_date(created)), v("seed"), v(created), v(confirmed), v(ended)]).await?;
        }
        sb.flush(&tx).await?;
        tx.commit().await?;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        for t in ["villages", "grids", "users", "properties", "rooms", "applications", "permits", "inspection_tasks", "inspections", "findings", "stays"] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {t}), 1))"
            ))
            .await?;
        }
    }
    Ok(Made { villages: villages.len(), houses: made, stays: done_stays })
}
