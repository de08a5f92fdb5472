//! Home pages of grid workers and village officials.
use askama::Template;
use askama_web::WebTemplate;
use rocket::{State, get};

use super::guards::{Inspector, VillageOfficial};
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::domain::application::ApplicationStatus;
use crate::domain::drilldown::{parse_application_status, parse_village};
use crate::error::{AppError, AppResult};
use crate::services::applications::{self, ApplicationRow, ApplicationView};
use crate::services::dashboard::records;
use crate::services::town;

#[derive(Template, WebTemplate)]
#[template(path = "inspector/home.html")]
pub struct InspectorHome {
    page: Page,
    grids: Vec<String>,
    tasks: Vec<crate::services::inspections::tasks::TaskRow>,
    pager: Pager,
}

#[get("/inspector?<page>")]
pub async fn inspector_home(
    who: Inspector,
    page_ctx: Page,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<InspectorHome> {
    use crate::services::inspections::tasks::{TaskFilter, list};
    let filter = TaskFilter {
        active_only: true,
        ..Default::default()
    };
    let (tasks, total) = list(
        &st.db,
        &who.0,
        &filter,
        Pager::index(page),
        Pager::PER_PAGE,
        st.config.clock.now(),
    )
    .await?;
    let ids = town::inspector_grid_ids(&st.db, who.0.id).await?;
    let grids = town::villages_with_grids(&st.db)
        .await?
        .into_iter()
        .flat_map(|v| v.grids)
        .filter(|g| ids.contains(&g.id))
        .map(|g| g.name)
        .collect();
    Ok(InspectorHome {
        page: page_ctx,
        grids,
        tasks,
        pager: Pager::new(page.unwrap_or(1), total),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "official/home.html")]
pub struct OfficialHome {
    page: Page,
    village: String,
    apps: Vec<ApplicationRow>,
    pager: Pager,
    statuses: Vec<(&'static str, &'static str)>,
    status: &'static str,
    /// `/official?status=…&page=`: the pager's links keep the filter.
    pager_url: String,
}

/// The village's applications, optionally of one status (the command room's drill-down).
#[get("/official?<village_id>&<status>&<page>")]
pub async fn official_home(
    who: VillageOfficial,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<&str>,
    status: Option<&str>,
    page: Option<u64>,
) -> AppResult<OfficialHome> {
    let bad = |e: &'static str| AppError::BadRequest(e.into());
    let village_id = parse_village(village_id).map_err(bad)?;
    let status = parse_application_status(status).map_err(bad)?;
    let village = town::villages_with_grids(&st.db)
        .await?
        .into_iter()
        .find(|v| Some(v.id) == who.0.village_id)
        .map(|v| v.name)
        .unwrap_or_default();
    let (apps, total) = records::applications(
        &st.db,
        &who.0,
        village_id,
        status,
        Pager::index(page),
        Pager::PER_PAGE,
    )
    .await?;
    let status = status.map(ApplicationStatus::as_str).unwrap_or("");
    Ok(OfficialHome {
        page: page_ctx,
        village,
        apps,
        pager: Pager::new(page.unwrap_or(1), total),
        statuses: ApplicationStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        pager_url: if status.is_empty() {
            "/official?page=".into()
        } else {
            format!("/official?status={status}&page=")
        },
        status,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "official/application.html")]
pub struct OfficialApplication {
    page: Page,
    app: ApplicationView,
}

#[get("/official/applications/<id>")]
pub async fn official_application(
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<OfficialApplication> {
    let app = applications::get(&st.db, &who.0, id).await?;
    Ok(OfficialApplication { page, app })
}
