//! The command room's pages: the 大屏 `/command` (the town admin's town or village, an official's
//! own village), its live stream and polling fallback for the browser, search, the monthly report.
use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Header};
use rocket::response::stream::EventStream;
use rocket::serde::json::Json;
use rocket::{Responder, Shutdown, State, get};

use super::command_charts as charts;
use super::guards::Staff;
use super::pages::Page;
use crate::AppRef;
use crate::domain::dashboard::{parse_month, signed};
use crate::domain::dates::zh_datetime;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::services::dashboard::overdue::{self, OverdueItem};
use crate::services::dashboard::search::{self, SearchResult};
use crate::services::dashboard::{Snapshot, report, scope_for, trend, villages_of};

#[derive(Template, WebTemplate)]
#[template(path = "command/wall.html")]
pub struct Wall {
    title: String,
    s: Snapshot,
    /// `village_id=N&` for links narrowed to the shown village, empty for the town.
    filter: String,
    is_admin: bool,
    /// Where the viewer's drill-down lists live: `/admin/…` for the town admin, `/official/…`.
    base: &'static str,
    apps_url: &'static str,
    updated_zh: String,
    rate_pct: String,
    grades_svg: String,
    hazards_svg: String,
    residents_svg: String,
    weekly_svg: String,
    overdue: Vec<OverdueItem>,
    month: String,
    villages: Vec<(i32, String)>,
}

impl Wall {
    fn d(&self, n: &i64) -> String {
        signed(*n)
    }
    fn is_on(&self, id: impl std::borrow::Borrow<i32>) -> bool {
        self.s.village_id == Some(*id.borrow())
    }
}

#[get("/command?<village_id>")]
pub async fn wall(who: Staff, st: &State<AppRef>, village_id: Option<i32>) -> AppResult<Wall> {
    let scope = scope_for(&who.0, village_id)?;
    let s = (*st.dashboard.snapshot(st.inner(), scope).await?).clone();
    let now = st.config.clock.now();
    let t = trend::weekly(&st.db, scope, now, 12).await?;
    let overdue = overdue::oldest(&st.db, scope, now, 10).await?;
    let title = match scope.village_id {
        Some(_) => format!(
            "{} 出租房屋态势",
            s.villages.first().map(|v| v.name.as_str()).unwrap_or("")
        ),
        None => "全镇出租房屋态势".to_string(),
    };
    let rows = |f: fn(&crate::services::dashboard::VillageRow) -> (i64, i64)| {
        s.villages
            .iter()
            .map(|v| (v.name.clone(), f(v).0, f(v).1))
            .collect::<Vec<_>>()
    };
    let is_admin = who.0.role == Role::TownAdmin;
    let villages = if is_admin {
        villages_of(
            &st.db,
            crate::services::dashboard::Scope { village_id: None },
        )
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect()
    } else {
        vec![]
    };
    Ok(Wall {
        title,
        filter: scope
            .village_id
            .map(|v| format!("village_id={v}&"))
            .unwrap_or_default(),
        is_admin,
        base: if is_admin { "/admin" } else { "/official" },
        apps_url: if is_admin {
            "/admin/applications"
        } else {
            "/official"
        },
        updated_zh: zh_datetime(&s.as_of),
        rate_pct: s.hazards.rate_pct(),
        grades_svg: charts::grades(s.grades.green, s.grades.yellow, s.grades.red),
        hazards_svg: charts::village_bars(
            &rows(|v| (v.hazards_open, v.hazards_overdue)),
            ("未整改", "#f2c230"),
            ("逾期", "#e5484d"),
        ),
        residents_svg: charts::village_bars(
            &rows(|v| (v.residents_now, v.permits_active)),
            ("在住人数", "#4ea1ff"),
            ("有效准入证", "#2fbf71"),
        ),
        weekly_svg: charts::weekly_lines(&t.weeks, &t.check_ins, &t.check_outs),
        overdue,
        month: st.config.clock.today().format("%Y-%m").to_string(),
        villages,
        s,
    })
}

/// The page's live feed (cookie session; the API's is `/api/v1/dashboard/stream`).
#[get("/command/stream?<village_id>")]
pub async fn stream(
    who: Staff,
    st: &State<AppRef>,
    village_id: Option<i32>,
    end: Shutdown,
) -> AppResult<EventStream![]> {
    let scope = scope_for(&who.0, village_id)?;
    villages_of(&st.db, scope).await?;
    Ok(super::api::dashboard::live(st.inner().clone(), scope, end))
}

/// The page's fallback when the stream drops: polled every 30 s.
#[get("/command/snapshot.json?<village_id>")]
pub async fn snapshot_json(
    who: Staff,
    st: &State<AppRef>,
    village_id: Option<i32>,
) -> AppResult<Json<Snapshot>> {
    let scope = scope_for(&who.0, village_id)?;
    Ok(Json(
        (*st.dashboard.snapshot(st.inner(), scope).await?).clone(),
    ))
}

#[get("/static/command.js")]
pub fn script() -> (ContentType, &'static str) {
    (
        ContentType::JavaScript,
        include_str!("../../templates/assets/command.js"),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "command/search.html")]
pub struct SearchPage {
    page: Page,
    q: String,
    error: String,
    r: SearchResult,
}

#[get("/command/search?<q>&<village_id>")]
pub async fn search_page(
    who: Staff,
    page: Page,
    st: &State<AppRef>,
    q: Option<&str>,
    village_id: Option<i32>,
) -> AppResult<SearchPage> {
    let scope = scope_for(&who.0, village_id)?;
    let raw = q.unwrap_or("").to_string();
    let (r, error) = match search::parse_query(&raw) {
        // An empty box is the page's first visit, not a mistake.
        Err(_) if raw.trim().is_empty() => (SearchResult::default(), String::new()),
        Err(AppError::Validation(e)) => (
            SearchResult::default(),
            e.get("q").unwrap_or("").to_string(),
        ),
        Err(e) => return Err(e),
        Ok(q) => (
            search::search(st.inner(), &who.0, scope, &q).await?,
            String::new(),
        ),
    };
    Ok(SearchPage {
        page,
        q: raw,
        error,
        r,
    })
}

#[derive(Responder)]
pub struct Xlsx {
    inner: (ContentType, Vec<u8>),
    disposition: Header<'static>,
}

/// The monthly report for the county; `month` defaults to the last full month.
#[get("/command/report?<month>&<village_id>")]
pub async fn monthly_report(
    who: Staff,
    st: &State<AppRef>,
    month: Option<&str>,
    village_id: Option<i32>,
) -> AppResult<Xlsx> {
    let scope = scope_for(&who.0, village_id)?;
    let first = match month {
        Some(m) => {
            parse_month(m).ok_or_else(|| AppError::field("month", "月份格式应为 YYYY-MM"))?
        }
        None => {
            let this = st.config.clock.month_start();
            this.checked_sub_months(chrono::Months::new(1))
                .unwrap_or(this)
        }
    };
    let rows = report::rows(&st.db, scope, first).await?;
    let body = report::workbook(&report::town_name(&st.db).await?, first, &rows)?;
    let ym = first.format("%Y-%m");
    Ok(Xlsx {
        inner: (
            ContentType::new(
                "application",
                "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            body,
        ),
        disposition: Header::new(
            "Content-Disposition",
            format!(
                "attachment; filename=\"report-{ym}.xlsx\"; filename*=UTF-8''%E6%9C%88%E6%8A%A5-{ym}.xlsx"
            ),
        ),
    })
}
