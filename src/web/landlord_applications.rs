//! The landlord's application page: one form for the declaration, the documents and the
//! submission, so nothing typed is lost between its buttons; drafts can be deleted.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::tokio::io::AsyncReadExt;
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, Landlord};
use super::pages::Page;
use crate::domain::fields::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::services::applications::{self, ApplicationView, Declaration};
use crate::services::uploads;
use crate::{AppRef, AppState};

#[derive(Template, WebTemplate)]
#[template(path = "landlord/application.html")]
pub struct ApplicationPage {
    page: Page,
    app: ApplicationView,
    findings: Vec<crate::services::inspections::findings::FindingView>,
    decl_owner: String,
    decl_doc: String,
    decl_use: String,
    errors: FieldErrors,
}

impl ApplicationPage {
    fn is_draft(&self) -> bool {
        crate::domain::application::ApplicationStatus::parse(&self.app.status)
            .is_some_and(|s| s.is_editable())
    }
    fn fix_error(&self, finding: &i32, field: &str) -> Option<&str> {
        self.errors.get(&format!("fix_{finding}_{field}"))
    }
    fn docs_of(&self, kind: &str) -> Vec<&applications::DocumentView> {
        self.app
            .documents
            .iter()
            .filter(|d| d.kind == kind)
            .collect()
    }
}

pub(crate) async fn application_page(
    st: &AppState,
    who: &Landlord,
    page: Page,
    id: i32,
    errors: FieldErrors,
    typed: Option<&DeclarationForm>,
) -> AppResult<ApplicationPage> {
    let app = applications::get(&st.db, &who.0, id).await?;
    let findings = crate::services::inspections::findings::of_application(
        &st.db,
        &st.checklists,
        &who.0,
        id,
        st.config.clock.now(),
    )
    .await?;
    let (decl_owner, decl_doc, decl_use) = match typed {
        Some(f) => (
            f.owner_name.clone().unwrap_or_default(),
            f.ownership_doc_no.clone().unwrap_or_default(),
            f.intended_use.clone().unwrap_or_default(),
        ),
        None => (
            app.owner_name.clone().unwrap_or_default(),
            app.ownership_doc_no.clone().unwrap_or_default(),
            app.intended_use.clone().unwrap_or_default(),
        ),
    };
    Ok(ApplicationPage {
        page,
        app,
        findings,
        decl_owner,
        decl_doc,
        decl_use,
        errors,
    })
}

#[get("/landlord/applications/<id>")]
pub async fn application(
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ApplicationPage> {
    application_page(st, &who, page, id, FieldErrors::new(), None).await
}

#[derive(FromForm, Default)]
pub struct DeclarationForm {
    owner_name: Option<String>,
    ownership_doc_no: Option<String>,
    intended_use: Option<String>,
}

#[post("/landlord/applications/<id>/declaration", data = "<form>")]
pub async fn save_declaration(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<DeclarationForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<ApplicationPage>)> {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let result = match Declaration::parse(
        &s(&form.owner_name),
        &s(&form.ownership_doc_no),
        &s(&form.intended_use),
    ) {
        Ok(d) => applications::save_declaration(&st.db, &who.0, id, d).await,
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        Ok(()) => Ok(Flash::success(
            Redirect::to(format!("/landlord/applications/{id}")),
            "申报信息已保存",
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            application_page(st, &who, page, id, e, Some(&form)).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(FromForm)]
pub struct UploadForm<'r> {
    kind: String,
    file: Option<TempFile<'r>>,
    /// The application page is one form with a file input per kind (the button names the kind).
    file_ownership_proof: Option<TempFile<'r>>,
    file_house_photo: Option<TempFile<'r>>,
    owner_name: Option<String>,
    ownership_doc_no: Option<String>,
    intended_use: Option<String>,
}

impl UploadForm<'_> {
    fn chosen_file(&self) -> Option<&TempFile<'_>> {
        let by_kind = match self.kind.as_str() {
            "ownership_proof" => self.file_ownership_proof.as_ref(),
            "house_photo" => self.file_house_photo.as_ref(),
            _ => None,
        };
        [self.file.as_ref(), by_kind]
            .into_iter()
            .flatten()
            .find(|f| f.len() > 0)
    }

    /// The declaration as typed next to the upload, when anything was typed.
    fn typed(&self) -> Option<DeclarationForm> {
        typed_declaration(&self.owner_name, &self.ownership_doc_no, &self.intended_use)
    }
}

fn typed_declaration(
    owner_name: &Option<String>,
    doc_no: &Option<String>,
    intended_use: &Option<String>,
) -> Option<DeclarationForm> {
    let any = [owner_name, doc_no, intended_use]
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| !v.trim().is_empty()));
    any.then(|| DeclarationForm {
        owner_name: owner_name.clone(),
        ownership_doc_no: doc_no.clone(),
        intended_use: intended_use.clone(),
    })
}

impl DeclarationForm {
    fn parse(&self) -> Result<Declaration, FieldErrors> {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        Declaration::parse(
            &s(&self.owner_name),
            &s(&self.ownership_doc_no),
            &s(&self.intended_use),
        )
    }
}

