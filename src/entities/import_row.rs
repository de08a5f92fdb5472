//! SeaORM entity for the `import_rows` table: one row an import will write, numbered from 0.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "import_rows")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub import_id: i32,
    /// Position among the import's rows to write; `imports.done` counts the ones below it.
    pub seq: i32,
    /// A [`crate::services::imports::dry_run::PlannedHouse`] as JSON.
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
