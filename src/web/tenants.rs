//! Landlord actions on their tenants' stays: confirm, reject, check out.
use rocket::form::Form;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, post};

use super::guards::{CsrfChecked, Landlord};
use crate::AppRef;
use crate::services::stays::{self, Transition};

#[derive(FromForm, Default)]
pub struct ConfirmForm {
    confirm: Option<String>,
}

async fn act(st: &AppRef, who: &Landlord, id: i32, t: Transition, ok: &str) -> Flash<Redirect> {
    match stays::landlord_transition(&st.db, &who.0, id, t).await {
        Ok(s) if t == Transition::CheckOut => Flash::success(
            Redirect::to(format!("/landlord/houses/{}", s.property_id)),
            ok.to_string(),
        ),
        Ok(_) => Flash::success(Redirect::to("/landlord"), ok.to_string()),
        Err(e) => Flash::error(Redirect::to("/landlord"), e.to_string()),
    }
}

#[post("/landlord/stays/<id>/confirm")]
pub async fn confirm(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
) -> Flash<Redirect> {
    act(st, &who, id, Transition::Confirm, "已确认入住").await
}

#[post("/landlord/stays/<id>/reject", data = "<form>")]
pub async fn reject(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    form: Form<ConfirmForm>,
) -> Flash<Redirect> {
    if form.confirm.is_none() {
        return Flash::error(Redirect::to("/landlord"), "请勾选“确认拒绝”后再提交");
    }
    act(st, &who, id, Transition::Reject, "已拒绝该入住登记").await
}

#[post("/landlord/stays/<id>/checkout", data = "<form>")]
pub async fn checkout(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    form: Form<ConfirmForm>,
) -> Flash<Redirect> {
    if form.confirm.is_none() {
        return Flash::error(
            Redirect::to("/landlord"),
            "请勾选“确认该租客已搬离”后再提交",
        );
    }
    act(st, &who, id, Transition::CheckOut, "已办理退租").await
}
