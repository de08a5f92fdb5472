//! The houses list behind the command room's house and grade numbers, for the town admin (any
//! village) and officials (their own; the scope is the service's).
use askama::Template;
use askama_web::WebTemplate;
use rocket::{State, get};

use super::guards::Staff;
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::domain::drilldown::{GradeFilter, HouseFilter, HousePermit, parse_house_filter};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::services::dashboard::houses::{self, HouseRow};

#[derive(Template, WebTemplate)]
#[template(path = "houses.html")]
pub struct HousesPage {
    page: Page,
    rows: Vec<HouseRow>,
    pager: Pager,
    filter: HouseFilter,
    /// The filter as `key=value&…&`, for the pager's links.
    query: String,
    villages: Vec<(i32, String)>,
    grades: Vec<(&'static str, &'static str)>,
    permits: Vec<(&'static str, &'static str)>,
    /// `/official` or `/admin`: where the viewer's application and permit pages live.
    base: &'static str,
    official_menu: bool,
}

impl HousesPage {
    /// Where a row's address leads: an official's own house page (claim code, transfer), else
    /// the house's latest application for the admin, else nowhere.
    fn house_href(&self, h: &HouseRow) -> Option<String> {
        if self.official_menu {
            return Some(format!("/official/houses/{}", h.id));
        }
        h.application_id
            .map(|a| format!("{}/applications/{a}", self.base))
    }
    fn sel_village(&self, id: &i32) -> bool {
        self.filter.village_id == Some(*id)
    }
    fn sel_grade(&self, g: &str) -> bool {
        self.filter.grade.map(GradeFilter::as_str) == Some(g)
    }
    fn sel_permit(&self, p: &str) -> bool {
        self.filter.permit.map(HousePermit::as_str) == Some(p)
    }
}

#[allow(clippy::too_many_arguments)]
#[get("/houses?<village_id>&<grade>&<permit>&<new>&<page>")]
pub async fn list(
    who: Staff,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<&str>,
    grade: Option<&str>,
    permit: Option<&str>,
    new: Option<&str>,
    page: Option<u64>,
) -> AppResult<HousesPage> {
    let filter = parse_house_filter(village_id, grade, permit, new)
        .map_err(|e| AppError::BadRequest(e.into()))?;
    let (rows, total) = houses::list(
        &st.db,
        &who.0,
        &filter,
        Pager::index(page),
        Pager::PER_PAGE,
        st.config.clock.now(),
    )
    .await?;
    // The village menu offers what the viewer may choose: every village for the admin.
    let (_, villages) = houses::scope_of(&st.db, &who.0, None).await?;
    let official = who.0.role == Role::VillageOfficial;
    Ok(HousesPage {
        page: page_ctx,
        rows,
        pager: Pager::new(page.unwrap_or(1), total),
        query: filter.query(),
        filter,
        villages,
        grades: GradeFilter::ALL
            .iter()
            .map(|g| (g.as_str(), g.label_zh()))
            .collect(),
        permits: HousePermit::ALL
            .iter()
            .map(|p| (p.as_str(), p.label_zh()))
            .collect(),
        base: if official { "/official" } else { "/admin" },
        official_menu: official,
    })
}
