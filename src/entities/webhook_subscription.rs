//! SeaORM entity for the `webhook_subscriptions` table: a URL the town admin subscribed to event types.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub url: String,
    /// JSON array of event type names.
    pub events: String,
    pub description: Option<String>,
    /// The `whsec_…` secret, encrypted with the personal-data key; shown in clear once, at creation.
    pub secret_enc: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_by: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
