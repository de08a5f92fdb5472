//! The town admin corrects the name of a village or a grid. Codes (printed in permit numbers)
//! never change; names are looked up wherever shown, so old records read the new name.
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::town::{parse_place_name, require_admin};
use super::{Actor, audit};
use crate::entities::{grid, village};
use crate::error::AppError;

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn rename_village(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    name: &str,
) -> Result<village::Model, AppError> {
    require_admin(actor)?;
    let name = parse_place_name(name).map_err(|m| AppError::field("name", m))?;
    let tx = crate::db::begin_write(db).await?;
    let v = village::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(|| AppError::NotFound("村不存在".into()))?;
    let taken = village::Entity::find()
        .filter(village::Column::Name.eq(&name))
        .filter(village::Column::Id.ne(id))
        .one(&tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::field("name", "已有同名的村"));
    }
    let old = v.name.clone();
    let mut am: village::ActiveModel = v.into();
    am.name = Set(name);
    let v = am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "village.rename",
        "village",
        id,
        serde_json::json!({"from": old, "to": v.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(v)
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn rename_grid(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    name: &str,
) -> Result<grid::Model, AppError> {
    require_admin(actor)?;
    let name = parse_place_name(name).map_err(|m| AppError::field("name", m))?;
    let tx = crate::db::begin_write(db).await?;
    let g = grid::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(|| AppError::NotFound("网格不存在".into()))?;
    let taken = grid::Entity::find()
        .filter(grid::Column::VillageId.eq(g.village_id))
        .filter(grid::Column::Name.eq(&name))
        .filter(grid::Column::Id.ne(id))
        .one(&tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::field("name", "该村已有同名网格"));
    }
    let old = g.name.clone();
    let mut am: grid::ActiveModel = g.into();
    am.name = Set(name);
    let g = am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "grid.rename",
        "grid",
        id,
        serde_json::json!({"from": old, "to": g.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(g)
}
