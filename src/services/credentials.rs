//! Changing, resetting and disabling credentials. Each ends the sessions and API tokens that the
//! change makes stale, in the same transaction, and is audited.
use chrono::Utc;
use rand::Rng;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::{Actor, audit, auth, sessions};
use crate::domain::account::NewPassword;
use crate::domain::role::Role;
use crate::entities::user;
use crate::error::AppError;
use crate::ratelimit::retry_message;

/// A signed-in user changes their own password. Their other sessions and every API token end;
/// the session they are using (`keep`) stays signed in. Wrong current passwords count against
/// the same per-account limit as sign-in, so this form is no way around it.
#[tracing::instrument(skip_all, fields(user_id = actor.id))]
pub async fn change_password(
    db: &DatabaseConnection,
    limiter: &auth::LoginLimiter,
    actor: &Actor,
    keep: Option<&str>,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    let new = NewPassword::parse(new).map_err(|m| AppError::field("new_password", m))?;
    let u = user::Entity::find_by_id(actor.id)
        .one(db)
        .await?
        .filter(|u| u.active)
        .ok_or(AppError::Unauthorized)?;
    let key = auth::account_key(&u.phone);
    limiter
        .per_account
        .check_and_hit(&key)
        .await
        .map_err(|wait| AppError::TooMany(retry_message(wait)))?;
    if !auth::verify_password(current.to_string(), u.password_hash.clone()).await? {
        return Err(AppError::field("current_password", "当前密码不正确"));
    }
    limiter.per_account.release(&key);
    let hash = auth::hash_password(new.expose().to_string()).await?;
    let tx = crate::db::begin_write(db).await?;
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    // The user's own password is no longer a temporary one.
    am.temporary_password_since = Set(None);
    am.temporary_password_used_at = Set(None);
    am.update(&tx).await?;
    let ended = sessions::end_all(&tx, actor.id, keep).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "user.password_change",
        "user",
        actor.id,
        serde_json::json!({"sessions_ended": ended.sessions, "tokens_revoked": ended.tokens}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Letters and digits that cannot be mistaken for one another when read out over the phone.
const TEMP_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn temporary_password() -> NewPassword {
    let mut rng = rand::rng();
    loop {
        let p: String = (0..12)
            .map(|_| char::from(TEMP_ALPHABET[rng.random_range(0..TEMP_ALPHABET.len())]))
            .collect();
        if let Ok(p) = NewPassword::parse(&p) {
            return p;
        }
    }
}

fn require_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.role == Role::TownAdmin {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The town admin gives a user a new random password, shown to the admin once and stored only
/// as a hash. All the user's sessions and tokens end.
#[tracing::instrument(skip(db, admin), fields(admin_id = admin.id))]
pub async fn reset_password(
    db: &DatabaseConnection,
    admin: &Actor,
    user_id: i32,
) -> Result<String, AppError> {
    require_admin(admin)?;
    let temp = temporary_password();
    let hash = auth::hash_password(temp.expose().to_string()).await?;
    let tx = crate::db::begin_write(db).await?;
    let u = user::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or_else(|| AppError::NotFound("账号不存在".into()))?;
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    // Valid for one sign-in, after which the user must choose their own (auth::authenticate_page).
    am.temporary_password_since = Set(Some(chrono::Utc::now()));
    am.temporary_password_used_at = Set(None);
    am.update(&tx).await?;
    let ended = sessions::end_all(&tx, user_id, None).await?;
    audit::record(
        &tx,
        Some(admin.id),
        "user.password_reset",
        "user",
        user_id,
        serde_json::json!({"sessions_ended": ended.sessions, "tokens_revoked": ended.tokens}),
    )
    .await?;
    tx.commit().await?;
    Ok(temp.expose().to_string())
}

/// The town admin disables (`active = false`) or re-enables an account. Disabling ends all its
/// sessions and tokens; an admin cannot disable their own account and lock the town out.
#[tracing::instrument(skip(db, admin), fields(admin_id = admin.id))]
pub async fn set_active(
    db: &DatabaseConnection,
    admin: &Actor,
    user_id: i32,
    active: bool,
) -> Result<user::Model, AppError> {
    require_admin(admin)?;
    if !active && user_id == admin.id {
        return Err(AppError::Conflict("不能停用自己的账号".into()));
    }
    let tx = crate::db::begin_write(db).await?;
    let u = user::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or_else(|| AppError::NotFound("账号不存在".into()))?;
    let mut am: user::ActiveModel = u.into();
    am.active = Set(active);
    let u = am.update(&tx).await?;
    let detail = if active {
        serde_json::json!({"at": Utc::now()})
    } else {
        let ended = sessions::end_all(&tx, user_id, None).await?;
        serde_json::json!({"sessions_ended": ended.sessions, "tokens_revoked": ended.tokens})
    };
    let action = if active {
        "user.enable"
    } else {
        "user.disable"
    };
    audit::record(&tx, Some(admin.id), action, "user", user_id, detail).await?;
    tx.commit().await?;
    Ok(u)
}

/// What the admin's confirmation and reset pages show about an account.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: i32,
    pub name: String,
    pub phone: String,
    pub role_label: &'static str,
    pub active: bool,
}

pub async fn account(
    db: &DatabaseConnection,
    admin: &Actor,
    user_id: i32,
) -> Result<AccountSummary, AppError> {
    require_admin(admin)?;
    let u = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("账号不存在".into()))?;
    Ok(AccountSummary {
        id: u.id,
        role_label: Role::parse(&u.role).map_or("未知", |r| r.label_zh()),
        name: u.name,
        phone: u.phone,
        active: u.active,
    })
}
