//! The village official's house page: who holds the house, a one-time claim code for an imported
//! landlord, and moving the house to another landlord after a confirmation step.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, Responder, State, get, post};

use super::api::landlords::parse_recipient;
use super::guards::{CsrfChecked, VillageOfficial};
use super::pages::Page;
use crate::AppRef;
use crate::domain::fields::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::services::claims::{self, IssuedCode};
use crate::services::transfers::{self, HouseHolder, Recipient};

#[derive(Template, WebTemplate)]
#[template(path = "official/house.html")]
pub struct HousePage {
    page: Page,
    h: HouseHolder,
    to_phone: String,
    to_name: String,
    errors: FieldErrors,
}

#[get("/official/houses/<id>")]
pub async fn house(
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<HousePage> {
    let h = transfers::holder(&st.db, &who.0, id).await?;
    Ok(HousePage {
        page,
        h,
        to_phone: String::new(),
        to_name: String::new(),
        errors: FieldErrors::new(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "official/claim_code.html")]
pub struct ClaimCodePage {
    page: Page,
    house_id: i32,
    code: IssuedCode,
    expires_zh: String,
}

/// Shows a new claim code once; only its hash is kept, so a lost code means issuing another.
#[post("/official/houses/<id>/claim-code")]
pub async fn claim_code(
    _csrf: CsrfChecked,
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ClaimCodePage> {
    let code = claims::issue(st, &who.0, id).await?;
    let expires_zh = crate::domain::dates::zh_datetime(&code.expires_at);
    Ok(ClaimCodePage {
        page,
        house_id: id,
        code,
        expires_zh,
    })
}

#[derive(FromForm, Default)]
pub struct TransferForm {
    #[field(default = String::new())]
    to_phone: String,
    #[field(default = String::new())]
    to_name: String,
    /// "1" once the official has seen the confirmation page.
    #[field(default = String::new())]
    confirm: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "official/transfer_confirm.html")]
pub struct TransferConfirmPage {
    page: Page,
    h: HouseHolder,
    to: Recipient,
    to_phone: String,
    to_name: String,
}

#[derive(Responder)]
pub enum TransferAnswer {
    Done(Flash<Redirect>),
    Confirm(TransferConfirmPage),
    Refused((Status, HousePage)),
}

/// The first post shows who would receive the house and what moves; the second, with
/// `confirm=1`, moves it.
#[post("/official/houses/<id>/transfer", data = "<form>")]
pub async fn transfer(
    _csrf: CsrfChecked,
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<TransferForm>,
) -> AppResult<TransferAnswer> {
    let h = transfers::holder(&st.db, &who.0, id).await?;
    let back = |e: AppError, page: Page, h: HouseHolder| {
        let status = e.status();
        let errors = match e {
            AppError::Validation(f) => f,
            other => {
                let mut f = FieldErrors::new();
                f.add("form", other.to_string());
                f
            }
        };
        Ok(TransferAnswer::Refused((
            status,
            HousePage {
                page,
                h,
                to_phone: form.to_phone.clone(),
                to_name: form.to_name.clone(),
                errors,
            },
        )))
    };
    let (phone, name) = match parse_recipient(&form.to_phone, &form.to_name) {
        Ok(r) => r,
        Err(e) => return back(AppError::Validation(e), page, h),
    };
    if form.confirm != "1" {
        return match transfers::preview(&st.db, &who.0, id, &phone).await {
            Ok(to) => Ok(TransferAnswer::Confirm(TransferConfirmPage {
                page,
                h,
                to,
                to_phone: phone.as_str().to_string(),
                to_name: form.to_name.trim().to_string(),
            })),
            Err(e) => back(e, page, h),
        };
    }
    match transfers::transfer(&st.db, &who.0, id, &phone, name.as_ref()).await {
        Ok(_) => Ok(TransferAnswer::Done(Flash::success(
            Redirect::to(format!("/official/houses/{id}")),
            format!(
                "房屋已转给 {}，原房东已无法查看和办理该房屋",
                phone.masked()
            ),
        ))),
        Err(e) => back(e, page, h),
    }
}
