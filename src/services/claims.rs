//! Claiming an imported landlord account: the owner of the phone proves it with an SMS code or an
//! official's one-time claim code, chooses a password and so gets the houses already under it.
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use subtle::ConstantTimeEq;

use super::{Actor, audit, auth, events::sms_codes};
use crate::AppState;
use crate::domain::account::{CLAIM_CODE_LEN, ProofCode, Registration, UNCLAIMED, is_unclaimed};
use crate::domain::role::Role;
use crate::entities::{claim_code, property, user};
use crate::error::AppError;

/// How long an official's claim code stays valid: long enough to reach a landlord who is away.
pub const VALID_DAYS: i64 = 7;
/// Wrong codes tried against one claim code before it is spent.
const MAX_TRIES: i32 = 5;

/// The refusal for a phone whose account already has a password, the same as before claiming existed.
fn already_registered() -> AppError {
    AppError::field("phone", "该手机号已注册，请直接登录")
}

fn code_hash(st: &AppState, user_id: i32, code: &str) -> String {
    st.pii
        .lookup_hash("claim_code", &format!("{user_id}:{code}"))
}

/// A claim code as shown once to the official who asked for it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedCode {
    pub claim_code: String,
    pub expires_at: DateTime<Utc>,
    pub landlord_name: String,
    /// The phone the code claims, masked.
    pub phone: String,
}

