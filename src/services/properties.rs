//! Houses and rooms: a landlord records them; officials see their village's, the admin sees all.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, LoaderTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::{Actor, audit};
use crate::domain::application::ApplicationStatus;
use crate::domain::occupancy::RoomKind;
use crate::domain::property::{PropertyDraft, Structure};
use crate::domain::role::Role;
use crate::entities::{application, grid, property, room, village};
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomView {
    pub id: i32,
    pub label: String,
    pub floor: i32,
    pub area_m2: f64,
    #[schema(value_type = crate::domain::occupancy::RoomKind)]
    pub kind: String,
    pub kind_label: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PropertyView {
    pub id: i32,
    pub landlord_id: i32,
    pub village_id: i32,
    pub village_name: String,
    pub grid_id: i32,
    pub grid_name: String,
    pub address: String,
    pub floors: i32,
    #[schema(value_type = crate::domain::property::Structure)]
    pub structure: String,
    pub structure_label: &'static str,
    pub rooms: Vec<RoomView>,
}

/// Whether `actor` may read this house. Inspectors are checked against their grids by the task services.
pub fn may_read(actor: &Actor, p: &property::Model) -> bool {
    match actor.role {
        Role::TownAdmin | Role::ApiClient => true,
        Role::VillageOfficial => actor.village_id == Some(p.village_id),
        Role::Landlord => p.landlord_id == actor.id,
        Role::Inspector => false,
    }
}

pub fn room_view(r: &room::Model) -> RoomView {
    RoomView {
        id: r.id,
        label: r.label.clone(),
        floor: r.floor,
        area_m2: r.area_m2,
        kind: r.kind.clone(),
        kind_label: RoomKind::parse(&r.kind)
            .map(|k| k.label_zh())
            .unwrap_or("其他"),
    }
}

/// Builds the view of a house without any access check; callers check first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn view_of<C: ConnectionTrait>(
    db: &C,
    p: property::Model,
) -> Result<PropertyView, AppError> {
    let mut views = views_of(db, vec![p]).await?;
    views.pop().ok_or_else(AppError::not_found)
}

/// Views of many houses in three queries (villages, grids, rooms), whatever their number.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn views_of<C: ConnectionTrait>(
    db: &C,
    houses: Vec<property::Model>,
) -> Result<Vec<PropertyView>, AppError> {
    if houses.is_empty() {
        return Ok(Vec::new());
    }
    let villages = houses.load_one(village::Entity, db).await?;
    let grids = houses.load_one(grid::Entity, db).await?;
    let rooms = houses
        .load_many(room::Entity::find().order_by_asc(room::Column::Id), db)
        .await?;
    Ok(houses
        .into_iter()
        .zip(villages)
        .zip(grids)
        .zip(rooms)
        .map(|(((p, v), g), rooms)| PropertyView {
            id: p.id,
            landlord_id: p.landlord_id,
            village_id: p.village_id,
            village_name: v.map(|v| v.name).unwrap_or_default(),
            grid_id: p.grid_id,
            grid_name: g.map(|g| g.name).unwrap_or_default(),
            structure_label: Structure::parse(&p.structure)
                .map(|s| s.label_zh())
                .unwrap_or("其他"),
            address: p.address,
            floors: p.floors,
            structure: p.structure,
            rooms: rooms.iter().map(room_view).collect(),
        })
        .collect())
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> Result<PropertyView, AppError> {
    let p = property::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_read(actor, &p) {
        return Err(AppError::forbidden());
    }
    view_of(db, p).await
}

/// Houses the actor may see, newest first, one page at a time.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<PropertyView>, u64), AppError> {
    let (houses, total) = super::scoped_page(
        db,
        property::Entity::find().order_by_desc(property::Column::Id),
        actor,
        property::Column::LandlordId,
        property::Column::VillageId,
        page,
        per_page,
    )
    .await?;
    Ok((views_of(db, houses).await?, total))
}

/// The village of the house: the grid's village, which must agree with the village given, if any.
async fn check_place<C: ConnectionTrait>(tx: &C, d: &PropertyDraft) -> Result<i32, AppError> {
    let Some(g) = grid::Entity::find_by_id(d.grid_id).one(tx).await? else {
        return Err(AppError::field("grid_id", "所选网格不存在"));
    };
    if let Some(v) = d.village_id {
        if village::Entity::find_by_id(v).one(tx).await?.is_none() {
            return Err(AppError::field("village_id", "所选村不存在"));
        }
        if v != g.village_id {
            return Err(AppError::field("grid_id", "所选网格不属于该村"));
        }
    }
    Ok(g.village_id)
}

async fn insert_rooms<C: ConnectionTrait>(
    tx: &C,
    property_id: i32,
    d: &PropertyDraft,
) -> Result<(), AppError> {
    for r in &d.rooms {
        room::ActiveModel {
            property_id: Set(property_id),
            label: Set(r.label.clone()),
            floor: Set(r.floor),
            area_m2: Set(r.area.value()),
            kind: Set(r.kind.as_str().into()),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    d: PropertyDraft,
) -> Result<PropertyView, AppError> {
    if actor.role != Role::Landlord {
        return Err(AppError::Forbidden("只有房东可以登记房屋".into()));
    }
    let tx = crate::db::begin_write(db).await?;
    let village_id = check_place(&tx, &d).await?;
    let now = Utc::now();
    let p = property::ActiveModel {
        landlord_id: Set(actor.id),
        village_id: Set(village_id),
        grid_id: Set(d.grid_id),
        address: Set(d.address.clone()),
        floors: Set(d.floors),
        structure: Set(d.structure.as_str().into()),
        created_at: Set(now),
        updated_at: Set(now),
        grade: Set(None),
        next_patrol_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    insert_rooms(&tx, p.id, &d).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "property.create",
        "property",
        p.id,
        serde_json::json!({"rooms": d.rooms.len()}),
    )
    .await?;
    let view = view_of(&tx, p).await?;
    tx.commit().await?;
    Ok(view)
}

/// Changes a house while no application for it has gone past the draft stage.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    d: PropertyDraft,
) -> Result<PropertyView, AppError> {
    let tx = crate::db::begin_write(db).await?;
    let p = property::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if actor.role != Role::Landlord || p.landlord_id != actor.id {
        return Err(AppError::forbidden());
    }
    let locked = application::Entity::find()
        .filter(application::Column::PropertyId.eq(id))
        .filter(application::Column::Status.ne(ApplicationStatus::Draft.as_str()))
        .count(&tx)
        .await?;
    if locked > 0 {
        return Err(AppError::Conflict(
            "房屋已提交申请，不能再修改；如需变更请联系村干部".into(),
        ));
    }
    let village_id = check_place(&tx, &d).await?;
    room::Entity::delete_many()
        .filter(room::Column::PropertyId.eq(id))
        .exec(&tx)
        .await?;
    insert_rooms(&tx, id, &d).await?;
    let mut am: property::ActiveModel = p.into();
    am.village_id = Set(village_id);
    am.grid_id = Set(d.grid_id);
    am.address = Set(d.address.clone());
    am.floors = Set(d.floors);
    am.structure = Set(d.structure.as_str().into());
    am.updated_at = Set(Utc::now());
    let p = am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "property.update",
        "property",
        id,
        serde_json::json!({"rooms": d.rooms.len()}),
    )
    .await?;
    let view = view_of(&tx, p).await?;
    tx.commit().await?;
    Ok(view)
}
