//! Accounts: landlord registration, sign-in with rate limits, accounts made by the admin, API tokens.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Utc;
use rocket::tokio::sync::Semaphore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::{Actor, audit};
use crate::domain::account::{NewPassword, PersonName, Registration};
use crate::domain::fields::FieldErrors;
use crate::domain::identity::Phone;
use crate::domain::role::Role;
use crate::entities::{api_token, inspector_grid, user, village};
use crate::error::AppError;
use crate::ratelimit::{Limiter, SharedCounts, retry_message};

/// Failed sign-ins per account and per address within the configured window.
pub struct LoginLimiter {
    pub per_account: Limiter,
    pub per_ip: Limiter,
}

impl LoginLimiter {
    /// `shared`: the other instances' counts on PostgreSQL (a lockout holds on every instance).
    pub fn new(
        account_limit: u32,
        ip_limit: u32,
        window_minutes: u32,
        shared: Option<Arc<SharedCounts>>,
    ) -> Self {
        let window = Duration::from_secs(u64::from(window_minutes) * 60);
        LoginLimiter {
            per_account: Limiter::new("login-account", account_limit, window, shared.clone()),
            per_ip: Limiter::new("login-ip", ip_limit, window, shared),
        }
    }
}

/// At most one Argon2 hash or verify per core at a time: each costs ~19 MiB, so a burst of sign-ins
/// queues here instead of allocating memory for all of them at once.
fn hashing_permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs Argon2 work off the async runtime while holding a permit; the permit moves into the
/// blocking task so a cancelled request cannot free it before the work ends.
async fn with_hashing_permit<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = hashing_permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(AppError::internal)?;
    rocket::tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(AppError::internal)
}

/// Argon2id with a random salt; slow on purpose, so it runs off the async runtime.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    with_hashing_permit(move || {
        let salt: [u8; 16] = rand::random();
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h: PasswordHash| h.to_string())
            .map_err(AppError::internal)
    })
    .await?
}

/// Exactly one Argon2 verification whatever is stored: a hash that is no PHC string (an unclaimed
/// account, or the empty hash of an unknown phone) is replaced by a fixed dummy hash of the same
/// cost and the answer is false, so such a refusal takes as long as a wrong password's.
pub(crate) async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    with_hashing_permit(move || {
        let argon = Argon2::default();
        match PasswordHash::new(&hash) {
            Ok(h) => argon.verify_password(password.as_bytes(), &h).is_ok(),
            Err(_) => {
                if let Ok(d) = PasswordHash::new(dummy_hash()) {
                    let _ = argon.verify_password(password.as_bytes(), &d);
                }
                false
            }
        }
    })
    .await
}

/// A real Argon2id hash, with the default cost every stored hash has, of random bytes nobody
/// knows; made once per process (on a blocking thread, by `verify_password`).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt: [u8; 16] = rand::random();
        let secret: [u8; 32] = rand::random();
        Argon2::default()
            .hash_password_with_salt(&secret, &salt)
            .map(|h: PasswordHash| h.to_string())
            .unwrap_or_default()
    })
}

pub fn actor_of(u: &user::Model) -> Option<Actor> {
    Some(Actor {
        id: u.id,
        role: Role::parse(&u.role)?,
        name: u.name.clone(),
        village_id: u.village_id,
    })
}

pub async fn register_landlord(
    db: &DatabaseConnection,
    reg: Registration,
) -> Result<Actor, AppError> {
    let hash = hash_password(reg.password.expose().to_string()).await?;
    let tx = crate::db::begin_write(db).await?;
    if user::Entity::find()
        .filter(user::Column::Phone.eq(reg.phone.as_str()))
        .one(&tx)
        .await?
        .is_some()
    {
        return Err(AppError::field("phone", "该手机号已注册，请直接登录"));
    }
    let u = user::ActiveModel {
        role: Set(Role::Landlord.as_str().into()),
        phone: Set(reg.phone.as_str().into()),
        name: Set(reg.name.as_str().into()),
        password_hash: Set(hash),
        village_id: Set(None),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(u.id),
        "user.register",
        "user",
        u.id,
        serde_json::json!({"role": "landlord"}),
    )
    .await?;
    tx.commit().await?;
    actor_of(&u).ok_or_else(|| AppError::internal("bad role"))
}

