//! SeaORM entity for the `properties` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "properties")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub landlord_id: i32,
    pub village_id: i32,
    pub grid_id: i32,
    pub address: String,
    pub floors: i32,
    pub structure: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// green, yellow or red from the latest inspection; None before the first one.
    pub grade: Option<String>,
    pub next_patrol_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::village::Entity",
        from = "Column::VillageId",
        to = "super::village::Column::Id"
    )]
    Village,
    #[sea_orm(
        belongs_to = "super::grid::Entity",
        from = "Column::GridId",
        to = "super::grid::Column::Id"
    )]
    Grid,
    #[sea_orm(has_many = "super::room::Entity")]
    Rooms,
}

impl Related<super::village::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Village.def()
    }
}

impl Related<super::grid::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Grid.def()
    }
}

impl Related<super::room::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Rooms.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
