//! API for the grid platform: tasks, checklists, inspection results and reported fixes.
use rocket::http::Status;
use rocket::serde::json::{Json, Value};
use rocket::{State, get, post};
use serde::Deserialize;
use serde_json::json;

use super::text;
use crate::AppRef;
use crate::domain::checklist::{Answer, AnswerResult};
use crate::domain::fields::FieldErrors;
use crate::domain::inspection::TaskStatus;
use crate::error::{AppError, AppResult};
use crate::services::inspections::TaskPolicy;
use crate::services::inspections::findings::{self, FixReport};
use crate::services::inspections::submit::{self, Submission};
use crate::services::inspections::tasks::{self, TaskFilter, TaskRow};
use crate::web::guards::{ApiReader, CurrentUser, Inspector, Landlord};

fn task_json(t: &TaskRow) -> Value {
    let mut v = json!({
        "id": t.id,
        "kind": t.kind,
        "status": t.status,
        "property_id": t.property_id,
        "application_id": t.application_id,
        "address": t.address,
        "grid_id": t.grid_id,
        "assignee_id": t.assignee_id,
        "due_at": t.due_at,
        "overdue": t.overdue,
        "checklist": t.checklist,
        "created_at": t.created_at,
    });
    if let Some(items) = &t.items {
        v["items"] = json!(items);
    }
    v
}

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
) -> AppResult<Json<Vec<Value>>> {
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
        active_only: false,
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
    Ok(Json(rows.iter().map(task_json).collect()))
}

#[get("/checklists/<key>?<version>")]
pub async fn checklist(
    _who: CurrentUser,
    st: &State<AppRef>,
    key: &str,
    version: Option<u32>,
) -> AppResult<Value> {
    let c = match version {
        Some(v) => st.checklists.get(key, v),
        None => st.checklists.current(key),
    };
    Ok(c.ok_or_else(|| AppError::NotFound("检查表不存在".into()))?
        .to_api_json())
}

#[derive(Deserialize)]
pub struct InspectionBody {
    submission_id: Option<Value>,
    checklist: Option<String>,
    version: Option<Value>,
    #[serde(default)]
    answers: Vec<serde_json::Map<String, Value>>,
}

fn parse_answers(raw: &[serde_json::Map<String, Value>]) -> Result<Vec<Answer>, FieldErrors> {
    let mut errs = FieldErrors::new();
    let mut out = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let item = text(a.get("item"));
        if item.is_empty() {
            errs.add(format!("answers[{i}].item"), "请注明检查项");
            continue;
        }
        let Some(result) = AnswerResult::parse(&text(a.get("result"))) else {
            errs.add(item, "result 应为 pass、fail 或 na");
            continue;
        };
        let photo_ids = match a.get("photo_ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(v)) => v.iter().map(|p| text(Some(p))).collect(),
            Some(_) => {
                errs.add(item, "photo_ids 应为照片编号数组");
                continue;
            }
        };
        let opt = |k: &str| Some(text(a.get(k))).filter(|s| !s.is_empty());
        out.push(Answer {
            item,
            result,
            value: opt("value"),
            note: opt("note"),
            photo_ids,
        });
    }
    errs.into_result().map(|_| out)
}

#[post("/tasks/<id>/inspection", data = "<body>")]
pub async fn submit_inspection(
    who: Inspector,
    st: &State<AppRef>,
    id: i32,
    body: Json<InspectionBody>,
) -> AppResult<Value> {
    let version = match body.version.as_ref() {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            text(Some(v))
                .parse::<u32>()
                .map_err(|_| AppError::field("version", "版本号应为正整数"))?,
        ),
    };
    let s = Submission {
        submission_id: text(body.submission_id.as_ref()),
        checklist: body.checklist.clone(),
        version,
        answers: parse_answers(&body.answers).map_err(AppError::Validation)?,
    };
    let r = submit::submit(&st.db, &st.checklists, &who.0, id, s, st.config.clock.now()).await?;
    Ok(serde_json::to_value(r).map_err(AppError::internal)?)
}

#[derive(Deserialize)]
pub struct FixBody {
    note: Option<String>,
    #[serde(default)]
    photo_ids: Vec<Value>,
}

#[post("/findings/<id>/fix", data = "<body>")]
pub async fn fix_finding(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    body: Json<FixBody>,
) -> AppResult<(Status, Value)> {
    let photos = body.photo_ids.iter().map(|p| text(Some(p))).collect();
    let report = FixReport::parse(body.note.as_deref().unwrap_or(""), photos)?;
    let out = findings::report_fix(&st.db, &TaskPolicy::of(st), &who.0, id, report).await?;
    Ok((
        Status::Ok,
        serde_json::to_value(out).map_err(AppError::internal)?,
    ))
}

/// Findings of an application, for the landlord's app and the grid platform.
#[get("/applications/<id>/findings")]
pub async fn application_findings(
    who: CurrentUser,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Value> {
    let list =
        findings::of_application(&st.db, &st.checklists, &who.0, id, st.config.clock.now()).await?;
    Ok(serde_json::to_value(list).map_err(AppError::internal)?)
}
