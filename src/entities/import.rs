//! SeaORM entity for the `imports` table: one checked spreadsheet, its planned and refused rows.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub created_by: i32,
    pub file_sha256: String,
    /// An [`crate::domain::import::ImportStatus`].
    pub status: String,
    /// JSON list of the refused rows: their cells and messages.
    pub refused: String,
    pub count_create: i32,
    pub count_update: i32,
    pub count_unchanged: i32,
    pub count_error: i32,
    pub done: i32,
    pub total: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
