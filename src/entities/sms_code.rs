//! SeaORM entity for the `sms_codes` table: one-time phone verification codes, stored hashed.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sms_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Keyed hash of the phone (the personal-data key's look-up hash).
    pub phone_hash: String,
    /// Keyed hash of the code; the code itself is never stored.
    pub code_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// Wrong codes tried against this one; a few end it.
    pub tries: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
