//! Other matters an inspector sees on a visit (掌上基层): a category, a description and photos,
//! sent to the grid platform as `event.reported` and to the village's officials as a notice.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{NewEvent, house_facts, record};
use crate::domain::event::{EventKind, ReportCategory};
use crate::domain::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use crate::domain::role::Role;
use crate::entities::{inspection_task as task, upload};
use crate::error::AppError;
use crate::services::{Actor, audit};

pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_PHOTOS: usize = 9;

/// A report as typed.
#[derive(Debug, Clone, Default)]
pub struct RawReport {
    pub category: String,
    pub description: String,
    pub photo_ids: Vec<String>,
}

/// A report parsed: every field checked.
#[derive(Debug, Clone)]
pub struct Report {
    pub category: ReportCategory,
    pub description: String,
    pub photo_ids: Vec<String>,
}

impl RawReport {
    pub fn parse(self) -> Result<Report, FieldErrors> {
        let mut e = FieldErrors::new();
        let category = ReportCategory::parse(&self.category);
        if category.is_none() {
            e.add("category", "请选择事件类别");
        }
        let description = self.description.trim().to_string();
        if description.is_empty() {
            e.add("description", "请描述看到的情况");
        } else if description.chars().count() > MAX_DESCRIPTION {
            e.add("description", format!("描述不能超过 {MAX_DESCRIPTION} 字"));
        } else if has_control(&description, true) {
            e.add("description", CONTROL_CHARACTER);
        }
        let photo_ids: Vec<String> = self
            .photo_ids
            .into_iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if photo_ids.len() > MAX_PHOTOS {
            e.add("photo_ids", format!("照片最多 {MAX_PHOTOS} 张"));
        }
        if photo_ids
            .iter()
            .any(|p| has_control(p, false) || p.len() > 64)
        {
            e.add("photo_ids", "照片编号不正确");
        }
        e.into_result()?;
        Ok(Report {
            category: category.unwrap_or(ReportCategory::Other),
            description,
            photo_ids,
        })
    }
}

/// The task, when the actor is an inspector of its grid (404 for no task, 403 for another grid's).
pub async fn reportable_task<C: sea_orm::ConnectionTrait>(
    db: &C,
    actor: &Actor,
    task_id: i32,
) -> Result<task::Model, AppError> {
    let t = task::Entity::find_by_id(task_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let covers = actor.is(Role::Inspector)
        && crate::services::inspections::tasks::inspector_covers(db, actor.id, t.grid_id).await?;
    if !covers {
        return Err(AppError::forbidden());
    }
    Ok(t)
}

/// Records the report of the task's inspector. Returns the event id.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, task_id))]
pub async fn report(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    task_id: i32,
    r: Report,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let tx = crate::db::begin_write(db).await?;
    let t = reportable_task(&tx, actor, task_id).await?;
    if !r.photo_ids.is_empty() {
        let own = upload::Entity::find()
            .filter(upload::Column::Id.is_in(r.photo_ids.clone()))
            .filter(upload::Column::UploadedBy.eq(actor.id))
            .all(&tx)
            .await?;
        if own.len() != r.photo_ids.len() {
            return Err(AppError::field(
                "photo_ids",
                "照片不存在或不是您上传的，请重新拍照",
            ));
        }
    }
    let house = house_facts(&tx, t.property_id).await?;
    let data = serde_json::json!({"task_id": t.id, "property_id": house.property_id, "address": house.address,
        "village": house.village, "grid_id": house.grid_id, "grid_name": house.grid_name,
        "category": r.category.as_str(), "category_zh": r.category.label_zh(), "description": r.description,
        "photo_ids": r.photo_ids, "reported_by": actor.id});
    let id = record(
        &tx,
        now,
        NewEvent::about(EventKind::EventReported, &house, data).for_inspector(Some(actor.id)),
    )
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "event.report",
        "inspection_task",
        t.id,
        serde_json::json!({"category": r.category.as_str(), "event_id": id}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_needs_a_known_category_and_a_description() {
        let e = RawReport::default().parse().unwrap_err();
        assert!(e.0.contains_key("category") && e.0.contains_key("description"));
        let ok = RawReport {
            category: "fire_hazard".into(),
            description: " 楼道堆放电动车 ".into(),
            photo_ids: vec![],
        }
        .parse()
        .unwrap();
        assert_eq!(
            (ok.category, ok.description.as_str()),
            (ReportCategory::FireHazard, "楼道堆放电动车")
        );
        let nul = RawReport {
            category: "other".into(),
            description: "a\0b".into(),
            photo_ids: vec![],
        };
        assert!(nul.parse().is_err());
    }
}
