//! Committing a checked import: a background job writes the planned rows in batches, each batch
//! one transaction that also moves the import's `done` mark, so a crash loses at most the batch
//! in flight and the next run starts after the last committed one.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::batch::Batch;
use super::checked::find;
use super::commit_rows::Writer;
use super::dry_run::Planned;
use crate::crypto::pii::PiiCipher;
use crate::domain::clock::town_date;
use crate::domain::import::ImportStatus;
use crate::domain::occupancy::OccupancyRule;
use crate::entities::{import, import_row};
use crate::error::AppError;
use crate::services::{Actor, audit};

/// The scheduler's name for the job.
pub const JOB: &str = "imports";

/// Rows written per transaction.
pub const BATCH: usize = 500;

/// The password hash of an imported landlord (defined with the other account rules).
pub use crate::domain::account::UNCLAIMED;

/// `POST /imports/{id}/commit`: marks a checked import for the job, audited with the file's hash.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id))]
pub async fn start(db: &DatabaseConnection, actor: &Actor, id: i32) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let m = find(&tx, actor, id).await?;
    match ImportStatus::parse(&m.status) {
        Some(ImportStatus::Checked) => {}
        Some(ImportStatus::Running | ImportStatus::Done) => {
            return Err(AppError::Conflict("该导入已提交".into()));
        }
        Some(ImportStatus::Checking) => {
            return Err(AppError::Conflict("该导入还在检查中，请稍候".into()));
        }
        _ => return Err(AppError::Conflict("该导入已失败，请重新上传".into())),
    }
    audit::record(
        &tx,
        Some(actor.id),
        "import.commit",
        "import",
        m.id,
        serde_json::json!({
            "file_sha256": m.file_sha256,
            "create": m.count_create, "update": m.count_update,
            "unchanged": m.count_unchanged, "error": m.count_error,
        }),
    )
    .await?;
    let mut am: import::ActiveModel = m.into();
    am.status = Set(ImportStatus::Running.as_str().into());
    am.update(&tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The job: finishes every running import, oldest first.
pub async fn run(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let running: Vec<i32> = import::Entity::find()
        .select_only()
        .column(import::Column::Id)
        .filter(import::Column::Status.eq(ImportStatus::Running.as_str()))
        .order_by_asc(import::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut rows = 0;
    for id in &running {
        while let Some(n) = run_batch(db, pii, rule, *id, BATCH, now).await? {
            rows += n;
        }
    }
    if rows > 0 {
        crate::db::analyze_after_bulk_load(db, &["users", "properties", "rooms", "stays"]).await?;
    }
    Ok(format!("{} imports, {rows} rows written", running.len()))
}

/// Writes the next `size` rows of one import in one transaction. `None` once nothing is left.
#[tracing::instrument(level = "debug", skip_all, fields(id, size))]
pub async fn run_batch(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    id: i32,
    size: usize,
    now: DateTime<Utc>,
) -> Result<Option<usize>, AppError> {
    let tx = crate::db::begin_write(db).await?;
    let Some(m) = import::Entity::find_by_id(id).one(&tx).await? else {
        return Ok(None);
    };
    if ImportStatus::parse(&m.status) != Some(ImportStatus::Running) {
        return Ok(None);
    }
    let todo: Vec<Planned> = import_row::Entity::find()
        .filter(import_row::Column::ImportId.eq(m.id))
        .filter(import_row::Column::Seq.gte(m.done))
        .order_by_asc(import_row::Column::Seq)
        .limit(size as u64)
        .all(&tx)
        .await?
        .iter()
        .map(|r| Planned::from_json(&r.data))
        .collect::<Result<_, _>>()?;
    let mut batch = Batch::load(&tx, &todo, town_date(now)).await?;
    let w = Writer {
        import: &m,
        pii,
        rule,
        now,
    };
    w.landlords(&tx, &todo, &mut batch).await?;
    for p in &todo {
        match p {
            Planned::House(h) => w.house(&tx, h, &mut batch).await?,
            Planned::Room(r) => {
                // Rooms find the houses written before them.
                w.flush(&tx, &mut batch).await?;
                w.room(&tx, r, &mut batch).await?;
            }
            Planned::Resident(r) => {
                w.flush(&tx, &mut batch).await?;
                w.resident(&tx, r, &mut batch).await?;
            }
        }
    }
    w.flush(&tx, &mut batch).await?;
    audit::record_many(&tx, std::mem::take(&mut batch.audits)).await?;
    let done = m.done + todo.len() as i32;
    let mut am: import::ActiveModel = m.into();
    am.done = Set(done);
    if todo.len() < size || todo.is_empty() {
        am.status = Set(ImportStatus::Done.as_str().into());
    }
    let finished = todo.is_empty();
    am.update(&tx).await?;
    tx.commit().await?;
    Ok((!finished).then_some(todo.len()))
}
