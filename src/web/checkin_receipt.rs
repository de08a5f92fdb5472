//! The tenant's check-in receipt: where the check-in form redirects, reloadable while its
//! sealed link lasts, showing the live status and the check-out code.
use askama::Template;
use askama_web::WebTemplate;
use rocket::{State, get};

use super::pages::Page;
use crate::AppRef;
use crate::domain::stay::Lang;
use crate::error::AppResult;
use crate::services::stays::receipt;

#[derive(Template, WebTemplate)]
#[template(path = "stays/checkin_done.html")]
pub struct CheckinDone {
    page: Page,
    lang: Lang,
    stay_id: i32,
    status_label: &'static str,
    badge: &'static str,
    checkout_code: String,
}

impl CheckinDone {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.t(zh, en)
    }
}

#[get("/stays/<id>/receipt?<t>&<lang>")]
pub async fn receipt_page(
    page: Page,
    st: &State<AppRef>,
    id: i32,
    t: Option<&str>,
    lang: Option<&str>,
) -> AppResult<CheckinDone> {
    let lang = Lang::parse(lang);
    let now = st.config.clock.now();
    let r = receipt::open(&st.db, &st.pii, id, t.unwrap_or(""), now, lang).await?;
    Ok(CheckinDone {
        page,
        lang,
        stay_id: r.stay_id,
        status_label: r.status.label(lang),
        badge: r.status.badge(),
        checkout_code: r.checkout_code,
    })
}