/// The key the per-account limit counts under: the normalised phone when it is one.
pub(crate) fn account_key(phone: &str) -> String {
    Phone::parse(phone)
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|_| phone.trim().to_string())
}

/// Checks a phone and password. One attempt is reserved for the account and for the address
/// before the password is looked at, atomically, so however many guesses arrive at once at most
/// the limit are verified; a correct password past the limit still gets a 429.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    db: &DatabaseConnection,
    limiter: &LoginLimiter,
    phone: &str,
    password: &str,
    ip: &str,
) -> Result<Actor, AppError> {
    if crate::domain::fields::has_control(phone, false) {
        return Err(AppError::field(
            "phone",
            crate::domain::fields::CONTROL_CHARACTER,
        ));
    }
    let account_key = account_key(phone);
    limiter
        .per_account
        .check_and_hit(&account_key)
        .await
        .map_err(|wait| AppError::TooMany(retry_message(wait)))?;
    if let Err(wait) = limiter.per_ip.check_and_hit(ip).await {
        // Nothing was verified for the account, so its reservation is given back.
        limiter.per_account.release(&account_key);
        return Err(AppError::TooMany(retry_message(wait)));
    }
    let found = match user::Entity::find()
        .filter(user::Column::Phone.eq(account_key.as_str()))
        .one(db)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            limiter.per_account.release(&account_key);
            limiter.per_ip.release(ip);
            return Err(e.into());
        }
    };
    // An unknown phone is verified against the dummy hash (an empty hash is no PHC string), so
    // timing reveals neither which phones exist nor which accounts are still unclaimed.
    let (hash, u) = match found {
        Some(u) => (u.password_hash.clone(), Some(u)),
        None => (String::new(), None),
    };
    let ok = verify_password(password.to_string(), hash).await?;
    match u {
        Some(u) if ok && u.active && u.temporary_password_used_at.is_some() => {
            Err(AppError::field(
                "password",
                "临时密码只能使用一次，已失效。请联系镇管理员重新重置密码",
            ))
        }
        Some(u) if ok && u.active => {
            if u.temporary_password_since.is_some() {
                use_up_temporary(db, u.id).await?;
            }
            limiter.per_account.clear(&account_key);
            // A successful sign-in is not an attack from this address: it does not use up its quota.
            limiter.per_ip.release(ip);
            actor_of(&u).ok_or_else(|| AppError::internal("bad role"))
        }
        _ => Err(AppError::field("password", "手机号或密码不正确")),
    }
}

/// A temporary password signs in once: marked used atomically, so two parallel sign-ins with
/// it cannot both get in.
async fn use_up_temporary(db: &DatabaseConnection, id: i32) -> Result<(), AppError> {
    let used = user::Entity::update_many()
        .col_expr(
            user::Column::TemporaryPasswordUsedAt,
            Some(Utc::now()).into(),
        )
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::TemporaryPasswordSince.is_not_null())
        .filter(user::Column::TemporaryPasswordUsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected != 1 {
        return Err(AppError::field(
            "password",
            "临时密码只能使用一次，已失效。请联系镇管理员重新重置密码",
        ));
    }
    Ok(())
}

/// Whether the user's password is a temporary one set by the admin and not yet replaced.
pub async fn has_temporary_password(db: &DatabaseConnection, id: i32) -> Result<bool, AppError> {
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some_and(|u| u.temporary_password_since.is_some()))
}

/// An account made by the town admin or the command line.
pub struct NewUser {
    pub role: Role,
    pub phone: Phone,
    pub name: PersonName,
    pub password: NewPassword,
    pub village_id: Option<i32>,
    pub grid_ids: Vec<i32>,
}

