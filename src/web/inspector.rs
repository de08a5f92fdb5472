//! Grid worker pages: a task, the checklist walk (draft and submission), and an inspection's record.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, CurrentUser, Inspector};
use super::landlord_applications::read_upload;
use super::pages::Page;
use crate::domain::checklist::{AnswerResult, Checklist, ItemKind};
use crate::domain::fields::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::services::inspections::submit::{self as submission, DraftAnswer, Submission};
use crate::services::inspections::tasks::{self, TaskDetail};
use crate::services::inspections::view::{self, InspectionView};
use crate::services::uploads;
use crate::{AppRef, AppState};

#[derive(Template, WebTemplate)]
#[template(path = "inspector/task.html")]
pub struct TaskPage {
    page: Page,
    task: TaskDetail,
    inspection_id: Option<i32>,
    item_labels: Vec<String>,
}

#[get("/inspector/tasks/<id>")]
pub async fn task(who: Inspector, page: Page, st: &State<AppRef>, id: i32) -> AppResult<TaskPage> {
    let (t, task) = tasks::get(&st.db, &who.0, id, st.config.clock.now()).await?;
    let inspection_id = view::of_task(&st.db, id).await?;
    let item_labels = match (&task.row.items, st.checklists.current(&t.checklist_key)) {
        (Some(keys), Some(c)) => keys
            .iter()
            .map(|k| {
                c.item(k)
                    .map(|i| i.label_zh.clone())
                    .unwrap_or_else(|| k.clone())
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(TaskPage {
        page,
        task,
        inspection_id,
        item_labels,
    })
}

#[post("/inspector/tasks/<id>/start")]
pub async fn start(
    _csrf: CsrfChecked,
    who: Inspector,
    st: &State<AppRef>,
    id: i32,
) -> Result<Redirect, Flash<Redirect>> {
    match tasks::start_task(&st.db, &who.0, id).await {
        Ok(()) => Ok(Redirect::to(format!("/inspector/tasks/{id}/walk"))),
        Err(e) => Err(Flash::error(
            Redirect::to(format!("/inspector/tasks/{id}")),
            e.to_string(),
        )),
    }
}

/// One checklist item on the walk page, with whatever was answered so far.
pub struct WalkItem {
    idx: usize,
    key: String,
    label: String,
    legal_basis: String,
    severity: &'static str,
    severity_label: &'static str,
    kind: &'static str,
    unit: String,
    bounds: String,
    options: Vec<(String, String)>,
    photo_on_fail: bool,
    result: String,
    value: String,
    note: String,
    photo_ids: Vec<String>,
    error: Option<String>,
}

impl WalkItem {
    fn photo_ids_joined(&self) -> String {
        self.photo_ids.join(",")
    }
}

pub struct WalkSection {
    title: String,
    items: Vec<WalkItem>,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspector/walk.html")]
pub struct WalkPage {
    page: Page,
    task: TaskDetail,
    checklist_key: String,
    checklist_title: String,
    version: u32,
    submission_id: String,
    sections: Vec<WalkSection>,
    errors: FieldErrors,
}

fn bounds_of(kind: &ItemKind) -> String {
    match kind {
        ItemKind::Number { unit, min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("要求 {a}–{b} {unit}"),
            (Some(a), None) => format!("要求不少于 {a} {unit}"),
            (None, Some(b)) => format!("要求不超过 {b} {unit}"),
            (None, None) => String::new(),
        },
        _ => String::new(),
    }
}

fn walk_sections(
    c: &Checklist,
    scope: Option<&[String]>,
    answers: &[DraftAnswer],
    errors: &FieldErrors,
) -> Vec<WalkSection> {
    let mut idx = 0;
    c.sections
        .iter()
        .map(|s| WalkSection {
            title: s.title_zh.clone(),
            items: s
                .items
                .iter()
                .filter(|i| scope.is_none_or(|keys| keys.contains(&i.key)))
                .map(|i| {
                    let a = answers
                        .iter()
                        .find(|a| a.item == i.key)
                        .cloned()
                        .unwrap_or_default();
                    idx += 1;
                    WalkItem {
                        idx: idx - 1,
                        key: i.key.clone(),
                        label: i.label_zh.clone(),
                        legal_basis: i.legal_basis.clone(),
                        severity: i.severity.as_str(),
                        severity_label: i.severity.label_zh(),
                        kind: i.kind.as_str(),
                        unit: match &i.kind {
                            ItemKind::Number { unit, .. } => unit.clone(),
                            _ => String::new(),
                        },
                        bounds: bounds_of(&i.kind),
                        options: match &i.kind {
                            ItemKind::Choice { options } => options
                                .iter()
                                .map(|o| (o.key.clone(), o.label_zh.clone()))
                                .collect(),
                            _ => Vec::new(),
                        },
                        photo_on_fail: i.photo_on_fail,
                        result: a.result.map(|r| r.as_str().to_string()).unwrap_or_default(),
                        value: a.value.unwrap_or_default(),
                        note: a.note.unwrap_or_default(),
                        photo_ids: a.photo_ids,
                        error: errors.get(&i.key).map(str::to_string),
                    }
                })
                .collect(),
        })
        .filter(|s: &WalkSection| !s.items.is_empty())
        .collect()
}

async fn walk_page(
    st: &AppState,
    who: &Inspector,
    page: Page,
    id: i32,
    typed: Option<(Vec<DraftAnswer>, String)>,
    errors: FieldErrors,
) -> AppResult<WalkPage> {
    let (t, task) = tasks::get(&st.db, &who.0, id, st.config.clock.now()).await?;
    let active = crate::domain::inspection::TaskStatus::parse(&task.row.status)
        .is_some_and(|s| s.is_active());
    if !active {
        return Err(AppError::Conflict("任务已结束，不能再检查".into()));
    }
    let c = submission::checklist_for(&st.checklists, &t, None, None)?;
    let (answers, submission_id) = match typed {
        Some(x) => x,
        None => (submission::draft_of(&t), uuid::Uuid::new_v4().to_string()),
    };
    let scope = task.row.items.clone();
    Ok(WalkPage {
        sections: walk_sections(c, scope.as_deref(), &answers, &errors),
        checklist_key: c.key.clone(),
        checklist_title: c.title_zh.clone(),
        version: c.version,
        page,
        task,
        submission_id,
        errors,
    })
}

#[get("/inspector/tasks/<id>/walk")]
pub async fn walk(who: Inspector, page: Page, st: &State<AppRef>, id: i32) -> AppResult<WalkPage> {
    walk_page(st, &who, page, id, None, FieldErrors::new()).await
}

#[derive(FromForm)]
pub struct WalkAnswerForm<'r> {
    item: Option<String>,
    result: Option<String>,
    value: Option<String>,
    note: Option<String>,
    photo_ids: Option<String>,
    photo: Option<TempFile<'r>>,
}

#[derive(FromForm)]
pub struct WalkForm<'r> {
    submission_id: Option<String>,
    checklist: Option<String>,
    version: Option<String>,
    action: Option<String>,
    a: Vec<WalkAnswerForm<'r>>,
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads the walk form into draft answers, storing any new photos first so a refused
/// submission keeps them.
async fn read_walk(
    st: &AppState,
    who: &Inspector,
    form: &WalkForm<'_>,
    errors: &mut FieldErrors,
) -> Result<Vec<DraftAnswer>, AppError> {
    let mut out = Vec::new();
    for a in &form.a {
        let Some(item) = clean(&a.item) else { continue };
        let mut photo_ids: Vec<String> = a
            .photo_ids
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(file) = a.photo.as_ref().filter(|f| f.len() > 0) {
            let stored = match read_upload(file).await {
                Ok(bytes) => {
                    uploads::store_photo(&st.db, &st.config.uploads_dir(), &who.0, bytes).await
                }
                Err(e) => Err(e),
            };
            match stored {
                Ok(p) => photo_ids.push(p.id),
                Err(e @ (AppError::Validation(_) | AppError::PayloadTooLarge(_))) => {
                    let msg = match &e {
                        AppError::Validation(f) => {
                            f.0.values().flatten().next().cloned().unwrap_or_default()
                        }
                        other => other.to_string(),
                    };
                    errors.add(item.clone(), format!("照片未能保存：{msg}"));
                }
                Err(e) => return Err(e),
            }
        }
        let result = match clean(&a.result) {
            None => None,
            Some(r) => match AnswerResult::parse(&r) {
                Some(r) => Some(r),
                None => {
                    errors.add(item.clone(), "请选择合格、不合格或不适用");
                    None
                }
            },
        };
        out.push(DraftAnswer {
            item,
            result,
            value: clean(&a.value),
            note: clean(&a.note),
            photo_ids,
        });
    }
    Ok(out)
}

#[post("/inspector/tasks/<id>/walk", data = "<form>")]
pub async fn walk_submit(
    _csrf: CsrfChecked,
    who: Inspector,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<WalkForm<'_>>,
) -> Result<Flash<Redirect>, (Status, AppResult<WalkPage>)> {
    let fail = |e: AppError| (e.status(), Err(e));
    let mut errors = FieldErrors::new();
    let drafts = read_walk(st, &who, &form, &mut errors)
        .await
        .map_err(fail)?;
    let submission_id = clean(&form.submission_id).unwrap_or_default();
    let submitting = form.action.as_deref() == Some("submit");
    let mut result = Err(AppError::Validation(errors.clone()));
    if errors.is_empty() && submitting {
        let s = Submission {
            submission_id: submission_id.clone(),
            checklist: clean(&form.checklist),
            version: form.version.as_deref().and_then(|v| v.parse().ok()),
            answers: drafts.iter().filter_map(DraftAnswer::to_answer).collect(),
        };
        result = submission::submit(&st.db, &st.checklists, &who.0, id, s, st.config.clock.now())
            .await
            .map(Some);
    } else if errors.is_empty() {
        result = submission::save_draft(&st.db, &who.0, id, drafts.clone(), st.config.clock.now())
            .await
            .map(|_| None);
    }
    match result {
        Ok(Some(r)) => Ok(Flash::success(
            Redirect::to(format!("/inspections/{}", r.inspection_id)),
            if r.outcome == crate::domain::checklist::Outcome::Passed.as_str() {
                "检查结果已提交：检查通过".to_string()
            } else {
                format!("检查结果已提交：发现 {} 项隐患", r.findings.len())
            },
        )),
        Ok(None) => Ok(Flash::success(
            Redirect::to(format!("/inspector/tasks/{id}/walk")),
            "草稿已保存",
        )),
        Err(AppError::Validation(e)) => {
            // Keep what was typed: save it as the draft too, so a reload does not lose it.
            let _ =
                submission::save_draft(&st.db, &who.0, id, drafts.clone(), st.config.clock.now())
                    .await;
            Err((
                Status::UnprocessableEntity,
                walk_page(st, &who, page, id, Some((drafts, submission_id)), e).await,
            ))
        }
        Err(other) => Err(fail(other)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inspector/inspection.html")]
pub struct InspectionPage {
    page: Page,
    i: InspectionView,
}

#[get("/inspections/<id>")]
pub async fn inspection(
    who: CurrentUser,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<InspectionPage> {
    let i = view::get(&st.db, &st.checklists, &who.0, id, st.config.clock.now()).await?;
    Ok(InspectionPage { page, i })
}
