//! SeaORM entity for the `claim_codes` table: one-time codes an official gives an imported landlord.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The unclaimed landlord account the code claims.
    pub user_id: i32,
    /// Keyed hash of the code; the code itself is shown once and never stored.
    pub code_hash: String,
    /// The official who issued it.
    pub created_by: i32,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// Wrong codes tried against this one; a few end it.
    pub tries: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
