//! SeaORM entity for the `applications` table.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub property_id: i32,
    pub landlord_id: i32,
    pub village_id: i32,
    pub status: String,
    pub owner_name: Option<String>,
    pub ownership_doc_no: Option<String>,
    pub intended_use: Option<String>,
    pub pledge_accepted_at: Option<DateTimeUtc>,
    pub submitted_at: Option<DateTimeUtc>,
    pub renewal_of_permit_id: Option<i32>,
    pub reject_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::property::Entity",
        from = "Column::PropertyId",
        to = "super::property::Column::Id"
    )]
    Property,
}

impl Related<super::property::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Property.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
