//! API for the grid platform: tasks, checklists, inspection results and reported fixes.
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{JsonBody, Text, text, validated};
use super::checklists::ChecklistDoc;
use super::doc::{Problem, Task};
use crate::AppRef;
use crate::domain::checklist::{Answer, AnswerResult};
use crate::domain::fields::FieldErrors;
use crate::domain::inspection::TaskStatus;
use crate::error::{AppError, AppResult};
use crate::services::inspections::TaskPolicy;
use crate::services::inspections::findings::{self, FindingView, FixOutcome, FixReport};
use crate::services::inspections::previous::{self, PreviousAnswers};
use crate::services::inspections::submit::{self, InspectionResult, Submission};
use crate::services::inspections::tasks::{self, TaskFilter};
use crate::web::guards::{ApiReader, CurrentUser, Inspector, Landlord};

fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        // A date is a day in the town: it begins at midnight China time, not UTC.
        .map(crate::domain::clock::town_day_start)
        .ok_or_else(|| AppError::field("since", "时间格式应为 YYYY-MM-DD 或 RFC 3339"))
}

/// Tasks the caller may see; a plain array, earliest due first. `page`/`per_page` page through.
#[utoipa::path(get, path = "/tasks", tag = "inspections",
    params(
        ("status" = Option<TaskStatus>, Query),
        ("grid_id" = Option<i32>, Query),
        ("village_id" = Option<i32>, Query),
        ("since" = Option<String>, Query, description = "YYYY-MM-DD or RFC 3339: tasks created since"),
        ("overdue" = Option<bool>, Query, description = "only tasks past their due time"),
        ("page" = Option<u64>, Query, minimum = 1),
        ("per_page" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "default 200"),
    ),
    responses((status = 200, body = Vec<Task>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
#[allow(clippy::too_many_arguments)]
#[get("/tasks?<status>&<grid_id>&<village_id>&<since>&<overdue>&<page>&<per_page>")]
pub async fn list_tasks(
    who: ApiReader,
    st: &State<AppRef>,
    status: Option<&str>,
    grid_id: Option<i32>,
    village_id: Option<i32>,
    since: Option<&str>,
    overdue: Option<bool>,
    page: Option<u64>,
    per_page: Option<u64>,
) -> AppResult<Json<Vec<Task>>> {
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(TaskStatus::parse(s).ok_or_else(|| {
            AppError::field("status", "状态应为 open、in_progress、done 或 cancelled")
        })?),
    };
    let f = TaskFilter {
        status,
        grid_id,
        village_id,
        since: since
            .filter(|s| !s.is_empty())
            .map(parse_since)
            .transpose()?,
        overdue: overdue.unwrap_or(false),
        due_soon: false,
        active_only: false,
        done_recently: false,
    };
    let per_page = per_page.unwrap_or(200).clamp(1, 1000);
    let (rows, _) = tasks::list(
        &st.db,
        &who.0,
        &f,
        page.unwrap_or(1).clamp(1, 1_000_000) - 1,
        per_page,
        st.config.clock.now(),
    )
    .await?;
    Ok(Json(rows.iter().map(Task::from).collect()))
}

/// A checklist version as the inspector's app renders it; the current one without `version`.
#[utoipa::path(get, path = "/checklists/{key}", tag = "inspections",
    params(("key" = String, Path, example = "rental-safety"), ("version" = Option<u32>, Query)),
    responses((status = 200, body = ChecklistDoc), (status = 404, body = Problem)))]
#[get("/checklists/<key>?<version>")]
pub async fn checklist(
    _who: CurrentUser,
    st: &State<AppRef>,
    key: &str,
    version: Option<u32>,
) -> AppResult<Json<ChecklistDoc>> {
    let c = match version {
        Some(v) => st.checklists.get(key, v),
        None => st.checklists.current(key),
    };
    let c = c.ok_or_else(|| AppError::NotFound("检查表不存在".into()))?;
    Ok(Json(ChecklistDoc::from(c)))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct AnswerBody {
    /// The checklist item's key.
    #[schema(value_type = String)]
    #[validate(length(max = 128))]
    item: Option<Text>,
    #[schema(value_type = AnswerResult)]
    #[validate(length(max = 16))]
    result: Option<Text>,
    /// The measured number (`number`), the chosen option key (`choice`) or free text (`text`).
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 500))]
    value: Option<Text>,
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 500))]
    note: Option<Text>,
    #[schema(value_type = Option<Vec<String>>)]
    #[validate(length(max = 20))]
    photo_ids: Option<Vec<Text>>,
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct InspectionBody {
    /// The client's idempotency key: a resubmission with the same id answers the first result.
    #[schema(value_type = String, example = "6f1c2a7e-2b1d-4c39-9a51-0d7f3c1e8b42")]
    #[validate(length(max = 64))]
    submission_id: Option<Text>,
    #[validate(length(max = 64))]
    checklist: Option<String>,
    #[schema(value_type = Option<u32>)]
    #[validate(range(min = 1, max = 100_000))]
    version: Option<Text>,
    #[serde(default)]
    #[validate(length(max = 500), nested)]
    answers: Vec<AnswerBody>,
}

