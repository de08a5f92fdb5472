//! The dispatcher: fans out new events, then sends the deliveries that are due (webhooks and
//! texts), records every attempt, and schedules retries. Woken when an event is recorded, and
//! once a second regardless, for retries that come due.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Unchanged, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::fan_out::{self, FanOutSettings};
use super::send::{Outcome, send_sms, send_webhook};
pub use super::send::{body_of, message_for};
use crate::domain::event::{Channel, DeliveryStatus, next_attempt};
use crate::entities::{delivery, delivery_attempt, event, user, webhook_subscription};
use crate::error::AppError;
use crate::notify::sms::SmsProvider;
use crate::notify::webhook;

/// Deliveries claimed per round; sent up to `PARALLEL` at a time.
const BATCH: u64 = 256;
const PARALLEL: usize = 64;
/// How long a claimed delivery stays with its dispatcher before another may take it.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Everything delivering needs besides the database: the HTTP client, the SMS provider, settings.
pub struct Outbox {
    pub http: reqwest::Client,
    pub sms: Option<Arc<dyn SmsProvider>>,
    pub schedule: Vec<u64>,
    pub allow_private: bool,
    pub daily_cap: u32,
    pub quiet_start: u32,
    pub quiet_end: u32,
}

impl Outbox {
    pub fn from_config(cfg: &crate::Config) -> Result<Outbox, crate::config::ConfigError> {
        let http = webhook::client(cfg.webhook_allow_private)
            .map_err(|e| crate::config::ConfigError(format!("HTTP client: {e}")))?;
        // The SMS provider is a fixed, configured host: it needs no webhook address guard.
        let sms_http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| crate::config::ConfigError(format!("HTTP client: {e}")))?;
        Ok(Outbox {
            sms: crate::notify::sms::provider(cfg, sms_http),
            http,
            schedule: cfg.retry_schedule()?,
            allow_private: cfg.webhook_allow_private,
            daily_cap: cfg.sms_daily_cap,
            quiet_start: cfg.sms_quiet_start,
            quiet_end: cfg.sms_quiet_end,
        })
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub fanned_out: usize,
    pub sent: usize,
}

/// Fans out and sends until nothing is due. Tests call this instead of waiting for the loop.
pub async fn run_until_idle(st: &crate::AppState) -> Result<Round, AppError> {
    let mut total = Round::default();
    loop {
        let r = run_once(st).await?;
        total.fanned_out += r.fanned_out;
        total.sent += r.sent;
        if r == Round::default() {
            return Ok(total);
        }
    }
}

/// One round: one batch of fan-out, one batch of sending.
pub async fn run_once(st: &crate::AppState) -> Result<Round, AppError> {
    let now = st.config.clock.now();
    let settings = FanOutSettings {
        rules: super::rules(),
        sms: st.outbox.sms.is_some(),
        quiet_start: st.outbox.quiet_start,
        quiet_end: st.outbox.quiet_end,
    };
    let fanned_out = fan_out::run(&st.db, now, &settings).await?;
    let sent = send_due(st, now).await?;
    Ok(Round { fanned_out, sent })
}

/// Starts this instance's dispatcher loop.
pub fn spawn(state: crate::AppRef) {
    rocket::tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(r) if r != Round::default() => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox dispatcher round failed"),
            }
            let _ =
                rocket::tokio::time::timeout(Duration::from_secs(1), super::WAKE.notified()).await;
        }
    });
}

