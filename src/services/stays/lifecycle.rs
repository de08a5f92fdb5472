//! A stay's life after check-in: landlord confirm/reject/check-out, tenant check-out by code,
//! lapse of unconfirmed stays and the retention wipe. Each ending frees the person's open stay.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};

use super::{OPEN, code_hash};
use crate::crypto::pii::PiiCipher;
use crate::domain::event::EventKind;
use crate::domain::role::Role;
use crate::domain::stay::{Lang, StayStatus};
use crate::entities::{permit, property, room, stay};
use crate::error::AppError;
use crate::services::changes::{self, Change};
use crate::services::{Actor, audit};

/// Who may end or confirm a stay: the landlord of its permit.
async fn own_stay<C: ConnectionTrait>(
    tx: &C,
    landlord: &Actor,
    id: i32,
) -> Result<stay::Model, AppError> {
    let s = stay::Entity::find_by_id(id)
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let owner = property::Entity::find_by_id(s.property_id)
        .one(tx)
        .await?
        .map(|p| p.landlord_id);
    if landlord.role != Role::Landlord || owner != Some(landlord.id) {
        return Err(AppError::forbidden());
    }
    Ok(s)
}

/// What a landlord or a tenant may do to a stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Confirm,
    Reject,
    CheckOut,
}

fn next(t: Transition, from: StayStatus) -> Result<StayStatus, AppError> {
    match (t, from) {
        (Transition::Confirm, StayStatus::Pending) => Ok(StayStatus::Active),
        (Transition::Reject, StayStatus::Pending) => Ok(StayStatus::Rejected),
        (Transition::CheckOut, StayStatus::Active | StayStatus::Pending) => {
            Ok(StayStatus::CheckedOut)
        }
        (Transition::Confirm | Transition::Reject, _) => {
            Err(AppError::Conflict("该登记已处理，不能再确认或拒绝".into()))
        }
        (Transition::CheckOut, _) => Err(AppError::Conflict("该登记已结束，无需退租".into())),
    }
}

async fn apply<C: ConnectionTrait>(
    tx: &C,
    s: stay::Model,
    t: Transition,
    by: Option<i32>,
) -> Result<stay::Model, AppError> {
    let from = StayStatus::parse(&s.status).ok_or_else(|| AppError::internal("bad status"))?;
    let to = next(t, from)?;
    if to == StayStatus::Active && s.permit_id.is_none() {
        return Err(AppError::Conflict(
            "该房屋还没有准入证：导入的住户在准入证发放时自动生效".into(),
        ));
    }
    let id = s.id;
    let mut am: stay::ActiveModel = s.into();
    am.status = Set(to.as_str().into());
    if to == StayStatus::Active {
        am.confirmed_at = Set(Some(Utc::now()));
    } else {
        am.open_doc_hash = Set(None);
        am.ended_at = Set(Some(Utc::now()));
        am.ended_by = Set(by);
    }
    let s = am.update(tx).await?;
    if let Some(pid) = s
        .permit_id
        .filter(|_| from == StayStatus::Active || to == StayStatus::Active)
    {
        // The permit's occupants changed: its verification page must count again.
        changes::announce(tx, Change::Permit(pid)).await?;
    }
    let action = match t {
        Transition::Confirm => "stay.confirm",
        Transition::Reject => "stay.reject",
        Transition::CheckOut => "stay.check_out",
    };
    audit::record(
        tx,
        by,
        action,
        "stay",
        id,
        serde_json::json!({"from": from.as_str()}),
    )
    .await?;
    let kind = match to {
        StayStatus::Active => Some(EventKind::StayConfirmed),
        StayStatus::CheckedOut => Some(EventKind::StayCheckedOut),
        _ => None,
    };
    if let (Some(kind), Some(pid)) = (kind, s.permit_id) {
        let p = permit::Entity::find_by_id(pid)
            .one(tx)
            .await?
            .ok_or_else(AppError::not_found)?;
        let label = room::Entity::find_by_id(s.room_id)
            .one(tx)
            .await?
            .map(|r| r.label)
            .unwrap_or_default();
        let ev = super::stay_event(kind, &p, s.id, &label, s.move_in);
        crate::services::events::record(tx, Utc::now(), ev).await?;
    }
    Ok(s)
}

