//! Everyone's notices (the bell): the list, mark one or all read.
use askama::Template;
use askama_web::WebTemplate;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::guards::{CsrfChecked, CurrentUser};

use super::pages::{Page, Pager};
use crate::AppRef;
use crate::error::AppResult;
use crate::services::notifications::{self, NoticeItem};

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
pub struct NoticesPage {
    page: Page,
    notices: Vec<NoticeItem>,
    unread_only: bool,
    pager: Pager,
}

#[get("/notifications?<unread>&<page>")]
pub async fn list(
    who: CurrentUser,
    view: Page,
    st: &State<AppRef>,
    unread: Option<bool>,
    page: Option<u64>,
) -> AppResult<NoticesPage> {
    let unread_only = unread.unwrap_or(false);
    let index = Pager::index(page);
    let (notices, total) = notifications::list(&st.db, &who.0, unread_only, index).await?;
    Ok(NoticesPage {
        page: view,
        notices,
        unread_only,
        pager: Pager::sized(index + 1, total, 30),
    })
}

#[post("/notifications/read-all")]
pub async fn read_all(
    _csrf: CsrfChecked,
    who: CurrentUser,
    st: &State<AppRef>,
) -> AppResult<Flash<Redirect>> {
    let n = notifications::mark_all_read(&st.db, &who.0).await?;
    Ok(Flash::success(
        Redirect::to("/notifications"),
        format!("已将 {n} 条通知标为已读"),
    ))
}

/// The `Referer` header, for going back to the page a button was on.
pub struct Referer<'r>(pub Option<&'r str>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Referer<'r> {
    type Error = std::convert::Infallible;
    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(Referer(req.headers().get_one("Referer")))
    }
}

/// The path of a same-site referer if it is the notice list; anything else is ignored, so the
/// redirect can never leave the site.
pub fn referer_path(referer: Option<&str>) -> Option<&'static str> {
    let r = referer?;
    let path = r
        .find("://")
        .map(|i| &r[i + 3..])
        .and_then(|rest| rest.find('/').map(|j| &rest[j..]))
        .unwrap_or(r);
    path.starts_with("/notifications")
        .then_some("/notifications")
}
