//! Reading a stored photo: who may see it is decided here, not in the handler that serves it.
use std::path::Path;

use sea_orm::DatabaseConnection;

use super::{Actor, uploads};
use crate::error::AppError;

/// The bytes of a photo the actor may see; 404 when unknown or gone from disk, 403 otherwise.
#[tracing::instrument(level = "debug", skip(db, uploads_dir, actor), fields(actor = actor.id))]
pub async fn read(
    db: &DatabaseConnection,
    uploads_dir: &Path,
    actor: &Actor,
    id: &str,
) -> Result<Vec<u8>, AppError> {
    let (u, path) = uploads::photo_path(db, uploads_dir, id).await?;
    if !uploads::may_view(db, actor, &u).await? {
        return Err(AppError::forbidden());
    }
    rocket::tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::not_found())
}
