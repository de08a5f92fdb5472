//! Reading permit applications: the page and API view with documents and timeline, who may read
//! one, and the landlord's and officials' lists.
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;

use super::Actor;
use super::properties::{self, PropertyView};
use crate::domain::application::ApplicationStatus;
use crate::domain::dates::zh_datetime;
use crate::domain::role::Role;
use crate::entities::{application, application_document, application_event, property, user};
use crate::error::AppError;

/// What a document upload is for.
pub const DOC_KINDS: [(&str, &str); 2] =
    [("ownership_proof", "产权证明"), ("house_photo", "房屋照片")];

pub fn doc_kind_label(kind: &str) -> &'static str {
    DOC_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("其他材料")
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub status: String,
    pub status_label: String,
    pub actor_name: String,
    pub note: Option<String>,
    pub at: chrono::DateTime<Utc>,
    pub at_zh: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: i32,
    pub kind: String,
    pub kind_label: &'static str,
    pub upload_id: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub id: i32,
    #[schema(value_type = crate::domain::application::ApplicationStatus)]
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub owner_name: Option<String>,
    pub ownership_doc_no: Option<String>,
    pub intended_use: Option<String>,
    pub pledge_accepted_at: Option<chrono::DateTime<Utc>>,
    pub submitted_at: Option<chrono::DateTime<Utc>>,
    pub submitted_zh: Option<String>,
    pub reject_reason: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub property: PropertyView,
    pub documents: Vec<DocumentView>,
    pub history: Vec<EventView>,
    /// The permit issued on this application, once approved.
    pub permit_number: Option<String>,
}

/// Who may read an application: its landlord, the official of its village, the admin and API clients.
pub fn may_read(actor: &Actor, a: &application::Model) -> bool {
    match actor.role {
        Role::TownAdmin | Role::ApiClient => true,
        Role::VillageOfficial => actor.village_id == Some(a.village_id),
        Role::Landlord => a.landlord_id == actor.id,
        Role::Inspector => false,
    }
}

pub(super) fn status_of(a: &application::Model) -> ApplicationStatus {
    ApplicationStatus::parse(&a.status).unwrap_or(ApplicationStatus::Draft)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn view_of<C: ConnectionTrait>(
    db: &C,
    a: application::Model,
) -> Result<ApplicationView, AppError> {
    let p = property::Entity::find_by_id(a.property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let property = properties::view_of(db, p).await?;
    let documents = application_document::Entity::find()
        .filter(application_document::Column::ApplicationId.eq(a.id))
        .order_by_asc(application_document::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|d| DocumentView {
            id: d.id,
            kind_label: doc_kind_label(&d.kind),
            kind: d.kind,
            upload_id: d.upload_id,
        })
        .collect();
    let events = application_event::Entity::find()
        .filter(application_event::Column::ApplicationId.eq(a.id))
        .order_by_asc(application_event::Column::Id)
        .all(db)
        .await?;
    // One query for everyone who acted on this application, not one per event.
    let actor_ids: Vec<i32> = events.iter().filter_map(|e| e.actor_id).collect();
    let names: std::collections::HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(actor_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut history = Vec::new();
    for e in events {
        let actor_name = match e.actor_id {
            Some(id) => names.get(&id).cloned().unwrap_or_default(),
            None => "系统".into(),
        };
        history.push(EventView {
            status_label: crate::domain::application::status_label(&e.status).to_string(),
            status: e.status,
            actor_name,
            note: e.note,
            at_zh: zh_datetime(&e.at),
            at: e.at,
        });
    }
    let permit_number = super::permit_view::of_application(db, a.id)
        .await?
        .map(|p| p.number);
    let s = status_of(&a);
    Ok(ApplicationView {
        permit_number,
        id: a.id,
        status: a.status.clone(),
        status_label: s.label_zh(),
        badge: s.badge(),
        owner_name: a.owner_name,
        ownership_doc_no: a.ownership_doc_no,
        intended_use: a.intended_use,
        pledge_accepted_at: a.pledge_accepted_at,
        submitted_zh: a.submitted_at.as_ref().map(zh_datetime),
        submitted_at: a.submitted_at,
        reject_reason: a.reject_reason,
        created_at: a.created_at,
        property,
        documents,
        history,
    })
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> Result<ApplicationView, AppError> {
    let a = application::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_read(actor, &a) {
        return Err(AppError::forbidden());
    }
    view_of(db, a).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationRow {
    pub id: i32,
    #[schema(value_type = crate::domain::application::ApplicationStatus)]
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub property_id: i32,
    pub address: String,
    pub updated_at: chrono::DateTime<Utc>,
    pub updated_zh: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ApplicationRow>, u64), AppError> {
    let (apps, total) = super::scoped_page(
        db,
        application::Entity::find().order_by_desc(application::Column::UpdatedAt),
        actor,
        application::Column::LandlordId,
        application::Column::VillageId,
        page,
        per_page,
    )
    .await?;
    Ok((rows_of(db, apps).await?, total))
}

/// List rows for a page of applications, their addresses in one query.
pub async fn rows_of<C: ConnectionTrait>(
    db: &C,
    apps: Vec<application::Model>,
) -> Result<Vec<ApplicationRow>, AppError> {
    let addresses: std::collections::HashMap<i32, String> = property::Entity::find()
        .filter(property::Column::Id.is_in(apps.iter().map(|a| a.property_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.address))
        .collect();
    let mut rows = Vec::new();
    for a in apps {
        let address = addresses.get(&a.property_id).cloned().unwrap_or_default();
        let s = status_of(&a);
        rows.push(ApplicationRow {
            id: a.id,
            status_label: s.label_zh(),
            badge: s.badge(),
            status: a.status,
            property_id: a.property_id,
            address,
            updated_zh: zh_datetime(&a.updated_at),
            updated_at: a.updated_at,
        });
    }
    Ok(rows)
}
