//! Landlord: reporting a finding fixed, with a note and a photo of the fix.
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, post};

use super::guards::{CsrfChecked, Landlord};
use super::landlord_applications::{
    ApplicationPage, application_page, read_upload, upload_message,
};
use super::pages::Page;
use crate::AppRef;
use crate::domain::fields::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::services::uploads;

#[derive(FromForm)]
pub struct FixForm<'r> {
    note: Option<String>,
    file: Option<TempFile<'r>>,
}

/// The landlord reports one finding fixed, with a note and a photo of the fix.
#[post("/landlord/findings/<id>/fix", data = "<form>")]
pub async fn report_fix(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<FixForm<'_>>,
) -> Result<Flash<Redirect>, (Status, AppResult<ApplicationPage>)> {
    use crate::services::inspections::{TaskPolicy, findings};
    let (app_id, house_id) = findings::application_of(&st.db, &who.0, id)
        .await
        .map_err(|e| (e.status(), Err(e)))?;
    let result = async {
        let mut photos = Vec::new();
        if let Some(file) = form.file.as_ref().filter(|f| f.len() > 0) {
            let bytes = read_upload(file).await?;
            photos.push(
                uploads::store_photo(&st.db, &st.storage, &who.0, bytes)
                    .await?
                    .id,
            );
        }
        let report = findings::FixReport::parse(form.note.as_deref().unwrap_or_default(), photos)?;
        findings::report_fix(&st.db, &TaskPolicy::of(st), &who.0, id, report).await
    }
    .await;
    let back = match app_id {
        Some(a) => format!("/landlord/applications/{a}"),
        None => format!("/landlord/houses/{house_id}"),
    };
    match result {
        Ok(out) => Ok(Flash::success(
            Redirect::to(back),
            if out.reinspection_task_id.is_some() {
                "整改已全部上报，网格员将上门复查"
            } else {
                "整改情况已上报"
            },
        )),
        Err(e @ (AppError::Validation(_) | AppError::PayloadTooLarge(_))) => {
            let status = e.status();
            let mut errs = FieldErrors::new();
            match &e {
                AppError::Validation(f) => {
                    for (k, msgs) in &f.0 {
                        for m in msgs {
                            errs.add(format!("fix_{id}_{k}"), m.clone());
                        }
                    }
                }
                other => errs.add(format!("fix_{id}_photo"), other.to_string()),
            }
            match app_id {
                Some(a) => Err((
                    status,
                    application_page(st, &who, page, a, errs, None).await,
                )),
                // A patrol's finding is fixed from the house page, which shows the message.
                None => Ok(Flash::error(Redirect::to(back), upload_message(&e))),
            }
        }
        Err(other) => Err((other.status(), Err(other))),
    }
}
