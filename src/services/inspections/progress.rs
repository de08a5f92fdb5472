//! Moving tasks along: starting work (and the application with it) and reassignment by the admin.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::tasks::{inspector_covers, may_work, status_of};
use crate::domain::application::ApplicationStatus;
use crate::domain::inspection::TaskStatus;
use crate::domain::role::Role;
use crate::entities::{application, inspection_task as task, inspector_grid, user};
use crate::error::AppError;
use crate::services::{Actor, applications, audit};

/// Starts work on a task (open → in_progress); its application, if any, reads 检查中.
/// Starting a task already in progress changes nothing.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn start<C: ConnectionTrait>(
    tx: &C,
    actor: &Actor,
    t: task::Model,
) -> Result<task::Model, AppError> {
    let s = status_of(&t);
    if s == TaskStatus::InProgress {
        return Ok(t);
    }
    if !s.can_move_to(TaskStatus::InProgress) {
        return Err(AppError::Conflict(format!(
            "任务{}，不能开始检查",
            s.label_zh()
        )));
    }
    let app_id = t.application_id;
    let mut am: task::ActiveModel = t.into();
    am.status = Set(TaskStatus::InProgress.as_str().into());
    am.started_at = Set(Some(Utc::now()));
    let t = am.update(tx).await?;
    if let Some(app_id) = app_id {
        move_application(
            tx,
            app_id,
            ApplicationStatus::Inspecting,
            Some(actor.id),
            "网格员开始上门检查",
        )
        .await?;
    }
    audit::record(
        tx,
        Some(actor.id),
        "task.start",
        "inspection_task",
        t.id,
        serde_json::json!({}),
    )
    .await?;
    Ok(t)
}

/// Moves an application along its lifecycle when the move is legal; otherwise leaves it, since
/// tasks of a house outlive its applications (routine patrols, an approved permit).
#[tracing::instrument(level = "debug", skip_all, fields(app_id = app_id))]
pub async fn move_application<C: ConnectionTrait>(
    tx: &C,
    app_id: i32,
    to: ApplicationStatus,
    actor_id: Option<i32>,
    note: &str,
) -> Result<bool, AppError> {
    let Some(a) = application::Entity::find_by_id(app_id)
        .lock_exclusive()
        .one(tx)
        .await?
    else {
        return Ok(false);
    };
    let from = ApplicationStatus::parse(&a.status).unwrap_or(ApplicationStatus::Draft);
    if !from.can_move_to(to) {
        return Ok(false);
    }
    let mut am: application::ActiveModel = a.into();
    am.status = Set(to.as_str().into());
    am.updated_at = Set(Utc::now());
    am.update(tx).await?;
    applications::add_event(tx, app_id, to, actor_id, Some(note.to_string())).await?;
    audit::record(
        tx,
        actor_id,
        "application.status",
        "application",
        app_id,
        serde_json::json!({"from": from.as_str(), "to": to.as_str()}),
    )
    .await?;
    Ok(true)
}

/// Starts a task as a use case of its own (the 开始检查 button).
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn start_task(db: &DatabaseConnection, actor: &Actor, id: i32) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let t = task::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_work(&tx, actor, &t).await? {
        return Err(AppError::Forbidden("这不是您负责网格的任务".into()));
    }
    start(&tx, actor, t).await?;
    tx.commit().await?;
    Ok(())
}

/// The town admin hands a task to another inspector of the task's grid.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id, inspector_id = inspector_id))]
pub async fn reassign(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    inspector_id: i32,
) -> Result<(), AppError> {
    if actor.role != Role::TownAdmin {
        return Err(AppError::Forbidden("只有镇管理员可以改派任务".into()));
    }
    let tx = crate::db::begin_write(db).await?;
    let t = task::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !status_of(&t).is_active() {
        return Err(AppError::Conflict("任务已结束，不能改派".into()));
    }
    let ok = user::Entity::find_by_id(inspector_id)
        .one(&tx)
        .await?
        .is_some_and(|u| u.active && u.role == Role::Inspector.as_str());
    if !ok || !inspector_covers(&tx, inspector_id, t.grid_id).await? {
        return Err(AppError::field("inspector_id", "请选择负责该网格的网格员"));
    }
    let from = t.assignee_id;
    let mut am: task::ActiveModel = t.into();
    am.assignee_id = Set(Some(inspector_id));
    am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "task.reassign",
        "inspection_task",
        id,
        serde_json::json!({"from": from, "to": inspector_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The inspectors of a grid, for the reassignment form.
#[tracing::instrument(level = "debug", skip_all, fields(grid_id = grid_id))]
pub async fn inspectors_of_grid(
    db: &DatabaseConnection,
    grid_id: i32,
) -> Result<Vec<(i32, String)>, AppError> {
    let ids: Vec<i32> = inspector_grid::Entity::find()
        .filter(inspector_grid::Column::GridId.eq(grid_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}