pub async fn create_user(
    db: &DatabaseConnection,
    by: Option<&Actor>,
    nu: NewUser,
) -> Result<user::Model, AppError> {
    if let Some(a) = by
        && a.role != Role::TownAdmin
    {
        return Err(AppError::forbidden());
    }
    let mut e = FieldErrors::new();
    if nu.role.needs_village() && nu.village_id.is_none() {
        e.add("village_id", "村干部须选择所属村");
    }
    if nu.role == Role::Inspector && nu.grid_ids.is_empty() {
        e.add("grid_ids", "网格员须至少分配一个网格");
    }
    e.into_result()?;
    let hash = hash_password(nu.password.expose().to_string()).await?;
    let tx = crate::db::begin_write(db).await?;
    if user::Entity::find()
        .filter(user::Column::Phone.eq(nu.phone.as_str()))
        .one(&tx)
        .await?
        .is_some()
    {
        return Err(AppError::field("phone", "该手机号已被使用"));
    }
    if let Some(v) = nu.village_id
        && village::Entity::find_by_id(v).one(&tx).await?.is_none()
    {
        return Err(AppError::field("village_id", "所选村不存在"));
    }
    let u = user::ActiveModel {
        role: Set(nu.role.as_str().into()),
        phone: Set(nu.phone.as_str().into()),
        name: Set(nu.name.as_str().into()),
        password_hash: Set(hash),
        village_id: Set(if nu.role.needs_village() {
            nu.village_id
        } else {
            None
        }),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    for g in &nu.grid_ids {
        if crate::entities::grid::Entity::find_by_id(*g)
            .one(&tx)
            .await?
            .is_none()
        {
            return Err(AppError::field("grid_ids", "所选网格不存在"));
        }
        inspector_grid::ActiveModel {
            user_id: Set(u.id),
            grid_id: Set(*g),
        }
        .insert(&tx)
        .await?;
    }
    audit::record(
        &tx,
        by.map(|a| a.id),
        "user.create",
        "user",
        u.id,
        serde_json::json!({"role": nu.role.as_str(), "grids": nu.grid_ids}),
    )
    .await?;
    tx.commit().await?;
    Ok(u)
}

/// The stored form of a bearer token or session token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 32 random bytes, URL-safe base64: a bearer token or a session cookie's token.
pub(crate) fn random_token() -> String {
    let raw: [u8; 32] = rand::random();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
}

/// A new bearer token; only its hash is stored, so a database leak reveals no usable token.
pub async fn issue_token(
    db: &DatabaseConnection,
    actor: &Actor,
    label: &str,
) -> Result<String, AppError> {
    let token = random_token();
    let tx = crate::db::begin_write(db).await?;
    let t = api_token::ActiveModel {
        user_id: Set(actor.id),
        token_hash: Set(token_hash(&token)),
        label: Set(label.chars().take(64).collect()),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "token.issue",
        "api_token",
        t.id,
        serde_json::json!({"label": label}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The user of a bearer token that is neither revoked nor older than `ttl_days`.
pub async fn actor_for_token(
    db: &DatabaseConnection,
    token: &str,
    ttl_days: u32,
) -> Result<Option<Actor>, AppError> {
    let issued_after = Utc::now() - chrono::Duration::days(i64::from(ttl_days));
    let Some(t) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(api_token::Column::CreatedAt.gt(issued_after))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let u = user::Entity::find_by_id(t.user_id).one(db).await?;
    Ok(u.filter(|u| u.active).as_ref().and_then(actor_of))
}

/// Revokes the token that was presented (sign-out for API clients).
pub async fn revoke_token(
    db: &DatabaseConnection,
    actor: &Actor,
    token: &str,
) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    if let Some(t) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash(token)))
        .one(&tx)
        .await?
    {
        if t.user_id != actor.id {
            return Err(AppError::forbidden());
        }
        let id = t.id;
        let mut am: api_token::ActiveModel = t.into();
        am.revoked_at = Set(Some(Utc::now()));
        am.update(&tx).await?;
        audit::record(
            &tx,
            Some(actor.id),
            "token.revoke",
            "api_token",
            id,
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn find_user(db: &DatabaseConnection, id: i32) -> Result<Option<user::Model>, AppError> {
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| u.active))
}
