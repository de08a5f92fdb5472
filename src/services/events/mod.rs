//! The outbox: every event is a row written in the transaction of the change it reports, so it
//! exists exactly when the change does. The dispatcher (`dispatch`) fans it out to notices, texts
//! and webhooks after commit.
pub mod dispatch;
pub mod fan_out;
pub mod listen;
pub mod reports;
pub mod sms_codes;
pub mod timed;
pub mod webhooks;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Set, Statement,
};

use crate::domain::event::EventKind;
use crate::entities::event;
use crate::error::AppError;

/// Wakes this instance's dispatcher; PostgreSQL's `NOTIFY` (sent on commit) wakes the others.
pub static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The channel other instances listen on.
pub const PG_CHANNEL: &str = "anju_outbox";

/// An event about to be recorded: its type, its data, and who it concerns.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub data: serde_json::Value,
    pub village_id: Option<i32>,
    pub landlord_id: Option<i32>,
    pub inspector_id: Option<i32>,
    /// Set for events a job makes: the same key is never recorded twice.
    pub dedupe_key: Option<String>,
}

impl NewEvent {
    /// An event about a house: its village and landlord come from the facts.
    pub fn about(kind: EventKind, house: &HouseFacts, data: serde_json::Value) -> NewEvent {
        NewEvent {
            kind,
            data,
            village_id: Some(house.village_id),
            landlord_id: Some(house.landlord_id),
            inspector_id: None,
            dedupe_key: None,
        }
    }

    pub fn for_inspector(mut self, inspector_id: Option<i32>) -> NewEvent {
        self.inspector_id = inspector_id;
        self
    }

    pub fn once(mut self, key: String) -> NewEvent {
        self.dedupe_key = Some(key);
        self
    }
}

/// Writes the event in `tx`. Returns false when its dedupe key was already recorded.
#[tracing::instrument(level = "debug", skip_all, fields(kind = ev.kind.as_str()))]
pub async fn record<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    ev: NewEvent,
) -> Result<bool, AppError> {
    let row = event::ActiveModel {
        event_id: Set(format!("evt_{}", uuid::Uuid::new_v4().simple())),
        kind: Set(ev.kind.as_str().into()),
        payload: Set(ev.data.to_string()),
        village_id: Set(ev.village_id),
        landlord_id: Set(ev.landlord_id),
        inspector_id: Set(ev.inspector_id),
        dedupe_key: Set(ev.dedupe_key.clone()),
        created_at: Set(now),
        fanned_out_at: Set(None),
        ..Default::default()
    };
    if ev.dedupe_key.is_some() {
        let inserted = event::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(event::Column::DedupeKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(tx)
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
    } else {
        row.insert(tx).await?;
    }
    if tx.get_database_backend() == DbBackend::Postgres {
        // Delivered by PostgreSQL only if and when this transaction commits.
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_notify('{PG_CHANNEL}', '')"),
        ))
        .await?;
    }
    // On SQLite the dispatcher's claim waits for this writer's commit, so waking it now is safe.
    WAKE.notify_one();
    Ok(true)
}

/// What an event says about a house: ids and the address, never the landlord's name or phone.
#[derive(Debug, Clone, FromQueryResult)]
pub struct HouseFacts {
    pub property_id: i32,
    pub address: String,
    pub landlord_id: i32,
    pub village_id: i32,
    pub village: String,
    pub grid_id: i32,
    pub grid_name: String,
}

/// The facts of one house in one query.
pub async fn house_facts<C: ConnectionTrait>(tx: &C, property_id: i32) -> Result<HouseFacts, AppError> {
    let backend = tx.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => HOUSE_SQL.replace('?', "$1"),
        _ => HOUSE_SQL.to_string(),
    };
    HouseFacts::find_by_statement(Statement::from_sql_and_values(backend, sql, [property_id.into()]))
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)
}

const HOUSE_SQL: &str = "SELECT p.id AS property_id, p.address AS address, p.landlord_id AS landlord_id, \
     p.village_id AS village_id, v.name AS village, g.id AS grid_id, g.name AS grid_name \
     FROM properties p JOIN grids g ON g.id = p.grid_id JOIN villages v ON v.id = p.village_id \
     WHERE p.id = ?";

/// A date as the town reads it, for event data and texts.
pub fn town_day(t: DateTime<Utc>) -> String {
    crate::domain::clock::town_date(t).format("%Y-%m-%d").to_string()
}
