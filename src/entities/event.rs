//! SeaORM entity for the `events` table: the outbox, one row per event, written with its change.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `evt_` + 32 hex digits; the same on every delivery and retry (receivers de-duplicate by it).
    pub event_id: String,
    pub kind: String,
    /// The event's `data` as JSON: ids, addresses and counts, never names, phones or document numbers.
    pub payload: String,
    pub village_id: Option<i32>,
    pub landlord_id: Option<i32>,
    pub inspector_id: Option<i32>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTimeUtc,
    /// When the dispatcher made this event's deliveries and notices; None while waiting.
    pub fanned_out_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
