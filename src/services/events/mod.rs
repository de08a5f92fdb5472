//! The outbox: every event is a row written in the transaction of the change it reports, so it
//! exists exactly when the change does; so are its in-app notices. The dispatcher (`dispatch`)
//! fans it out to texts and webhooks after commit.
pub mod dispatch;
pub mod fan_out;
pub mod reports;
mod send;
pub mod sms_codes;
pub mod timed;
pub mod webhooks;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Set, Statement,
};

use crate::domain::event::EventKind;
use crate::domain::notice::{NoticeRules, Recipient, fill};
use crate::domain::role::Role;
use crate::entities::{event, notification, user};
use crate::error::AppError;

static RULES: std::sync::OnceLock<NoticeRules> = std::sync::OnceLock::new();

/// Installs the rules read from the forms folder at start (the first start of the process wins).
pub fn install_rules(rules: NoticeRules) {
    let _ = RULES.set(rules);
}

/// Who hears of which event: the installed rules, or the shipped file when none were installed
/// (command-line tools).
pub fn rules() -> &'static NoticeRules {
    RULES.get_or_init(|| {
        NoticeRules::parse(include_str!("../../../forms/notifications.toml")).unwrap_or_default()
    })
}

/// The people `who` names, each once.
pub fn pick(
    who: &[Recipient],
    landlord: Option<i32>,
    inspector: Option<i32>,
    officials: &[i32],
) -> Vec<i32> {
    let mut ids: Vec<i32> = Vec::new();
    for r in who {
        match r {
            Recipient::Landlord => ids.extend(landlord),
            Recipient::Inspector => ids.extend(inspector),
            Recipient::Official => ids.extend_from_slice(officials),
        }
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    ids
}

/// The active officials of a village.
pub async fn officials_of<C: ConnectionTrait>(
    tx: &C,
    village_id: i32,
) -> Result<Vec<i32>, AppError> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(Role::VillageOfficial.as_str()))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::VillageId.eq(village_id))
        .into_tuple::<i32>()
        .all(tx)
        .await?)
}

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
}

/// An event a job makes: the same key is never recorded twice ([`record_once`]).
#[derive(Debug, Clone)]
pub struct OnceEvent {
    event: NewEvent,
    key: String,
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
        }
    }

    pub fn for_inspector(mut self, inspector_id: Option<i32>) -> NewEvent {
        self.inspector_id = inspector_id;
        self
    }

    pub fn once(self, key: String) -> OnceEvent {
        OnceEvent { event: self, key }
    }
}

/// The outbox row of an event, under a new id.
fn event_row(
    ev: &NewEvent,
    now: DateTime<Utc>,
    dedupe_key: Option<String>,
) -> (String, event::ActiveModel) {
    let event_id = format!("evt_{}", uuid::Uuid::new_v4().simple());
    let row = event::ActiveModel {
        event_id: Set(event_id.clone()),
        kind: Set(ev.kind.as_str().into()),
        payload: Set(ev.data.to_string()),
        village_id: Set(ev.village_id),
        landlord_id: Set(ev.landlord_id),
        inspector_id: Set(ev.inspector_id),
        dedupe_key: Set(dedupe_key),
        created_at: Set(now),
        fanned_out_at: Set(None),
        ..Default::default()
    };
    (event_id, row)
}

/// Writes the event in `tx` and returns its id.
#[tracing::instrument(level = "debug", skip_all, fields(kind = ev.kind.as_str()))]
pub async fn record<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    ev: NewEvent,
) -> Result<String, AppError> {
    let (event_id, row) = event_row(&ev, now, None);
    row.insert(tx).await?;
    notify_in_app(tx, now, &ev).await?;
    wake_dispatcher(tx).await?;
    Ok(event_id)
}

