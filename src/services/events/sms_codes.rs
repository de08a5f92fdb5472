//! One-time SMS codes for phone verification: six digits, sent at once (no queue, no quiet hours),
//! one a minute and five an hour per number, valid ten minutes, stored as keyed hashes.
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use subtle::ConstantTimeEq;

use crate::domain::identity::Phone;
use crate::entities::sms_code;
use crate::error::AppError;
use crate::notify::sms::{SmsMessage, SmsOutcome};

pub const VALID_MINUTES: i64 = 10;
const PER_MINUTE: u64 = 1;
const PER_HOUR: u64 = 5;
/// Wrong codes tried against one code before it is spent.
const MAX_TRIES: i32 = 5;

fn phone_hash(st: &crate::AppState, phone: &Phone) -> String {
    st.pii.lookup_hash("sms_phone", phone.as_str())
}

fn code_hash(st: &crate::AppState, phone: &Phone, code: &str) -> String {
    st.pii
        .lookup_hash("sms_code", &format!("{}:{code}", phone.as_str()))
}

/// Sends a new code to `phone` now. Refused when the town has no SMS provider or the number asked too often.
#[tracing::instrument(level = "debug", skip_all, fields(phone = %phone.masked()))]
pub async fn send(st: &crate::AppState, phone: &Phone) -> Result<(), AppError> {
    let Some(provider) = &st.outbox.sms else {
        return Err(AppError::BadRequest(
            "本系统未配置短信服务，无法发送验证码，请联系村干部获取认领码".into(),
        ));
    };
    let Some(template) = &super::rules().code else {
        return Err(AppError::internal(
            "forms/notifications.toml has no [code] template",
        ));
    };
    let now = st.config.clock.now();
    let ph = phone_hash(st, phone);
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let tx = crate::db::begin_write(&st.db).await?;
    let recent = |since: DateTime<Utc>| {
        sms_code::Entity::find()
            .filter(sms_code::Column::PhoneHash.eq(ph.clone()))
            .filter(sms_code::Column::CreatedAt.gt(since))
    };
    if recent(now - Duration::minutes(1)).count(&tx).await? >= PER_MINUTE {
        return Err(AppError::TooMany("验证码已发送，请 1 分钟后再试".into()));
    }
    if recent(now - Duration::hours(1)).count(&tx).await? >= PER_HOUR {
        return Err(AppError::TooMany(
            "该号码一小时内获取验证码次数过多，请稍后再试".into(),
        ));
    }
    let row = sms_code::ActiveModel {
        phone_hash: Set(ph),
        code_hash: Set(code_hash(st, phone, &code)),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(VALID_MINUTES)),
        used_at: Set(None),
        tries: Set(0),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    // The row counts against the limits even if the provider then fails: retrying is what the limit is for.
    tx.commit().await?;
    let msg = SmsMessage {
        phone: phone.clone(),
        template: if provider.name() == "tencent" {
            template.tencent.clone()
        } else {
            template.aliyun.clone()
        },
        params: template
            .params
            .iter()
            .map(|p| (p.clone(), code.clone()))
            .collect(),
        out_id: format!("code-{}", row.id),
    };
    match provider.send(&msg).await {
        SmsOutcome::Sent { .. } => Ok(()),
        SmsOutcome::Retry { reason, .. } | SmsOutcome::Refused { reason } => {
            tracing::warn!(%reason, "one-time code not sent");
            Err(AppError::BadRequest("验证码发送失败，请稍后再试".into()))
        }
    }
}

/// Checks a code and spends it. False for a wrong, expired or used code; the latest code counts.
#[tracing::instrument(level = "debug", skip_all, fields(phone = %phone.masked()))]
pub async fn verify(st: &crate::AppState, phone: &Phone, code: &str) -> Result<bool, AppError> {
    let now = st.config.clock.now();
    let tx = crate::db::begin_write(&st.db).await?;
    let Some(row) = sms_code::Entity::find()
        .filter(sms_code::Column::PhoneHash.eq(phone_hash(st, phone)))
        .order_by_desc(sms_code::Column::Id)
        .one(&tx)
        .await?
    else {
        return Ok(false);
    };
    if row.used_at.is_some() || row.expires_at <= now || row.tries >= MAX_TRIES {
        return Ok(false);
    }
    let given = code_hash(st, phone, code.trim());
    let ok: bool = given.as_bytes().ct_eq(row.code_hash.as_bytes()).into();
    let tries = row.tries;
    let mut am: sms_code::ActiveModel = row.into();
    if ok {
        am.used_at = Set(Some(now));
    } else {
        am.tries = Set(tries + 1);
    }
    am.update(&tx).await?;
    tx.commit().await?;
    Ok(ok)
}
