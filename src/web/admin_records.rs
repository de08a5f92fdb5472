//! The town admin's read-only view of every village's applications and permits: lists with a
//! village and status filter (the command room's drill-downs) and detail pages without the
//! official's decisions, whose POST routes stay official-only.
use askama::Template;
use askama_web::WebTemplate;
use rocket::{State, get};

use super::guards::TownAdmin;
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::domain::application::ApplicationStatus;
use crate::domain::drilldown::{PermitFilter, parse_application_status, parse_opt, parse_village};
use crate::error::{AppError, AppResult};
use crate::services::applications::{self, ApplicationRow, ApplicationView};
use crate::services::dashboard::records;
use crate::services::permit_view::{self, InspectionLine, PermitView};
use crate::services::town;

fn bad(e: &'static str) -> AppError {
    AppError::BadRequest(e.into())
}

/// The village menu: every village of the town.
async fn villages(st: &AppRef) -> AppResult<Vec<(i32, String)>> {
    Ok(town::villages_with_grids(&st.db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect())
}

fn query(village: Option<i32>, status: Option<&str>) -> String {
    let mut q = String::new();
    if let Some(v) = village {
        q.push_str(&format!("village_id={v}&"));
    }
    if let Some(s) = status {
        q.push_str(&format!("status={s}&"));
    }
    q
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/applications.html")]
pub struct ApplicationsPage {
    page: Page,
    apps: Vec<ApplicationRow>,
    pager: Pager,
    villages: Vec<(i32, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    village_id: Option<i32>,
    status: &'static str,
    query: String,
}

impl ApplicationsPage {
    fn sel_village(&self, id: &i32) -> bool {
        self.village_id == Some(*id)
    }
}

#[get("/admin/applications?<village_id>&<status>&<page>")]
pub async fn applications_list(
    who: TownAdmin,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<&str>,
    status: Option<&str>,
    page: Option<u64>,
) -> AppResult<ApplicationsPage> {
    let village_id = parse_village(village_id).map_err(bad)?;
    let status = parse_application_status(status).map_err(bad)?;
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
    Ok(ApplicationsPage {
        page: page_ctx,
        apps,
        pager: Pager::new(page.unwrap_or(1), total),
        villages: villages(st).await?,
        statuses: ApplicationStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        village_id,
        status,
        query: query(village_id, Some(status).filter(|s| !s.is_empty())),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/application.html")]
pub struct ApplicationPage {
    page: Page,
    app: ApplicationView,
    inspections: Vec<InspectionLine>,
}

#[get("/admin/applications/<id>")]
pub async fn application(
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ApplicationPage> {
    let app = applications::get(&st.db, &who.0, id).await?;
    let inspections = permit_view::inspections_of(&st.db, &st.checklists, id).await?;
    Ok(ApplicationPage {
        page,
        app,
        inspections,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/permits.html")]
pub struct PermitsPage {
    page: Page,
    permits: Vec<PermitView>,
    pager: Pager,
    villages: Vec<(i32, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    village_id: Option<i32>,
    status: &'static str,
    query: String,
}

impl PermitsPage {
    fn sel_village(&self, id: &i32) -> bool {
        self.village_id == Some(*id)
    }
}

#[get("/admin/permits?<village_id>&<status>&<page>")]
pub async fn permits_list(
    who: TownAdmin,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<&str>,
    status: Option<&str>,
    page: Option<u64>,
) -> AppResult<PermitsPage> {
    let village_id = parse_village(village_id).map_err(bad)?;
    let filter = parse_opt(status, PermitFilter::parse, "未知的准入证状态").map_err(bad)?;
    let (permits, total) = records::permits(
        st,
        &who.0,
        village_id,
        filter,
        Pager::index(page),
        Pager::PER_PAGE,
    )
    .await?;
    let status = filter.map(PermitFilter::as_str).unwrap_or("");
    Ok(PermitsPage {
        page: page_ctx,
        permits,
        pager: Pager::new(page.unwrap_or(1), total),
        villages: villages(st).await?,
        statuses: PermitFilter::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        village_id,
        status,
        query: query(village_id, Some(status).filter(|s| !s.is_empty())),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/permit.html")]
pub struct PermitPage {
    page: Page,
    p: PermitView,
}

#[get("/admin/permits/<number>")]
pub async fn permit(
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<PermitPage> {
    let p = permit_view::get(st, &who.0, number).await?;
    Ok(PermitPage { page, p })
}
