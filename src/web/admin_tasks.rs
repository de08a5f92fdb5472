//! Town admin: every inspection task with filters and reassignment; the hazards list (open or
//! overdue) it shares with officials.
use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, TownAdmin};
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::domain::drilldown::{FindingState, parse_opt};
use crate::domain::inspection::TaskStatus;
use crate::error::{AppError, AppResult};
use crate::services::dashboard::records;
use crate::services::inspections::findings::FindingView;
use crate::services::inspections::tasks::{self as task_svc, TaskFilter, TaskRow};
use crate::services::town::{self, VillageInfo};

#[derive(Template, WebTemplate)]
#[template(path = "admin/tasks.html")]
pub struct TasksPage {
    page: Page,
    villages: Vec<VillageInfo>,
    statuses: Vec<(&'static str, &'static str)>,
    tasks: Vec<TaskRow>,
    inspectors: HashMap<i32, Vec<(i32, String)>>,
    pager: Pager,
    f_village: String,
    f_grid: String,
    f_status: String,
    f_overdue: bool,
    f_due_soon: bool,
    f_done_30d: bool,
    query: String,
}

impl TasksPage {
    fn inspectors_of(&self, grid: &i32) -> Vec<(i32, String)> {
        self.inspectors.get(grid).cloned().unwrap_or_default()
    }
    fn is_assignee(&self, t: &TaskRow, id: &i32) -> bool {
        t.assignee_id == Some(*id)
    }
}

#[allow(clippy::too_many_arguments)]
#[get("/admin/tasks?<village_id>&<grid_id>&<status>&<overdue>&<due_soon>&<done_30d>&<page>")]
pub async fn tasks(
    who: TownAdmin,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<&str>,
    grid_id: Option<&str>,
    status: Option<&str>,
    overdue: Option<bool>,
    due_soon: Option<bool>,
    done_30d: Option<bool>,
    page: Option<u64>,
) -> AppResult<TasksPage> {
    // Filters from links and the filter form: anything unreadable means "any".
    let num = |s: Option<&str>| s.and_then(|s| s.parse::<i32>().ok());
    let status = status.and_then(TaskStatus::parse);
    let f = TaskFilter {
        village_id: num(village_id),
        grid_id: num(grid_id),
        status,
        overdue: overdue.unwrap_or(false),
        due_soon: due_soon.unwrap_or(false),
        since: None,
        active_only: false,
        done_recently: done_30d.unwrap_or(false),
    };
    let (rows, total) = task_svc::list(
        &st.db,
        &who.0,
        &f,
        Pager::index(page),
        Pager::PER_PAGE,
        st.config.clock.now(),
    )
    .await?;
    let mut inspectors = HashMap::new();
    for r in &rows {
        if let std::collections::hash_map::Entry::Vacant(e) = inspectors.entry(r.grid_id) {
            e.insert(task_svc::inspectors_of_grid(&st.db, r.grid_id).await?);
        }
    }
    let f_village = f.village_id.map(|v| v.to_string()).unwrap_or_default();
    let f_grid = f.grid_id.map(|v| v.to_string()).unwrap_or_default();
    let f_status = status.map(|s| s.as_str().to_string()).unwrap_or_default();
    let query = format!(
        "village_id={f_village}&grid_id={f_grid}&status={f_status}&overdue={}&due_soon={}&done_30d={}",
        f.overdue, f.due_soon, f.done_recently
    );
    Ok(TasksPage {
        page: page_ctx,
        villages: town::villages_with_grids(&st.db).await?,
        statuses: TaskStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        tasks: rows,
        inspectors,
        pager: Pager::new(page.unwrap_or(1), total),
        f_village,
        f_grid,
        f_status,
        f_overdue: f.overdue,
        f_due_soon: f.due_soon,
        f_done_30d: f.done_recently,
        query,
    })
}

#[derive(FromForm)]
pub struct ReassignForm {
    inspector_id: Option<String>,
}

#[post("/admin/tasks/<id>/reassign", data = "<form>")]
pub async fn reassign(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    form: Form<ReassignForm>,
) -> Flash<Redirect> {
    let to = Redirect::to("/admin/tasks");
    let Some(inspector) = form.inspector_id.as_deref().and_then(|s| s.parse().ok()) else {
        return Flash::error(to, "请选择网格员");
    };
    match task_svc::reassign(&st.db, &who.0, id, inspector).await {
        Ok(()) => Flash::success(to, format!("任务 #{id} 已改派")),
        Err(e) => Flash::error(
            to,
            match e {
                crate::error::AppError::Validation(f) => {
                    f.0.values().flatten().next().cloned().unwrap_or_default()
                }
                other => other.to_string(),
            },
        ),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/findings.html")]
pub struct FindingsPage {
    page: Page,
    findings: Vec<FindingView>,
    pager: Pager,
    /// `village_id=N&state=…&`: the list's filter for the pager (the command room's drill-down).
    filter: String,
    /// `village_id=N&` or empty: the tabs keep the village.
    village_q: String,
    /// The filter's `state`, for the tabs.
    state: &'static str,
    /// What the list holds, from its filter.
    title: &'static str,
    /// `/official` or `/admin`: where this list lives for the viewer.
    base: &'static str,
    official_menu: bool,
}

/// The hazards list for the admin (any village) or an official (their own); the scope is the
/// service's.
pub(super) async fn findings_page(
    st: &AppRef,
    who: &crate::services::Actor,
    page_ctx: Page,
    village_id: Option<i32>,
    state: Option<&str>,
    page: Option<u64>,
) -> AppResult<FindingsPage> {
    let state = parse_opt(state, FindingState::parse, "未知的隐患状态")
        .map_err(|e| AppError::BadRequest(e.into()))?
        .unwrap_or_default();
    let (list, total) = records::findings(
        &st.db,
        &st.checklists,
        who,
        village_id,
        state,
        Pager::index(page),
        Pager::PER_PAGE,
        st.config.clock.now(),
    )
    .await?;
    let official = who.role == crate::domain::role::Role::VillageOfficial;
    let village_q = village_id
        .map(|v| format!("village_id={v}&"))
        .unwrap_or_default();
    Ok(FindingsPage {
        page: page_ctx,
        findings: list,
        pager: Pager::new(page.unwrap_or(1), total),
        filter: format!("{village_q}state={}&", state.as_str()),
        village_q,
        state: state.as_str(),
        title: state.label_zh(),
        base: if official { "/official" } else { "/admin" },
        official_menu: official,
    })
}

#[get("/admin/findings?<village_id>&<state>&<page>")]
pub async fn overdue_findings(
    who: TownAdmin,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<i32>,
    state: Option<&str>,
    page: Option<u64>,
) -> AppResult<FindingsPage> {
    findings_page(st, &who.0, page_ctx, village_id, state, page).await
}
