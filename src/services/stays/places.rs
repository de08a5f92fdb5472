//! Where a check-in registers a tenant: the house's address and the rooms that may be let.
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use crate::domain::occupancy::{OccupancyRule, RoomKind, room_capacity};
use crate::entities::{permit, room};
use crate::error::AppError;

#[derive(Debug, Clone, Serialize)]
pub struct RoomOption {
    pub id: i32,
    pub label: String,
    pub capacity: u32,
}

/// Where a check-in form registers a tenant: the house's address and its lettable rooms.
#[derive(Debug, Clone, Serialize)]
pub struct CheckInPlace {
    pub address: String,
    pub rooms: Vec<RoomOption>,
}

/// The address and lettable rooms of the house a permit covers.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn place_of<C: ConnectionTrait>(
    db: &C,
    rule: &OccupancyRule,
    p: &permit::Model,
) -> Result<CheckInPlace, AppError> {
    let address = crate::entities::property::Entity::find_by_id(p.property_id)
        .one(db)
        .await?
        .map(|h| h.address)
        .unwrap_or_default();
    Ok(CheckInPlace {
        address,
        rooms: letting_rooms(db, rule, p.property_id).await?,
    })
}

/// The rooms of the permit's house that may be let, with their caps.
#[tracing::instrument(level = "debug", skip_all, fields(property_id = property_id))]
pub async fn letting_rooms<C: ConnectionTrait>(
    db: &C,
    rule: &OccupancyRule,
    property_id: i32,
) -> Result<Vec<RoomOption>, AppError> {
    let rooms = room::Entity::find()
        .filter(room::Column::PropertyId.eq(property_id))
        .all(db)
        .await?;
    Ok(rooms
        .into_iter()
        .filter_map(|r| {
            let kind = RoomKind::parse(&r.kind)?;
            let capacity = room_capacity(rule, kind, r.area_m2);
            (capacity > 0).then_some(RoomOption {
                id: r.id,
                label: r.label,
                capacity,
            })
        })
        .collect())
}