fn parse_answers(raw: &[AnswerBody]) -> Result<Vec<Answer>, FieldErrors> {
    let mut errs = FieldErrors::new();
    let mut out = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let item = text(&a.item).to_string();
        if item.is_empty() {
            errs.add(format!("answers[{i}].item"), "请注明检查项");
            continue;
        }
        let Some(result) = AnswerResult::parse(text(&a.result)) else {
            errs.add(item, "result 应为 pass、fail 或 na");
            continue;
        };
        let opt = |t: &Option<Text>| Some(text(t).to_string()).filter(|s| !s.is_empty());
        out.push(Answer {
            item,
            result,
            value: opt(&a.value),
            note: opt(&a.note),
            photo_ids: a.photo_ids.iter().flatten().map(|p| p.0.clone()).collect(),
        });
    }
    errs.into_result().map(|_| out)
}

/// Records an inspection of a task (idempotent by `submission_id`).
#[utoipa::path(post, path = "/tasks/{id}/inspection", tag = "inspections",
    params(("id" = i32, Path)), request_body = InspectionBody,
    responses((status = 200, body = InspectionResult), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/tasks/<id>/inspection", data = "<body>")]
pub async fn submit_inspection(
    who: Inspector,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<InspectionBody>,
) -> AppResult<Json<InspectionResult>> {
    validated(&*body)?;
    let version = match body.version.as_ref().filter(|v| !v.0.is_empty()) {
        None => None,
        Some(v) => Some(
            v.0.parse::<u32>()
                .map_err(|_| AppError::field("version", "版本号应为正整数"))?,
        ),
    };
    let s = Submission {
        submission_id: text(&body.submission_id).to_string(),
        checklist: body.checklist.clone(),
        version,
        answers: parse_answers(&body.answers).map_err(AppError::Validation)?,
    };
    Ok(Json(
        submit::submit(&st.db, &st.checklists, &who.0, id, s, st.config.clock.now()).await?,
    ))
}

/// The answers of the house's latest completed inspection before this task, to start a routine
/// patrol or a re-inspection from; `inspection_id` is null when there is none.
#[utoipa::path(get, path = "/tasks/{id}/previous", tag = "inspections",
    params(("id" = i32, Path)),
    responses((status = 200, body = PreviousAnswers), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/tasks/<id>/previous")]
pub async fn previous_answers(
    who: Inspector,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Json<PreviousAnswers>> {
    Ok(Json(previous::previous(&st.db, &who.0, id).await?))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct FixBody {
    #[validate(length(max = 500))]
    note: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    #[validate(length(max = 20))]
    photo_ids: Vec<Text>,
}

/// The landlord reports a finding fixed, with photos.
#[utoipa::path(post, path = "/findings/{id}/fix", tag = "inspections",
    params(("id" = i32, Path)), request_body = FixBody,
    responses((status = 200, body = FixOutcome), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/findings/<id>/fix", data = "<body>")]
pub async fn fix_finding(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<FixBody>,
) -> AppResult<Json<FixOutcome>> {
    validated(&*body)?;
    let photos = body.photo_ids.iter().map(|p| p.0.clone()).collect();
    let report = FixReport::parse(body.note.as_deref().unwrap_or(""), photos)?;
    Ok(Json(
        findings::report_fix(&st.db, &TaskPolicy::of(st), &who.0, id, report).await?,
    ))
}

/// Findings of an application, for the landlord's app and the grid platform.
#[utoipa::path(get, path = "/applications/{id}/findings", tag = "inspections",
    params(("id" = i32, Path)),
    responses((status = 200, body = Vec<FindingView>), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[get("/applications/<id>/findings")]
pub async fn application_findings(
    who: CurrentUser,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Json<Vec<FindingView>>> {
    Ok(Json(
        findings::of_application(&st.db, &st.checklists, &who.0, id, st.config.clock.now()).await?,
    ))
}
