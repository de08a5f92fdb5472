//! Landlord permit pages: the permit with its certificate download and renewal; notifications;
//! the certificate PDF for signed-in browsers.
use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Header;
use rocket::response::{Redirect, Responder};
use rocket::{State, get, post};

use super::guards::{CsrfChecked, CurrentUser, Landlord};
use super::pages::Page;
use crate::AppRef;
use crate::error::AppResult;
use crate::services::permit_view::{self, PermitView};
use crate::services::{notifications, permit_expiry};

#[derive(Template, WebTemplate)]
#[template(path = "landlord/permit.html")]
pub struct PermitPage {
    page: Page,
    p: PermitView,
}

impl PermitPage {
    fn can_renew(&self) -> bool {
        self.p.renewed_by_application_id.is_none()
            && self.p.status != crate::domain::permit::PermitStatus::Revoked.as_str()
    }
}

#[get("/landlord/permits/<number>")]
pub async fn permit(
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<PermitPage> {
    let p = permit_view::get(st, &who.0, number).await?;
    Ok(PermitPage { page, p })
}

#[post("/landlord/permits/<number>/renew")]
pub async fn renew(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<Redirect> {
    let id = permit_expiry::start_renewal(&st.db, &who.0, number).await?;
    Ok(Redirect::to(format!("/landlord/applications/{id}")))
}

#[post("/notifications/<id>/read")]
pub async fn mark_read(
    _csrf: CsrfChecked,
    referer: super::notices::Referer<'_>,
    who: CurrentUser,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Redirect> {
    notifications::mark_read(&st.db, &who.0, id).await?;
    // Back to where the button was: the list, or the home page's notices.
    let back = super::notices::referer_path(referer.0).unwrap_or(super::pages::home_of(who.0.role));
    Ok(Redirect::to(back.to_string()))
}

/// A PDF download with a file name that says what it is.
#[derive(Responder)]
#[response(content_type = "application/pdf")]
pub struct PdfDownload {
    body: Vec<u8>,
    disposition: Header<'static>,
}

pub fn pdf_download(number: &str, body: Vec<u8>) -> PdfDownload {
    pdf_file(&format!("permit-{number}.pdf"), body)
}

/// A PDF download named `file_name` (ASCII: numbers and fixed words only).
pub fn pdf_file(file_name: &str, body: Vec<u8>) -> PdfDownload {
    PdfDownload {
        body,
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{file_name}\""),
        ),
    }
}

/// The certificate for signed-in browsers (landlord of the house, village official, admin).
#[get("/permits/<number>/certificate.pdf")]
pub async fn certificate(
    who: CurrentUser,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<PdfDownload> {
    let pdf = crate::services::certificates::render(st, &who.0, number).await?;
    Ok(pdf_download(number, pdf))
}
