//! The applications, permits and hazards behind the command room's numbers, for the town admin
//! (the town or one village, read-only) and an official (own village): the scope is the
//! snapshot's (`scope_for`) and each filter is the condition the snapshot counts with.
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::filters::{finding_in, permit_in};
use super::{Scope, scope_for, villages_of};
use crate::AppState;
use crate::domain::application::ApplicationStatus;
use crate::domain::checklist::ChecklistRegistry;
use crate::domain::clock::town_date;
use crate::domain::dashboard::Windows;
use crate::domain::drilldown::{FindingState, PermitFilter};
use crate::entities::{application, finding, permit};
use crate::error::AppError;
use crate::services::Actor;
use crate::services::applications::{self, ApplicationRow};
use crate::services::inspections::findings::{self, FindingView};
use crate::services::permit_view::{self, PermitView};

/// The actor's scope for a list narrowed to `village_id`; an unknown village is a 404.
pub async fn scope_checked(
    db: &DatabaseConnection,
    actor: &Actor,
    village_id: Option<i32>,
) -> Result<Scope, AppError> {
    let scope = scope_for(actor, village_id)?;
    villages_of(db, scope).await?;
    Ok(scope)
}

/// Applications in scope, optionally of one status, the latest changed first.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn applications(
    db: &DatabaseConnection,
    actor: &Actor,
    village_id: Option<i32>,
    status: Option<ApplicationStatus>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ApplicationRow>, u64), AppError> {
    let scope = scope_checked(db, actor, village_id).await?;
    let mut q = application::Entity::find();
    if let Some(v) = scope.village_id {
        q = q.filter(application::Column::VillageId.eq(v));
    }
    if let Some(s) = status {
        q = q.filter(application::Column::Status.eq(s.as_str()));
    }
    let total = q.clone().count(db).await?;
    let apps = q
        .order_by_desc(application::Column::UpdatedAt)
        .order_by_desc(application::Column::Id)
        .limit(per_page)
        .offset(page * per_page)
        .all(db)
        .await?;
    Ok((applications::rows_of(db, apps).await?, total))
}

/// Permits in scope, optionally by their status as of today, the newest first.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn permits(
    st: &AppState,
    actor: &Actor,
    village_id: Option<i32>,
    filter: Option<PermitFilter>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<PermitView>, u64), AppError> {
    let scope = scope_checked(&st.db, actor, village_id).await?;
    let now = st.config.clock.now();
    let w = Windows::at(now, town_date(now));
    let mut q = permit::Entity::find();
    if let Some(v) = scope.village_id {
        q = q.filter(permit::Column::VillageId.eq(v));
    }
    if let Some(f) = filter {
        q = q.filter(permit_in(f, &w));
    }
    let total = q.clone().count(&st.db).await?;
    let list = q
        .order_by_desc(permit::Column::Id)
        .limit(per_page)
        .offset(page * per_page)
        .all(&st.db)
        .await?;
    let views = permit_view::views_of(&st.db, &st.config.public_url, list, w.today).await?;
    Ok((views, total))
}

/// Hazards in scope as the snapshot counts them for `state`, the earliest deadline first.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
#[allow(clippy::too_many_arguments)]
pub async fn findings(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    village_id: Option<i32>,
    state: FindingState,
    page: u64,
    per_page: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<FindingView>, u64), AppError> {
    let scope = scope_checked(db, actor, village_id).await?;
    let w = Windows::at(now, town_date(now));
    let mut q = finding::Entity::find().filter(finding_in(state, &w));
    if let Some(v) = scope.village_id {
        q = q.filter(finding::Column::VillageId.eq(v));
    }
    let total = q.clone().count(db).await?;
    let list = q
        .order_by_asc(finding::Column::DeadlineAt)
        .order_by_asc(finding::Column::Id)
        .limit(per_page)
        .offset(page * per_page)
        .all(db)
        .await?;
    Ok((findings::views_of(db, reg, list, now).await?, total))
}
