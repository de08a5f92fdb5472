//! SeaORM entity for the `inspections` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "inspections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub task_id: i32,
    pub submission_id: String,
    pub inspector_id: i32,
    pub property_id: i32,
    /// The house's village, copied at insert for the command room's counts (m016).
    pub village_id: i32,
    pub application_id: Option<i32>,
    pub checklist_key: String,
    pub checklist_version: i32,
    pub checklist_hash: String,
    pub outcome: String,
    pub grade: String,
    /// JSON array of the answers as submitted.
    pub answers: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
