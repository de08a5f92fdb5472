//! The landlord registers a tenant for them (no smartphone): a form from the house page; the
//! stay is active at once and the page that follows shows the code to hand to the tenant.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{State, get, post};

use super::checkin::{CheckinForm, occupancy_rule};
use super::guards::{CsrfChecked, Landlord};
use super::pages::Page;
use crate::AppRef;
use crate::domain::fields::FieldErrors;
use crate::domain::identity::DocType;
use crate::domain::stay::RawCheckIn;
use crate::error::{AppError, AppResult};
use crate::services::{properties, stays};

#[derive(Template, WebTemplate)]
#[template(path = "landlord/register_tenant.html")]
pub struct RegisterTenantPage {
    page: Page,
    house_id: i32,
    address: String,
    rooms: Vec<stays::RoomOption>,
    doc_types: Vec<(&'static str, &'static str)>,
    raw: RawCheckIn,
    errors: FieldErrors,
    form_error: Option<String>,
}

async fn form_page(
    st: &AppRef,
    who: &Landlord,
    page: Page,
    id: i32,
    raw: RawCheckIn,
    errors: FieldErrors,
    form_error: Option<String>,
) -> AppResult<RegisterTenantPage> {
    let house = properties::get(&st.db, &who.0, id).await?;
    let rooms = stays::letting_rooms(&st.db, &occupancy_rule(st), id).await?;
    Ok(RegisterTenantPage {
        page,
        house_id: id,
        address: house.address,
        rooms,
        doc_types: DocType::ALL
            .iter()
            .map(|t| (t.as_str(), t.label_zh()))
            .collect(),
        raw,
        errors,
        form_error,
    })
}

#[get("/landlord/houses/<id>/stays/new")]
pub async fn new_tenant(
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<RegisterTenantPage> {
    let raw = RawCheckIn {
        move_in: st.config.clock.today().format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    form_page(st, &who, page, id, raw, FieldErrors::new(), None).await
}

/// Registers the tenant and shows the receipt (303), whose code the landlord hands over.
#[post("/landlord/houses/<id>/stays", data = "<form>")]
pub async fn register_tenant(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<CheckinForm>,
) -> Result<Redirect, (Status, AppResult<RegisterTenantPage>)> {
    let raw = form.raw();
    let now = st.config.clock.now();
    let rule = occupancy_rule(st);
    let done = stays::register_for_tenant(&st.db, &st.pii, &rule, &who.0, id, &raw, true, now);
    let refused = match done.await {
        Ok(d) => match stays::receipt::seal(&st.pii, d.stay_id, &d.checkout_code, now) {
            Ok(t) => return Ok(Redirect::to(format!("/stays/{}/receipt?t={t}", d.stay_id))),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let (errors, message) = match refused {
        AppError::Validation(e) => (e, None),
        e @ AppError::Conflict(_) => (FieldErrors::new(), Some(e.to_string())),
        other => return Err((other.status(), Err(other))),
    };
    let status = if message.is_some() {
        Status::Conflict
    } else {
        Status::UnprocessableEntity
    };
    Err((
        status,
        form_page(st, &who, page, id, raw, errors, message).await,
    ))
}
