//! Town structure: villages and their grids, and which inspectors walk which grid.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::{Actor, audit};
use crate::domain::role::Role;
use crate::entities::{grid, inspector_grid, town, user, village};
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GridInfo {
    pub id: i32,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VillageInfo {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub grids: Vec<GridInfo>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn the_town(db: &DatabaseConnection) -> Result<Option<town::Model>, AppError> {
    Ok(town::Entity::find()
        .order_by_asc(town::Column::Id)
        .one(db)
        .await?)
}

/// Every village with its grids, ordered by code; what any signed-in user may read.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn villages_with_grids(db: &DatabaseConnection) -> Result<Vec<VillageInfo>, AppError> {
    let villages = village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(db)
        .await?;
    let grids = grid::Entity::find()
        .order_by_asc(grid::Column::Id)
        .all(db)
        .await?;
    Ok(villages
        .into_iter()
        .map(|v| VillageInfo {
            grids: grids
                .iter()
                .filter(|g| g.village_id == v.id)
                .map(|g| GridInfo {
                    id: g.id,
                    name: g.name.clone(),
                })
                .collect(),
            id: v.id,
            code: v.code,
            name: v.name,
        })
        .collect())
}

pub(crate) fn require_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.role == Role::TownAdmin {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// A village code: 1–8 upper-case letters or digits, as printed in permit numbers.
pub fn parse_code(raw: &str) -> Result<String, &'static str> {
    let c = crate::domain::fields::clean_text(raw, false)?.to_ascii_uppercase();
    if c.is_empty()
        || c.len() > 8
        || !c
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
    {
        return Err("编码须为 1–8 位大写字母或数字，例如 JX");
    }
    Ok(c)
}

pub(crate) fn parse_place_name(raw: &str) -> Result<String, &'static str> {
    let n = crate::domain::fields::clean_text(raw, false)?;
    if n.is_empty() || n.chars().count() > 32 {
        return Err("名称须为 1–32 个字");
    }
    Ok(n.to_string())
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn create_village(
    db: &DatabaseConnection,
    actor: &Actor,
    code: &str,
    name: &str,
) -> Result<village::Model, AppError> {
    require_admin(actor)?;
    let mut e = crate::domain::fields::FieldErrors::new();
    let code = parse_code(code).map_err(|m| e.add("code", m)).ok();
    let name = parse_place_name(name).map_err(|m| e.add("name", m)).ok();
    let (Some(code), Some(name)) = (code, name) else {
        return Err(e.into());
    };
    let tx = crate::db::begin_write(db).await?;
    let Some(t) = town::Entity::find().one(&tx).await? else {
        return Err(AppError::Conflict("尚未设置镇，请先初始化".into()));
    };
    if village::Entity::find()
        .filter(village::Column::Code.eq(&code))
        .one(&tx)
        .await?
        .is_some()
    {
        return Err(AppError::field("code", "该编码已被使用"));
    }
    let v = village::ActiveModel {
        town_id: Set(t.id),
        code: Set(code),
        name: Set(name),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "village.create",
        "village",
        v.id,
        serde_json::json!({"code": v.code, "name": v.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(v)
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, village_id = village_id))]
pub async fn create_grid(
    db: &DatabaseConnection,
    actor: &Actor,
    village_id: i32,
    name: &str,
) -> Result<grid::Model, AppError> {
    require_admin(actor)?;
    let name = parse_place_name(name).map_err(|m| AppError::field("name", m))?;
    let tx = crate::db::begin_write(db).await?;
    if village::Entity::find_by_id(village_id)
        .one(&tx)
        .await?
        .is_none()
    {
        return Err(AppError::field("village_id", "所选村不存在"));
    }
    if grid::Entity::find()
        .filter(grid::Column::VillageId.eq(village_id))
        .filter(grid::Column::Name.eq(&name))
        .one(&tx)
        .await?
        .is_some()
    {
        return Err(AppError::field("name", "该村已有同名网格"));
    }
    let g = grid::ActiveModel {
        village_id: Set(village_id),
        name: Set(name),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "grid.create",
        "grid",
        g.id,
        serde_json::json!({"village_id": village_id, "name": g.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(g)
}

/// Replaces the grids an inspector is assigned to.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, inspector_id = inspector_id))]
pub async fn assign_grids(
    db: &DatabaseConnection,
    actor: &Actor,
    inspector_id: i32,
    grid_ids: &[i32],
) -> Result<(), AppError> {
    require_admin(actor)?;
    if grid_ids.is_empty() {
        return Err(AppError::field("grid_ids", "网格员须至少分配一个网格"));
    }
    let tx = crate::db::begin_write(db).await?;
    inspector_to_assign(&tx, inspector_id).await?;
    inspector_grid::Entity::delete_many()
        .filter(inspector_grid::Column::UserId.eq(inspector_id))
        .exec(&tx)
        .await?;
    for g in grid_ids {
        if grid::Entity::find_by_id(*g).one(&tx).await?.is_none() {
            return Err(AppError::field("grid_ids", "所选网格不存在"));
        }
        inspector_grid::ActiveModel {
            user_id: Set(inspector_id),
            grid_id: Set(*g),
        }
        .insert(&tx)
        .await?;
    }
    audit::record(
        &tx,
        Some(actor.id),
        "inspector.assign_grids",
        "user",
        inspector_id,
        serde_json::json!({"grids": grid_ids}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn inspector_to_assign<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: i32,
) -> Result<user::Model, AppError> {
    match user::Entity::find_by_id(id).one(db).await? {
        Some(u) if u.role == Role::Inspector.as_str() => Ok(u),
        Some(_) => Err(AppError::Conflict("只能为网格员分配网格".into())),
        None => Err(AppError::not_found()),
    }
}

/// An inspector and the grids they cover, for the admin's assignment page.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, inspector_id = inspector_id))]
pub async fn inspector_assignment(
    db: &DatabaseConnection,
    actor: &Actor,
    inspector_id: i32,
) -> Result<(user::Model, Vec<i32>), AppError> {
    require_admin(actor)?;
    let u = inspector_to_assign(db, inspector_id).await?;
    Ok((u, inspector_grid_ids(db, inspector_id).await?))
}

/// The grid ids an inspector covers.
#[tracing::instrument(level = "debug", skip_all, fields(inspector_id = inspector_id))]
pub async fn inspector_grid_ids(
    db: &DatabaseConnection,
    inspector_id: i32,
) -> Result<Vec<i32>, AppError> {
    Ok(inspector_grid::Entity::find()
        .filter(inspector_grid::Column::UserId.eq(inspector_id))
        .all(db)
        .await?
        .into_iter()
        .map(|g| g.grid_id)
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    pub id: i32,
    pub role: String,
    pub role_label: &'static str,
    pub phone: String,
    pub name: String,
    pub scope: String,
    pub active: bool,
    /// The admin may disable this account: an active one that is not their own (see
    /// `credentials::set_active`, which refuses the same).
    pub can_disable: bool,
    /// Grid workers' grids can be changed (`/admin/users/{id}/grids`); no other role has any.
    pub has_grids: bool,
}

/// One page of accounts for the admin, newest first, with what each one covers.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list_users(
    db: &DatabaseConnection,
    actor: &Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<UserRow>, u64), AppError> {
    use sea_orm::PaginatorTrait;
    require_admin(actor)?;
    let pager = user::Entity::find()
        .order_by_desc(user::Column::Id)
        .paginate(db, per_page);
    let total = pager.num_items().await?;
    let users = pager.fetch_page(page).await?;
    let villages = village::Entity::find().all(db).await?;
    let grids = grid::Entity::find().all(db).await?;
    let links = inspector_grid::Entity::find().all(db).await?;
    let rows = users
        .into_iter()
        .map(|u| {
            let role = Role::parse(&u.role);
            let scope = match role {
                Some(Role::VillageOfficial) => villages
                    .iter()
                    .find(|v| Some(v.id) == u.village_id)
                    .map(|v| v.name.clone())
                    .unwrap_or_default(),
                Some(Role::Inspector) => links
                    .iter()
                    .filter(|l| l.user_id == u.id)
                    .filter_map(|l| {
                        grids
                            .iter()
                            .find(|g| g.id == l.grid_id)
                            .map(|g| g.name.clone())
                    })
                    .collect::<Vec<_>>()
                    .join("、"),
                Some(Role::TownAdmin) | Some(Role::ApiClient) => "全镇".into(),
                _ => String::new(),
            };
            UserRow {
                id: u.id,
                role_label: role.map(|r| r.label_zh()).unwrap_or("未知"),
                role: u.role,
                phone: u.phone,
                name: u.name,
                scope,
                active: u.active,
                can_disable: u.active && u.id != actor.id,
                has_grids: role == Some(Role::Inspector),
            }
        })
        .collect();
    Ok((rows, total))
}
