//! SeaORM entity for the `stays` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "stays")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// None while an imported stay waits for its house's permit (m017).
    pub permit_id: Option<i32>,
    pub property_id: i32,
    /// The house's village, copied at insert for the command room's counts (m016).
    pub village_id: i32,
    pub room_id: i32,
    /// pending, active, checked_out, rejected, lapsed
    pub status: String,
    pub name: Option<String>,
    pub doc_type: String,
    #[serde(skip)]
    pub doc_number_enc: Option<String>,
    #[serde(skip)]
    pub doc_hash: Option<String>,
    pub doc_masked: Option<String>,
    #[serde(skip)]
    pub open_doc_hash: Option<String>,
    #[serde(skip)]
    pub phone_enc: Option<String>,
    pub phone_masked: Option<String>,
    pub move_in: Date,
    pub move_out_expected: Option<Date>,
    pub employer: Option<String>,
    #[serde(skip)]
    pub checkout_code_hash: String,
    pub created_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub ended_by: Option<i32>,
    pub wiped_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
