//! Public pages: what a phone opens after scanning a certificate (no sign-in, no personal data),
//! and a static health route used as the throughput baseline.
use askama::Template;
use askama_web::WebTemplate;
use rocket::{State, get};

use super::guards::ClientIp;
use super::pages::Page;
use crate::AppRef;
use crate::error::AppResult;
use crate::services::verification::Verification;
use crate::web::api::permits::public_limit;

#[derive(Template, WebTemplate)]
#[template(path = "public/verify.html")]
pub struct VerifyPage {
    page: Page,
    v: Verification,
    sig: String,
}

/// The verification page. It takes no session, so the layout shows no user and sets no cookie.
#[get("/p/<number>?<sig>")]
pub async fn verify_page(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
) -> AppResult<VerifyPage> {
    public_limit(st, &ip).await?;
    let sig = sig.unwrap_or("");
    let v = crate::services::verification::verify(st, number, sig).await?;
    Ok(VerifyPage {
        page: Page::default(),
        v,
        sig: sig.chars().take(128).collect(),
    })
}

#[get("/healthz")]
pub fn healthz() -> &'static str {
    "ok"
}
