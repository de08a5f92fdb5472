//! Events that time makes: a finding due within two days, a finding past its deadline, a check-in
//! waiting 24 hours for its landlord. Each is recorded once per subject (the event's dedupe key),
//! however often the job runs and on however many instances.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{NewEvent, house_facts, record_once, town_day};
use crate::domain::event::EventKind;
use crate::domain::inspection::finding_status;
use crate::domain::stay::StayStatus;
use crate::entities::{finding, permit, room, stay};
use crate::error::AppError;

pub const JOB: &str = "outbox_deadlines";
/// A finding is "due soon" this long before its deadline.
pub const DUE_SOON: Duration = Duration::days(2);
/// A check-in is reported as waiting too long after this.
pub const PENDING_TOO_LONG: Duration = Duration::hours(24);
const BATCH: u64 = 200;

/// One run at `now`. Returns a summary line.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<String, AppError> {
    let soon = findings(db, now, EventKind::FindingDueSoon).await?;
    let overdue = findings(db, now, EventKind::FindingOverdue).await?;
    let waiting = pending_stays(db, now).await?;
    Ok(format!(
        "{soon} 项隐患即将到期，{overdue} 项隐患逾期，{waiting} 条入住登记超过24小时未确认"
    ))
}

/// Open findings due soon (or overdue) that have no such event yet, a batch per transaction.
async fn findings(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    kind: EventKind,
) -> Result<usize, AppError> {
    let mut after = 0;
    let mut made = 0;
    loop {
        let q = finding::Entity::find()
            .filter(finding::Column::Status.eq(finding_status::OPEN))
            .filter(finding::Column::Id.gt(after));
        let q = match kind {
            // The same test as the overdue lists: open and past the deadline.
            EventKind::FindingOverdue => q.filter(finding::Column::DeadlineAt.lt(now)),
            _ => q
                .filter(finding::Column::DeadlineAt.gte(now))
                .filter(finding::Column::DeadlineAt.lte(now + DUE_SOON)),
        };
        let batch = q
            .order_by_asc(finding::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(made);
        };
        after = last.id;
        let batch = not_yet(db, kind, batch, |f| f.id).await?;
        let tx = crate::db::begin_write(db).await?;
        for f in batch {
            let house = house_facts(&tx, f.property_id).await?;
            let deadline = f.deadline_at.map(town_day).unwrap_or_default();
            let data = serde_json::json!({"finding_id": f.id, "inspection_id": f.inspection_id,
                "property_id": f.property_id, "address": house.address, "village": house.village,
                "item": f.item_key, "severity": f.severity, "deadline": deadline});
            let ev =
                NewEvent::about(kind, &house, data).once(format!("{}:{}", kind.as_str(), f.id));
            if record_once(&tx, now, ev).await?.is_some() {
                made += 1;
            }
        }
        tx.commit().await?;
    }
}

/// Check-ins still pending after 24 hours, once each.
async fn pending_stays(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut after = 0;
    let mut made = 0;
    loop {
        let batch = stay::Entity::find()
            .filter(stay::Column::Status.eq(StayStatus::Pending.as_str()))
            .filter(stay::Column::PermitId.is_not_null())
            .filter(stay::Column::CreatedAt.lt(now - PENDING_TOO_LONG))
            .filter(stay::Column::Id.gt(after))
            .order_by_asc(stay::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(made);
        };
        after = last.id;
        let batch = not_yet(db, EventKind::StayPendingOverdue, batch, |s| s.id).await?;
        let tx = crate::db::begin_write(db).await?;
        for s in batch {
            let Some(pid) = s.permit_id else { continue };
            let Some(p) = permit::Entity::find_by_id(pid).one(&tx).await? else {
                continue;
            };
            let label = room::Entity::find_by_id(s.room_id)
                .one(&tx)
                .await?
                .map(|r| r.label)
                .unwrap_or_default();
            let ev = crate::services::stays::stay_event(
                EventKind::StayPendingOverdue,
                &p,
                s.id,
                &label,
                s.move_in,
            )
            .once(format!("stay.pending_overdue:{}", s.id));
            if record_once(&tx, now, ev).await?.is_some() {
                made += 1;
            }
        }
        tx.commit().await?;
    }
}

/// The subjects of `batch` that have no `kind` event yet: one look-up per batch, so a county's
/// many long-overdue findings cost a read each run, not a write.
async fn not_yet<T>(
    db: &DatabaseConnection,
    kind: EventKind,
    batch: Vec<T>,
    id: impl Fn(&T) -> i32,
) -> Result<Vec<T>, AppError> {
    let key = |t: &T| format!("{}:{}", kind.as_str(), id(t));
    let keys: Vec<String> = batch.iter().map(key).collect();
    let done: std::collections::HashSet<String> = crate::entities::event::Entity::find()
        .select_only()
        .column(crate::entities::event::Column::DedupeKey)
        .filter(crate::entities::event::Column::DedupeKey.is_in(keys))
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    Ok(batch
        .into_iter()
        .filter(|t| !done.contains(&key(t)))
        .collect())
}
