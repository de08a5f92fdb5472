//! Walking the checklist: drafts saved on the way, one idempotent submission, and its outcome
//! (findings, the house's grade, the application's next state).
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use super::json_list;
use crate::domain::application::ApplicationStatus;
use crate::domain::checklist::{
    Answer, AnswerResult, Checklist, ChecklistRegistry, Severity, cadence_days, evaluate, grade_for,
};
use crate::domain::fields::FieldErrors;
use crate::domain::inspection::{TaskStatus, finding_status};
use crate::entities::{finding, inspection, inspection_task as task, property, upload};
use crate::error::AppError;
use crate::services::{Actor, audit};

use super::tasks::{may_work, move_application, start};

/// What a client sends: the answers, under an id it made once for this submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub submission_id: String,
    pub checklist: Option<String>,
    pub version: Option<u32>,
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingOut {
    pub id: i32,
    pub item: String,
    #[schema(value_type = crate::domain::checklist::Severity)]
    pub severity: String,
    pub deadline_at: Option<chrono::DateTime<Utc>>,
    pub note: Option<String>,
    pub photo_ids: Vec<String>,
}

/// The result of a submission; a resubmission returns the same.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionResult {
    pub inspection_id: i32,
    pub task_id: i32,
    #[schema(value_type = crate::domain::checklist::Outcome)]
    pub outcome: String,
    #[schema(value_type = crate::domain::grade::Grade)]
    pub grade: String,
    pub findings: Vec<FindingOut>,
}

/// Refuses a submission id that is not a plain token: it is stored and compared, never parsed.
fn parse_submission_id(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 64
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AppError::field(
            "submission_id",
            "提交编号无效，请刷新页面后重试",
        ));
    }
    Ok(s.to_string())
}

/// The checklist a task is walked with: the version the client names, else the current one.
pub fn checklist_for<'a>(
    reg: &'a ChecklistRegistry,
    t: &task::Model,
    key: Option<&str>,
    version: Option<u32>,
) -> Result<&'a Checklist, AppError> {
    if let Some(k) = key.filter(|k| *k != t.checklist_key) {
        return Err(AppError::field(
            "checklist",
            &format!("此任务应使用检查表 {}，而不是 {k}", t.checklist_key),
        ));
    }
    match version {
        Some(v) => reg
            .get(&t.checklist_key, v)
            .ok_or_else(|| AppError::field("version", "检查表版本不存在")),
        None => reg
            .current(&t.checklist_key)
            .ok_or_else(|| AppError::internal(format!("checklist {} not loaded", t.checklist_key))),
    }
}

/// One answer as saved while walking: the verdict may still be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DraftAnswer {
    pub item: String,
    #[serde(default)]
    pub result: Option<AnswerResult>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub photo_ids: Vec<String>,
    /// Taken over from the previous inspection and not touched since.
    #[serde(default)]
    pub carried: bool,
}

impl DraftAnswer {
    /// The answer to judge. For number and choice items the verdict follows from the value,
    /// so a value without a ticked verdict counts as answered.
    pub fn to_answer(&self) -> Option<Answer> {
        let has_value = self.value.as_deref().is_some_and(|v| !v.trim().is_empty());
        let result = self.result.or(has_value.then_some(AnswerResult::Pass))?;
        Some(Answer {
            item: self.item.clone(),
            result,
            value: self.value.clone(),
            note: self.note.clone(),
            photo_ids: self.photo_ids.clone(),
        })
    }
}

