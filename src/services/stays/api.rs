//! Stay use cases as the JSON API calls them: the answer shapes, so handlers never read entities.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::{CheckedIn, Transition, check_in_with_flood_limit, permit_for_check_in};
use crate::crypto::pii::PiiCipher;
use crate::crypto::shared::SharedKeyring;
use crate::domain::clock::town_date;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::stay::{Lang, RawCheckIn};
use crate::entities::stay;
use crate::error::AppError;
use crate::services::Actor;

/// A stay after a transition, as `POST /stays/{id}/…` answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StayState {
    pub stay_id: i32,
    #[schema(value_type = crate::domain::stay::StayStatus)]
    pub status: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl From<stay::Model> for StayState {
    fn from(s: stay::Model) -> Self {
        StayState {
            stay_id: s.id,
            status: s.status,
            ended_at: s.ended_at,
            confirmed_at: s.confirmed_at,
        }
    }
}

/// What a check-in needs besides the tenant's input: the keys, the cipher and the limits.
pub struct CheckInContext<'a> {
    pub db: &'a DatabaseConnection,
    pub keyring: &'a SharedKeyring,
    pub pii: &'a PiiCipher,
    pub rule: &'a OccupancyRule,
    pub flood_per_hour: u64,
    /// The application's clock reading for this request.
    pub now: DateTime<Utc>,
}

/// A tenant checks in on the permit `number` with the QR signature `sig`: the signature is checked
/// before the input, so a forged code learns nothing about the form.
pub async fn check_in_by_number(
    cx: CheckInContext<'_>,
    number: &str,
    sig: &str,
    raw: RawCheckIn,
    lang: Lang,
) -> Result<CheckedIn, AppError> {
    let today = town_date(cx.now);
    let p = permit_for_check_in(cx.db, cx.keyring, number, sig, lang, today).await?;
    let input = raw
        .parse(today, lang, false)
        .map_err(AppError::Validation)?;
    check_in_with_flood_limit(
        cx.db,
        cx.pii,
        cx.rule,
        cx.flood_per_hour,
        p.id,
        input,
        lang,
        cx.now,
    )
    .await
}

/// Confirm, reject or check out a stay as its landlord.
pub async fn landlord_transition_state(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    t: Transition,
) -> Result<StayState, AppError> {
    Ok(super::landlord_transition(db, actor, id, t).await?.into())
}

/// The tenant checks out with the code they were given at check-in.
pub async fn check_out_with_code_state(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    id: i32,
    code: &str,
    lang: Lang,
) -> Result<StayState, AppError> {
    Ok(super::check_out_with_code(db, pii, id, code, lang)
        .await?
        .into())
}
