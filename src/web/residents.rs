//! The residents' register pages for officials and the town admin: list, audited whole-number view, exports.
use askama::Template;
use askama_web::WebTemplate;
use rocket::http::{ContentType, Header};
use rocket::{Responder, State, get, post};

use super::guards::{CsrfChecked, Staff};
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::domain::identity::DocType;
use crate::error::{AppError, AppResult};
use crate::services::residents::{self, Filter, RawFilter, Resident};
use crate::services::{exports, town};

/// The register's filter as its links and form send it; shared by the page and the exports.
#[derive(Debug, Default, rocket::FromForm)]
pub struct RegisterQuery<'r> {
    village_id: Option<&'r str>,
    grid_id: Option<&'r str>,
    property_id: Option<&'r str>,
    doc_type: Option<&'r str>,
    active_on: Option<&'r str>,
    status: Option<&'r str>,
    moved: Option<&'r str>,
}

impl RegisterQuery<'_> {
    fn filter(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Filter, AppError> {
        Filter::parse(
            RawFilter {
                village_id: self.village_id,
                grid_id: self.grid_id,
                property_id: self.property_id,
                doc_type: self.doc_type,
                active_on: self.active_on,
                status: self.status,
                moved: self.moved,
            },
            now,
        )
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "official/residents.html")]
pub struct RegisterPage {
    page: Page,
    rows: Vec<Resident>,
    pager: Pager,
    filter: Filter,
    query: String,
    grids: Vec<(i32, String)>,
    villages: Vec<(i32, String)>,
    doc_types: Vec<(&'static str, &'static str)>,
    active_on: String,
    offers_proofs: bool,
    /// The official's menu for officials; the admin's for the town admin.
    official_menu: bool,
}

impl RegisterPage {
    fn sel_village(&self, id: &i32) -> bool {
        self.filter.village_id == Some(*id)
    }
    fn sel_grid(&self, id: &i32) -> bool {
        self.filter.grid_id == Some(*id)
    }
    fn sel_doc(&self, t: &str) -> bool {
        self.filter.doc_type.as_deref() == Some(t)
    }
}

#[get("/residents?<page>&<q..>")]
pub async fn register(
    who: Staff,
    page_ctx: Page,
    st: &State<AppRef>,
    q: RegisterQuery<'_>,
    page: Option<u64>,
) -> AppResult<RegisterPage> {
    let f = q.filter(st.config.clock.now())?;
    let f = residents::scoped(&who.0, f)?;
    let (rows, total) = residents::page(
        &st.db,
        &f,
        Pager::index(page) * Pager::PER_PAGE,
        Pager::PER_PAGE,
    )
    .await?;
    let all = town::villages_with_grids(&st.db).await?;
    let visible: Vec<_> = all
        .into_iter()
        .filter(|v| who.0.village_id.is_none() || who.0.village_id == Some(v.id))
        .collect();
    Ok(RegisterPage {
        page: page_ctx,
        rows: rows
            .into_iter()
            .map(|r| r.resident(&st.pii, false))
            .collect(),
        pager: Pager::new(page.unwrap_or(1), total),
        query: f.query(),
        grids: visible
            .iter()
            .flat_map(|v| v.grids.iter().map(|g| (g.id, g.name.clone())))
            .collect(),
        villages: visible.iter().map(|v| (v.id, v.name.clone())).collect(),
        doc_types: DocType::ALL
            .iter()
            .map(|t| (t.as_str(), t.label_zh()))
            .collect(),
        active_on: f.active_on.map(|d| d.to_string()).unwrap_or_default(),
        offers_proofs: crate::services::proofs::register_offers_proofs(&who.0),
        official_menu: who.0.role == crate::domain::role::Role::VillageOfficial,
        filter: f,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "official/reveal.html")]
pub struct RevealPage {
    page: Page,
    stay_id: i32,
    name: String,
    doc_number: String,
    phone: String,
}

/// The explicit, audited "show whole number" action.
#[post("/residents/stays/<id>/reveal")]
pub async fn reveal(
    _csrf: CsrfChecked,
    who: Staff,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<RevealPage> {
    let (name, doc_number, phone) = residents::reveal(&st.db, &st.pii, &who.0, id).await?;
    Ok(RevealPage {
        page,
        stay_id: id,
        name,
        doc_number,
        phone,
    })
}

/// A download: the body plus a Content-Disposition header.
#[derive(Responder)]
pub struct Download<T> {
    inner: T,
    disposition: Header<'static>,
}

fn disposition(ext: &str, today: chrono::NaiveDate) -> Header<'static> {
    let date = today.format("%Y%m%d");
    Header::new(
        "Content-Disposition",
        format!(
            "attachment; filename=\"residents-{date}.{ext}\"; filename*=UTF-8''%E5%AE%9E%E6%9C%89%E4%BA%BA%E5%8F%A3-{date}.{ext}"
        ),
    )
}

#[get("/residents/export.csv?<q..>")]
pub async fn export_csv(
    who: Staff,
    st: &State<AppRef>,
    q: RegisterQuery<'_>,
) -> AppResult<
    Download<(
        ContentType,
        rocket::response::stream::ReaderStream<
            rocket::response::stream::One<impl rocket::tokio::io::AsyncRead + Send + Unpin>,
        >,
    )>,
> {
    let f = q.filter(st.config.clock.now())?;
    let f = residents::scoped(&who.0, f)?;
    residents::audit_read(
        &st.db,
        &who.0,
        "residents.export",
        &f,
        serde_json::json!({"format": "csv"}),
    )
    .await?;
    let body = exports::csv_body(st.db.clone(), f);
    Ok(Download {
        inner: (
            ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            body,
        ),
        disposition: disposition("csv", st.config.clock.today()),
    })
}

#[get("/residents/export.xlsx?<q..>")]
pub async fn export_xlsx(
    who: Staff,
    st: &State<AppRef>,
    q: RegisterQuery<'_>,
) -> AppResult<Download<(ContentType, rocket::tokio::fs::File)>> {
    let f = q.filter(st.config.clock.now())?;
    let f = residents::scoped(&who.0, f)?;
    residents::audit_read(
        &st.db,
        &who.0,
        "residents.export",
        &f,
        serde_json::json!({"format": "xlsx"}),
    )
    .await?;
    let path = exports::xlsx_file(&st.db, &f, &st.config.data_dir.join("tmp")).await?;
    let file = rocket::tokio::fs::File::open(&path)
        .await
        .map_err(AppError::internal)?;
    // Unlinked at once: the open handle keeps the data until the response has been sent.
    let _ = std::fs::remove_file(&path);
    Ok(Download {
        inner: (
            ContentType::new(
                "application",
                "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            file,
        ),
        disposition: disposition("xlsx", st.config.clock.today()),
    })
}
