//! The checklist walk: the page (draft, carried-over answers, verdicts, re-inspection evidence),
//! saving a draft, passing the rest in bulk, and the submission.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, Inspector};
use super::landlord_applications::read_upload;
use super::pages::Page;
use crate::domain::checklist::{AnswerResult, Checklist, ItemKind, value_fails};
use crate::domain::fields::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::services::inspections::findings::FindingView;
use crate::services::inspections::submit::{self as submission, DraftAnswer, Submission};
use crate::services::inspections::tasks::{self, TaskDetail};
use crate::services::inspections::walk as walking;
use crate::services::uploads;
use crate::{AppRef, AppState};

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
    /// Number and choice items: "合格"/"不合格" as the value decides, empty before a value.
    verdict: &'static str,
    /// Limits for the page's script to show the verdict as the value is typed.
    min: String,
    max: String,
    failing_options: String,
    carried: bool,
    /// A re-inspection: the finding being checked again, with the landlord's fix.
    evidence: Option<FindingView>,
}

impl WalkItem {
    fn derived(&self) -> bool {
        self.kind == "number" || self.kind == "choice"
    }

    fn photo_ids_joined(&self) -> String {
        self.photo_ids.join(",")
    }
}

pub struct WalkSection {
    key: String,
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
    /// The id of the first item with an error, for the "跳到第一处" link and the scroll.
    first_error: Option<usize>,
    carried_any: bool,
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
    evidence: &[FindingView],
) -> Vec<WalkSection> {
    let mut idx = 0;
    c.sections
        .iter()
        .map(|s| WalkSection {
            key: s.key.clone(),
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
                        verdict: match a.value.as_deref().and_then(|v| value_fails(i, v)) {
                            _ if a.result == Some(AnswerResult::Na) => "",
                            Some(true) => "不合格",
                            Some(false) => "合格",
                            None => "",
                        },
                        min: match &i.kind {
                            ItemKind::Number { min: Some(m), .. } => m.to_string(),
                            _ => String::new(),
                        },
                        max: match &i.kind {
                            ItemKind::Number { max: Some(m), .. } => m.to_string(),
                            _ => String::new(),
                        },
                        failing_options: match &i.kind {
                            ItemKind::Choice { options } => options
                                .iter()
                                .filter(|o| o.fails)
                                .map(|o| o.key.as_str())
                                .collect::<Vec<_>>()
                                .join(" "),
                            _ => String::new(),
                        },
                        carried: a.carried,
                        evidence: evidence.iter().find(|f| f.item == i.key).cloned(),
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
        None => (
            walking::opening_answers(&st.db, &t).await?,
            uuid::Uuid::new_v4().to_string(),
        ),
    };
    let evidence =
        walking::evidence(&st.db, &st.checklists, &who.0, &t, st.config.clock.now()).await?;
    let scope = task.row.items.clone();
    let sections = walk_sections(c, scope.as_deref(), &answers, &errors, &evidence);
    let first_error = sections
        .iter()
        .flat_map(|s| s.items.iter())
        .find(|i| i.error.is_some())
        .map(|i| i.idx);
    Ok(WalkPage {
        carried_any: answers.iter().any(|a| a.carried),
        first_error,
        sections,
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
    carried: Option<String>,
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
                Ok(bytes) => uploads::store_photo(&st.db, &st.storage, &who.0, bytes).await,
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
            carried: clean(&a.carried).is_some(),
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
    let action = form.action.as_deref().unwrap_or("draft");
    // "pass:<section>" is 本节全部合格, "pass_rest" 其余全部合格.
    let bulk = action
        .strip_prefix("pass:")
        .map(Some)
        .or((action == "pass_rest").then_some(None));
    if let (Some(section), true) = (bulk, errors.is_empty()) {
        return pass_in_bulk(st, &who, id, drafts, section)
            .await
            .map_err(fail);
    }
    let submitting = action == "submit";
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

/// "本节全部合格" / "其余全部合格": marks the unanswered items passed, keeps every answer given,
/// saves the draft and comes back to the section.
async fn pass_in_bulk(
    st: &AppState,
    who: &Inspector,
    id: i32,
    mut drafts: Vec<DraftAnswer>,
    section: Option<&str>,
) -> Result<Flash<Redirect>, AppError> {
    let (t, task) = tasks::get(&st.db, &who.0, id, st.config.clock.now()).await?;
    let c = submission::checklist_for(&st.checklists, &t, None, None)?;
    let scope = task.row.items;
    let n = walking::pass_unanswered(
        walking::bulk_scope(c, section, scope.as_deref()),
        &mut drafts,
    );
    submission::save_draft(&st.db, &who.0, id, drafts, st.config.clock.now()).await?;
    let anchor = section.map(|s| format!("#s-{s}")).unwrap_or_default();
    Ok(Flash::success(
        Redirect::to(format!("/inspector/tasks/{id}/walk{anchor}")),
        format!("已将 {n} 项标为合格；数值和选择项请逐项填写"),
    ))
}
