//! Notifications to users (permit issued, status changed, expiry reminders), shown on their home page.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::Actor;
use crate::domain::dates::zh_datetime;
use crate::entities::notification;
use crate::error::AppError;

/// Writes a notification in the caller's transaction, so it exists exactly when the change does.
#[tracing::instrument(level = "debug", skip_all, fields(user_id = user_id))]
pub async fn notify<C: ConnectionTrait>(
    tx: &C,
    user_id: i32,
    kind: &str,
    title: &str,
    body: &str,
    link: Option<&str>,
) -> Result<(), AppError> {
    notification::ActiveModel {
        user_id: Set(user_id),
        kind: Set(kind.chars().take(32).collect()),
        title: Set(title.chars().take(200).collect()),
        body: Set(body.to_string()),
        link: Set(link.map(|l| l.chars().take(200).collect())),
        created_at: Set(Utc::now()),
        read_at: Set(None),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// One notice as the API and the list page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeItem {
    pub id: i32,
    /// The event type (`task.created`, …) or another notice kind.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub read_at: Option<chrono::DateTime<Utc>>,
    #[serde(skip)]
    pub created_zh: String,
}

/// How many unread notices the actor has (the bell's number).
pub async fn unread_count(db: &DatabaseConnection, user_id: i32) -> Result<u64, AppError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// The actor's notices, newest first, 30 a page; only unread ones when asked. Returns the total too.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    unread_only: bool,
    page: u64,
) -> Result<(Vec<NoticeItem>, u64), AppError> {
    let mut q = notification::Entity::find().filter(notification::Column::UserId.eq(actor.id));
    if unread_only {
        q = q.filter(notification::Column::ReadAt.is_null());
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(notification::Column::Id)
        .offset(page * 30)
        .limit(30)
        .all(db)
        .await?;
    Ok((
        rows.into_iter()
            .map(|n| NoticeItem {
                id: n.id,
                created_zh: zh_datetime(&n.created_at),
                kind: n.kind,
                title: n.title,
                body: n.body,
                link: n.link,
                created_at: n.created_at,
                read_at: n.read_at,
            })
            .collect(),
        total,
    ))
}

/// Marks every notice of the actor read.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn mark_all_read(db: &DatabaseConnection, actor: &Actor) -> Result<u64, AppError> {
    let tx = crate::db::begin_write(db).await?;
    let r = notification::Entity::update_many()
        .col_expr(
            notification::Column::ReadAt,
            sea_orm::sea_query::Expr::value(Some(Utc::now())),
        )
        .filter(notification::Column::UserId.eq(actor.id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected)
}

/// The newest unread notifications of the actor (at most 20), for a home page.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn unread(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<NoticeItem>, AppError> {
    let (mut items, _) = list(db, actor, true, 0).await?;
    items.truncate(20);
    Ok(items)
}

/// Marks one of the actor's notifications read; someone else's is 404, not 403, so ids leak nothing.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn mark_read(db: &DatabaseConnection, actor: &Actor, id: i32) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let n = notification::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .filter(|n| n.user_id == actor.id)
        .ok_or_else(AppError::not_found)?;
    if n.read_at.is_none() {
        let mut am: notification::ActiveModel = n.into();
        am.read_at = Set(Some(Utc::now()));
        am.update(&tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