/// Writes the event in `tx` unless its key was already recorded: its id, or None when it was.
#[tracing::instrument(level = "debug", skip_all, fields(kind = once.event.kind.as_str()))]
pub async fn record_once<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    once: OnceEvent,
) -> Result<Option<String>, AppError> {
    let OnceEvent { event: ev, key } = once;
    let (event_id, row) = event_row(&ev, now, Some(key));
    let inserted = event::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(event::Column::DedupeKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(tx)
        .await?;
    if inserted == 0 {
        return Ok(None);
    }
    notify_in_app(tx, now, &ev).await?;
    wake_dispatcher(tx).await?;
    Ok(Some(event_id))
}

/// Wakes the dispatchers of every instance for events written in `tx`.
async fn wake_dispatcher<C: ConnectionTrait>(tx: &C) -> Result<(), AppError> {
    if tx.get_database_backend() == DbBackend::Postgres {
        Wake(()).send(tx).await?;
    }
    // On SQLite the dispatcher's claim waits for this writer's commit, so waking it now is safe.
    WAKE.notify_one();
    Ok(())
}

/// Other instances' wake-up for events written in a transaction, owed until a statement of that
/// transaction carries it: [`record_all`] hands it to the audit append that ends the check-ins
/// decided together, whose lock statement is a round trip anyway.
#[must_use = "the other instances' dispatchers sleep until a statement carries the wake-up"]
#[derive(Debug)]
pub struct Wake(());

impl Wake {
    /// A select-list item that wakes every instance's dispatcher (PostgreSQL, delivered only if
    /// and when the transaction commits).
    pub fn select_item(self) -> String {
        format!("pg_notify('{PG_CHANNEL}', '')")
    }

    /// Carries the wake-up in a statement of its own.
    pub async fn send<C: ConnectionTrait>(self, tx: &C) -> Result<(), AppError> {
        let sql = format!("SELECT {}", self.select_item());
        tx.execute_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await?;
        Ok(())
    }
}

/// The event's in-app notices, in the same transaction: they exist exactly when the event does.
async fn notify_in_app<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    ev: &NewEvent,
) -> Result<(), AppError> {
    let rows = notices(tx, now, ev).await?;
    if !rows.is_empty() {
        notification::Entity::insert_many(rows)
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

/// The in-app notices the rules send for an event.
async fn notices<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    ev: &NewEvent,
) -> Result<Vec<notification::ActiveModel>, AppError> {
    let Some(rule) = rules().rule(ev.kind) else {
        return Ok(Vec::new());
    };
    if rule.in_app.is_empty() {
        return Ok(Vec::new());
    }
    let officials = match ev.village_id {
        Some(v) if rule.in_app.contains(&Recipient::Official) => officials_of(tx, v).await?,
        _ => Vec::new(),
    };
    let people = pick(&rule.in_app, ev.landlord_id, ev.inspector_id, &officials);
    let title: String = fill(&rule.title, &ev.data).chars().take(200).collect();
    let body = fill(&rule.body, &ev.data);
    let link: Option<String> = rule
        .link
        .as_ref()
        .map(|l| fill(l, &ev.data).chars().take(200).collect());
    Ok(people
        .into_iter()
        .map(|user_id| notification::ActiveModel {
            user_id: Set(user_id),
            kind: Set(ev.kind.as_str().into()),
            title: Set(title.clone()),
            body: Set(body.clone()),
            link: Set(link.clone()),
            created_at: Set(now),
            read_at: Set(None),
            ..Default::default()
        })
        .collect())
}

/// Writes several events in `tx`, as [`record`] would one by one, in a round trip each for the
/// events and for their notices (check-ins decided together). On PostgreSQL the other instances'
/// wake-up is returned, for a later statement of `tx` to carry (this instance's is rung now).
#[tracing::instrument(level = "debug", skip_all, fields(n = evs.len()))]
pub async fn record_all<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    evs: Vec<NewEvent>,
) -> Result<Option<Wake>, AppError> {
    if evs.is_empty() {
        return Ok(None);
    }
    let mut notes = Vec::new();
    for ev in &evs {
        notes.extend(notices(tx, now, ev).await?);
    }
    let rows = evs.iter().map(|ev| event_row(ev, now, None).1);
    event::Entity::insert_many(rows)
        .exec_without_returning(tx)
        .await?;
    if !notes.is_empty() {
        notification::Entity::insert_many(notes)
            .exec_without_returning(tx)
            .await?;
    }
    WAKE.notify_one();
    Ok((tx.get_database_backend() == DbBackend::Postgres).then_some(Wake(())))
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
pub async fn house_facts<C: ConnectionTrait>(
    tx: &C,
    property_id: i32,
) -> Result<HouseFacts, AppError> {
    let backend = tx.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => HOUSE_SQL.replace('?', "$1"),
        _ => HOUSE_SQL.to_string(),
    };
    HouseFacts::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [property_id.into()],
    ))
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
    crate::domain::clock::town_date(t)
        .format("%Y-%m-%d")
        .to_string()
}
