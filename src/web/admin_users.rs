//! Town admin account actions: disable (after a confirmation page), enable, and reset a password.
use askama::Template;
use askama_web::WebTemplate;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::guards::{CsrfChecked, TownAdmin};
use super::pages::Page;
use crate::AppRef;
use crate::error::AppResult;
use crate::services::credentials;

#[derive(Template, WebTemplate)]
#[template(path = "admin/user_disable.html")]
pub struct DisablePage {
    page: Page,
    user: credentials::AccountSummary,
}

/// Asks before disabling: the user is signed out everywhere at once.
#[get("/admin/users/<id>/disable")]
pub async fn confirm_disable(
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<DisablePage> {
    let user = credentials::account(&st.db, &who.0, id).await?;
    Ok(DisablePage { page, user })
}

#[post("/admin/users/<id>/disable")]
pub async fn disable(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Flash<Redirect>> {
    let u = credentials::set_active(&st.db, &who.0, id, false).await?;
    Ok(Flash::success(
        Redirect::to("/admin/users"),
        format!("已停用 {} 的账号，其登录已全部退出", u.name),
    ))
}

#[post("/admin/users/<id>/enable")]
pub async fn enable(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Flash<Redirect>> {
    let u = credentials::set_active(&st.db, &who.0, id, true).await?;
    Ok(Flash::success(
        Redirect::to("/admin/users"),
        format!("已启用 {} 的账号", u.name),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user_reset_confirm.html")]
pub struct ResetConfirmPage {
    page: Page,
    user: credentials::AccountSummary,
}

/// Asks before resetting: the user is signed out everywhere and needs the new password to return.
#[get("/admin/users/<id>/reset-password")]
pub async fn confirm_reset(
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ResetConfirmPage> {
    let user = credentials::account(&st.db, &who.0, id).await?;
    Ok(ResetConfirmPage { page, user })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user_reset.html")]
pub struct ResetPage {
    page: Page,
    user: credentials::AccountSummary,
    temporary_password: String,
}

/// Shows the temporary password in this one answer (never in a flash cookie or a log); the page
/// is `no-store` like every page.
#[post("/admin/users/<id>/reset-password")]
pub async fn reset_password(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ResetPage> {
    let temporary_password = credentials::reset_password(&st.db, &who.0, id).await?;
    let user = credentials::account(&st.db, &who.0, id).await?;
    Ok(ResetPage {
        page,
        user,
        temporary_password,
    })
}
