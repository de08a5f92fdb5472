//! Fan-out: each recorded event becomes pending deliveries for every matching webhook subscription
//! and every person who gets a text (in-app notices were written with the event). One transaction
//! per batch, so an event is fanned out exactly once even with several dispatchers.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::event::{Channel, DeliveryStatus, EventKind, sms_send_time};
use crate::domain::notice::NoticeRules;
use crate::domain::role::Role;
use crate::entities::{delivery, event, user, webhook_subscription};
use crate::error::AppError;

/// Events fanned out per transaction.
const BATCH: u64 = 500;

/// What fan-out needs to know besides the database.
pub struct FanOutSettings<'a> {
    pub rules: &'a NoticeRules,
    /// Whether anyone gets texts at all (`ANJU_SMS_PROVIDER` other than `none`).
    pub sms: bool,
    pub quiet_start: u32,
    pub quiet_end: u32,
}

/// Fans out up to one batch of waiting events. Returns how many it took.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run(
    db: &sea_orm::DatabaseConnection,
    now: DateTime<Utc>,
    s: &FanOutSettings<'_>,
) -> Result<usize, AppError> {
    // A read first: an idle dispatcher must not take SQLite's write lock every second.
    let waiting = event::Entity::find()
        .filter(event::Column::FannedOutAt.is_null())
        .select_only()
        .column(event::Column::Id)
        .into_tuple::<i32>()
        .one(db)
        .await?;
    if waiting.is_none() {
        return Ok(0);
    }
    let tx = crate::db::begin_write(db).await?;
    let events = event::Entity::find()
        .filter(event::Column::FannedOutAt.is_null())
        .order_by_asc(event::Column::Id)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&tx)
        .await?;
    if events.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let subs = subscriptions(&tx).await?;
    let officials = officials_of(&tx, &events).await?;
    let mut deliveries = Vec::new();
    for e in &events {
        let Some(kind) = EventKind::parse(&e.kind) else {
            tracing::error!(kind = %e.kind, "unknown event type in the outbox");
            continue;
        };
        for (sub_id, kinds) in &subs {
            if kinds.contains(&kind) {
                deliveries.push(pending(e, Channel::Webhook, Some(*sub_id), None, now));
            }
        }
        let Some(rule) = s.rules.rule(kind) else {
            continue;
        };
        if s.sms {
            let at = sms_send_time(
                now,
                &crate::domain::clock::town_tz(),
                s.quiet_start,
                s.quiet_end,
            );
            let officials = e
                .village_id
                .and_then(|v| officials.get(&v))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for user_id in super::pick(&rule.sms, e.landlord_id, e.inspector_id, officials) {
                deliveries.push(pending(e, Channel::Sms, None, Some(user_id), at));
            }
        }
    }
    if !deliveries.is_empty() {
        delivery::Entity::insert_many(deliveries)
            .exec_without_returning(&tx)
            .await?;
    }
    let ids: Vec<i32> = events.iter().map(|e| e.id).collect();
    event::Entity::update_many()
        .col_expr(
            event::Column::FannedOutAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(event::Column::Id.is_in(ids))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(events.len())
}

fn pending(
    e: &event::Model,
    channel: Channel,
    subscription_id: Option<i32>,
    user_id: Option<i32>,
    at: DateTime<Utc>,
) -> delivery::ActiveModel {
    delivery::ActiveModel {
        event_id: Set(e.id),
        channel: Set(channel.as_str().into()),
        kind: Set(e.kind.clone()),
        subscription_id: Set(subscription_id),
        user_id: Set(user_id),
        status: Set(DeliveryStatus::Pending.as_str().into()),
        attempts: Set(0),
        last_status_code: Set(None),
        last_error: Set(None),
        next_attempt_at: Set(at),
        locked_until: Set(None),
        created_at: Set(e.created_at),
        delivered_at: Set(None),
        ..Default::default()
    }
}

/// Active subscriptions and the event types each wants.
async fn subscriptions<C: ConnectionTrait>(tx: &C) -> Result<Vec<(i32, Vec<EventKind>)>, AppError> {
    Ok(webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::Active.eq(true))
        .all(tx)
        .await?
        .into_iter()
        .map(|s| (s.id, super::webhooks::kinds_of(&s.events)))
        .collect())
}

/// The active officials of every village the batch mentions.
async fn officials_of<C: ConnectionTrait>(
    tx: &C,
    events: &[event::Model],
) -> Result<HashMap<i32, Vec<i32>>, AppError> {
    let villages: HashSet<i32> = events.iter().filter_map(|e| e.village_id).collect();
    if villages.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out: HashMap<i32, Vec<i32>> = HashMap::new();
    for u in user::Entity::find()
        .filter(user::Column::Role.eq(Role::VillageOfficial.as_str()))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::VillageId.is_in(villages))
        .all(tx)
        .await?
    {
        if let Some(v) = u.village_id {
            out.entry(v).or_default().push(u.id);
        }
    }
    Ok(out)
}
