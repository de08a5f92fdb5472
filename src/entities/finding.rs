//! SeaORM entity for the `findings` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub inspection_id: i32,
    pub property_id: i32,
    /// The house's village, copied at insert for the command room's counts (m016).
    pub village_id: i32,
    pub application_id: Option<i32>,
    pub item_key: String,
    pub severity: String,
    /// open, fix_reported, closed
    pub status: String,
    pub deadline_at: Option<DateTimeUtc>,
    pub note: Option<String>,
    /// JSON array of upload ids.
    pub photo_ids: String,
    pub fix_note: Option<String>,
    pub fix_photo_ids: Option<String>,
    pub fix_reported_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by_inspection_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
