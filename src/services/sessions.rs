//! Server-side sign-in sessions: started at sign-in, looked up per request, ended at sign-out or
//! whenever the account's credentials change (together with its API tokens).
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType,
    QueryFilter, QuerySelect, Set,
};

use super::{Actor, audit, auth};
use crate::entities::{api_token, session, user};
use crate::error::AppError;

/// Signed-in sessions last a working week; after that the user signs in again.
pub const SESSION_DAYS: i64 = 7;
/// `last_seen_at` is refreshed at most this often, so reading a page is not a write each time.
const TOUCH_EVERY_SECS: i64 = 60;

/// The stored id of a session: the hex SHA-256 of the cookie's token.
pub fn session_id(token: &str) -> String {
    auth::token_hash(token)
}

/// Starts a session for a signed-in user and returns the token for the cookie.
#[tracing::instrument(skip(db, actor), fields(user_id = actor.id))]
pub async fn start(db: &DatabaseConnection, actor: &Actor) -> Result<String, AppError> {
    let token = auth::random_token();
    let now = Utc::now();
    let tx = crate::db::begin_write(db).await?;
    session::ActiveModel {
        id: Set(session_id(&token)),
        user_id: Set(actor.id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + Duration::days(SESSION_DAYS)),
        ended_at: Set(None),
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "session.start",
        "user",
        actor.id,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The user of a live session, if the token names one that has not ended or expired and the
/// account is still active.
pub async fn resolve(db: &DatabaseConnection, token: &str) -> Result<Option<Actor>, AppError> {
    let now = Utc::now();
    // Session and account in one joined read: every signed-in page starts with it.
    let found = session::Entity::find_by_id(session_id(token))
        .filter(session::Column::EndedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .join(
            JoinType::InnerJoin,
            super::foreign_key::<session::Entity, user::Entity>(
                session::Column::UserId,
                user::Column::Id,
            ),
        )
        .filter(user::Column::Active.eq(true))
        .select_also(user::Entity)
        .one(db)
        .await?;
    let Some((s, Some(u))) = found else {
        return Ok(None);
    };
    if (now - s.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(s.id))
            .exec(db)
            .await?;
    }
    Ok(auth::actor_of(&u))
}

/// Ends the session of this token (sign-out); an unknown or ended token changes nothing.
#[tracing::instrument(skip_all)]
pub async fn end(db: &DatabaseConnection, token: &str) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    if let Some(s) = session::Entity::find_by_id(session_id(token))
        .filter(session::Column::EndedAt.is_null())
        .one(&tx)
        .await?
    {
        let user_id = s.user_id;
        let mut am: session::ActiveModel = s.into();
        am.ended_at = Set(Some(Utc::now()));
        am.update(&tx).await?;
        audit::record(
            &tx,
            Some(user_id),
            "session.end",
            "user",
            user_id,
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How many sessions and tokens `end_all` ended, for the audit entry of the change that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub sessions: u64,
    pub tokens: u64,
}

/// Ends every live session of a user except the one with token `keep`, and revokes all their
/// API tokens. Runs inside the caller's transaction, so it happens with the change that causes it.
pub async fn end_all<C: ConnectionTrait>(
    tx: &C,
    user_id: i32,
    keep: Option<&str>,
) -> Result<Ended, AppError> {
    let now = Utc::now();
    let mut q = session::Entity::update_many()
        .col_expr(session::Column::EndedAt, Expr::value(Some(now)))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::EndedAt.is_null());
    if let Some(k) = keep {
        q = q.filter(session::Column::Id.ne(session_id(k)));
    }
    let sessions = q.exec(tx).await?.rows_affected;
    let tokens = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Some(now)))
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(tx)
        .await?
        .rows_affected;
    Ok(Ended { sessions, tokens })
}
