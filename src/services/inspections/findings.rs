//! Findings and the rectification loop: the landlord reports each fix with a note and a photo;
//! when none is left open, a re-inspection of only the failed items is created.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::{TaskPolicy, json_list};
use crate::domain::application::ApplicationStatus;
use crate::domain::checklist::{ChecklistRegistry, Severity};
use crate::domain::dates::zh_datetime;
use crate::domain::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use crate::domain::inspection::{TaskKind, TaskStatus, finding_is_overdue, finding_status};
use crate::domain::role::Role;
use crate::entities::{finding, inspection, inspection_task as task, property, upload};
use crate::error::AppError;
use crate::services::{Actor, applications, audit, properties};

/// A finding as the landlord, the inspector and the admin see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingView {
    pub id: i32,
    pub property_id: i32,
    pub application_id: Option<i32>,
    pub address: String,
    pub item: String,
    /// The item's label in the checklist version the inspection was made with.
    pub label: String,
    pub legal_basis: String,
    #[schema(value_type = crate::domain::checklist::Severity)]
    pub severity: String,
    pub severity_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub deadline_at: Option<DateTime<Utc>>,
    pub deadline_zh: String,
    pub overdue: bool,
    pub note: Option<String>,
    pub photo_ids: Vec<String>,
    pub fix_note: Option<String>,
    pub fix_photo_ids: Vec<String>,
    pub fix_reported_zh: Option<String>,
}

impl FindingView {
    pub fn is_open(&self) -> bool {
        self.status == finding_status::OPEN
    }
}

fn overdue(f: &finding::Model, now: &DateTime<Utc>) -> bool {
    finding_is_overdue(&f.status, f.deadline_at.as_ref(), now)
}

/// [`finding_is_overdue`] as a query condition: the overdue list and the command room count
/// with this one condition.
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(finding::Column::Status.eq(finding_status::OPEN))
        .add(finding::Column::DeadlineAt.lt(now))
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn views_of<C: ConnectionTrait>(
    db: &C,
    reg: &ChecklistRegistry,
    list: Vec<finding::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<FindingView>, AppError> {
    let mut out = Vec::with_capacity(list.len());
    for f in list {
        let i = inspection::Entity::find_by_id(f.inspection_id)
            .one(db)
            .await?;
        let item = i
            .as_ref()
            .and_then(|i| reg.get(&i.checklist_key, i.checklist_version as u32))
            .and_then(|c| c.item(&f.item_key).cloned());
        let address = property::Entity::find_by_id(f.property_id)
            .one(db)
            .await?
            .map(|p| p.address)
            .unwrap_or_default();
        out.push(FindingView {
            id: f.id,
            property_id: f.property_id,
            application_id: f.application_id,
            address,
            label: item
                .as_ref()
                .map(|i| i.label_zh.clone())
                .unwrap_or_else(|| f.item_key.clone()),
            legal_basis: item.map(|i| i.legal_basis).unwrap_or_default(),
            severity_label: Severity::parse(&f.severity)
                .map(|s| s.label_zh())
                .unwrap_or(""),
            status_label: if overdue(&f, &now) {
                "已逾期"
            } else {
                finding_status::label_zh(&f.status)
            },
            overdue: overdue(&f, &now),
            deadline_zh: match &f.deadline_at {
                Some(d) => zh_datetime(d),
                None => "立即整改".into(),
            },
            deadline_at: f.deadline_at,
            photo_ids: json_list(Some(&f.photo_ids)),
            fix_photo_ids: json_list(f.fix_photo_ids.as_deref()),
            fix_reported_zh: f.fix_reported_at.as_ref().map(zh_datetime),
            item: f.item_key,
            severity: f.severity,
            status: f.status,
            note: f.note,
            fix_note: f.fix_note,
        })
    }
    Ok(out)
}

/// The findings of an application (newest inspection first), for whoever may read it.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, app_id = app_id))]
pub async fn of_application(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    app_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<FindingView>, AppError> {
    // Reading the application checks the actor's right to it.
    applications::get(db, actor, app_id).await?;
    let list = finding::Entity::find()
        .filter(finding::Column::ApplicationId.eq(app_id))
        .order_by_desc(finding::Column::InspectionId)
        .order_by_asc(finding::Column::Id)
        .all(db)
        .await?;
    views_of(db, reg, list, now).await
}

/// Unfixed findings past their deadline, across the town, for the admin.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn overdue_list(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    village_id: Option<i32>,
    page: u64,
    per_page: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<FindingView>, u64), AppError> {
    if actor.role != Role::TownAdmin {
        return Err(AppError::forbidden());
    }
    let mut q = finding::Entity::find().filter(overdue_condition(now));
    if let Some(v) = village_id {
        q = q.filter(
            finding::Column::PropertyId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(property::Column::Id)
                    .from(property::Entity)
                    .and_where(property::Column::VillageId.eq(v))
                    .to_owned(),
            ),
        );
    }
    // Counted without the ordering, which would make SQLite sort every match just to count.
    let total = q.clone().count(db).await?;
    let list = q
        .order_by_asc(finding::Column::DeadlineAt)
        .order_by_asc(finding::Column::Id)
        .limit(per_page)
        .offset(page * per_page)
        .all(db)
        .await?;
    Ok((views_of(db, reg, list, now).await?, total))
}

/// The landlord's report of a fix.
#[derive(Debug, Clone)]
pub struct FixReport {
    pub note: String,
    pub photo_ids: Vec<String>,
}

