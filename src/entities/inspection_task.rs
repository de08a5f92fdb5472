//! SeaORM entity for the `inspection_tasks` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "inspection_tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    pub status: String,
    pub property_id: i32,
    pub application_id: Option<i32>,
    pub grid_id: i32,
    pub assignee_id: Option<i32>,
    pub due_at: DateTimeUtc,
    pub checklist_key: String,
    /// JSON array of item keys to check again (re-inspections); None means the whole checklist.
    pub items: Option<String>,
    /// JSON of the answers saved while walking the checklist.
    pub draft_answers: Option<String>,
    pub draft_updated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