/// The answers saved while walking, so a reload keeps them.
pub fn draft_of(t: &task::Model) -> Vec<DraftAnswer> {
    t.draft_answers
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// Saves a draft (starting the task if it was open). Nothing is judged yet.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, task_id = task_id))]
pub async fn save_draft(
    db: &DatabaseConnection,
    actor: &Actor,
    task_id: i32,
    answers: Vec<DraftAnswer>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let t = task::Entity::find_by_id(task_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_work(&tx, actor, &t).await? {
        return Err(AppError::Forbidden("这不是您负责网格的任务".into()));
    }
    let t = start(&tx, actor, t).await?;
    let mut am: task::ActiveModel = t.into();
    am.draft_answers = Set(Some(
        serde_json::to_string(&answers).map_err(AppError::internal)?,
    ));
    am.draft_updated_at = Set(Some(now));
    am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "task.draft",
        "inspection_task",
        task_id,
        serde_json::json!({"answers": answers.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The stored result of an inspection.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn result_of<C: ConnectionTrait>(
    db: &C,
    i: &inspection::Model,
) -> Result<InspectionResult, AppError> {
    let findings = finding::Entity::find()
        .filter(finding::Column::InspectionId.eq(i.id))
        .order_by_asc(finding::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|f| FindingOut {
            id: f.id,
            photo_ids: json_list(Some(&f.photo_ids)),
            item: f.item_key,
            severity: f.severity,
            deadline_at: f.deadline_at,
            note: f.note,
        })
        .collect();
    Ok(InspectionResult {
        inspection_id: i.id,
        task_id: i.task_id,
        outcome: i.outcome.clone(),
        grade: i.grade.clone(),
        findings,
    })
}

/// Submits an inspection once. The same `submission_id` again returns the first result and
/// writes nothing, because phones on weak networks resend.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, task_id = task_id))]
pub async fn submit(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    task_id: i32,
    s: Submission,
    now: DateTime<Utc>,
) -> Result<InspectionResult, AppError> {
    let submission_id = parse_submission_id(&s.submission_id)?;
    let tx = crate::db::begin_write(db).await?;
    let t = task::Entity::find_by_id(task_id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_work(&tx, actor, &t).await? {
        return Err(AppError::Forbidden("这不是您负责网格的任务".into()));
    }
    if let Some(done) = inspection::Entity::find()
        .filter(inspection::Column::SubmissionId.eq(submission_id.as_str()))
        .one(&tx)
        .await?
    {
        if done.task_id != task_id {
            return Err(AppError::Conflict("此提交编号已用于其他任务".into()));
        }
        // A resend must be the same submission: a changed payload under a used id is neither
        // silently dropped nor allowed to overwrite what the server already judged.
        if !super::resend::same_submission(&done, &s) {
            return Err(AppError::Conflict(
                "此提交编号已用于内容不同的检查结果，请刷新页面后重新填写".into(),
            ));
        }
        return result_of(&tx, &done).await;
    }
    let status = TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Cancelled);
    if !status.is_active() {
        return Err(AppError::Conflict(format!(
            "任务{}，不能再提交检查结果",
            status.label_zh()
        )));
    }
    let c = checklist_for(reg, &t, s.checklist.as_deref(), s.version)?;
    let scope = t.items.as_deref().map(|i| json_list(Some(i)));
    let eval = evaluate(c, &s.answers, scope.as_deref()).map_err(|errs| {
        let mut f = FieldErrors::new();
        for e in errs {
            f.add(e.item, e.message);
        }
        AppError::Validation(f)
    })?;
    check_photos(&tx, actor, &s.answers).await?;
    let t = start(&tx, actor, t).await?;
    let p = property::Entity::find_by_id(t.property_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;

    // Earlier findings this inspection looked at again are settled by it: a re-inspection
    // covers its items, a full inspection covers them all.
    let mut earlier = finding::Entity::find()
        .filter(finding::Column::PropertyId.eq(p.id))
        .filter(finding::Column::Status.ne(finding_status::CLOSED));
    if let Some(keys) = &scope {
        earlier = earlier.filter(finding::Column::ItemKey.is_in(keys.clone()));
    }
    let earlier = earlier.all(&tx).await?;
    let still_open = finding::Entity::find()
        .filter(finding::Column::PropertyId.eq(p.id))
        .filter(finding::Column::Status.ne(finding_status::CLOSED))
        .all(&tx)
        .await?
        .into_iter()
        .filter(|f| !earlier.iter().any(|e| e.id == f.id))
        .filter_map(|f| Severity::parse(&f.severity))
        .collect::<Vec<_>>();
    let mut open: Vec<Severity> = eval.findings.iter().map(|f| f.severity).collect();
    open.extend(still_open.iter().copied());
    let grade = grade_for(c, &open);
    let outcome = eval.outcome.as_str();

    let answers_json = serde_json::to_string(&s.answers).map_err(AppError::internal)?;
    let i = inspection::ActiveModel {
        task_id: Set(t.id),
        submission_id: Set(submission_id.clone()),
        inspector_id: Set(actor.id),
        property_id: Set(p.id),
        village_id: Set(p.village_id),
        application_id: Set(t.application_id),
        checklist_key: Set(c.key.clone()),
        checklist_version: Set(c.version as i32),
        checklist_hash: Set(c.content_hash.clone()),
        outcome: Set(outcome.into()),
        grade: Set(grade.as_str().into()),
        answers: Set(answers_json),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    for f in earlier {
        let mut am: finding::ActiveModel = f.into();
        am.status = Set(finding_status::CLOSED.into());
        am.closed_at = Set(Some(now));
        am.closed_by_inspection_id = Set(Some(i.id));
        am.update(&tx).await?;
    }
    for d in &eval.findings {
        let photos = s
            .answers
            .iter()
            .find(|a| a.item == d.item_key)
            .map(|a| {
                a.photo_ids
                    .iter()
                    .filter(|p| !p.trim().is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        finding::ActiveModel {
            inspection_id: Set(i.id),
            property_id: Set(p.id),
            village_id: Set(p.village_id),
            application_id: Set(t.application_id),
            item_key: Set(d.item_key.clone()),
            severity: Set(d.severity.as_str().into()),
            status: Set(finding_status::OPEN.into()),
            // 0 days: blocking at once, shown as 立即整改 rather than as overdue from the start.
            deadline_at: Set(
                (d.deadline_days > 0).then(|| now + Duration::days(d.deadline_days as i64))
            ),
            note: Set(d.note.clone()),
            photo_ids: Set(serde_json::to_string(&photos).map_err(AppError::internal)?),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
    }
    let next = now + Duration::days(cadence_days(c, grade) as i64);
    let mut pm: property::ActiveModel = p.into();
    pm.grade = Set(Some(grade.as_str().into()));
    pm.next_patrol_at = Set(Some(next));
    pm.update(&tx).await?;

    let mut tm: task::ActiveModel = t.clone().into();
    tm.status = Set(TaskStatus::Done.as_str().into());
    tm.completed_at = Set(Some(now));
    tm.draft_answers = Set(None);
    tm.update(&tx).await?;

    if let Some(app_id) = t.application_id {
        let (to, note) = if open.is_empty() {
            (ApplicationStatus::Passed, "检查通过".to_string())
        } else {
            (
                ApplicationStatus::Rectifying,
                format!("检查发现 {} 项隐患，请按期整改", open.len()),
            )
        };
        move_application(&tx, app_id, to, Some(actor.id), &note).await?;
    }
    audit::record(
        &tx,
        Some(actor.id),
        "inspection.submit",
        "inspection",
        i.id,
        serde_json::json!({"task_id": t.id, "submission_id": submission_id, "checklist": c.key, "version": c.version, "hash": c.content_hash, "outcome": outcome, "grade": grade.as_str(), "findings": eval.findings.len()}),
    )
    .await?;
    record_events(&tx, &t, &i, &eval, grade, now).await?;
    let r = result_of(&tx, &i).await?;
    tx.commit().await?;
    Ok(r)
}

/// `task.completed`, and `finding.created` when the walk found hazards, in the submission's transaction.
async fn record_events<C: ConnectionTrait>(
    tx: &C,
    t: &task::Model,
    i: &inspection::Model,
    eval: &crate::domain::checklist::Evaluation,
    grade: crate::domain::grade::Grade,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    use crate::domain::event::EventKind;
    use crate::services::events::{self, NewEvent};
    let house = events::house_facts(tx, t.property_id).await?;
    let passed = eval.findings.is_empty();
    let data = serde_json::json!({"task_id": t.id, "inspection_id": i.id, "kind": t.kind,
        "property_id": house.property_id, "address": house.address, "village": house.village,
        "grid_id": house.grid_id, "outcome": i.outcome, "outcome_zh": if passed { "合格" } else { "发现隐患" },
        "grade": grade.as_str(), "findings": eval.findings.len()});
    events::record(
        tx,
        now,
        NewEvent::about(EventKind::TaskCompleted, &house, data).for_inspector(t.assignee_id),
    )
    .await?;
    if !passed {
        let soonest = eval
            .findings
            .iter()
            .map(|f| f.deadline_days)
            .min()
            .unwrap_or(0);
        let deadline = if soonest == 0 {
            "立即".to_string()
        } else {
            events::town_day(now + Duration::days(soonest as i64))
        };
        let data = serde_json::json!({"inspection_id": i.id, "task_id": t.id, "property_id": house.property_id,
            "address": house.address, "village": house.village, "count": eval.findings.len(), "deadline": deadline});
        events::record(
            tx,
            now,
            NewEvent::about(EventKind::FindingCreated, &house, data),
        )
        .await?;
    }
    Ok(())
}

/// Every photo named in the answers must exist and be the submitter's own upload.
async fn check_photos<C: ConnectionTrait>(
    tx: &C,
    actor: &Actor,
    answers: &[Answer],
) -> Result<(), AppError> {
    let mut errs = FieldErrors::new();
    for a in answers {
        for id in a.photo_ids.iter().filter(|p| !p.trim().is_empty()) {
            if crate::domain::fields::has_control(id, false) {
                errs.add(a.item.clone(), crate::domain::fields::CONTROL_CHARACTER);
                continue;
            }
            match upload::Entity::find_by_id(id.clone()).one(tx).await? {
                Some(u) if u.uploaded_by == actor.id => {}
                _ => errs.add(a.item.clone(), "照片不存在或不是您上传的，请重新拍照"),
            }
        }
    }
    errs.into_result().map_err(AppError::Validation)
}
