//! Permits: approval (issuing the number, occupancy, grade, signature in one transaction),
//! rejection, suspension, reinstatement, revocation and renewal.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Set, Statement,
};

use super::applications::add_event;
use super::{Actor, audit};
use crate::AppState;
use crate::crypto::signing::PermitSigningFields;
use crate::db::WriteTx;
use crate::domain::application::ApplicationStatus;
use crate::domain::clock::town_date;
use crate::domain::event::EventKind;
use crate::domain::fields::FieldErrors;
use crate::domain::grade::Grade;
use crate::domain::occupancy::{self, OccupancyRule, RoomKind};
use crate::domain::permit::{self, PermitAction, PermitStatus};
use crate::domain::permit_number::format_permit_number;
use crate::domain::role::Role;
use crate::entities::{application, permit as permit_e, property, room, town, user, village};
use crate::error::AppError;

/// The checklist whose `occupancy` section sets the per-person area and per-room cap.
pub const CHECKLIST_KEY: &str = "rental-safety";

/// What the official decides on the approval form, already parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Approval {
    pub valid_months: u32,
    pub official_cap: Option<u32>,
}

impl Approval {
    /// Parses the approval form (API body or HTML form alike): validity in months (the town's
    /// default when empty) and an optional cap on occupants.
    pub fn parse(
        valid_months: &str,
        cap: &str,
        default_months: u32,
    ) -> Result<Approval, FieldErrors> {
        let mut e = FieldErrors::new();
        let months = permit::parse_valid_months(valid_months, default_months)
            .map_err(|m| e.add("valid_months", m))
            .ok();
        let cap = permit::parse_official_cap(cap)
            .map_err(|m| e.add("max_occupants", m))
            .ok();
        match (months, cap) {
            (Some(valid_months), Some(official_cap)) if e.is_empty() => Ok(Approval {
                valid_months,
                official_cap,
            }),
            _ => Err(e),
        }
    }
}

impl Default for Approval {
    fn default() -> Self {
        Approval {
            valid_months: permit::DEFAULT_VALID_MONTHS,
            official_cap: None,
        }
    }
}

/// The occupancy rule of the current checklist; the domain default when no checklist is loaded.
pub fn occupancy_rule(st: &AppState) -> OccupancyRule {
    st.checklists
        .current(CHECKLIST_KEY)
        .map(|c| c.occupancy.rule())
        .unwrap_or_default()
}

/// Takes the next sequence number of a village's year in one statement. Concurrent approvals
/// queue on the row (PostgreSQL's upsert takes the row lock; SQLite serialises writers), so
/// two permits never share a number; a rolled-back approval leaves a gap, which is allowed.
async fn next_sequence(tx: &WriteTx, village_id: i32, year: i32) -> Result<u32, AppError> {
    let backend = tx.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO permit_sequences (village_id, year, next_seq) VALUES ($1, $2, 2) \
             ON CONFLICT (village_id, year) DO UPDATE SET next_seq = permit_sequences.next_seq + 1 \
             RETURNING next_seq - 1 AS seq"
        }
        _ => {
            "INSERT INTO permit_sequences (village_id, year, next_seq) VALUES (?, ?, 2) \
             ON CONFLICT (village_id, year) DO UPDATE SET next_seq = permit_sequences.next_seq + 1 \
             RETURNING next_seq - 1 AS seq"
        }
    };
    let row = tx
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [village_id.into(), year.into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal("permit sequence returned no row"))?;
    let seq: i64 = row
        .try_get::<i64>("", "seq")
        .or_else(|_| row.try_get::<i32>("", "seq").map(i64::from))?;
    u32::try_from(seq).map_err(|_| AppError::internal("permit sequence out of range"))
}

/// The official of the application's village, or 403.
fn ensure_official_of(actor: &Actor, village_id: i32) -> Result<(), AppError> {
    if actor.role == Role::VillageOfficial && actor.village_id == Some(village_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden("只有本村的村干部可以办理".into()))
    }
}

async fn passed_application_for_decision(
    tx: &WriteTx,
    actor: &Actor,
    id: i32,
) -> Result<application::Model, AppError> {
    let a = application::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    ensure_official_of(actor, a.village_id)?;
    if a.status != ApplicationStatus::Passed.as_str() {
        let label = crate::domain::application::status_label(&a.status);
        return Err(AppError::Conflict(format!(
            "申请当前状态为「{label}」，只有检查通过的申请可以审批"
        )));
    }
    Ok(a)
}

