//! What a landlord sees of their tenants: pending check-ins and each house's current occupants.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::Actor;
use crate::crypto::pii::PiiCipher;
use crate::domain::dates::{zh_date, zh_datetime};
use crate::domain::identity::DocType;
use crate::domain::role::Role;
use crate::domain::stay::{Lang, StayStatus};
use crate::entities::{permit, property, room, stay};
use crate::error::AppError;

/// One tenant as their landlord sees them: name, masked document number, phone.
#[derive(Debug, Clone, Serialize)]
pub struct TenantRow {
    pub id: i32,
    pub name: String,
    pub doc_type_label: &'static str,
    pub doc_masked: String,
    pub phone: String,
    pub room_label: String,
    pub address: String,
    pub move_in_zh: String,
    pub created_zh: String,
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
}

async fn rows<C: ConnectionTrait>(
    db: &C,
    pii: &PiiCipher,
    stays: Vec<stay::Model>,
) -> Result<Vec<TenantRow>, AppError> {
    // Rooms and houses of the whole list in one query each, not one per stay.
    let rooms: HashMap<i32, String> = room::Entity::find()
        .filter(room::Column::Id.is_in(stays.iter().map(|s| s.room_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.label))
        .collect();
    let houses: HashMap<i32, String> = property::Entity::find()
        .filter(property::Column::Id.is_in(stays.iter().map(|s| s.property_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.address))
        .collect();
    let mut out = Vec::with_capacity(stays.len());
    for s in stays {
        let status = StayStatus::parse(&s.status).unwrap_or(StayStatus::Lapsed);
        // The landlord needs to call their tenant, so the phone is shown whole to them.
        let phone = s
            .phone_enc
            .as_deref()
            .and_then(|c| pii.decrypt(c).ok())
            .unwrap_or_default();
        out.push(TenantRow {
            id: s.id,
            name: s.name.clone().unwrap_or_default(),
            doc_type_label: DocType::parse(&s.doc_type).map_or("其他", |t| t.label_zh()),
            doc_masked: s.doc_masked.clone().unwrap_or_default(),
            phone,
            room_label: rooms.get(&s.room_id).cloned().unwrap_or_default(),
            address: houses.get(&s.property_id).cloned().unwrap_or_default(),
            move_in_zh: zh_date(&s.move_in),
            created_zh: zh_datetime(&s.created_at),
            status: s.status.clone(),
            status_label: status.label(Lang::Zh),
            badge: status.badge(),
        });
    }
    Ok(out)
}

/// Pending check-ins on all of the landlord's houses, oldest first.
#[tracing::instrument(level = "debug", skip_all, fields(actor = landlord.id))]
pub async fn pending_for_landlord<C: ConnectionTrait>(
    db: &C,
    pii: &PiiCipher,
    landlord: &Actor,
) -> Result<Vec<TenantRow>, AppError> {
    if landlord.role != Role::Landlord {
        return Err(AppError::forbidden());
    }
    let permit_ids: Vec<i32> = permit::Entity::find()
        .filter(permit::Column::LandlordId.eq(landlord.id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    if permit_ids.is_empty() {
        return Ok(Vec::new());
    }
    let stays = stay::Entity::find()
        .filter(stay::Column::PermitId.is_in(permit_ids))
        .filter(stay::Column::Status.eq(StayStatus::Pending.as_str()))
        .order_by_asc(stay::Column::CreatedAt)
        .all(db)
        .await?;
    rows(db, pii, stays).await
}

/// A house's current occupancy under its live permit.
#[derive(Debug, Clone, Serialize)]
pub struct Occupancy {
    pub permit_number: String,
    pub permit_status: String,
    pub max_occupants: i32,
    /// Whether the permit's status lets the landlord register tenants (the service re-checks).
    pub takes_tenants: bool,
    pub active: usize,
    pub pending: usize,
    pub tenants: Vec<TenantRow>,
}

/// Current occupants of one of the landlord's houses; None when the house has no permit yet.
#[tracing::instrument(level = "debug", skip_all, fields(actor = landlord.id, property_id = property_id))]
pub async fn occupancy_of_house<C: ConnectionTrait>(
    db: &C,
    pii: &PiiCipher,
    landlord: &Actor,
    property_id: i32,
) -> Result<Option<Occupancy>, AppError> {
    let p = property::Entity::find_by_id(property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if landlord.role != Role::Landlord || p.landlord_id != landlord.id {
        return Err(AppError::forbidden());
    }
    let Some(permit) = permit::Entity::find()
        .filter(permit::Column::PropertyId.eq(property_id))
        .order_by_desc(permit::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let stays = stay::Entity::find()
        .filter(stay::Column::PermitId.eq(permit.id))
        .filter(
            stay::Column::Status.is_in([StayStatus::Pending.as_str(), StayStatus::Active.as_str()]),
        )
        .order_by_asc(stay::Column::Id)
        .all(db)
        .await?;
    let tenants = rows(db, pii, stays).await?;
    Ok(Some(Occupancy {
        takes_tenants: crate::domain::permit::PermitStatus::parse(&permit.status)
            .is_some_and(|s| s.admits_check_ins()),
        permit_number: permit.number,
        permit_status: permit.status,
        max_occupants: permit.max_occupants,
        active: tenants
            .iter()
            .filter(|t| t.status == StayStatus::Active.as_str())
            .count(),
        pending: tenants
            .iter()
            .filter(|t| t.status == StayStatus::Pending.as_str())
            .count(),
        tenants,
    }))
}
