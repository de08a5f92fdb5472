//! The inspector's report of another matter seen on a visit (掌上基层): a form with a category,
//! a description and an optional photo, sent to the grid platform as `event.reported`.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::{Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::guards::{CsrfChecked, Inspector};
use super::pages::Page;
use crate::AppRef;
use crate::domain::event::ReportCategory;
use crate::domain::fields::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::services::events::reports::{self, RawReport};
use crate::services::uploads;

#[derive(Template, WebTemplate)]
#[template(path = "inspector/report.html")]
pub struct ReportPage {
    page: Page,
    task_id: i32,
    categories: Vec<(&'static str, &'static str)>,
    category: String,
    description: String,
    errors: FieldErrors,
}

fn categories() -> Vec<(&'static str, &'static str)> {
    ReportCategory::ALL
        .iter()
        .map(|c| (c.as_str(), c.label_zh()))
        .collect()
}

#[get("/inspector/tasks/<id>/report")]
pub async fn form(
    who: Inspector,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ReportPage> {
    reports::reportable_task(&st.db, &who.0, id).await?;
    Ok(ReportPage {
        page,
        task_id: id,
        categories: categories(),
        category: String::new(),
        description: String::new(),
        errors: FieldErrors::new(),
    })
}

#[derive(FromForm)]
pub struct ReportForm<'r> {
    #[field(default = String::new())]
    category: String,
    #[field(default = String::new())]
    description: String,
    photo: Option<TempFile<'r>>,
}

#[post("/inspector/tasks/<id>/report", data = "<form>")]
pub async fn submit(
    _csrf: CsrfChecked,
    who: Inspector,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<ReportForm<'_>>,
) -> Result<Flash<Redirect>, (Status, AppResult<ReportPage>)> {
    let again = |errors: FieldErrors, f: &ReportForm<'_>, page: Page| {
        (
            Status::UnprocessableEntity,
            Ok(ReportPage {
                page,
                task_id: id,
                categories: categories(),
                category: f.category.clone(),
                description: f.description.clone(),
                errors,
            }),
        )
    };
    let raw = RawReport {
        category: form.category.clone(),
        description: form.description.clone(),
        photo_ids: vec![],
    };
    let mut parsed = match raw.parse() {
        Ok(r) => r,
        Err(e) => return Err(again(e, &form, page)),
    };
    if let Some(file) = form.photo.as_ref().filter(|f| f.len() > 0) {
        let stored = match super::landlord_applications::read_upload(file).await {
            Ok(bytes) => uploads::store_photo(&st.db, &st.storage, &who.0, bytes).await,
            Err(e) => Err(e),
        };
        match stored {
            Ok(p) => parsed.photo_ids.push(p.id),
            Err(e @ (AppError::Validation(_) | AppError::PayloadTooLarge(_))) => {
                let mut errors = FieldErrors::new();
                errors.add("photo", format!("照片未能保存：{e}"));
                return Err(again(errors, &form, page));
            }
            Err(e) => return Err((e.status(), Err(e))),
        }
    }
    match reports::report(&st.db, &who.0, id, parsed, st.config.clock.now()).await {
        Ok(_) => Ok(Flash::success(
            Redirect::to(format!("/inspector/tasks/{id}")),
            "已上报，村干部和网格平台会收到",
        )),
        Err(AppError::Validation(e)) => Err(again(e, &form, page)),
        Err(e) => Err((e.status(), Err(e))),
    }
}
