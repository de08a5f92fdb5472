//! The official's lists behind their village's command-room numbers: hazards (open or overdue)
//! and inspection tasks (all, overdue or due within a week), read-only; the scope is the
//! services'.
use askama::Template;
use askama_web::WebTemplate;
use rocket::{State, get};

use super::admin_tasks::{FindingsPage, findings_page};
use super::guards::VillageOfficial;
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::error::AppResult;
use crate::services::dashboard::records::scope_checked;
use crate::services::inspections::tasks::{self, TaskFilter, TaskRow};

#[get("/official/findings?<village_id>&<state>&<page>")]
pub async fn findings(
    who: VillageOfficial,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<i32>,
    state: Option<&str>,
    page: Option<u64>,
) -> AppResult<FindingsPage> {
    findings_page(st, &who.0, page_ctx, village_id, state, page).await
}

#[derive(Template, WebTemplate)]
#[template(path = "official/tasks.html")]
pub struct TasksPage {
    page: Page,
    tasks: Vec<TaskRow>,
    pager: Pager,
    overdue: bool,
    due_soon: bool,
    done_30d: bool,
}

#[allow(clippy::too_many_arguments)]
#[get("/official/tasks?<village_id>&<overdue>&<due_soon>&<done_30d>&<page>")]
pub async fn task_list(
    who: VillageOfficial,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<i32>,
    overdue: Option<bool>,
    due_soon: Option<bool>,
    done_30d: Option<bool>,
    page: Option<u64>,
) -> AppResult<TasksPage> {
    // Another village is refused (403), as on the command room, rather than shown empty.
    let scope = scope_checked(&st.db, &who.0, village_id).await?;
    let f = TaskFilter {
        village_id: scope.village_id,
        overdue: overdue.unwrap_or(false),
        due_soon: due_soon.unwrap_or(false),
        done_recently: done_30d.unwrap_or(false),
        ..Default::default()
    };
    let (rows, total) = tasks::list(
        &st.db,
        &who.0,
        &f,
        Pager::index(page),
        Pager::PER_PAGE,
        st.config.clock.now(),
    )
    .await?;
    Ok(TasksPage {
        page: page_ctx,
        tasks: rows,
        pager: Pager::new(page.unwrap_or(1), total),
        overdue: f.overdue,
        due_soon: f.due_soon,
        done_30d: f.done_recently,
    })
}
