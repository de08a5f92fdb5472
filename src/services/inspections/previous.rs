//! The answers a walk starts from: the house's latest completed inspection before this task,
//! so a routine patrol or a re-inspection does not retype what has not changed.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::domain::checklist::Answer;
use crate::domain::inspection::TaskKind;
use crate::entities::{inspection, inspection_task as task};
use crate::error::AppError;
use crate::services::Actor;

use super::tasks::may_work;

/// The previous inspection's answers; `inspection_id` is null when the house has none.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct PreviousAnswers {
    pub inspection_id: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub checklist: Option<String>,
    pub version: Option<i32>,
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<Answer>,
}

/// Which kinds of task start from the last answers: the ones that look at a house already seen.
pub fn carries_over(kind: &str) -> bool {
    matches!(
        TaskKind::parse(kind),
        Some(TaskKind::Routine | TaskKind::Reinspection)
    )
}

/// The latest inspection of the task's house made before this task was, for its inspector.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, task_id = task_id))]
pub async fn previous(
    db: &DatabaseConnection,
    actor: &Actor,
    task_id: i32,
) -> Result<PreviousAnswers, AppError> {
    let t = task::Entity::find_by_id(task_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_work(db, actor, &t).await? {
        return Err(AppError::Forbidden("这不是您负责网格的任务".into()));
    }
    previous_of(db, &t).await
}

/// Same as [`previous`] for a task the caller may already work on.
pub async fn previous_of(
    db: &DatabaseConnection,
    t: &task::Model,
) -> Result<PreviousAnswers, AppError> {
    let Some(i) = inspection::Entity::find()
        .filter(inspection::Column::PropertyId.eq(t.property_id))
        .filter(inspection::Column::TaskId.ne(t.id))
        .filter(inspection::Column::CreatedAt.lte(t.created_at))
        .order_by_desc(inspection::Column::CreatedAt)
        .order_by_desc(inspection::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(PreviousAnswers::default());
    };
    // Stored by this server from validated answers; unreadable JSON would be a bug, not input.
    let answers: Vec<Answer> = serde_json::from_str(&i.answers).map_err(AppError::internal)?;
    Ok(PreviousAnswers {
        inspection_id: Some(i.id),
        created_at: Some(i.created_at),
        checklist: Some(i.checklist_key),
        version: Some(i.checklist_version),
        answers,
    })
}
