//! Inspection tasks: creation and routing to the least-loaded grid worker, lists for the
//! inspector and the admin, detail, start and reassignment.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::{TaskPolicy, json_list};
use crate::domain::dates::zh_datetime;
use crate::domain::inspection::{TaskKind, TaskStatus, add_working_days, is_overdue};
use crate::domain::role::Role;
use crate::entities::{application, grid, inspection_task as task, inspector_grid, property, user};
use crate::error::AppError;
use crate::services::properties::{self, PropertyView};
use crate::services::{Actor, audit, town};

/// The inspector of `grid_id` with the fewest unfinished tasks (ties: the longest-serving
/// account), or None when the grid has nobody; the admin then assigns by hand.
#[tracing::instrument(level = "debug", skip_all, fields(grid_id = grid_id))]
pub async fn least_loaded_inspector<C: ConnectionTrait>(
    tx: &C,
    grid_id: i32,
) -> Result<Option<i32>, AppError> {
    let ids: Vec<i32> = inspector_grid::Entity::find()
        .filter(inspector_grid::Column::GridId.eq(grid_id))
        .all(tx)
        .await?
        .into_iter()
        .map(|l| l.user_id)
        .collect();
    let active: Vec<i32> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.eq(Role::Inspector.as_str()))
        .order_by_asc(user::Column::Id)
        .all(tx)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut best: Option<(u64, i32)> = None;
    for id in active {
        let load = task::Entity::find()
            .filter(task::Column::AssigneeId.eq(id))
            .filter(task::Column::Status.is_in(TaskStatus::ACTIVE))
            .count(tx)
            .await?;
        if best.is_none_or(|(b, _)| load < b) {
            best = Some((load, id));
        }
    }
    Ok(best.map(|(_, id)| id))
}

/// Makes a task for a house in its grid, routed to the least-loaded inspector, in `tx`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_task<C: ConnectionTrait>(
    tx: &C,
    kind: TaskKind,
    p: &property::Model,
    application_id: Option<i32>,
    items: Option<Vec<String>>,
    policy: &TaskPolicy,
) -> Result<task::Model, AppError> {
    let now = policy.clock.now();
    let assignee = least_loaded_inspector(tx, p.grid_id).await?;
    let items = match items {
        Some(v) => Some(serde_json::to_string(&v).map_err(AppError::internal)?),
        None => None,
    };
    let t = task::ActiveModel {
        kind: Set(kind.as_str().into()),
        status: Set(TaskStatus::Open.as_str().into()),
        property_id: Set(p.id),
        application_id: Set(application_id),
        grid_id: Set(p.grid_id),
        assignee_id: Set(assignee),
        due_at: Set(add_working_days(now, policy.due_working_days)),
        checklist_key: Set(policy.checklist_key.clone()),
        items: Set(items),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    audit::record(
        tx,
        None,
        "task.create",
        "inspection_task",
        t.id,
        serde_json::json!({"kind": t.kind, "property_id": p.id, "assignee_id": assignee, "due_at": t.due_at}),
    )
    .await?;
    let house = crate::services::events::house_facts(tx, p.id).await?;
    let data = serde_json::json!({"task_id": t.id, "kind": t.kind, "property_id": p.id, "address": house.address,
        "village": house.village, "grid_id": house.grid_id, "grid_name": house.grid_name, "inspector_id": assignee,
        "due_at": t.due_at, "due_date": crate::services::events::town_day(t.due_at)});
    let ev = crate::services::events::NewEvent::about(
        crate::domain::event::EventKind::TaskCreated,
        &house,
        data,
    )
    .for_inspector(assignee);
    crate::services::events::record(tx, now, ev).await?;
    Ok(t)
}

/// The initial inspection of a submitted application; called inside the submission transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_initial<C: ConnectionTrait>(
    tx: &C,
    app: &application::Model,
    policy: &TaskPolicy,
) -> Result<task::Model, AppError> {
    let p = property::Entity::find_by_id(app.property_id)
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    create_task(tx, TaskKind::Initial, &p, Some(app.id), None, policy).await
}

/// One task as lists and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub id: i32,
    pub kind: String,
    pub kind_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub property_id: i32,
    pub application_id: Option<i32>,
    pub address: String,
    pub grid_id: i32,
    pub grid_name: String,
    pub assignee_id: Option<i32>,
    pub assignee_name: String,
    pub due_at: DateTime<Utc>,
    pub due_zh: String,
    pub overdue: bool,
    pub checklist: String,
    /// For a re-inspection: the items to check again.
    pub items: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn status_of(t: &task::Model) -> TaskStatus {
    TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Cancelled)
}

