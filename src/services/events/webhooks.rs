//! Webhook subscriptions of the town admin: subscribe a URL to event types (the secret is shown
//! once), list, delete, see each delivery and its attempts, send a failed one again.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;

use super::super::{Actor, audit};
use crate::crypto::pii::PiiCipher;
use crate::domain::event::{Channel, DeliveryStatus, EventKind};
use crate::domain::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use crate::domain::role::Role;
use crate::entities::{delivery, delivery_attempt, event, webhook_subscription};
use crate::error::AppError;

/// A subscription as typed: the URL, the event type names, an optional description.
#[derive(Debug, Clone, Default)]
pub struct RawSubscription {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub id: i32,
    pub url: String,
    pub events: Vec<EventKind>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub events_zh: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i32,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The event types stored with a subscription; names no longer known are left out.
pub fn kinds_of(json: &str) -> Vec<EventKind> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| EventKind::parse(s))
        .collect()
}

fn admin_only(actor: &Actor) -> Result<(), AppError> {
    if actor.is(Role::TownAdmin) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn view(s: webhook_subscription::Model) -> SubscriptionView {
    let events = kinds_of(&s.events);
    SubscriptionView {
        events_zh: events.iter().map(|k| k.label_zh()).collect(),
        id: s.id,
        url: s.url,
        events,
        description: s.description,
        active: s.active,
        disabled_reason: s.disabled_reason,
        created_at: s.created_at,
    }
}

/// Subscribes a URL. Returns the subscription and its secret, which is never shown again.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    pii: &PiiCipher,
    actor: &Actor,
    raw: RawSubscription,
    allow_private: bool,
    now: DateTime<Utc>,
) -> Result<(SubscriptionView, String), AppError> {
    admin_only(actor)?;
    let mut errors = FieldErrors::default();
    let url = raw.url.trim().to_string();
    if url.is_empty() {
        errors.add("url", "请填写接收地址");
    } else if url.chars().count() > 500 || has_control(&url, false) {
        errors.add("url", "地址过长或含有控制字符");
    } else if let Err(e) = crate::notify::webhook::check_url(&url, allow_private).await {
        errors.add("url", e.to_string());
    }
    let mut kinds = Vec::new();
    for name in &raw.events {
        match EventKind::parse(name.trim()) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => errors.add(
                "events",
                format!(
                    "未知的事件类型 {}",
                    name.chars().take(40).collect::<String>()
                ),
            ),
        }
    }
    if raw.events.is_empty() {
        errors.add("events", "请至少选择一种事件");
    }
    let description = raw
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if let Some(d) = &description {
        if d.chars().count() > 200 {
            errors.add("description", "说明不能超过 200 字");
        } else if has_control(d, false) {
            errors.add("description", CONTROL_CHARACTER);
        }
    }
    errors.into_result().map_err(AppError::Validation)?;
    let secret = crate::notify::webhook::new_secret();
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let tx = crate::db::begin_write(db).await?;
    let s = webhook_subscription::ActiveModel {
        url: Set(url),
        events: Set(serde_json::to_string(&names).map_err(AppError::internal)?),
        description: Set(description),
        secret_enc: Set(pii.encrypt(&secret).map_err(AppError::internal)?),
        active: Set(true),
        disabled_reason: Set(None),
        created_by: Set(actor.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "webhook.subscribe",
        "webhook_subscription",
        s.id,
        serde_json::json!({"url": s.url, "events": names}),
    )
    .await?;
    tx.commit().await?;
    Ok((view(s), secret))
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<SubscriptionView>, AppError> {
    admin_only(actor)?;
    Ok(webhook_subscription::Entity::find()
        .order_by_asc(webhook_subscription::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Deletes a subscription; its deliveries still waiting fail with the reason.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id))]
pub async fn delete(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> Result<(), AppError> {
    admin_only(actor)?;
    let tx = crate::db::begin_write(db).await?;
    let s = webhook_subscription::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            sea_orm::sea_query::Expr::value(DeliveryStatus::Failed.as_str()),
        )
        .col_expr(
            delivery::Column::LastError,
            sea_orm::sea_query::Expr::value("订阅已删除"),
        )
        .filter(delivery::Column::SubscriptionId.eq(id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(&tx)
        .await?;
    webhook_subscription::Entity::delete_by_id(id)
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "webhook.delete",
        "webhook_subscription",
        id,
        serde_json::json!({"url": s.url}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One subscription and its deliveries, newest first, a page of 50.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id))]
pub async fn deliveries(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    id: i32,
    page: u64,
) -> Result<(SubscriptionView, Vec<DeliveryView>, u64), AppError> {
    admin_only(actor)?;
    let s = webhook_subscription::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let q = delivery::Entity::find()
        .filter(delivery::Column::SubscriptionId.eq(id))
        .filter(delivery::Column::Channel.eq(Channel::Webhook.as_str()));
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(delivery::Column::Id)
        .offset(page * 50)
        .limit(50)
        .find_also_related(event::Entity)
        .all(db)
        .await?;
    let views = rows
        .into_iter()
        .filter_map(|(d, e)| {
            let status = DeliveryStatus::parse(&d.status)?;
            Some(DeliveryView {
                id: d.id,
                event_id: e.map(|e| e.event_id).unwrap_or_default(),
                kind: EventKind::parse(&d.kind)?,
                status,
                attempts: d.attempts,
                last_status_code: d.last_status_code,
                last_error: d.last_error,
                next_attempt_at: (status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
                created_at: d.created_at,
                delivered_at: d.delivered_at,
            })
        })
        .collect();
    Ok((view(s), views, total))
}

/// The attempts of a page of deliveries, each delivery's oldest first, in one query.
pub async fn attempts_of(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    delivery_ids: Vec<i32>,
) -> Result<std::collections::HashMap<i32, Vec<delivery_attempt::Model>>, AppError> {
    admin_only(actor)?;
    let mut out: std::collections::HashMap<i32, Vec<delivery_attempt::Model>> = Default::default();
    for a in delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.is_in(delivery_ids))
        .order_by_asc(delivery_attempt::Column::Id)
        .all(db)
        .await?
    {
        out.entry(a.delivery_id).or_default().push(a);
    }
    Ok(out)
}

/// Sends a failed delivery again, now. A delivery that is not failed is a conflict.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id, delivery_id))]
pub async fn retry(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    id: i32,
    delivery_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    admin_only(actor)?;
    let tx = crate::db::begin_write(db).await?;
    let d = delivery::Entity::find_by_id(delivery_id)
        .one(&tx)
        .await?
        .filter(|d| d.subscription_id == Some(id))
        .ok_or_else(AppError::not_found)?;
    if DeliveryStatus::parse(&d.status) != Some(DeliveryStatus::Failed) {
        return Err(AppError::Conflict("只有发送失败的记录可以重新发送".into()));
    }
    let sub = webhook_subscription::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !sub.active {
        // A subscription the receiver gave up on (410) comes back when the admin retries by hand.
        let mut s: webhook_subscription::ActiveModel = sub.into();
        s.active = Set(true);
        s.disabled_reason = Set(None);
        s.update(&tx).await?;
    }
    let mut am: delivery::ActiveModel = d.into();
    am.status = Set(DeliveryStatus::Pending.as_str().into());
    am.next_attempt_at = Set(now);
    am.locked_until = Set(None);
    am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "webhook.retry",
        "delivery",
        delivery_id,
        serde_json::json!({"subscription_id": id}),
    )
    .await?;
    tx.commit().await?;
    super::WAKE.notify_one();
    Ok(())
}
