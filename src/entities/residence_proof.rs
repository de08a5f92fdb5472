//! SeaORM entity for the `residence_proofs` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "residence_proofs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub number: String,
    pub stay_id: i32,
    pub property_id: i32,
    pub village_id: i32,
    /// landlord, official, tenant (`domain::proof::ProofIssuer`)
    pub issuer: String,
    pub issued_by: Option<i32>,
    pub issuer_label: String,
    pub name_masked: Option<String>,
    pub doc_masked: Option<String>,
    pub village: String,
    pub address: String,
    pub period_from: Date,
    pub period_to: Date,
    pub days: i32,
    #[serde(skip)]
    pub sig: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
