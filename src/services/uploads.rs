//! Stores uploaded photos by content hash in the photo store and records who uploaded them.
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use super::{Actor, audit};
use crate::entities::upload;
use crate::error::AppError;
use crate::media::{self, PhotoError};
use crate::storage::PhotoStore;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredPhoto {
    pub id: String,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

impl From<PhotoError> for AppError {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::TooLarge => AppError::PayloadTooLarge(e.to_string()),
            PhotoError::Encode => AppError::internal(e),
            _ => AppError::field("file", &e.to_string()),
        }
    }
}

pub async fn store_photo(
    db: &DatabaseConnection,
    store: &PhotoStore,
    actor: &Actor,
    bytes: Vec<u8>,
) -> Result<StoredPhoto, AppError> {
    // The header is read first: an oversized photo is refused before it waits or decodes.
    let probe = media::probe(&bytes)?;
    let permit = media::budget::acquire(&probe)
        .await
        .ok_or_else(|| AppError::internal("decode budget closed"))?;
    let mut photo = rocket::tokio::task::spawn_blocking(move || {
        // Held by the decoding thread, so a client that hangs up does not free the budget early.
        let _permit = permit;
        media::intake(&bytes)
    })
    .await
    .map_err(AppError::internal)??;
    // Stored before the row that names it, so no upload id ever points at missing bytes; a store
    // that does not answer is a 503 and nothing is recorded.
    let size_bytes = photo.jpeg.len() as i64;
    store
        .put_if_absent(
            &media::relative_path(&photo.sha256),
            std::mem::take(&mut photo.jpeg),
        )
        .await?;
    let tx = crate::db::begin_write(db).await?;
    // The same photo sent again by the same person (a phone resending a queued walk) is the
    // same upload, so the resent submission names the same photo ids and stays identical.
    if let Some(u) = upload::Entity::find()
        .filter(upload::Column::Sha256.eq(photo.sha256.as_str()))
        .filter(upload::Column::UploadedBy.eq(actor.id))
        .one(&tx)
        .await?
    {
        return Ok(StoredPhoto {
            id: u.id,
            sha256: u.sha256,
            width: u.width as u32,
            height: u.height as u32,
        });
    }
    let id = uuid::Uuid::new_v4().to_string();
    upload::ActiveModel {
        id: Set(id.clone()),
        sha256: Set(photo.sha256.clone()),
        mime: Set("image/jpeg".into()),
        width: Set(photo.width as i32),
        height: Set(photo.height as i32),
        size_bytes: Set(size_bytes),
        uploaded_by: Set(actor.id),
        created_at: Set(Utc::now()),
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "upload.create",
        "upload",
        &id,
        serde_json::json!({"sha256": photo.sha256}),
    )
    .await?;
    tx.commit().await?;
    Ok(StoredPhoto {
        id,
        sha256: photo.sha256,
        width: photo.width,
        height: photo.height,
    })
}

/// The upload record of a photo id; where its bytes are is `media::relative_path(sha256)`.
pub async fn find(db: &DatabaseConnection, id: &str) -> Result<upload::Model, AppError> {
    // Ids are UUIDs; anything else (a NUL included) names no photo and never reaches the query.
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(AppError::not_found());
    }
    upload::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Who may see a photo: its uploader, the town admin, and the officials and inspectors of the
/// village or grid of an application it is attached to.
pub async fn may_view(
    db: &DatabaseConnection,
    actor: &Actor,
    u: &upload::Model,
) -> Result<bool, AppError> {
    use crate::domain::role::Role;
    use crate::entities::{application, application_document, property};
    use sea_orm::{ColumnTrait, QueryFilter};
    if u.uploaded_by == actor.id || matches!(actor.role, Role::TownAdmin | Role::ApiClient) {
        return Ok(true);
    }
    let docs = application_document::Entity::find()
        .filter(application_document::Column::UploadId.eq(u.id.as_str()))
        .all(db)
        .await?;
    for d in docs {
        let Some(a) = application::Entity::find_by_id(d.application_id)
            .one(db)
            .await?
        else {
            continue;
        };
        match actor.role {
            Role::VillageOfficial if actor.village_id == Some(a.village_id) => return Ok(true),
            // The application's landlord now, who may not be the uploader after a transfer.
            Role::Landlord if a.landlord_id == actor.id => return Ok(true),
            Role::Inspector => {
                let grids = super::town::inspector_grid_ids(db, actor.id).await?;
                if let Some(p) = property::Entity::find_by_id(a.property_id).one(db).await?
                    && grids.contains(&p.grid_id)
                {
                    return Ok(true);
                }
            }
            _ => {}
        }
    }
    // Photos of findings and of their fixes: the house's landlord, its grid's inspectors and
    // its village's official.
    let pattern = format!("%\"{}\"%", u.id);
    let findings = crate::entities::finding::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(crate::entities::finding::Column::PhotoIds.like(pattern.as_str()))
                .add(crate::entities::finding::Column::FixPhotoIds.like(pattern.as_str())),
        )
        .all(db)
        .await?;
    for f in findings {
        let Some(p) = property::Entity::find_by_id(f.property_id).one(db).await? else {
            continue;
        };
        let ok = match actor.role {
            Role::Landlord => p.landlord_id == actor.id,
            Role::VillageOfficial => actor.village_id == Some(p.village_id),
            Role::Inspector => super::town::inspector_grid_ids(db, actor.id)
                .await?
                .contains(&p.grid_id),
            _ => false,
        };
        if ok {
            return Ok(true);
        }
    }
    Ok(false)
}