/// Reads an uploaded file whole, refusing it past the photo size limit.
pub async fn read_upload(file: &TempFile<'_>) -> Result<Vec<u8>, AppError> {
    if file.len() as usize > crate::media::MAX_UPLOAD_BYTES {
        return Err(AppError::PayloadTooLarge(
            crate::media::PhotoError::TooLarge.to_string(),
        ));
    }
    let mut buf = Vec::with_capacity(file.len() as usize);
    let mut r = file.open().await.map_err(AppError::internal)?;
    r.read_to_end(&mut buf).await.map_err(AppError::internal)?;
    Ok(buf)
}

#[post("/landlord/applications/<id>/documents", data = "<form>")]
pub async fn upload_document(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<UploadForm<'_>>,
) -> Result<Flash<Redirect>, (Status, AppResult<ApplicationPage>)> {
    let result = async {
        let file = form
            .chosen_file()
            .ok_or_else(|| AppError::field("file", "请选择要上传的图片"))?;
        let bytes = read_upload(file).await?;
        let photo = uploads::store_photo(&st.db, &st.storage, &who.0, bytes).await?;
        applications::attach_document(&st.db, &who.0, id, &form.kind, &photo.id).await
    }
    .await;
    let typed = form.typed();
    match (result, typed) {
        (Ok(()), None) => Ok(Flash::success(
            Redirect::to(format!("/landlord/applications/{id}")),
            "材料已上传",
        )),
        // The declaration typed before uploading is kept: saved when complete, otherwise shown
        // again as typed (not yet saved) so nothing is lost.
        (Ok(()), Some(t)) => match t.parse() {
            Ok(d) => match applications::save_declaration(&st.db, &who.0, id, d).await {
                Ok(()) => Ok(Flash::success(
                    Redirect::to(format!("/landlord/applications/{id}")),
                    "材料已上传，申报信息已保存",
                )),
                Err(e) => Err((e.status(), Err(e))),
            },
            Err(_) => {
                let mut page = page;
                page.flash = Some((
                    "success".into(),
                    "材料已上传。申报信息尚未填完，填完后请保存".into(),
                ));
                let view = application_page(st, &who, page, id, FieldErrors::new(), Some(&t));
                Err((Status::Ok, view.await))
            }
        },
        (Err(e @ (AppError::Validation(_) | AppError::PayloadTooLarge(_))), typed) => {
            let status = e.status();
            let mut errs = FieldErrors::new();
            errs.add(format!("upload_{}", form.kind), upload_message(&e));
            Err((
                status,
                application_page(st, &who, page, id, errs, typed.as_ref()).await,
            ))
        }
        (Err(other), _) => Err((other.status(), Err(other))),
    }
}

pub(crate) fn upload_message(e: &AppError) -> String {
    match e {
        AppError::Validation(f) => {
            f.0.values()
                .flatten()
                .next()
                .cloned()
                .unwrap_or_else(|| e.to_string())
        }
        other => other.to_string(),
    }
}

#[post("/landlord/applications/<id>/documents/<doc>/delete")]
pub async fn delete_document(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    doc: i32,
) -> Flash<Redirect> {
    let to = Redirect::to(format!("/landlord/applications/{id}"));
    match applications::remove_document(&st.db, &who.0, id, doc).await {
        Ok(()) => Flash::success(to, "材料已删除"),
        Err(e) => Flash::error(to, e.to_string()),
    }
}

#[derive(FromForm, Default)]
pub struct SubmitForm {
    pledge_accepted: bool,
    owner_name: Option<String>,
    ownership_doc_no: Option<String>,
    intended_use: Option<String>,
}

#[post("/landlord/applications/<id>/submit", data = "<form>")]
pub async fn submit(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<SubmitForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<ApplicationPage>)> {
    // The page is one form: what was typed in the declaration is saved before submitting.
    let typed = typed_declaration(&form.owner_name, &form.ownership_doc_no, &form.intended_use);
    if let Some(t) = &typed {
        let saved = match t.parse() {
            Ok(d) => applications::save_declaration(&st.db, &who.0, id, d).await,
            Err(e) => Err(AppError::Validation(e)),
        };
        match saved {
            Ok(()) => {}
            Err(AppError::Validation(e)) => {
                let view = application_page(st, &who, page, id, e, Some(t)).await;
                return Err((Status::UnprocessableEntity, view));
            }
            Err(other) => return Err((other.status(), Err(other))),
        }
    }
    match applications::submit(
        &st.db,
        &crate::services::inspections::TaskPolicy::of(st),
        &who.0,
        id,
        form.pledge_accepted,
    )
    .await
    {
        Ok(_) => Ok(Flash::success(
            Redirect::to(format!("/landlord/applications/{id}")),
            "申请已提交，请等待网格员上门检查",
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            application_page(st, &who, page, id, e, typed.as_ref()).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[post("/landlord/applications/<id>/delete")]
pub async fn delete_draft(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
) -> Flash<Redirect> {
    match crate::services::application_drafts::delete_draft(&st.db, &who.0, id).await {
        Ok(()) => Flash::success(Redirect::to("/landlord"), "草稿已删除"),
        Err(e) => Flash::error(
            Redirect::to(format!("/landlord/applications/{id}")),
            e.to_string(),
        ),
    }
}