/// Rows for a page of tasks, looking up addresses, grids and names in one query each.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rows_of<C: ConnectionTrait>(
    db: &C,
    tasks: Vec<task::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<TaskRow>, AppError> {
    let pids: Vec<i32> = tasks.iter().map(|t| t.property_id).collect();
    let gids: Vec<i32> = tasks.iter().map(|t| t.grid_id).collect();
    let uids: Vec<i32> = tasks.iter().filter_map(|t| t.assignee_id).collect();
    let addr: HashMap<i32, String> = property::Entity::find()
        .filter(property::Column::Id.is_in(pids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.address))
        .collect();
    let grids: HashMap<i32, String> = grid::Entity::find()
        .filter(grid::Column::Id.is_in(gids))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let names: HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(uids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    Ok(tasks
        .into_iter()
        .map(|t| {
            let s = status_of(&t);
            let kind = TaskKind::parse(&t.kind);
            TaskRow {
                id: t.id,
                kind_label: kind.map(|k| k.label_zh()).unwrap_or("检查"),
                status_label: s.label_zh(),
                badge: s.badge(),
                overdue: is_overdue(s, &t.due_at, &now),
                property_id: t.property_id,
                application_id: t.application_id,
                address: addr.get(&t.property_id).cloned().unwrap_or_default(),
                grid_id: t.grid_id,
                grid_name: grids.get(&t.grid_id).cloned().unwrap_or_default(),
                assignee_id: t.assignee_id,
                assignee_name: t
                    .assignee_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| "未分配".into()),
                due_zh: zh_datetime(&t.due_at),
                due_at: t.due_at,
                checklist: t.checklist_key.clone(),
                items: t.items.as_deref().map(|i| json_list(Some(i))),
                created_at: t.created_at,
                kind: t.kind,
                status: t.status,
            }
        })
        .collect())
}

/// Which tasks a list shows. Empty fields mean "any".
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub village_id: Option<i32>,
    pub grid_id: Option<i32>,
    pub status: Option<TaskStatus>,
    /// Only unfinished tasks past their due time.
    pub overdue: bool,
    /// Only unfinished tasks due within the next week (`due_soon_condition`).
    pub due_soon: bool,
    /// Only tasks created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only tasks inspected within the command room's window (its "30天完成").
    pub done_recently: bool,
    /// Only unfinished tasks (the inspector's own list).
    pub active_only: bool,
}

/// Tasks the actor may see, filtered, earliest due first (so overdue ones lead), one page.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    f: &TaskFilter,
    page: u64,
    per_page: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<TaskRow>, u64), AppError> {
    let mut q = task::Entity::find();
    // Scope first: an inspector's grids, an official's village, the whole town otherwise.
    let scope: Option<Vec<i32>> = match actor.role {
        Role::Inspector => Some(town::inspector_grid_ids(db, actor.id).await?),
        Role::VillageOfficial => {
            Some(grid_ids_of_village(db, actor.village_id.unwrap_or(-1)).await?)
        }
        Role::TownAdmin | Role::ApiClient => None,
        Role::Landlord => return Err(AppError::forbidden()),
    };
    let mut grids = scope;
    if let Some(v) = f.village_id {
        let of_village = grid_ids_of_village(db, v).await?;
        grids = Some(match grids {
            Some(g) => g.into_iter().filter(|x| of_village.contains(x)).collect(),
            None => of_village,
        });
    }
    if let Some(g) = f.grid_id {
        grids = Some(match grids {
            Some(gs) => gs.into_iter().filter(|x| *x == g).collect(),
            None => vec![g],
        });
    }
    if let Some(gs) = grids {
        q = match gs.as_slice() {
            [one] => q.filter(task::Column::GridId.eq(*one)),
            _ => q.filter(task::Column::GridId.is_in(gs)),
        };
    }
    if let Some(s) = f.status {
        q = q.filter(task::Column::Status.eq(s.as_str()));
    } else if f.active_only {
        q = q.filter(task::Column::Status.is_in(TaskStatus::ACTIVE));
    }
    if f.overdue {
        q = q.filter(overdue_condition(now));
    }
    if f.due_soon {
        let until = now + chrono::Duration::days(crate::domain::dashboard::WEEK_DAYS);
        q = q.filter(due_soon_condition(now, until));
    }
    if let Some(since) = f.since {
        q = q.filter(task::Column::CreatedAt.gte(since));
    }
    if f.done_recently {
        let w = crate::domain::dashboard::Windows::at(now, crate::domain::clock::town_date(now));
        q = q.filter(
            task::Column::Id
                .in_subquery(crate::services::dashboard::filters::tasks_inspected_in_window(&w)),
        );
    }
    // Counted apart from the ordered page: SeaORM's paginator counts over the ordered query,
    // which makes SQLite sort every match (about 0.8 s for 100 000 overdue tasks).
    let total: i64 = q
        .clone()
        .select_only()
        .column_as(task::Column::Id.count(), "n")
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or(0);
    let tasks = q
        .order_by_asc(task::Column::DueAt)
        .order_by_asc(task::Column::Id)
        .limit(per_page)
        .offset(page * per_page)
        .all(db)
        .await?;
    Ok((rows_of(db, tasks, now).await?, total.max(0) as u64))
}

