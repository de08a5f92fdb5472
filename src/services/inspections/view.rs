//! A submitted inspection as it reads later: rendered with the checklist version it was made
//! with, whatever versions were added since.
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::findings::{FindingView, views_of};
use crate::domain::checklist::{Answer, AnswerResult, ChecklistRegistry, Item, effective_result};
use crate::domain::dates::zh_datetime;
use crate::domain::grade::Grade;
use crate::domain::inspection::TaskKind;
use crate::domain::role::Role;
use crate::entities::{finding, inspection, inspection_task as task, property, user};
use crate::error::AppError;
use crate::services::{Actor, town};

#[derive(Debug, Clone, Serialize)]
pub struct AnsweredItem {
    pub key: String,
    pub label: String,
    pub result_label: &'static str,
    pub value: Option<String>,
    pub note: Option<String>,
    pub photo_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnsweredSection {
    pub title: String,
    pub items: Vec<AnsweredItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InspectionView {
    pub id: i32,
    pub task_id: i32,
    pub kind_label: &'static str,
    pub property_id: i32,
    pub application_id: Option<i32>,
    pub address: String,
    pub inspector_name: String,
    pub created_zh: String,
    pub checklist_key: String,
    pub checklist_title: String,
    pub checklist_version: i32,
    pub checklist_hash: String,
    pub outcome: String,
    pub outcome_label: &'static str,
    pub grade: String,
    pub grade_label: &'static str,
    pub sections: Vec<AnsweredSection>,
    pub findings: Vec<FindingView>,
}

/// The verdict as it was judged: for number and choice items it follows from the value.
fn result_label(item: &Item, a: &Answer) -> &'static str {
    match effective_result(item, a) {
        AnswerResult::Pass => "合格",
        AnswerResult::Fail => "不合格",
        AnswerResult::Na => "不适用",
    }
}

/// Who may read an inspection: the grid's inspectors, the house's landlord, the village's
/// official, the admin and API clients.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn get(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    id: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<InspectionView, AppError> {
    let i = inspection::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let p = property::Entity::find_by_id(i.property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let allowed = match actor.role {
        Role::TownAdmin | Role::ApiClient => true,
        Role::Landlord => p.landlord_id == actor.id,
        Role::VillageOfficial => actor.village_id == Some(p.village_id),
        Role::Inspector => town::inspector_grid_ids(db, actor.id)
            .await?
            .contains(&p.grid_id),
    };
    if !allowed {
        return Err(AppError::forbidden());
    }
    let t = task::Entity::find_by_id(i.task_id).one(db).await?;
    let c = reg
        .get(&i.checklist_key, i.checklist_version as u32)
        .ok_or_else(|| {
            AppError::internal(format!(
                "checklist {} v{} is no longer loaded",
                i.checklist_key, i.checklist_version
            ))
        })?;
    let answers: Vec<Answer> = serde_json::from_str(&i.answers).unwrap_or_default();
    let sections = c
        .sections
        .iter()
        .map(|s| AnsweredSection {
            title: s.title_zh.clone(),
            items: s
                .items
                .iter()
                .filter_map(|item| {
                    let a = answers.iter().find(|a| a.item == item.key)?;
                    Some(AnsweredItem {
                        key: item.key.clone(),
                        label: item.label_zh.clone(),
                        result_label: result_label(item, a),
                        value: a.value.as_deref().map(|v| item.value_label(v)),
                        note: a.note.clone(),
                        photo_ids: a.photo_ids.clone(),
                    })
                })
                .collect(),
        })
        .filter(|s: &AnsweredSection| !s.items.is_empty())
        .collect();
    let found = finding::Entity::find()
        .filter(finding::Column::InspectionId.eq(i.id))
        .order_by_asc(finding::Column::Id)
        .all(db)
        .await?;
    let findings = views_of(db, reg, found, now).await?;
    let inspector_name = user::Entity::find_by_id(i.inspector_id)
        .one(db)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let grade = Grade::parse(&i.grade);
    Ok(InspectionView {
        id: i.id,
        task_id: i.task_id,
        kind_label: t
            .as_ref()
            .and_then(|t| TaskKind::parse(&t.kind))
            .map(|k| k.label_zh())
            .unwrap_or("检查"),
        property_id: p.id,
        application_id: i.application_id,
        address: p.address,
        inspector_name,
        created_zh: zh_datetime(&i.created_at),
        checklist_key: i.checklist_key.clone(),
        checklist_title: c.title_zh.clone(),
        checklist_version: i.checklist_version,
        checklist_hash: i.checklist_hash.clone(),
        outcome_label: if i.outcome == crate::domain::checklist::Outcome::Passed.as_str() {
            "检查通过"
        } else {
            "发现隐患"
        },
        outcome: i.outcome,
        grade_label: grade.map(|g| g.label_zh()).unwrap_or(""),
        grade: i.grade,
        sections,
        findings,
    })
}

/// The inspection that completed a task, if any.
#[tracing::instrument(level = "debug", skip_all, fields(task_id = task_id))]
pub async fn of_task(db: &DatabaseConnection, task_id: i32) -> Result<Option<i32>, AppError> {
    Ok(inspection::Entity::find()
        .filter(inspection::Column::TaskId.eq(task_id))
        .one(db)
        .await?
        .map(|i| i.id))
}
