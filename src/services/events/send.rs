//! Sending one delivery: a signed webhook POST or a text through the provider, with quiet
//! hours and the daily cap, and what came of it in the terms the delivery row keeps.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::event::{Channel, EventKind, sms_send_time};
use crate::domain::identity::Phone;
use crate::domain::notice::{NoticeRules, field};
use crate::entities::{delivery, event, webhook_subscription};
use crate::notify::sms::{SmsMessage, SmsOutcome};
use crate::notify::webhook;

/// How one send went, in the terms the delivery row keeps.
pub(super) struct Outcome {
    pub(super) status_code: Option<u16>,
    pub(super) error: Option<String>,
    pub(super) done: bool,
    /// Never worth retrying (bad number, a 410 from the receiver).
    pub(super) permanent: bool,
    pub(super) retry_after: Option<Duration>,
    /// Not tried at all (quiet hours): move the time, count no attempt.
    pub(super) postpone_to: Option<DateTime<Utc>>,
    pub(super) gone: bool,
}

impl Outcome {
    pub(super) fn refused(code: Option<u16>, why: &str) -> Outcome {
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

pub(super) async fn send_webhook(
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

pub(super) async fn send_sms(
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
    let Some(msg) = message_for(super::rules(), provider.name(), e, phone, d.id) else {
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