/// The official of a house's village makes a claim code for its unclaimed landlord. Only its keyed
/// hash is kept; an earlier code of the same account stops working.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, property_id))]
pub async fn issue(st: &AppState, actor: &Actor, property_id: i32) -> Result<IssuedCode, AppError> {
    if actor.role != Role::VillageOfficial {
        return Err(AppError::forbidden());
    }
    let now = st.config.clock.now();
    let tx = crate::db::begin_write(&st.db).await?;
    let house = property::Entity::find_by_id(property_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if actor.village_id != Some(house.village_id) {
        return Err(AppError::forbidden());
    }
    let landlord = user::Entity::find_by_id(house.landlord_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !landlord.active {
        return Err(AppError::Conflict(
            "该房东账号已停用，请联系镇管理员".into(),
        ));
    }
    if !is_unclaimed(&landlord.password_hash) {
        return Err(AppError::Conflict(
            "该房东已设置密码，可直接登录，无需认领码".into(),
        ));
    }
    claim_code::Entity::update_many()
        .col_expr(claim_code::Column::UsedAt, Some(now).into())
        .filter(claim_code::Column::UserId.eq(landlord.id))
        .filter(claim_code::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    let max = 10u32.pow(CLAIM_CODE_LEN as u32);
    let code = format!(
        "{:0width$}",
        rand::rng().random_range(0..max),
        width = CLAIM_CODE_LEN
    );
    let expires_at = now + Duration::days(VALID_DAYS);
    claim_code::ActiveModel {
        user_id: Set(landlord.id),
        code_hash: Set(code_hash(st, landlord.id, &code)),
        created_by: Set(actor.id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        tries: Set(0),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "user.claim_code_issue",
        "user",
        landlord.id,
        serde_json::json!({"property_id": house.id, "expires_at": expires_at}),
    )
    .await?;
    tx.commit().await?;
    let phone = crate::domain::identity::Phone::parse(&landlord.phone)
        .map(|p| p.masked())
        .unwrap_or_default();
    Ok(IssuedCode {
        claim_code: code,
        expires_at,
        landlord_name: landlord.name,
        phone,
    })
}

/// Checks a claim code of `user_id` and spends it; a wrong one uses up one of the code's tries.
async fn spend_claim_code(st: &AppState, user_id: i32, code: &ProofCode) -> Result<bool, AppError> {
    let now = st.config.clock.now();
    let tx = crate::db::begin_write(&st.db).await?;
    let Some(row) = claim_code::Entity::find()
        .filter(claim_code::Column::UserId.eq(user_id))
        .filter(claim_code::Column::UsedAt.is_null())
        .order_by_desc(claim_code::Column::Id)
        .one(&tx)
        .await?
    else {
        return Ok(false);
    };
    if row.expires_at <= now || row.tries >= MAX_TRIES {
        return Ok(false);
    }
    let given = code_hash(st, user_id, code.as_str());
    let ok: bool = given.as_bytes().ct_eq(row.code_hash.as_bytes()).into();
    let tries = row.tries;
    let mut am: claim_code::ActiveModel = row.into();
    if ok {
        am.used_at = Set(Some(now));
    } else {
        am.tries = Set(tries + 1);
    }
    am.update(&tx).await?;
    tx.commit().await?;
    Ok(ok)
}

/// What `POST /landlords` did.
pub enum Registered {
    /// A new account.
    New(Actor),
    /// An imported account, now with the password chosen.
    Claimed(Actor),
}

impl Registered {
    pub fn actor(&self) -> &Actor {
        match self {
            Registered::New(a) | Registered::Claimed(a) => a,
        }
    }
}

/// A landlord registers. A new phone makes a new account (the code is not needed); a phone of an
/// unclaimed imported account is claimed with an SMS code or a claim code; a phone whose account
/// already has a password is refused, as it always was.
#[tracing::instrument(level = "debug", skip_all, fields(phone = %reg.phone.masked()))]
pub async fn register_or_claim(
    st: &AppState,
    reg: Registration,
    code: Option<&str>,
) -> Result<Registered, AppError> {
    let existing = user::Entity::find()
        .filter(user::Column::Phone.eq(reg.phone.as_str()))
        .one(&st.db)
        .await?;
    let Some(u) = existing else {
        return Ok(Registered::New(auth::register_landlord(&st.db, reg).await?));
    };
    if Role::parse(&u.role) != Some(Role::Landlord) || !is_unclaimed(&u.password_hash) || !u.active
    {
        return Err(already_registered());
    }
    let code = match code.map(str::trim).filter(|c| !c.is_empty()) {
        None => {
            return Err(AppError::field(
                "sms_code",
                "该手机号下已有登记的房屋：请点击“获取验证码”，或填写村干部给您的认领码，即可认领",
            ));
        }
        Some(c) => ProofCode::parse(c).map_err(|m| AppError::field("sms_code", m))?,
    };
    let via = if code.is_claim_code() {
        spend_claim_code(st, u.id, &code)
            .await?
            .then_some("claim_code")
    } else {
        sms_codes::verify(st, &reg.phone, code.as_str())
            .await?
            .then_some("sms")
    };
    let Some(via) = via else {
        return Err(AppError::field(
            "sms_code",
            "验证码或认领码不正确、已使用或已过期",
        ));
    };
    let hash = auth::hash_password(reg.password.expose().to_string()).await?;
    let tx = crate::db::begin_write(&st.db).await?;
    // Only while still unclaimed: two claims racing with one code cannot both set a password.
    let set = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, hash.into())
        .col_expr(user::Column::Name, reg.name.as_str().to_string().into())
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::PasswordHash.eq(UNCLAIMED))
        .exec(&tx)
        .await?;
    if set.rows_affected != 1 {
        return Err(already_registered());
    }
    audit::record(
        &tx,
        Some(u.id),
        "user.claim",
        "user",
        u.id,
        serde_json::json!({"via": via}),
    )
    .await?;
    tx.commit().await?;
    let claimed = user::Entity::find_by_id(u.id)
        .one(&st.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let actor = auth::actor_of(&claimed).ok_or_else(|| AppError::internal("bad role"))?;
    Ok(Registered::Claimed(actor))
}

/// Whether the phone belongs to an imported account still waiting to be claimed: the registration
/// page then asks for a code.
pub async fn is_claimable(st: &AppState, phone: &crate::domain::identity::Phone) -> bool {
    user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(&st.db)
        .await
        .ok()
        .flatten()
        .is_some_and(|u| u.active && is_unclaimed(&u.password_hash))
}
