//! SeaORM entity for the `permit_sequences` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "permit_sequences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub village_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    pub next_seq: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
