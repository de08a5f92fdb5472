//! Committing a checked import: a background job writes the planned rows in batches, each batch
//! one transaction that also moves the import's `done` mark, so a crash loses at most the batch
//! in flight and the next run starts after the last committed one.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::checked::find;
use super::dry_run::PlannedHouse;
use crate::domain::import::{ImportStatus, address_key};
use crate::domain::role::Role;
use crate::entities::{import, import_row, property, user};
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
pub async fn run(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<String, AppError> {
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
        while let Some(n) = run_batch(db, *id, BATCH, now).await? {
            rows += n;
        }
    }
    Ok(format!("{} imports, {rows} rows written", running.len()))
}

/// Writes the next `size` rows of one import in one transaction. `None` once nothing is left.
#[tracing::instrument(level = "debug", skip_all, fields(id, size))]
pub async fn run_batch(
    db: &DatabaseConnection,
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
    let todo: Vec<PlannedHouse> = import_row::Entity::find()
        .filter(import_row::Column::ImportId.eq(m.id))
        .filter(import_row::Column::Seq.gte(m.done))
        .order_by_asc(import_row::Column::Seq)
        .limit(size as u64)
        .all(&tx)
        .await?
        .iter()
        .map(|r| serde_json::from_str(&r.data).map_err(AppError::internal))
        .collect::<Result<_, _>>()?;
    // The batch's houses, looked up by the addresses the dry run matched (an existing house's own
    // spelling, or the row's for a new one): one query per batch, whatever the register's size.
    let villages: std::collections::BTreeSet<i32> = todo.iter().map(|p| p.village_id).collect();
    let addresses: Vec<String> = todo.iter().map(|p| p.address.clone()).collect();
    let mut houses: HashMap<(i32, String), property::Model> = property::Entity::find()
        .filter(property::Column::VillageId.is_in(villages))
        .filter(property::Column::Address.is_in(addresses))
        .all(&tx)
        .await?
        .into_iter()
        .map(|h| ((h.village_id, address_key(&h.address)), h))
        .collect();
    for p in &todo {
        write_house(&tx, &m, p, &mut houses, now).await?;
    }
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

/// The landlord with this phone, made without a usable password when the register has none;
/// `None` when the phone has meanwhile become a staff account's.
async fn landlord<C: ConnectionTrait>(
    tx: &C,
    p: &PlannedHouse,
    now: DateTime<Utc>,
) -> Result<Option<i32>, AppError> {
    if let Some(u) = user::Entity::find()
        .filter(user::Column::Phone.eq(p.landlord_phone.as_str()))
        .one(tx)
        .await?
    {
        return Ok((Role::parse(&u.role) == Some(Role::Landlord)).then_some(u.id));
    }
    let u = user::ActiveModel {
        role: Set(Role::Landlord.as_str().into()),
        phone: Set(p.landlord_phone.clone()),
        name: Set(p.landlord_name.clone()),
        password_hash: Set(UNCLAIMED.into()),
        village_id: Set(None),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(Some(u.id))
}

/// One planned row, matched again inside the transaction: the register may have moved since the
/// dry run, and a house now held by someone else is left alone and the audit says why.
async fn write_house<C: ConnectionTrait>(
    tx: &C,
    m: &import::Model,
    p: &PlannedHouse,
    houses: &mut HashMap<(i32, String), property::Model>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(landlord_id) = landlord(tx, p, now).await? else {
        return audit::record(
            tx,
            Some(m.created_by),
            "import.row_skipped",
            "import",
            m.id,
            serde_json::json!({"row": p.row, "reason": "phone of a staff account"}),
        )
        .await;
    };
    let key = (p.village_id, address_key(&p.address));
    let existing = houses.get(&key).cloned();
    let (action, pid) = match existing {
        Some(h) if h.landlord_id != landlord_id => ("import.row_skipped", h.id),
        Some(h) => {
            let pid = h.id;
            let mut am: property::ActiveModel = h.into();
            am.grid_id = Set(p.grid_id);
            am.floors = Set(p.floors);
            am.structure = Set(p.structure.clone());
            am.updated_at = Set(now);
            houses.insert(key, am.update(tx).await?);
            ("import.property_update", pid)
        }
        None => {
            let h = property::ActiveModel {
                landlord_id: Set(landlord_id),
                village_id: Set(p.village_id),
                grid_id: Set(p.grid_id),
                address: Set(p.address.clone()),
                floors: Set(p.floors),
                structure: Set(p.structure.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                grade: Set(None),
                next_patrol_at: Set(None),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            let id = h.id;
            houses.insert(key, h);
            ("import.property_create", id)
        }
    };
    audit::record(
        tx,
        Some(m.created_by),
        action,
        "property",
        pid,
        serde_json::json!({"import": m.id, "row": p.row, "file_sha256": m.file_sha256}),
    )
    .await
}
