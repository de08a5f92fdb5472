//! A permit flooded with registrations (more than the hourly threshold): the refusal, and the alert
//! to the landlord and the village's officials, once per hour.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::event::EventKind;
use crate::domain::stay::Lang;
use crate::entities::{notification, permit, stay};
use crate::error::AppError;

/// Stays registered on the permit within the hour before `now` (the flood threshold's count).
pub(super) fn recent_on(permit_id: i32, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(stay::Column::PermitId.eq(permit_id))
        .add(stay::Column::CreatedAt.gt(now - Duration::hours(1)))
}

pub(super) fn flood_refusal(lang: Lang) -> AppError {
    AppError::TooMany(
        lang.t(
            "该房屋一小时内登记过多，已暂停新的登记，请联系房东",
            "This house received too many registrations within an hour; please contact the landlord",
        )
        .into(),
    )
}

/// Tells the landlord and the village's officials once per hour that a permit is being flooded
/// (`stay.flood`: a notice to both, a text to the officials, the grid platform's webhook).
pub(super) async fn alert_flood<C: ConnectionTrait>(
    tx: &C,
    p: &permit::Model,
    flood_per_hour: u64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let link = format!("/p/{}", p.number);
    let already = notification::Entity::find()
        .filter(notification::Column::Kind.eq(EventKind::StayFlood.as_str()))
        .filter(notification::Column::Link.eq(link.as_str()))
        .filter(notification::Column::CreatedAt.gt(now - Duration::hours(1)))
        .count(tx)
        .await?;
    if already > 0 {
        return Ok(());
    }
    let ev = crate::services::events::NewEvent {
        kind: EventKind::StayFlood,
        data: serde_json::json!({"permit_id": p.id, "permit_number": p.number, "property_id": p.property_id,
            "village_id": p.village_id, "threshold": flood_per_hour}),
        village_id: Some(p.village_id),
        landlord_id: Some(p.landlord_id),
        inspector_id: None,
    };
    crate::services::events::record(tx, now, ev).await?;
    Ok(())
}