/// Unfinished tasks falling due between `now` and `until`: the command room's "due within 7
/// days" and the task lists' `due_soon` filter.
pub fn due_soon_condition(now: DateTime<Utc>, until: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(task::Column::Status.is_in(TaskStatus::ACTIVE))
        .add(task::Column::DueAt.gte(now))
        .add(task::Column::DueAt.lt(until))
}

/// [`is_overdue`] as a query condition: the task lists and the command room count with this one.
pub fn overdue_condition(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(task::Column::Status.is_in(TaskStatus::ACTIVE))
        .add(task::Column::DueAt.lt(now))
}

async fn grid_ids_of_village<C: ConnectionTrait>(
    db: &C,
    village: i32,
) -> Result<Vec<i32>, AppError> {
    Ok(grid::Entity::find()
        .filter(grid::Column::VillageId.eq(village))
        .select_only()
        .column(grid::Column::Id)
        .into_tuple::<i32>()
        .all(db)
        .await?)
}

/// Whether the actor may see a task: the grid's inspectors, the village's official, the admin
/// and API clients.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn may_read<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    t: &task::Model,
) -> Result<bool, AppError> {
    Ok(match actor.role {
        Role::TownAdmin | Role::ApiClient => true,
        Role::Inspector => inspector_covers(db, actor.id, t.grid_id).await?,
        Role::VillageOfficial => grid::Entity::find_by_id(t.grid_id)
            .one(db)
            .await?
            .is_some_and(|g| Some(g.village_id) == actor.village_id),
        Role::Landlord => false,
    })
}

/// Whether the actor may walk the checklist and submit: the grid's inspectors, and API clients
/// that push results recorded in the grid platform.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn may_work<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    t: &task::Model,
) -> Result<bool, AppError> {
    Ok(match actor.role {
        Role::ApiClient => true,
        Role::Inspector => inspector_covers(db, actor.id, t.grid_id).await?,
        _ => false,
    })
}

pub(crate) async fn inspector_covers<C: ConnectionTrait>(
    db: &C,
    inspector: i32,
    grid_id: i32,
) -> Result<bool, AppError> {
    Ok(inspector_grid::Entity::find_by_id((inspector, grid_id))
        .one(db)
        .await?
        .is_some())
}

/// A task with the house it is about, for the task page.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDetail {
    pub row: TaskRow,
    pub house: PropertyView,
    pub landlord_name: String,
    /// For the tap-to-call link on the inspector's task page.
    pub landlord_phone: String,
    pub grade: Option<String>,
    pub grade_label: Option<&'static str>,
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    now: DateTime<Utc>,
) -> Result<(task::Model, TaskDetail), AppError> {
    let t = task::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_read(db, actor, &t).await? {
        return Err(AppError::Forbidden("这不是您负责网格的任务".into()));
    }
    let p = property::Entity::find_by_id(t.property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let (landlord_name, landlord_phone) = user::Entity::find_by_id(p.landlord_id)
        .one(db)
        .await?
        .map(|u| (u.name, u.phone))
        .unwrap_or_default();
    let grade = p.grade.clone();
    let grade_label = grade
        .as_deref()
        .and_then(crate::domain::grade::Grade::parse)
        .map(|g| g.label_zh());
    let house = properties::view_of(db, p).await?;
    let row = rows_of(db, vec![t.clone()], now)
        .await?
        .pop()
        .ok_or_else(AppError::not_found)?;
    Ok((
        t,
        TaskDetail {
            row,
            house,
            landlord_name,
            landlord_phone,
            grade,
            grade_label,
        },
    ))
}

pub use super::progress::{inspectors_of_grid, move_application, reassign, start, start_task};
