//! The dispatcher: fans out new events, then sends the deliveries that are due (webhooks and
//! texts), records every attempt, and schedules retries. Woken when an event is recorded, and
//! once a second regardless, for retries that come due.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Unchanged, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::fan_out::{self, FanOutSettings};
use crate::domain::event::{Channel, DeliveryStatus, EventKind, next_attempt, sms_send_time};
use crate::domain::identity::Phone;
use crate::domain::notice::{NoticeRules, field};
use crate::entities::{delivery, delivery_attempt, event, user, webhook_subscription};
use crate::error::AppError;
use crate::notify::sms::{SmsMessage, SmsOutcome, SmsProvider};
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
        rules: &st.notices,
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
    if state.config.database_url.starts_with("postgres") {
        super::listen::spawn(state.clone());
    }
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

/// How one send went, in the terms the delivery row keeps.
struct Outcome {
    status_code: Option<u16>,
    error: Option<String>,
    done: bool,
    /// Never worth retrying (bad number, a 410 from the receiver).
    permanent: bool,
    retry_after: Option<Duration>,
    /// Not tried at all (quiet hours): move the time, count no attempt.
    postpone_to: Option<DateTime<Utc>>,
    gone: bool,
}

impl Outcome {
    fn refused(code: Option<u16>, why: &str) -> Outcome {
        Outcome {
            status_code: code,
            error: Some(why.into()),
            done: false,
            permanent: true,
            retry_after: None,
            postpone_to: None,
            gone: false,
        }
    }
}

async fn send_webhook(
    st: &crate::AppState,
    e: &event::Model,
    sub: Option<&(webhook_subscription::Model, Option<String>)>,
    now: DateTime<Utc>,
) -> Outcome {
    let Some((sub, Some(secret))) = sub else {
        return Outcome::refused(None, "订阅不存在或密钥无法解密");
    };
    if !sub.active {
        return Outcome::refused(None, "订阅已停用");
    }
    let body = body_of(e);
    let a = webhook::deliver(
        &st.outbox.http,
        &sub.url,
        secret,
        &e.event_id,
        body.as_bytes(),
        now.timestamp(),
        st.outbox.allow_private,
    )
    .await;
    let gone = a.status_code == Some(410);
    Outcome {
        status_code: a.status_code,
        done: a.succeeded(),
        permanent: gone,
        error: a.error,
        retry_after: a.retry_after,
        postpone_to: None,
        gone,
    }
}

/// The delivery body: `{"id","type","timestamp","data"}`; the same bytes on every retry.
pub fn body_of(e: &event::Model) -> String {
    let data: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    serde_json::json!({
        "id": e.event_id,
        "type": e.kind,
        "timestamp": e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string()
}

async fn send_sms(
    st: &crate::AppState,
    d: &delivery::Model,
    e: &event::Model,
    phone: Option<&String>,
    now: DateTime<Utc>,
) -> Outcome {
    let Some(provider) = &st.outbox.sms else {
        return Outcome::refused(None, "未配置短信服务");
    };
    let at = sms_send_time(
        now,
        &crate::domain::clock::town_tz(),
        st.outbox.quiet_start,
        st.outbox.quiet_end,
    );
    if at > now {
        return Outcome {
            postpone_to: Some(at),
            ..Outcome::refused(None, "夜间免打扰，顺延发送")
        };
    }
    let Some(phone) = phone.and_then(|p| Phone::parse(p).ok()) else {
        return Outcome::refused(None, "手机号无效");
    };
    match sent_today(&st.db, d, now).await {
        Ok(n) if n >= u64::from(st.outbox.daily_cap) => {
            return Outcome::refused(None, "已达到该号码当日同类短信上限");
        }
        Ok(_) => {}
        Err(err) => {
            return Outcome {
                permanent: false,
                ..Outcome::refused(None, &format!("数据库: {err}"))
            };
        }
    }
    let Some(msg) = message_for(&st.notices, provider.name(), e, phone, d.id) else {
        return Outcome::refused(None, "该事件没有短信模板");
    };
    match provider.send(&msg).await {
        SmsOutcome::Sent { .. } => Outcome {
            done: true,
            error: None,
            permanent: false,
            ..Outcome::refused(None, "")
        },
        SmsOutcome::Retry {
            reason,
            retry_after,
        } => Outcome {
            permanent: false,
            retry_after,
            ..Outcome::refused(None, &reason)
        },
        SmsOutcome::Refused { reason } => Outcome::refused(None, &reason),
    }
}

/// Texts of this kind delivered to this person since the start of the town's day.
async fn sent_today(
    db: &DatabaseConnection,
    d: &delivery::Model,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let start = crate::domain::clock::town_day_start(crate::domain::clock::town_date(now));
    delivery::Entity::find()
        .filter(delivery::Column::Channel.eq(Channel::Sms.as_str()))
        .filter(delivery::Column::UserId.eq(d.user_id))
        .filter(delivery::Column::Kind.eq(d.kind.clone()))
        .filter(delivery::Column::DeliveredAt.gte(start))
        .count(db)
        .await
}

/// The text for an event: the provider's template and its parameters from the event's data.
pub fn message_for(
    rules: &NoticeRules,
    provider: &str,
    e: &event::Model,
    phone: Phone,
    delivery_id: i32,
) -> Option<SmsMessage> {
    let rule = rules.rule(EventKind::parse(&e.kind)?)?;
    let t = rule.template.as_ref()?;
    let data: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    Some(SmsMessage {
        phone,
        template: if provider == "tencent" {
            t.tencent.clone()
        } else {
            t.aliyun.clone()
        },
        params: t
            .params
            .iter()
            .map(|p| (p.clone(), field(&data, p)))
            .collect(),
        out_id: delivery_id.to_string(),
    })
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
        if o.gone {
            if let Some(sub) = d.subscription_id {
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
