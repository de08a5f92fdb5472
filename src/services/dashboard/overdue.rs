//! The wall's "oldest overdue" list: unfinished tasks and unfixed hazards past their deadline,
//! oldest first, named by their grid — the lists' own overdue conditions.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait};

use super::Scope;
use crate::entities::{finding, grid, inspection_task as task, property};
use crate::error::AppError;
use crate::services::inspections::{findings, tasks};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverdueItem {
    pub grid: String,
    pub address: String,
    /// 检查任务 or 隐患整改
    pub what: &'static str,
    pub due_at: DateTime<Utc>,
    pub days_late: i64,
}

async fn fetch<C: ConnectionTrait>(
    db: &C,
    q: &sea_orm::sea_query::SelectStatement,
    what: &'static str,
    now: DateTime<Utc>,
) -> Result<Vec<OverdueItem>, AppError> {
    let mut out = vec![];
    for r in db.query_all(q).await? {
        let due_at: DateTime<Utc> = r.try_get("", "due_at")?;
        out.push(OverdueItem {
            grid: r.try_get("", "grid")?,
            address: r.try_get("", "address")?,
            what,
            days_late: (now - due_at).num_days(),
            due_at,
        });
    }
    Ok(out)
}

#[tracing::instrument(level = "debug", skip_all, fields(village = ?scope.village_id))]
pub async fn oldest<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<OverdueItem>, AppError> {
    let only = |c: sea_orm::Condition| match scope.village_id {
        Some(v) => c.add(grid::Column::VillageId.eq(v)),
        None => c,
    };
    let q = Query::select()
        .expr_as(Expr::col((grid::Entity, grid::Column::Name)), "grid")
        .expr_as(
            Expr::col((property::Entity, property::Column::Address)),
            "address",
        )
        .expr_as(Expr::col((task::Entity, task::Column::DueAt)), "due_at")
        .from(task::Entity)
        .inner_join(
            grid::Entity,
            Expr::col((grid::Entity, grid::Column::Id))
                .equals((task::Entity, task::Column::GridId)),
        )
        .inner_join(
            property::Entity,
            Expr::col((property::Entity, property::Column::Id))
                .equals((task::Entity, task::Column::PropertyId)),
        )
        .cond_where(only(tasks::overdue_condition(now)))
        .order_by((task::Entity, task::Column::DueAt), sea_orm::Order::Asc)
        .limit(limit)
        .to_owned();
    let mut items = fetch(db, &q, "检查任务", now).await?;
    let q = Query::select()
        .expr_as(Expr::col((grid::Entity, grid::Column::Name)), "grid")
        .expr_as(
            Expr::col((property::Entity, property::Column::Address)),
            "address",
        )
        .expr_as(
            Expr::col((finding::Entity, finding::Column::DeadlineAt)),
            "due_at",
        )
        .from(finding::Entity)
        .inner_join(
            property::Entity,
            Expr::col((property::Entity, property::Column::Id))
                .equals((finding::Entity, finding::Column::PropertyId)),
        )
        .inner_join(
            grid::Entity,
            Expr::col((grid::Entity, grid::Column::Id))
                .equals((property::Entity, property::Column::GridId)),
        )
        .cond_where(only(findings::overdue_condition(now)))
        .order_by(
            (finding::Entity, finding::Column::DeadlineAt),
            sea_orm::Order::Asc,
        )
        .limit(limit)
        .to_owned();
    items.extend(fetch(db, &q, "隐患整改", now).await?);
    items.sort_by_key(|i| i.due_at);
    items.truncate(limit as usize);
    Ok(items)
}
