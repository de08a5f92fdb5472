//! Permit expiry and renewal: the scheduler marks lapsed permits expired and reminds landlords
//! 30 days ahead; a landlord renews by starting a new application linked to the old permit.
use chrono::{Days, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::applications::add_event;
use super::permits::permit_for_change;
use super::{Actor, audit};
use crate::domain::application::ApplicationStatus;
use crate::domain::dates::zh_date;
use crate::domain::event::EventKind;
use crate::domain::permit::{PermitAction, PermitStatus};
use crate::domain::role::Role;
use crate::entities::{application, permit};
use crate::error::AppError;

/// How long before the last valid day the landlord is reminded.
pub const REMINDER_DAYS: u64 = 30;
/// Permits handled per transaction, so one run never holds the write lock for long.
const BATCH: u64 = 200;

/// One run of the `permit_expiry` job as of `today` (China time). Returns a summary line.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run(db: &DatabaseConnection, today: NaiveDate) -> Result<String, AppError> {
    let mut expired = 0usize;
    loop {
        let tx = crate::db::begin_write(db).await?;
        let batch = permit::Entity::find()
            .filter(permit::Column::Status.is_in([
                PermitStatus::Active.as_str(),
                PermitStatus::Suspended.as_str(),
            ]))
            .filter(permit::Column::ValidUntil.lt(today))
            .limit(BATCH)
            .all(&tx)
            .await?;
        if batch.is_empty() {
            break;
        }
        for p in batch {
            let (id, number, landlord) = (p.id, p.number.clone(), p.landlord_id);
            let from = p.status.clone();
            let mut am: permit::ActiveModel = p.into();
            am.status = Set(PermitStatus::Expired.as_str().into());
            am.status_changed_at = Set(Some(Utc::now()));
            am.status_reason = Set(Some("有效期届满".into()));
            am.update(&tx).await?;
            super::notifications::notify(
                &tx,
                landlord,
                "permit.expired",
                &format!("准入证 {number} 已过期"),
                "准入证有效期已届满，房屋不能再登记新租客。请尽快申请续期。",
                Some(&format!("/landlord/permits/{number}")),
            )
            .await?;
            audit::record(
                &tx,
                None,
                &format!("permit.{}", PermitAction::Expire.as_str()),
                "permit",
                id,
                serde_json::json!({"number": number, "from": from, "to": PermitStatus::Expired.as_str()}),
            )
            .await?;
            expired += 1;
        }
        tx.commit().await?;
    }

    let horizon = today
        .checked_add_days(Days::new(REMINDER_DAYS))
        .unwrap_or(today);
    let mut reminded = 0usize;
    loop {
        let tx = crate::db::begin_write(db).await?;
        let batch = permit::Entity::find()
            .filter(permit::Column::Status.eq(PermitStatus::Active.as_str()))
            .filter(permit::Column::ValidUntil.gte(today))
            .filter(permit::Column::ValidUntil.lte(horizon))
            .filter(permit::Column::ExpiryRemindedAt.is_null())
            .filter(permit::Column::RenewedByApplicationId.is_null())
            .limit(BATCH)
            .all(&tx)
            .await?;
        if batch.is_empty() {
            break;
        }
        for p in batch {
            let (id, number, property_id, until) =
                (p.id, p.number.clone(), p.property_id, p.valid_until);
            let mut am: permit::ActiveModel = p.into();
            am.expiry_reminded_at = Set(Some(Utc::now()));
            am.update(&tx).await?;
            let house = super::events::house_facts(&tx, property_id).await?;
            let data = serde_json::json!({"permit_id": id, "permit_number": number, "property_id": property_id,
                "address": house.address, "village": house.village, "village_id": house.village_id,
                "valid_until": until, "valid_until_zh": zh_date(&until)});
            let ev = super::events::NewEvent::about(EventKind::PermitExpiring, &house, data)
                .once(format!("permit.expiring:{id}:{until}"));
            if super::events::record_once(&tx, Utc::now(), ev)
                .await?
                .is_some()
            {
                reminded += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(format!(
        "{expired} 张准入证已过期，{reminded} 张发出到期提醒"
    ))
}

/// Starts a renewal: a new draft application for the same house, linked to the old permit.
/// Returns the new application's id.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn start_renewal(
    db: &DatabaseConnection,
    actor: &Actor,
    number: &str,
) -> Result<i32, AppError> {
    if actor.role != Role::Landlord {
        return Err(AppError::Forbidden("只有房东可以申请续期".into()));
    }
    let tx = crate::db::begin_write(db).await?;
    let p = permit_for_change(&tx, number).await?;
    if p.landlord_id != actor.id {
        return Err(AppError::forbidden());
    }
    if PermitStatus::parse(&p.status) == Some(PermitStatus::Revoked) {
        return Err(AppError::Conflict(
            "已吊销的准入证不能续期，请重新申请".into(),
        ));
    }
    if let Some(existing) = p.renewed_by_application_id {
        return Err(AppError::Conflict(format!(
            "已在办理续期（申请 #{existing}）"
        )));
    }
    let open = application::Entity::find()
        .filter(application::Column::PropertyId.eq(p.property_id))
        .filter(application::Column::Status.is_in(ApplicationStatus::OPEN.map(|s| s.as_str())))
        .one(&tx)
        .await?;
    if let Some(open) = open {
        return Err(AppError::Conflict(format!(
            "该房屋已有办理中的申请（编号 {}），请勿重复申请",
            open.id
        )));
    }
    let now = Utc::now();
    let a = application::ActiveModel {
        property_id: Set(p.property_id),
        landlord_id: Set(actor.id),
        village_id: Set(p.village_id),
        status: Set(ApplicationStatus::Draft.as_str().into()),
        renewal_of_permit_id: Set(Some(p.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(super::applications::one_open_per_house)?;
    add_event(
        &tx,
        a.id,
        ApplicationStatus::Draft,
        Some(actor.id),
        Some(format!("续期申请，原准入证 {}", p.number)),
    )
    .await?;
    super::application_drafts::prefill(&tx, &a).await?;
    let (pid, pnum) = (p.id, p.number.clone());
    let mut am: permit::ActiveModel = p.into();
    am.renewed_by_application_id = Set(Some(a.id));
    am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "permit.renew",
        "permit",
        pid,
        serde_json::json!({"number": pnum, "application_id": a.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(a.id)
}
