//! Reading a stored photo: who may see it is decided here, not in the handler that serves it.
use sea_orm::DatabaseConnection;

use super::{Actor, uploads};
use crate::error::AppError;
use crate::media;
use crate::storage::PhotoStore;

/// The bytes of a photo the actor may see; 404 when unknown or gone from the store, 403 when
/// not theirs to see, 503 when the store does not answer.
#[tracing::instrument(level = "debug", skip(db, store, actor), fields(actor = actor.id))]
pub async fn read(
    db: &DatabaseConnection,
    store: &PhotoStore,
    actor: &Actor,
    id: &str,
) -> Result<Vec<u8>, AppError> {
    let u = uploads::find(db, id).await?;
    if !uploads::may_view(db, actor, &u).await? {
        return Err(AppError::forbidden());
    }
    store
        .get(&media::relative_path(&u.sha256))
        .await?
        .ok_or_else(AppError::not_found)
}
