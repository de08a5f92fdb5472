//! Merging two landlord accounts of one person (say an import made one under an old phone): the
//! town admin sees what would move, then houses, applications, permits, notifications and uploads
//! move to the kept account and the other is disabled and signed out, in one audited transaction.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};

use super::{Actor, audit, sessions};
use crate::domain::account::is_unclaimed;
use crate::domain::event::EventKind;
use crate::domain::identity::Phone;
use crate::domain::role::Role;
use crate::entities::{application, event, notification, permit, property, upload, user};
use crate::error::AppError;

/// One of the two accounts, as the admin's confirmation page shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MergeAccount {
    pub id: i32,
    pub name: String,
    pub phone: String,
    pub claimed: bool,
    pub active: bool,
}

/// What a merge moves (before) or moved (after).
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct MergeCounts {
    pub houses: u64,
    pub applications: u64,
    pub permits: u64,
    pub notifications: u64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MergePlan {
    /// The account that is merged away and disabled.
    pub from: MergeAccount,
    /// The account that is kept and receives everything.
    pub into: MergeAccount,
    pub counts: MergeCounts,
}

fn require_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.role == Role::TownAdmin {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn account_of(u: &user::Model) -> MergeAccount {
    MergeAccount {
        id: u.id,
        name: u.name.clone(),
        phone: u.phone.clone(),
        claimed: !is_unclaimed(&u.password_hash),
        active: u.active,
    }
}

/// Both accounts, checked: two different landlords, the kept one active.
fn pair(
    from: Option<user::Model>,
    into: Option<user::Model>,
) -> Result<(user::Model, user::Model), AppError> {
    let (Some(from), Some(into)) = (from, into) else {
        return Err(AppError::NotFound("账号不存在".into()));
    };
    if from.id == into.id {
        return Err(AppError::field("into", "两个账号是同一个，无需合并"));
    }
    for (u, field) in [(&from, "from"), (&into, "into")] {
        if Role::parse(&u.role) != Some(Role::Landlord) {
            return Err(AppError::field(field, "只能合并房东账号"));
        }
    }
    if !into.active {
        return Err(AppError::field(
            "into",
            "保留的账号已停用，请先启用或换一个方向合并",
        ));
    }
    Ok((from, into))
}

async fn counts<C: ConnectionTrait>(db: &C, from: i32) -> Result<MergeCounts, AppError> {
    Ok(MergeCounts {
        houses: property::Entity::find()
            .filter(property::Column::LandlordId.eq(from))
            .count(db)
            .await?,
        applications: application::Entity::find()
            .filter(application::Column::LandlordId.eq(from))
            .count(db)
            .await?,
        permits: permit::Entity::find()
            .filter(permit::Column::LandlordId.eq(from))
            .count(db)
            .await?,
        notifications: notification::Entity::find()
            .filter(notification::Column::UserId.eq(from))
            .count(db)
            .await?,
    })
}

async fn by_phone(
    db: &DatabaseConnection,
    raw: &str,
    field: &str,
) -> Result<user::Model, AppError> {
    let phone = Phone::parse(raw).map_err(|e| AppError::field(field, &e.to_string()))?;
    user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| AppError::field(field, "没有这个手机号的账号"))
}

/// What merging the account of `from_phone` into that of `into_phone` would move; nothing is written.
pub async fn plan_by_phones(
    db: &DatabaseConnection,
    admin: &Actor,
    from_phone: &str,
    into_phone: &str,
) -> Result<MergePlan, AppError> {
    require_admin(admin)?;
    let from = by_phone(db, from_phone, "from").await;
    let into = by_phone(db, into_phone, "into").await;
    let (from, into) = match (from, into) {
        (Ok(f), Ok(i)) => (f, i),
        (Err(AppError::Validation(mut a)), Err(AppError::Validation(b))) => {
            a.0.extend(b.0);
            return Err(AppError::Validation(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let (from, into) = pair(Some(from), Some(into))?;
    Ok(MergePlan {
        counts: counts(db, from.id).await?,
        from: account_of(&from),
        into: account_of(&into),
    })
}

/// Merges account `from_id` into `into_id`: everything of `from_id` moves, it is disabled and its
/// sessions and tokens end; the audit entry lists what moved.
#[tracing::instrument(level = "debug", skip(db, admin), fields(admin = admin.id))]
pub async fn merge(
    db: &DatabaseConnection,
    admin: &Actor,
    from_id: i32,
    into_id: i32,
) -> Result<MergePlan, AppError> {
    require_admin(admin)?;
    let tx = crate::db::begin_write(db).await?;
    let from = user::Entity::find_by_id(from_id).one(&tx).await?;
    let into = user::Entity::find_by_id(into_id).one(&tx).await?;
    let (from, into) = pair(from, into)?;
    let moved = MergeCounts {
        houses: property::Entity::update_many()
            .col_expr(property::Column::LandlordId, into.id.into())
            .filter(property::Column::LandlordId.eq(from.id))
            .exec(&tx)
            .await?
            .rows_affected,
        applications: application::Entity::update_many()
            .col_expr(application::Column::LandlordId, into.id.into())
            .filter(application::Column::LandlordId.eq(from.id))
            .exec(&tx)
            .await?
            .rows_affected,
        permits: permit::Entity::update_many()
            .col_expr(permit::Column::LandlordId, into.id.into())
            .filter(permit::Column::LandlordId.eq(from.id))
            .exec(&tx)
            .await?
            .rows_affected,
        notifications: notification::Entity::update_many()
            .col_expr(notification::Column::UserId, into.id.into())
            .filter(notification::Column::UserId.eq(from.id))
            .exec(&tx)
            .await?
            .rows_affected,
    };
    // Photos of the moved applications are shown to their uploader, and events not yet fanned
    // out would notify the disabled account: both follow the person.
    let uploads = upload::Entity::update_many()
        .col_expr(upload::Column::UploadedBy, into.id.into())
        .filter(upload::Column::UploadedBy.eq(from.id))
        .exec(&tx)
        .await?
        .rows_affected;
    event::Entity::update_many()
        .col_expr(event::Column::LandlordId, Some(into.id).into())
        .filter(event::Column::LandlordId.eq(from.id))
        .filter(event::Column::FannedOutAt.is_null())
        .exec(&tx)
        .await?;
    let plan = MergePlan {
        from: account_of(&from),
        into: account_of(&into),
        counts: moved,
    };
    let mut am: user::ActiveModel = from.into();
    am.active = Set(false);
    am.update(&tx).await?;
    let ended = sessions::end_all(&tx, from_id, None).await?;
    audit::record(
        &tx,
        Some(admin.id),
        "user.merge",
        "user",
        from_id,
        serde_json::json!({
            "into_user_id": into_id,
            "houses": plan.counts.houses, "applications": plan.counts.applications,
            "permits": plan.counts.permits, "notifications": plan.counts.notifications,
            "uploads": uploads, "disabled": true,
            "sessions_ended": ended.sessions, "tokens_revoked": ended.tokens,
        }),
    )
    .await?;
    let ev = crate::services::events::NewEvent {
        kind: EventKind::LandlordMerged,
        data: serde_json::json!({"from_user_id": from_id, "into_user_id": into_id,
            "houses": plan.counts.houses, "applications": plan.counts.applications,
            "permits": plan.counts.permits}),
        village_id: None,
        landlord_id: Some(into_id),
        inspector_id: None,
    };
    crate::services::events::record(&tx, chrono::Utc::now(), ev).await?;
    tx.commit().await?;
    Ok(plan)
}
