//! Check-in (居住登记) under the permit's caps, one open stay per person, encrypted personal data.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;

use super::audit;

pub mod admission;
pub mod api;
mod by_landlord;
mod flood;
mod lifecycle;
mod places;
pub mod receipt;
mod together;
pub mod waiting;
use crate::crypto::pii::PiiCipher;
use crate::crypto::shared::SharedKeyring;
use crate::crypto::signing::PermitSigningFields;
use crate::domain::event::EventKind;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::permit::PermitStatus;
use crate::domain::permit_number::parse_permit_number;
use crate::domain::stay::{CheckIn, Lang, StayStatus, new_checkout_code, normalise_checkout_code};
use crate::entities::{permit, room, stay};
use crate::error::AppError;
pub use by_landlord::register_for_tenant;
use flood::{alert_flood, flood_refusal, recent_on};
pub use lifecycle::{
    Transition, check_out_with_code, landlord_transition, lapse_pending, retention_wipe,
};
pub use places::{CheckInPlace, RoomOption, letting_rooms, place_of};

/// More new registrations than this on one permit within an hour looks like abuse.
pub const FLOOD_PER_HOUR: u64 = 20;
const OPEN: [&str; 2] = [StayStatus::Pending.as_str(), StayStatus::Active.as_str()];

/// Loads the permit a QR code names, checks its signature and that it still takes tenants.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn permit_for_check_in<C: ConnectionTrait>(
    db: &C,
    keyring: &SharedKeyring,
    number: &str,
    sig: &str,
    lang: Lang,
    today: NaiveDate,
) -> Result<permit::Model, AppError> {
    let not_found = || {
        AppError::NotFound(
            lang.t("准入证不存在，请核对证号", "No permit has this number")
                .into(),
        )
    };
    let number = parse_permit_number(number)
        .ok_or_else(not_found)?
        .to_string();
    let p = permit::Entity::find()
        .filter(permit::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let fields = PermitSigningFields {
        number: p.number.clone(),
        valid_until: p.valid_until,
        max_occupants: u32::try_from(p.max_occupants).unwrap_or(0),
    };
    let genuine = crate::services::signatures::verify_qr(keyring, &fields, sig).await?;
    if !genuine {
        return Err(AppError::Forbidden(
            lang.t(
                "二维码签名无效：请扫描房屋内张贴的准入证上的二维码",
                "The QR signature is not valid: scan the code on the certificate posted in the house",
            )
            .into(),
        ));
    }
    ensure_takes_tenants(&p, today, lang)?;
    Ok(p)
}

/// No check-in on a suspended, revoked or expired permit.
pub fn ensure_takes_tenants(
    p: &permit::Model,
    today: NaiveDate,
    lang: Lang,
) -> Result<(), AppError> {
    let status = PermitStatus::parse(&p.status)
        .unwrap_or(PermitStatus::Revoked)
        .effective(p.valid_until, today);
    if status.admits_check_ins() {
        return Ok(());
    }
    let (zh, en) = match status {
        PermitStatus::Suspended => (
            "该房屋的准入证已暂停，暂不能登记入住",
            "This permit is suspended; no check-in is possible",
        ),
        PermitStatus::Revoked => (
            "该房屋的准入证已吊销，不能登记入住",
            "This permit has been revoked; no check-in is possible",
        ),
        PermitStatus::Expired | PermitStatus::Active => (
            "该房屋的准入证已过期，不能登记入住",
            "This permit has expired; no check-in is possible",
        ),
    };
    Err(AppError::Conflict(lang.t(zh, en).to_string()))
}

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct CheckedIn {
    pub stay_id: i32,
    #[schema(value_type = crate::domain::stay::StayStatus)]
    pub status: &'static str,
    /// Shown once; only its keyed hash is stored (and `Debug` leaves it out).
    pub checkout_code: String,
}

impl std::fmt::Debug for CheckedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedIn")
            .field("stay_id", &self.stay_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

pub fn code_hash(pii: &PiiCipher, code: &str) -> String {
    pii.lookup_hash("checkout_code", &normalise_checkout_code(code))
}

/// Open stays on the permit and in the room, as the database's counters (m021) hold them in this
/// transaction, in one query: two rows read, however many people a house has had. A permit id
/// of no permit (a house waiting for one) reads 0.
async fn open_counts<C: ConnectionTrait>(
    tx: &C,
    permit_id: i32,
    room_id: i32,
) -> Result<(u64, u64), AppError> {
    let mut q = Query::select();
    q.expr_as(
        open_stays_of(
            permit::Entity,
            permit::Column::OpenStays,
            permit::Column::Id,
            permit_id,
        ),
        "on_permit",
    )
    .expr_as(
        open_stays_of(
            room::Entity,
            room::Column::OpenStays,
            room::Column::Id,
            room_id,
        ),
        "in_room",
    );
    let Some(row) = tx.query_one(&q).await? else {
        return Ok((0, 0));
    };
    let n = |col: &str| -> Result<u64, AppError> {
        let n: Option<i64> = row.try_get("", col)?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    };
    Ok((n("on_permit")?, n("in_room")?))
}

/// `(SELECT CAST(open_stays AS BIGINT) FROM table WHERE id = id)`: one type on both databases.
fn open_stays_of<E: EntityTrait>(table: E, open: E::Column, key: E::Column, id: i32) -> Expr {
    let mut q = Query::select();
    q.expr(sea_orm::sea_query::ExprTrait::cast_as(
        Expr::col(open),
        "BIGINT",
    ))
    .from(table)
    .and_where(key.eq(id));
    Expr::from(q)
}

/// `SELECT COUNT(*) FROM (SELECT 1 FROM stays WHERE cond LIMIT limit)`.
fn bounded(cond: Condition, limit: u64) -> SelectStatement {
    let mut inner = Query::select();
    inner
        .expr(Expr::val(1i32))
        .from(stay::Entity)
        .cond_where(cond)
        .limit(limit.min(i64::MAX as u64));
    let mut q = Query::select();
    q.expr(Expr::cust("COUNT(*)")).from_subquery(inner, "s");
    q
}

/// `min(limit, number of stays meeting cond)` in one query.
async fn count_up_to<C: ConnectionTrait>(
    tx: &C,
    cond: Condition,
    limit: u64,
) -> Result<u64, AppError> {
    let mut q = Query::select();
    q.expr_as(Expr::from(bounded(cond, limit)), "n");
    let n: i64 = match tx.query_one(&q).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

fn one_open_stay_message(lang: Lang) -> AppError {
    AppError::Conflict(
        lang.t(
            "您已有一条未结束的居住登记，请先在原住处办理退租（退房）后再登记",
            "You already have an open registration elsewhere; please check out there first",
        )
        .into(),
    )
}

/// Registers a tenant on a permit whose signature the caller has checked. Caps and the one-open-
/// stay rule are decided inside one write transaction holding the permit row.
#[tracing::instrument(level = "debug", skip_all, fields(permit_id = permit_id))]
pub async fn check_in(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    permit_id: i32,
    input: CheckIn,
    lang: Lang,
) -> Result<CheckedIn, AppError> {
    // Callers without the application's clock (tools, tests) run on the real time.
    let now = crate::domain::clock::Clock::system().now();
    check_in_with_flood_limit(db, pii, rule, FLOOD_PER_HOUR, permit_id, input, lang, now).await
}

/// [`check_in`] with the hourly registrations threshold from the configuration, at `now`.
#[tracing::instrument(level = "debug", skip_all, fields(permit_id = permit_id))]
#[allow(clippy::too_many_arguments)]
pub async fn check_in_with_flood_limit(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    flood_per_hour: u64,
    permit_id: i32,
    input: CheckIn,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<CheckedIn, AppError> {
    let by = Registrar::Tenant { flood_per_hour };
    register(db, pii, rule, by, permit_id, input, lang, now).await
}

/// Who registers a stay: the tenant from the QR (pending until the landlord confirms; the
/// hourly flood limit guards the public code) or the landlord for them (active at once).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Registrar {
    Tenant { flood_per_hour: u64 },
    Landlord(i32),
}

/// One registration under the permit's caps and the one-open-stay rule, whoever registers.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn register(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    by: Registrar,
    permit_id: i32,
    input: CheckIn,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<CheckedIn, AppError> {
    let status = match by {
        Registrar::Landlord(_) => StayStatus::Active,
        Registrar::Tenant { .. } => StayStatus::Pending,
    };
    let person = admission::SealedPerson::seal(pii, &input.doc, &input.phone)?;
    let facts = admission::StayFacts {
        name: input.name,
        person,
        move_in: input.move_in,
        move_out_expected: input.move_out_expected,
        employer: input.employer,
        status,
        now,
    };
    // Joins the permit's queue (together.rs), which reads the permit and the room and decides
    // the check-in under the permit's row, with whoever else checks in there meanwhile.
    let code = new_checkout_code();
    let member = together::Member {
        by,
        lang,
        rule: rule.clone(),
        room_id: input.room_id,
        code_hash: code_hash(pii, &code),
        code,
        stay: facts,
    };
    together::decide(db, permit_id, member).await
}

impl Registrar {
    /// The event a registration records: a landlord's own is confirmed as it is made.
    fn confirms(self) -> EventKind {
        match self {
            Registrar::Landlord(_) => EventKind::StayConfirmed,
            Registrar::Tenant { .. } => EventKind::StayPending,
        }
    }

    /// The audit log's action for a registration.
    fn action(self) -> &'static str {
        match self {
            Registrar::Landlord(_) => "stay.register_by_landlord",
            Registrar::Tenant { .. } => "stay.check_in",
        }
    }
}

/// The audit entry's detail of a registration.
fn check_in_detail(p: &permit::Model, s: &stay::Model) -> serde_json::Value {
    serde_json::json!({"permit": p.number, "room_id": s.room_id})
}

/// The permit's row, held to the commit: check-ins on one permit are decided one transaction at
/// a time (on PostgreSQL; SQLite's writer turn already serialises writers, and sea-query emits no
/// lock clause there).
pub(super) async fn locked_permit<C: ConnectionTrait>(
    tx: &C,
    id: i32,
) -> Result<permit::Model, AppError> {
    permit::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)
}

/// An event about one stay: ids, the permit number, the room's label and the move-in date.
pub fn stay_event(
    kind: EventKind,
    p: &permit::Model,
    stay_id: i32,
    room: &str,
    move_in: chrono::NaiveDate,
) -> crate::services::events::NewEvent {
    crate::services::events::NewEvent {
        kind,
        data: serde_json::json!({"stay_id": stay_id, "permit_number": p.number, "property_id": p.property_id,
            "room": room, "move_in": move_in}),
        village_id: Some(p.village_id),
        landlord_id: Some(p.landlord_id),
        inspector_id: None,
    }
}