/// Approves a passed application and issues its permit, all in one transaction. A permit
/// whose certificate could not be printed (a character the font lacks, an address too long for
/// the page) is refused here, before anything is written.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn approve(
    st: &AppState,
    actor: &Actor,
    id: i32,
    input: Approval,
) -> Result<permit_e::Model, AppError> {
    super::signatures::refresh_before_signing(&st.keyring).await?;
    let tx = crate::db::begin_write(&st.db).await?;
    let a = passed_application_for_decision(&tx, actor, id).await?;
    let p = property::Entity::find_by_id(a.property_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let rooms = room::Entity::find()
        .filter(room::Column::PropertyId.eq(p.id))
        .all(&tx)
        .await?;
    let v = village::Entity::find_by_id(a.village_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let t = town::Entity::find_by_id(v.town_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let landlord = user::Entity::find_by_id(a.landlord_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let kinds: Vec<(RoomKind, f64)> = rooms
        .iter()
        .filter_map(|r| RoomKind::parse(&r.kind).map(|k| (k, r.area_m2)))
        .collect();
    let rule = occupancy_rule(st);
    let max = occupancy::capped_max(&rule, &kinds, input.official_cap).map_err(|formula| {
        AppError::field(
            "max_occupants",
            &format!("不能超过按面积计算的 {formula} 人"),
        )
    })?;
    if max == 0 {
        return Err(AppError::field(
            "max_occupants",
            "按房间面积计算，本房屋没有可出租的房间，不能发证",
        ));
    }
    let grade = p
        .grade
        .as_deref()
        .and_then(Grade::parse)
        .unwrap_or(Grade::Green);
    let from = st.config.clock.today();
    let until = permit::valid_until(from, input.valid_months);
    let year = permit::number_year(from);
    let seq = next_sequence(&tx, v.id, year).await?;
    let number = format_permit_number(&t.code, &v.code, year, seq);
    let fields = PermitSigningFields {
        number: number.clone(),
        valid_until: until,
        max_occupants: max,
    };
    let signature = super::signatures::sign_current(&st.keyring, &fields.canonical_message())?;
    let now = st.config.clock.now();
    let pm = permit_e::ActiveModel {
        number: Set(number.clone()),
        application_id: Set(a.id),
        property_id: Set(p.id),
        village_id: Set(v.id),
        landlord_id: Set(a.landlord_id),
        status: Set(PermitStatus::Active.as_str().into()),
        valid_from: Set(from),
        valid_until: Set(until),
        max_occupants: Set(max as i32),
        official_cap: Set(input.official_cap.map(|c| c as i32)),
        grade: Set(grade.as_str().into()),
        signature: Set(signature),
        issued_at: Set(now),
        issued_by: Set(actor.id),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let sources = super::certificates::CertificateSources {
        address: &p.address,
        rooms: &rooms,
        landlord_name: &landlord.name,
        village_name: &v.name,
        town_name: &t.name,
        contact_phone: &st.config.contact_phone,
    };
    let data = super::certificates::data_of(&pm, &sources, &rule, &st.config.public_url);
    // Dropping the transaction on refusal rolls back the permit and its sequence number.
    super::certificates::printable_or_refuse(&st.certificates, &data)?;
    // Residents imported while the house had no permit join it now, within its caps.
    super::stays::waiting::join_permit(&tx, &pm, &rooms, &rule, actor.id, now).await?;
    let mut am: application::ActiveModel = a.into();
    am.status = Set(ApplicationStatus::Approved.as_str().into());
    am.updated_at = Set(now);
    am.update(&tx).await?;
    add_event(
        &tx,
        id,
        ApplicationStatus::Approved,
        Some(actor.id),
        Some(format!(
            "已发证，准入证编号 {number}，核定最多居住 {max} 人"
        )),
    )
    .await?;
    super::events::record(
        &tx,
        now,
        super::events::NewEvent {
            kind: EventKind::PermitApproved,
            data: serde_json::json!({"permit_id": pm.id, "permit_number": number, "property_id": p.id,
                "address": p.address, "village": v.name, "village_id": v.id, "valid_until": until,
                "max_occupants": max, "grade": grade.as_str()}),
            village_id: Some(v.id),
            landlord_id: Some(pm.landlord_id),
            inspector_id: None,
        },
    )
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "permit.issue",
        "permit",
        pm.id,
        serde_json::json!({"number": number, "application_id": id, "max_occupants": max,
            "official_cap": input.official_cap, "valid_until": until, "grade": grade}),
    )
    .await?;
    tx.commit().await?;
    Ok(pm)
}

/// Rejects a passed application with a reason the landlord will read.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn reject(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    reason: &str,
) -> Result<(), AppError> {
    let reason = permit::parse_reason(reason, true)
        .map_err(|m| AppError::field("reason", m))?
        .unwrap_or_default();
    let tx = crate::db::begin_write(db).await?;
    let a = passed_application_for_decision(&tx, actor, id).await?;
    let landlord = a.landlord_id;
    let mut am: application::ActiveModel = a.into();
    am.status = Set(ApplicationStatus::Rejected.as_str().into());
    am.reject_reason = Set(Some(reason.clone()));
    am.updated_at = Set(Utc::now());
    am.update(&tx).await?;
    add_event(
        &tx,
        id,
        ApplicationStatus::Rejected,
        Some(actor.id),
        Some(reason.clone()),
    )
    .await?;
    super::notifications::notify(
        &tx,
        landlord,
        "application.rejected",
        &format!("准入申请 #{id} 未通过审批"),
        &format!("原因：{reason}"),
        Some(&format!("/landlord/applications/{id}")),
    )
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "application.reject",
        "application",
        id,
        serde_json::json!({"reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Loads a permit by its number for a change, locked on PostgreSQL.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn permit_for_change(tx: &WriteTx, number: &str) -> Result<permit_e::Model, AppError> {
    let canonical = crate::domain::permit_number::parse_permit_number(number)
        .ok_or_else(AppError::not_found)?
        .to_string();
    let pm = permit_e::Entity::find()
        .filter(permit_e::Column::Number.eq(canonical))
        .one(tx)
        .await?
        .ok_or_else(|| AppError::NotFound("准入证不存在".into()))?;
    permit_e::Entity::find_by_id(pm.id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Suspends, reinstates or revokes a permit of the official's village.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn change_status(
    st: &AppState,
    actor: &Actor,
    number: &str,
    action: PermitAction,
    reason: &str,
) -> Result<permit_e::Model, AppError> {
    let now = st.config.clock.now();
    let reason = permit::parse_reason(reason, action.needs_reason())
        .map_err(|m| AppError::field("reason", m))?;
    if action == PermitAction::Expire {
        return Err(AppError::forbidden());
    }
    let tx = crate::db::begin_write(&st.db).await?;
    let pm = permit_for_change(&tx, number).await?;
    ensure_official_of(actor, pm.village_id)?;
    let current = PermitStatus::parse(&pm.status)
        .ok_or_else(|| AppError::internal(format!("unknown permit status {}", pm.status)))?
        .effective(pm.valid_until, town_date(now));
    let next = current.after(action).ok_or_else(|| {
        AppError::Conflict(format!(
            "准入证当前状态为「{}」，不能{}",
            current.label_zh(),
            action.label_zh()
        ))
    })?;
    let (landlord, id, num) = (pm.landlord_id, pm.id, pm.number.clone());
    let mut am: permit_e::ActiveModel = pm.into();
    am.status = Set(next.as_str().into());
    am.status_reason = Set(reason.clone());
    am.status_changed_at = Set(Some(now));
    let pm = am.update(&tx).await?;
    if next.admits_check_ins() {
        // Residents imported while the permit was suspended join it now, behind its tenants.
        let rooms = room::Entity::find()
            .filter(room::Column::PropertyId.eq(pm.property_id))
            .all(&tx)
            .await?;
        let rule = occupancy_rule(st);
        super::stays::waiting::join_permit(&tx, &pm, &rooms, &rule, actor.id, now).await?;
    }
    if let Some(kind) = match action {
        PermitAction::Suspend => Some(EventKind::PermitSuspended),
        PermitAction::Revoke => Some(EventKind::PermitRevoked),
        _ => None,
    } {
        let house = super::events::house_facts(&tx, pm.property_id).await?;
        let data = serde_json::json!({"permit_id": id, "permit_number": num, "property_id": house.property_id,
            "address": house.address, "village": house.village, "village_id": house.village_id,
            "reason": reason.as_ref().map(|r| format!("原因：{r}")).unwrap_or_default()});
        super::events::record(&tx, now, super::events::NewEvent::about(kind, &house, data)).await?;
    } else {
        super::notifications::notify(
            &tx,
            landlord,
            &format!("permit.{}", action.as_str()),
            &format!("准入证 {num} {}", next.label_zh()),
            &format!("准入证已{}。", action.label_zh()),
            Some(&format!("/landlord/permits/{num}")),
        )
        .await?;
    }
    audit::record(
        &tx,
        Some(actor.id),
        &format!("permit.{}", action.as_str()),
        "permit",
        id,
        serde_json::json!({"number": num, "from": current.as_str(), "to": next.as_str(), "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(pm)
}