impl FixReport {
    pub fn parse(note: &str, photo_ids: Vec<String>) -> Result<FixReport, FieldErrors> {
        let mut e = FieldErrors::new();
        let note = note.trim();
        if has_control(note, true) {
            e.add("note", CONTROL_CHARACTER);
        } else if note.is_empty() {
            e.add("note", "请说明整改情况");
        } else if note.chars().count() > 500 {
            e.add("note", "整改说明不能超过 500 个字");
        }
        let photo_ids: Vec<String> = photo_ids
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if photo_ids.iter().any(|p| has_control(p, false)) {
            e.add("photo", CONTROL_CHARACTER);
        } else if photo_ids.is_empty() {
            e.add("photo", "请上传整改后的照片");
        }
        e.into_result()?;
        Ok(FixReport {
            note: note.into(),
            photo_ids,
        })
    }
}

/// What reporting a fix led to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FixOutcome {
    pub finding_id: i32,
    pub status: String,
    /// The re-inspection task, once every open finding of the house is reported fixed.
    pub reinspection_task_id: Option<i32>,
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, finding_id = finding_id))]
pub async fn report_fix(
    db: &DatabaseConnection,
    policy: &TaskPolicy,
    actor: &Actor,
    finding_id: i32,
    r: FixReport,
) -> Result<FixOutcome, AppError> {
    if actor.role != Role::Landlord {
        return Err(AppError::Forbidden("只有房东可以报告整改".into()));
    }
    let tx = crate::db::begin_write(db).await?;
    let f = finding::Entity::find_by_id(finding_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    // One lock per house: two fixes reported at once must not both miss the last one.
    let p = property::Entity::find_by_id(f.property_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !properties::may_read(actor, &p) {
        return Err(AppError::forbidden());
    }
    let f = finding::Entity::find_by_id(finding_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if f.status == finding_status::CLOSED {
        return Err(AppError::Conflict("该隐患已复查通过，无需再报告".into()));
    }
    let mut errs = FieldErrors::new();
    for id in &r.photo_ids {
        match upload::Entity::find_by_id(id.clone()).one(&tx).await? {
            Some(u) if u.uploaded_by == actor.id => {}
            _ => errs.add("photo", "照片不存在，请重新上传"),
        }
    }
    errs.into_result()?;
    let now = policy.clock.now();
    let app_id = f.application_id;
    let mut am: finding::ActiveModel = f.into();
    am.status = Set(finding_status::FIX_REPORTED.into());
    am.fix_note = Set(Some(r.note.clone()));
    am.fix_photo_ids = Set(Some(
        serde_json::to_string(&r.photo_ids).map_err(AppError::internal)?,
    ));
    am.fix_reported_at = Set(Some(now));
    am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "finding.fix",
        "finding",
        finding_id,
        serde_json::json!({"photos": r.photo_ids}),
    )
    .await?;

    let unfixed = finding::Entity::find()
        .filter(finding::Column::PropertyId.eq(p.id))
        .filter(finding::Column::Status.eq(finding_status::OPEN))
        .count(&tx)
        .await?;
    let pending_recheck = task::Entity::find()
        .filter(task::Column::PropertyId.eq(p.id))
        .filter(task::Column::Kind.eq(TaskKind::Reinspection.as_str()))
        .filter(task::Column::Status.is_in(TaskStatus::ACTIVE))
        .count(&tx)
        .await?;
    let mut reinspection = None;
    if unfixed == 0 && pending_recheck == 0 {
        let items: Vec<String> = finding::Entity::find()
            .filter(finding::Column::PropertyId.eq(p.id))
            .filter(finding::Column::Status.eq(finding_status::FIX_REPORTED))
            .order_by_asc(finding::Column::Id)
            .all(&tx)
            .await?
            .into_iter()
            .map(|f| f.item_key)
            .fold(Vec::new(), |mut v, k| {
                if !v.contains(&k) {
                    v.push(k);
                }
                v
            });
        let t =
            super::tasks::create_task(&tx, TaskKind::Reinspection, &p, app_id, Some(items), policy)
                .await?;
        if let Some(app_id) = app_id {
            applications::add_event(
                &tx,
                app_id,
                ApplicationStatus::Rectifying,
                Some(actor.id),
                Some("隐患已全部整改，等待网格员复查".into()),
            )
            .await?;
        }
        reinspection = Some(t.id);
    }
    tx.commit().await?;
    Ok(FixOutcome {
        finding_id,
        status: finding_status::FIX_REPORTED.into(),
        reinspection_task_id: reinspection,
    })
}

/// The application and house a finding belongs to, checking that the actor may read the house.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, finding_id = finding_id))]
pub async fn application_of(
    db: &DatabaseConnection,
    actor: &Actor,
    finding_id: i32,
) -> Result<(Option<i32>, i32), AppError> {
    let f = finding::Entity::find_by_id(finding_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let p = property::Entity::find_by_id(f.property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !properties::may_read(actor, &p) {
        return Err(AppError::forbidden());
    }
    Ok((f.application_id, f.property_id))
}

/// Findings of a house not yet closed (routine patrols' findings have no application).
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, property_id = property_id))]
pub async fn open_of_property(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    property_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<FindingView>, AppError> {
    let p = property::Entity::find_by_id(property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !properties::may_read(actor, &p) {
        return Err(AppError::forbidden());
    }
    let list = finding::Entity::find()
        .filter(finding::Column::PropertyId.eq(property_id))
        .filter(finding::Column::Status.ne(finding_status::CLOSED))
        .order_by_asc(finding::Column::Id)
        .all(db)
        .await?;
    views_of(db, reg, list, now).await
}
