//! Stays waiting for a permit: residents imported onto a house that had no permit taking tenants
//! are pending stays without a permit (they hold the person's one open stay and their room's
//! place, and do not lapse, as no landlord is asked to confirm them). When the house's permit is
//! issued they join it, in import order, active up to the permit's maximum occupants and each
//! room's cap; those beyond are ended as rejected, freeing the person, and the audit names them.
//! A suspended permit takes its house's residents the same way when it is reinstated, behind the
//! tenants it already holds.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::HashMap;

use super::audit;
use crate::domain::occupancy::{OccupancyRule, RoomKind, room_capacity};
use crate::domain::stay::StayStatus;
use crate::entities::{permit, room, stay};
use crate::error::AppError;

/// What joining the permit did: the stays made active and those refused.
#[derive(Debug, Default, PartialEq)]
pub struct Joined {
    pub active: Vec<i32>,
    pub refused: Vec<i32>,
}

/// Inside the issuing transaction: the house's waiting stays join the new permit `p`.
pub async fn join_permit<C: ConnectionTrait>(
    tx: &C,
    p: &permit::Model,
    rooms: &[room::Model],
    rule: &OccupancyRule,
    by: i32,
    now: DateTime<Utc>,
) -> Result<Joined, AppError> {
    let waiting = stay::Entity::find()
        .filter(stay::Column::PropertyId.eq(p.property_id))
        .filter(stay::Column::PermitId.is_null())
        .filter(stay::Column::Status.eq(StayStatus::Pending.as_str()))
        .order_by_asc(stay::Column::Id)
        .all(tx)
        .await?;
    let mut out = Joined::default();
    if waiting.is_empty() {
        return Ok(out);
    }
    let caps: HashMap<i32, u32> = rooms
        .iter()
        .map(|r| {
            let cap = RoomKind::parse(&r.kind).map_or(0, |k| room_capacity(rule, k, r.area_m2));
            (r.id, cap)
        })
        .collect();
    let max = usize::try_from(p.max_occupants).unwrap_or(0);
    // A reinstated permit already holds tenants: the waiting join behind them.
    let holding: Vec<i32> = stay::Entity::find()
        .select_only()
        .column(stay::Column::RoomId)
        .filter(stay::Column::PermitId.eq(p.id))
        .filter(stay::Column::Status.is_in(super::OPEN))
        .into_tuple()
        .all(tx)
        .await?;
    let mut in_room: HashMap<i32, u32> = HashMap::new();
    for room_id in &holding {
        *in_room.entry(*room_id).or_default() += 1;
    }
    for s in waiting {
        let (id, room_id) = (s.id, s.room_id);
        let room_left =
            caps.get(&room_id).copied().unwrap_or(0) > in_room.get(&room_id).copied().unwrap_or(0);
        let mut am: stay::ActiveModel = s.into();
        if holding.len() + out.active.len() < max && room_left {
            *in_room.entry(room_id).or_default() += 1;
            am.permit_id = Set(Some(p.id));
            am.status = Set(StayStatus::Active.as_str().into());
            am.confirmed_at = Set(Some(now));
            out.active.push(id);
        } else {
            am.status = Set(StayStatus::Rejected.as_str().into());
            am.open_doc_hash = Set(None);
            am.ended_at = Set(Some(now));
            am.ended_by = Set(Some(by));
            out.refused.push(id);
        }
        am.update(tx).await?;
    }
    audit::record(
        tx,
        Some(by),
        "stay.join_permit",
        "permit",
        p.id,
        serde_json::json!({"active": out.active, "refused_over_cap": out.refused}),
    )
    .await?;
    Ok(out)
}
