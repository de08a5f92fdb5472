//! Town admin pages: the overview, villages and grids, accounts.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, TownAdmin};
use super::pages::{Page, Pager};
use crate::domain::fields::FieldErrors;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::services::accounts::{self, RawNewUser};
use crate::services::applications::{self, ApplicationRow};
use crate::services::town::{self, UserRow, VillageInfo};
use crate::{AppRef, AppState};

#[derive(Template, WebTemplate)]
#[template(path = "admin/home.html")]
pub struct AdminHome {
    page: Page,
    villages: usize,
    grids: usize,
    apps: Vec<ApplicationRow>,
    app_total: u64,
    /// The command room's figures, the same snapshot the wall shows.
    s: crate::services::dashboard::Snapshot,
}

impl AdminHome {
    /// A day's change as the wall prints it (+3, ±0, −1).
    fn d(&self, n: &i64) -> String {
        crate::domain::dashboard::signed(*n)
    }
}

#[get("/admin")]
pub async fn home(who: TownAdmin, page: Page, st: &State<AppRef>) -> AppResult<AdminHome> {
    let vs = town::villages_with_grids(&st.db).await?;
    let (apps, app_total) = applications::list(&st.db, &who.0, 0, 10).await?;
    let scope = crate::services::dashboard::scope_for(&who.0, None)?;
    let s = (*st.dashboard.snapshot(st.inner(), scope).await?).clone();
    Ok(AdminHome {
        s,
        page,
        villages: vs.len(),
        grids: vs.iter().map(|v| v.grids.len()).sum(),
        apps,
        app_total,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/villages.html")]
pub struct VillagesPage {
    page: Page,
    villages: Vec<VillageInfo>,
    errors: FieldErrors,
    code: String,
    name: String,
}

async fn villages_page(
    st: &AppState,
    page: Page,
    errors: FieldErrors,
    code: String,
    name: String,
) -> AppResult<VillagesPage> {
    Ok(VillagesPage {
        page,
        villages: town::villages_with_grids(&st.db).await?,
        errors,
        code,
        name,
    })
}

#[get("/admin/villages")]
pub async fn villages(_who: TownAdmin, page: Page, st: &State<AppRef>) -> AppResult<VillagesPage> {
    villages_page(st, page, FieldErrors::new(), String::new(), String::new()).await
}

#[derive(FromForm, Default)]
pub struct VillageForm {
    code: Option<String>,
    name: Option<String>,
}

#[post("/admin/villages", data = "<form>")]
pub async fn create_village(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    form: Form<VillageForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<VillagesPage>)> {
    let (code, name) = (
        form.code.clone().unwrap_or_default(),
        form.name.clone().unwrap_or_default(),
    );
    match town::create_village(&st.db, &who.0, &code, &name).await {
        Ok(v) => Ok(Flash::success(
            Redirect::to("/admin/villages"),
            format!("已添加 {}", v.name),
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            villages_page(st, page, e, code, name).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(FromForm, Default)]
pub struct GridForm {
    village_id: Option<i32>,
    name: Option<String>,
}

#[post("/admin/grids", data = "<form>")]
pub async fn create_grid(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    form: Form<GridForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<VillagesPage>)> {
    let name = form.name.clone().unwrap_or_default();
    let mut e = FieldErrors::new();
    let result = match form.village_id {
        Some(v) => town::create_grid(&st.db, &who.0, v, &name).await,
        None => {
            e.add("grid_village_id", "请选择村");
            Err(AppError::Validation(e))
        }
    };
    match result {
        Ok(g) => Ok(Flash::success(
            Redirect::to("/admin/villages"),
            format!("已添加 {}", g.name),
        )),
        Err(AppError::Validation(f)) => {
            let mut renamed = FieldErrors::new();
            for (k, msgs) in f.0 {
                for m in msgs {
                    renamed.add(
                        if k.starts_with("grid_") {
                            k.clone()
                        } else {
                            format!("grid_{k}")
                        },
                        m,
                    );
                }
            }
            Err((
                Status::UnprocessableEntity,
                villages_page(st, page, renamed, String::new(), String::new()).await,
            ))
        }
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    page: Page,
    users: Vec<UserRow>,
    pager: Pager,
    villages: Vec<VillageInfo>,
    roles: Vec<(&'static str, &'static str)>,
    form: UserFormValues,
    errors: FieldErrors,
}

#[derive(Default, Clone)]
pub struct UserFormValues {
    role: String,
    phone: String,
    name: String,
    village_id: String,
    grid_ids: Vec<i32>,
}

async fn users_page(
    st: &AppState,
    who: &TownAdmin,
    page: Page,
    p: Option<u64>,
    form: UserFormValues,
    errors: FieldErrors,
) -> AppResult<UsersPage> {
    let (users, total) = town::list_users(&st.db, &who.0, Pager::index(p), Pager::PER_PAGE).await?;
    Ok(UsersPage {
        page,
        users,
        pager: Pager::new(p.unwrap_or(1), total),
        villages: town::villages_with_grids(&st.db).await?,
        roles: [
            Role::TownAdmin,
            Role::VillageOfficial,
            Role::Inspector,
            Role::Landlord,
            Role::ApiClient,
        ]
        .iter()
        .map(|r| (r.as_str(), r.label_zh()))
        .collect(),
        form,
        errors,
    })
}

#[get("/admin/users?<page>")]
pub async fn users(
    who: TownAdmin,
    page_ctx: Page,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<UsersPage> {
    let form = UserFormValues {
        role: Role::Inspector.as_str().into(),
        ..Default::default()
    };
    users_page(st, &who, page_ctx, page, form, FieldErrors::new()).await
}

#[derive(FromForm, Default)]
pub struct UserForm {
    role: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    password: Option<String>,
    village_id: Option<String>,
    grid_ids: Vec<i32>,
}

#[post("/admin/users", data = "<form>")]
pub async fn create_user(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    form: Form<UserForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<UsersPage>)> {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let values = UserFormValues {
        role: s(&form.role),
        phone: s(&form.phone),
        name: s(&form.name),
        village_id: s(&form.village_id),
        grid_ids: form.grid_ids.clone(),
    };
    let raw = RawNewUser {
        role: s(&form.role),
        phone: s(&form.phone),
        name: s(&form.name),
        password: s(&form.password),
        village_id: s(&form.village_id),
        grid_ids: form.grid_ids.clone(),
    };
    match accounts::create_from_form(&st.db, &who.0, &raw).await {
        Ok(u) => Ok(Flash::success(
            Redirect::to("/admin/users"),
            format!("已开通账号：{} {}", u.name, u.phone),
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            users_page(st, &who, page, None, values, e).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user_grids.html")]
pub struct UserGridsPage {
    page: Page,
    user_id: i32,
    user_name: String,
    villages: Vec<VillageInfo>,
    assigned: Vec<i32>,
    error: String,
}

#[get("/admin/users/<id>/grids")]
pub async fn user_grids(
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<UserGridsPage> {
    let (u, assigned) = town::inspector_assignment(&st.db, &who.0, id).await?;
    Ok(UserGridsPage {
        page,
        user_id: id,
        user_name: u.name,
        villages: town::villages_with_grids(&st.db).await?,
        assigned,
        error: String::new(),
    })
}

#[derive(FromForm, Default)]
pub struct GridsForm {
    grid_ids: Vec<i32>,
}

#[post("/admin/users/<id>/grids", data = "<form>")]
pub async fn save_user_grids(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<GridsForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<UserGridsPage>)> {
    let result = town::assign_grids(&st.db, &who.0, id, &form.grid_ids).await;
    match result {
        Ok(()) => Ok(Flash::success(
            Redirect::to("/admin/users"),
            "网格分配已保存",
        )),
        Err(e) => {
            let status = e.status();
            let msg = match &e {
                AppError::Validation(f) => {
                    f.0.values().flatten().next().cloned().unwrap_or_default()
                }
                other => other.to_string(),
            };
            let page = user_grids(TownAdmin(who.0.clone()), page, st, id)
                .await
                .map(|mut p| {
                    p.error = msg;
                    p.assigned = form.grid_ids.clone();
                    p
                });
            Err((status, page))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    page: Page,
    rows: Vec<crate::services::audit_view::AuditLine>,
    pager: Pager,
    checked: bool,
    broken_at: Option<i64>,
    filter: crate::services::audit_view::AuditFilter,
    actions: &'static [(&'static str, &'static str)],
    /// The filters as a query, so the pager keeps them.
    pager_base: String,
}

impl AuditPage {
    fn date(d: &Option<chrono::NaiveDate>) -> String {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
}

/// The chain is checked only when asked: it reads the whole log, too much for every page view.
#[get("/admin/audit?<page>&<verify>&<person>&<action>&<from>&<to>")]
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    who: TownAdmin,
    page_ctx: Page,
    st: &State<AppRef>,
    page: Option<u64>,
    verify: Option<bool>,
    person: Option<&str>,
    action: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<AuditPage> {
    let date = |s: Option<&str>| {
        s.and_then(|s| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
    };
    let filter = crate::services::audit_view::AuditFilter {
        person: person.unwrap_or_default().chars().take(40).collect(),
        action: action.unwrap_or_default().chars().take(60).collect(),
        from: date(from),
        to: date(to),
    };
    let (rows, total) = crate::services::audit_view::page(
        &st.db,
        &who.0,
        &filter,
        Pager::index(page),
        AUDIT_PER_PAGE,
    )
    .await?;
    let checked = verify.unwrap_or(false);
    let broken_at = if checked {
        crate::services::audit::verify_chain(&st.db).await?
    } else {
        None
    };
    let enc = super::pages::urlencode;
    let pager_base = format!(
        "/admin/audit?person={}&action={}&from={}&to={}&page=",
        enc(&filter.person),
        enc(&filter.action),
        AuditPage::date(&filter.from),
        AuditPage::date(&filter.to)
    );
    Ok(AuditPage {
        page: page_ctx,
        rows,
        pager: Pager::sized(page.unwrap_or(1), total, AUDIT_PER_PAGE),
        checked,
        broken_at,
        filter,
        actions: crate::domain::audit_labels::ACTIONS,
        pager_base,
    })
}

const AUDIT_PER_PAGE: u64 = 50;
