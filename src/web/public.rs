//! Public pages: what a phone opens after scanning a certificate (no sign-in, no personal data),
//! and a static health route used as the throughput baseline.
use std::sync::Arc;

use askama::Template;
use rocket::response::content::RawHtml;
use rocket::{State, get};

use super::guards::ClientIp;
use super::pages::Page;
use crate::AppRef;
use crate::error::{AppError, AppResult};
use crate::services::verification::{self, Verification};
use crate::web::api::permits::public_limit;

#[derive(Template)]
#[template(path = "public/verify.html")]
pub struct VerifyPage {
    page: Page,
    v: Verification,
    sig: String,
}

/// The verification page. It takes no session, so the layout shows no user and sets no cookie,
/// and the same URL gets the same page: the service keeps it rendered while it stands.
#[get("/p/<number>?<sig>")]
pub async fn verify_page(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
) -> AppResult<RawHtml<Arc<str>>> {
    public_limit(st, &ip).await?;
    let sig = sig.unwrap_or("");
    let html = verification::verification_page(st, number, sig, |v| {
        let page = VerifyPage {
            page: Page::default(),
            v,
            sig: sig.chars().take(128).collect(),
        };
        page.render()
            .map_err(|e| AppError::Internal(format!("verification page: {e}")))
    })
    .await?;
    Ok(RawHtml(html))
}

#[get("/healthz")]
pub fn healthz() -> &'static str {
    "ok"
}
