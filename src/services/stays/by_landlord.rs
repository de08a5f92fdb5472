//! A landlord registers a tenant for them (elderly tenants without smartphones): the same caps
//! and one-open-stay rule as a check-in from the QR, active at once because the landlord is
//! the one who would confirm it.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::{CheckedIn, Registrar, register};
use crate::domain::clock::town_date;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::role::Role;
use crate::domain::stay::{Lang, RawCheckIn};
use crate::entities::{permit, property};
use crate::error::AppError;
use crate::services::Actor;

/// Registers the tenant typed in `raw` on the landlord's house `property_id`, under its latest
/// permit (which must take tenants). `require_consent` is the form's "tenant agreed" box.
#[tracing::instrument(level = "debug", skip_all, fields(actor = landlord.id, property_id = property_id))]
#[allow(clippy::too_many_arguments)]
pub async fn register_for_tenant(
    db: &DatabaseConnection,
    pii: &crate::crypto::pii::PiiCipher,
    rule: &OccupancyRule,
    landlord: &Actor,
    property_id: i32,
    raw: &RawCheckIn,
    require_consent: bool,
    now: DateTime<Utc>,
) -> Result<CheckedIn, AppError> {
    let house = property::Entity::find_by_id(property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if landlord.role != Role::Landlord || house.landlord_id != landlord.id {
        return Err(AppError::forbidden());
    }
    let p = permit::Entity::find()
        .filter(permit::Column::PropertyId.eq(property_id))
        .order_by_desc(permit::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Conflict("这处房屋还没有准入证，取得准入证后才能登记租客".into())
        })?;
    let input = raw
        .parse(town_date(now), Lang::Zh, require_consent)
        .map_err(AppError::Validation)?;
    register(
        db,
        pii,
        rule,
        Registrar::Landlord(landlord.id),
        p.id,
        input,
        Lang::Zh,
        now,
    )
    .await
}
