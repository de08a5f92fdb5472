//! SeaORM entity for the `users` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub role: String,
    pub phone: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub village_id: Option<i32>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    /// Set by the admin's reset: the password is temporary and must be replaced after one sign-in.
    #[serde(skip)]
    pub temporary_password_since: Option<DateTimeUtc>,
    /// When the temporary password was used to sign in; it signs in no more after that.
    #[serde(skip)]
    pub temporary_password_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