/// Claims the due deliveries (a lease, so a second dispatcher skips them), sends, records.
async fn send_due(st: &crate::AppState, now: DateTime<Utc>) -> Result<usize, AppError> {
    let due_now = || {
        delivery::Entity::find()
            .filter(delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(delivery::Column::NextAttemptAt.lte(now))
            .filter(
                delivery::Column::LockedUntil
                    .is_null()
                    .or(delivery::Column::LockedUntil.lt(now)),
            )
    };
    // A read first: an idle dispatcher must not take SQLite's write lock every second.
    let any = due_now()
        .select_only()
        .column(delivery::Column::Id)
        .into_tuple::<i32>()
        .one(&st.db)
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let tx = crate::db::begin_write(&st.db).await?;
    let due = due_now()
        .order_by_asc(delivery::Column::NextAttemptAt)
        .limit(BATCH)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&tx)
        .await?;
    if due.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let ids: Vec<i32> = due.iter().map(|d| d.id).collect();
    delivery::Entity::update_many()
        .col_expr(delivery::Column::LockedUntil, Expr::value(now + LEASE))
        .filter(delivery::Column::Id.is_in(ids.clone()))
        .exec(&tx)
        .await?;
    tx.commit().await?;

    let event_ids: Vec<i32> = due.iter().map(|d| d.event_id).collect();
    let events: std::collections::HashMap<i32, event::Model> = event::Entity::find()
        .filter(event::Column::Id.is_in(event_ids))
        .all(&st.db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let sub_ids: Vec<i32> = due.iter().filter_map(|d| d.subscription_id).collect();
    let subs: std::collections::HashMap<i32, (webhook_subscription::Model, Option<String>)> =
        webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Id.is_in(sub_ids))
            .all(&st.db)
            .await?
            .into_iter()
            .map(|s| {
                let secret = st.pii.decrypt(&s.secret_enc).ok();
                (s.id, (s, secret))
            })
            .collect();
    let user_ids: Vec<i32> = due.iter().filter_map(|d| d.user_id).collect();
    let phones: std::collections::HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(&st.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.phone))
        .collect();

    let jobs = due.into_iter().map(|d| {
        let e = events.get(&d.event_id);
        let sub = d.subscription_id.and_then(|s| subs.get(&s));
        let phone = d.user_id.and_then(|u| phones.get(&u));
        async move {
            let started = std::time::Instant::now();
            let outcome = match (Channel::parse(&d.channel), e) {
                (Some(Channel::Webhook), Some(e)) => send_webhook(st, e, sub, now).await,
                (Some(Channel::Sms), Some(e)) => send_sms(st, &d, e, phone, now).await,
                _ => Outcome::refused(None, "记录不完整（事件或渠道缺失）"),
            };
            (d, outcome, started.elapsed())
        }
    });
    let results: Vec<_> = futures::stream::iter(jobs)
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let n = results.len();
    record_results(st, results, now).await?;
    Ok(n)
}

/// Writes every result in one transaction: the delivery's new state and the attempt.
async fn record_results(
    st: &crate::AppState,
    results: Vec<(delivery::Model, Outcome, Duration)>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tx = crate::db::begin_write(&st.db).await?;
    let mut attempts = Vec::new();
    for (d, o, took) in results {
        let mut am = delivery::ActiveModel {
            id: Unchanged(d.id),
            ..Default::default()
        };
        am.locked_until = Set(None);
        if let Some(at) = o.postpone_to {
            am.next_attempt_at = Set(at);
            am.update(&tx).await?;
            continue;
        }
        let tries = d.attempts + 1;
        am.attempts = Set(tries);
        am.last_status_code = Set(o.status_code.map(i32::from));
        am.last_error = Set(o.error.clone().map(|e| e.chars().take(300).collect()));
        if o.done {
            am.status = Set(DeliveryStatus::Delivered.as_str().into());
            am.delivered_at = Set(Some(now));
        } else {
            match (!o.permanent)
                .then(|| next_attempt(&st.outbox.schedule, tries as u32, now, o.retry_after))
                .flatten()
            {
                Some(at) => am.next_attempt_at = Set(at),
                None => am.status = Set(DeliveryStatus::Failed.as_str().into()),
            }
        }
        am.update(&tx).await?;
        if o.gone
            && let Some(sub) = d.subscription_id
        {
            webhook_subscription::Entity::update_many()
                .col_expr(webhook_subscription::Column::Active, Expr::value(false))
                .col_expr(
                    webhook_subscription::Column::DisabledReason,
                    Expr::value("接收方答复 410 Gone，已停用"),
                )
                .filter(webhook_subscription::Column::Id.eq(sub))
                .exec(&tx)
                .await?;
        }
        attempts.push(delivery_attempt::ActiveModel {
            delivery_id: Set(d.id),
            attempted_at: Set(now),
            status_code: Set(o.status_code.map(i32::from)),
            error: Set(o.error.map(|e| e.chars().take(300).collect())),
            duration_ms: Set(took.as_millis().min(i32::MAX as u128) as i32),
            ..Default::default()
        });
    }
    if !attempts.is_empty() {
        delivery_attempt::Entity::insert_many(attempts)
            .exec_without_returning(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
