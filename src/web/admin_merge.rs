//! The town admin merges two landlord accounts of one person: enter both phones, see what would
//! move, confirm.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, Responder, State, get, post};

use super::guards::{CsrfChecked, TownAdmin};
use super::pages::Page;
use crate::AppRef;
use crate::domain::fields::FieldErrors;
use crate::error::AppError;
use crate::services::landlord_merge::{self, MergePlan};

#[derive(Template, WebTemplate)]
#[template(path = "admin/merge.html")]
pub struct MergePage {
    page: Page,
    section: &'static str,
    from_phone: String,
    into_phone: String,
    errors: FieldErrors,
}

#[get("/admin/landlords/merge")]
pub fn merge_page(_who: TownAdmin, page: Page) -> MergePage {
    MergePage {
        page,
        section: "users",
        from_phone: String::new(),
        into_phone: String::new(),
        errors: FieldErrors::new(),
    }
}

#[derive(FromForm, Default)]
pub struct MergeForm {
    #[field(default = String::new())]
    from_phone: String,
    #[field(default = String::new())]
    into_phone: String,
    /// "1" once the admin has seen what will move.
    #[field(default = String::new())]
    confirm: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/merge_confirm.html")]
pub struct MergeConfirmPage {
    page: Page,
    plan: MergePlan,
}

#[derive(Responder)]
pub enum MergeAnswer {
    Done(Flash<Redirect>),
    Confirm(MergeConfirmPage),
    Refused((Status, MergePage)),
}

/// The first post shows both accounts and what would move; the second, with `confirm=1`, merges.
#[post("/admin/landlords/merge", data = "<form>")]
pub async fn merge(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    form: Form<MergeForm>,
) -> MergeAnswer {
    let plan =
        landlord_merge::plan_by_phones(&st.db, &who.0, &form.from_phone, &form.into_phone).await;
    let done = match plan {
        Ok(plan) if form.confirm != "1" => {
            return MergeAnswer::Confirm(MergeConfirmPage { page, plan });
        }
        Ok(plan) => landlord_merge::merge(&st.db, &who.0, plan.from.id, plan.into.id).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(m) => MergeAnswer::Done(Flash::success(
            Redirect::to("/admin/users"),
            format!(
                "已将 {}（{}）合并到 {}（{}）：房屋 {} 处、申请 {} 件、准入证 {} 张、通知 {} 条；原账号已停用",
                m.from.name,
                m.from.phone,
                m.into.name,
                m.into.phone,
                m.counts.houses,
                m.counts.applications,
                m.counts.permits,
                m.counts.notifications
            ),
        )),
        Err(e) => {
            let status = e.status();
            let errors = match e {
                AppError::Validation(f) => f,
                other => {
                    let mut f = FieldErrors::new();
                    f.add("form", other.to_string());
                    f
                }
            };
            MergeAnswer::Refused((
                status,
                MergePage {
                    page,
                    section: "users",
                    from_phone: form.from_phone.clone(),
                    into_phone: form.into_phone.clone(),
                    errors,
                },
            ))
        }
    }
}
