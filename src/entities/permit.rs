//! SeaORM entity for the `permits` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "permits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub number: String,
    pub application_id: i32,
    pub property_id: i32,
    pub village_id: i32,
    pub landlord_id: i32,
    /// active, suspended, revoked, expired
    pub status: String,
    pub valid_from: Date,
    pub valid_until: Date,
    pub max_occupants: i32,
    pub official_cap: Option<i32>,
    pub grade: String,
    /// The QR signature token over number, valid_until and max_occupants.
    pub signature: String,
    pub issued_at: DateTimeUtc,
    pub issued_by: i32,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<DateTimeUtc>,
    pub expiry_reminded_at: Option<DateTimeUtc>,
    pub renewed_by_application_id: Option<i32>,
    /// Its open (pending or active) stays, kept by the database's triggers (m021); never written
    /// by the application.
    #[serde(skip)]
    pub open_stays: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::village::Entity",
        from = "Column::VillageId",
        to = "super::village::Column::Id"
    )]
    Village,
    #[sea_orm(
        belongs_to = "super::property::Entity",
        from = "Column::PropertyId",
        to = "super::property::Column::Id"
    )]
    Property,
}

impl Related<super::village::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Village.def()
    }
}

impl Related<super::property::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Property.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