/// The landlord confirms, rejects or checks out one of their tenants.
#[tracing::instrument(level = "debug", skip_all, fields(actor = landlord.id, id = id))]
pub async fn landlord_transition(
    db: &DatabaseConnection,
    landlord: &Actor,
    id: i32,
    t: Transition,
) -> Result<stay::Model, AppError> {
    let tx = crate::db::begin_write(db).await?;
    let s = own_stay(&tx, landlord, id).await?;
    if t == Transition::CheckOut && s.status == StayStatus::Pending.as_str() {
        return Err(AppError::Conflict("待确认的登记请选择“拒绝”".into()));
    }
    let s = apply(&tx, s, t, Some(landlord.id)).await?;
    tx.commit().await?;
    Ok(s)
}

/// The tenant checks out with the code shown at check-in. A wrong code and an unknown stay read
/// the same, so the endpoint does not reveal which stay ids exist.
#[tracing::instrument(level = "debug", skip_all, fields(id = id))]
pub async fn check_out_with_code(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    id: i32,
    code: &str,
    lang: Lang,
) -> Result<stay::Model, AppError> {
    let wrong = || {
        AppError::field(
            "checkout_code",
            lang.t(
                "登记编号或退租码不正确",
                "The stay number or check-out code is wrong",
            ),
        )
    };
    let tx = crate::db::begin_write(db).await?;
    let s = stay::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(wrong)?;
    let given = code_hash(pii, code);
    let same: bool =
        subtle::ConstantTimeEq::ct_eq(given.as_bytes(), s.checkout_code_hash.as_bytes()).into();
    if !same {
        return Err(wrong());
    }
    if !StayStatus::parse(&s.status).is_some_and(StayStatus::is_open) {
        return Err(AppError::Conflict(
            lang.t("该登记已结束，无需再退租", "This stay has already ended")
                .into(),
        ));
    }
    let s = apply(&tx, s, Transition::CheckOut, None).await?;
    tx.commit().await?;
    Ok(s)
}

/// Pending stays older than `hours` lapse and free their slot and the person's open stay.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn lapse_pending(
    db: &DatabaseConnection,
    hours: u32,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let cutoff = now - Duration::hours(i64::from(hours));
    let tx = crate::db::begin_write(db).await?;
    let r = stay::Entity::update_many()
        .col_expr(stay::Column::Status, StayStatus::Lapsed.as_str().into())
        .col_expr(stay::Column::OpenDocHash, Option::<String>::None.into())
        .col_expr(stay::Column::EndedAt, Some(now).into())
        .filter(stay::Column::Status.eq(StayStatus::Pending.as_str()))
        // A stay waiting for its house's permit waits for the permit, not for a landlord.
        .filter(stay::Column::PermitId.is_not_null())
        .filter(stay::Column::CreatedAt.lt(cutoff))
        .exec(&tx)
        .await?;
    if r.rows_affected > 0 {
        audit::record(
            &tx,
            None,
            "stay.lapse",
            "stay",
            "*",
            serde_json::json!({"count": r.rows_affected, "hours": hours}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(r.rows_affected)
}

/// Wipes the personal fields of stays that ended more than `months` ago; the rows stay for counts.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn retention_wipe(
    db: &DatabaseConnection,
    months: u32,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    // Falling back to "now" would wipe every ended stay: refuse instead.
    let cutoff = crate::domain::stay::retention_cutoff(now, months).ok_or_else(|| {
        AppError::internal(format!(
            "retention of {months} months is out of range; nothing wiped"
        ))
    })?;
    let tx = crate::db::begin_write(db).await?;
    let wiped = stay::Entity::find()
        .filter(stay::Column::Status.is_not_in(OPEN))
        .filter(stay::Column::EndedAt.lt(cutoff))
        .filter(stay::Column::WipedAt.is_null());
    crate::services::proofs::revoke_for_retention(&tx, wiped, now).await?;
    let none = || Option::<String>::None;
    let r = stay::Entity::update_many()
        .col_expr(stay::Column::Name, none().into())
        .col_expr(stay::Column::DocNumberEnc, none().into())
        .col_expr(stay::Column::DocHash, none().into())
        .col_expr(stay::Column::DocMasked, none().into())
        .col_expr(stay::Column::PhoneEnc, none().into())
        .col_expr(stay::Column::PhoneMasked, none().into())
        .col_expr(stay::Column::Employer, none().into())
        .col_expr(stay::Column::WipedAt, Some(now).into())
        .filter(stay::Column::Status.is_not_in(OPEN))
        .filter(stay::Column::EndedAt.lt(cutoff))
        .filter(stay::Column::WipedAt.is_null())
        .exec(&tx)
        .await?;
    if r.rows_affected > 0 {
        audit::record(
            &tx,
            None,
            "stay.retention_wipe",
            "stay",
            "*",
            serde_json::json!({"count": r.rows_affected, "months": months}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(r.rows_affected)
}
