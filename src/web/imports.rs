//! Pages and downloads for importing the villages' existing registers (officials and the town admin).
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::{ContentType, Header};
use rocket::request::{FromRequest, Outcome};
use rocket::response::Redirect;
use rocket::serde::json::Json;
use rocket::tokio::io::AsyncReadExt;
use rocket::{Either, FromForm, Request, State, get, post};

use askama::Template;
use askama_web::WebTemplate;

use super::guards::{CsrfChecked, Staff};
use super::pages::Page;
use crate::AppRef;
use crate::domain::import::ImportStatus;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::services::imports::dry_run::ErrorOut;
use crate::services::imports::dry_run::{self, Checked};
use crate::services::imports::template as tpl;
use crate::services::imports::{checked, commit as committing};

/// A spreadsheet download: the body plus a Content-Disposition header.
#[derive(rocket::Responder)]
pub struct XlsxDownload {
    inner: (ContentType, Vec<u8>),
    disposition: Header<'static>,
}

fn xlsx_type() -> ContentType {
    ContentType::new(
        "application",
        "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
}

/// The empty template with an example row (导入模板).
#[get("/imports/template.xlsx")]
pub async fn template_xlsx(_who: Staff) -> AppResult<XlsxDownload> {
    let bytes = rocket::tokio::task::spawn_blocking(tpl::xlsx)
        .await
        .map_err(crate::error::AppError::internal)??;
    Ok(XlsxDownload {
        inner: (xlsx_type(), bytes),
        disposition: Header::new(
            "Content-Disposition",
            "attachment; filename=\"anju-import-template.xlsx\"; filename*=UTF-8''%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
        ),
    })
}

/// Whether the caller is a browser asking for a page (the form, the result) rather than a
/// script asking for the JSON of API.md; both share the paths.
pub struct WantsHtml(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WantsHtml {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(WantsHtml(
            req.accept()
                .is_some_and(|a| a.preferred().media_type().is_html()),
        ))
    }
}

/// Errors listed on the result page; the rest are in `errors.xlsx`.
const ERRORS_ON_PAGE: usize = 20;

#[derive(Template, WebTemplate)]
#[template(path = "imports/index.html")]
pub struct IndexPage {
    page: Page,
    official: bool,
}

/// The upload form.
#[get("/imports")]
pub async fn index(who: Staff, page: Page) -> IndexPage {
    IndexPage {
        page,
        official: who.0.role == Role::VillageOfficial,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/show.html")]
pub struct ShowPage {
    page: Page,
    p: checked::Progress,
    status_label: &'static str,
    checked: bool,
    running: bool,
    errors: Vec<ErrorOut>,
}

#[derive(FromForm)]
pub struct ImportForm<'r> {
    file: Option<TempFile<'r>>,
}

/// The dry run: checks the uploaded register and keeps the result; writes nothing to the register.
#[post("/imports", data = "<form>")]
pub async fn check(
    _csrf: CsrfChecked,
    who: Staff,
    st: &State<AppRef>,
    html: WantsHtml,
    form: Form<ImportForm<'_>>,
) -> AppResult<Either<Json<Checked>, Redirect>> {
    let file = form
        .file
        .as_ref()
        .filter(|f| f.len() > 0)
        .ok_or_else(|| AppError::field("file", "请选择要导入的 Excel 或 CSV 文件"))?;
    let mut bytes = Vec::with_capacity(file.len() as usize);
    let mut r = file.open().await.map_err(AppError::internal)?;
    r.read_to_end(&mut bytes)
        .await
        .map_err(AppError::internal)?;
    let rule = crate::services::permits::occupancy_rule(st);
    let now = st.config.clock.now();
    let checked = dry_run::dry_run(&st.db, &st.pii, &rule, now, &who.0, bytes).await?;
    if html.0 {
        return Ok(Either::Right(Redirect::to(format!(
            "/imports/{}",
            checked.id
        ))));
    }
    Ok(Either::Left(Json(checked)))
}

/// Status and progress of an import, polled by the page's progress bar.
#[get("/imports/<id>")]
pub async fn progress(
    who: Staff,
    st: &State<AppRef>,
    page: Page,
    html: WantsHtml,
    id: i32,
) -> AppResult<Either<Json<checked::Progress>, ShowPage>> {
    if !html.0 {
        return Ok(Either::Left(Json(
            checked::progress(&st.db, &who.0, id).await?,
        )));
    }
    let (p, errors) = checked::view(&st.db, &st.pii, &who.0, id, ERRORS_ON_PAGE).await?;
    let status = ImportStatus::parse(&p.status);
    // A status this version does not know is shown as the failure it would be treated as.
    let status_label = status.unwrap_or(ImportStatus::Failed).label_zh();
    Ok(Either::Right(ShowPage {
        page,
        p,
        status_label,
        checked: status == Some(ImportStatus::Checked),
        running: status == Some(ImportStatus::Running),
        errors,
    }))
}

/// The refused rows with a message column, to fix and upload again.
#[get("/imports/<id>/errors.xlsx")]
pub async fn errors_xlsx(who: Staff, st: &State<AppRef>, id: i32) -> AppResult<XlsxDownload> {
    let bytes = checked::errors_xlsx(&st.db, &st.pii, &who.0, id).await?;
    Ok(XlsxDownload {
        inner: (xlsx_type(), bytes),
        disposition: Header::new(
            "Content-Disposition",
            format!(
                "attachment; filename=\"import-{id}-errors.xlsx\"; filename*=UTF-8''%E5%AF%BC%E5%85%A5%E9%94%99%E8%AF%AF-{id}.xlsx"
            ),
        ),
    })
}

/// `POST /imports/{id}/commit`: 202, and the job writes the rows.
#[post("/imports/<id>/commit")]
pub async fn commit(
    _csrf: CsrfChecked,
    who: Staff,
    st: &State<AppRef>,
    html: WantsHtml,
    id: i32,
) -> AppResult<Either<rocket::response::status::Accepted<Json<serde_json::Value>>, Redirect>> {
    committing::start(&st.db, &who.0, id).await?;
    if html.0 {
        return Ok(Either::Right(Redirect::to(format!("/imports/{id}"))));
    }
    Ok(Either::Left(rocket::response::status::Accepted(Json(
        serde_json::json!({"id": id, "status": ImportStatus::Running.as_str()}),
    ))))
}
