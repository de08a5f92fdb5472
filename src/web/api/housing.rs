//! API: houses with rooms, applications (draft, documents, submission) and photo uploads.
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::serde::json::{Json, Value};
use rocket::{FromForm, State, get, post};
use serde::Deserialize;
use serde_json::json;

use super::text;
use crate::AppRef;
use crate::domain::property::{RawProperty, RawRoom};
use crate::error::{AppError, AppResult};
use crate::services::{applications, properties, uploads};
use crate::web::guards::{CurrentUser, Landlord};

#[derive(Deserialize)]
pub struct PropertyBody {
    village_id: Option<Value>,
    grid_id: Option<Value>,
    address: Option<Value>,
    floors: Option<Value>,
    structure: Option<Value>,
    #[serde(default)]
    rooms: Vec<serde_json::Map<String, Value>>,
}

impl PropertyBody {
    fn raw(&self) -> RawProperty {
        RawProperty {
            village_id: text(self.village_id.as_ref()),
            grid_id: text(self.grid_id.as_ref()),
            address: text(self.address.as_ref()),
            floors: text(self.floors.as_ref()),
            structure: text(self.structure.as_ref()),
            rooms: self
                .rooms
                .iter()
                .map(|r| RawRoom {
                    label: text(r.get("label")),
                    floor: text(r.get("floor")),
                    area_m2: text(r.get("area_m2")),
                    kind: text(r.get("kind")),
                })
                .collect(),
        }
    }
}

#[post("/properties", data = "<body>")]
pub async fn create_property(
    who: Landlord,
    st: &State<AppRef>,
    body: Json<PropertyBody>,
) -> AppResult<(Status, Json<properties::PropertyView>)> {
    let draft = body.raw().parse().map_err(AppError::Validation)?;
    Ok((
        Status::Created,
        Json(properties::create(&st.db, &who.0, draft).await?),
    ))
}

#[get("/properties?<page>")]
pub async fn list_properties(
    who: CurrentUser,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<Value> {
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let (items, total) = properties::list(&st.db, &who.0, page - 1, 50).await?;
    Ok(json!({"items": items, "total": total, "page": page, "per_page": 50}))
}

#[get("/properties/<id>")]
pub async fn get_property(
    who: CurrentUser,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Json<properties::PropertyView>> {
    Ok(Json(properties::get(&st.db, &who.0, id).await?))
}

#[derive(Deserialize)]
pub struct ApplicationBody {
    property_id: Option<Value>,
}

#[post("/applications", data = "<body>")]
pub async fn create_application(
    who: Landlord,
    st: &State<AppRef>,
    body: Json<ApplicationBody>,
) -> AppResult<(Status, Json<applications::ApplicationView>)> {
    let id = text(body.property_id.as_ref())
        .parse::<i32>()
        .map_err(|_| AppError::field("property_id", "请提供房屋编号"))?;
    Ok((
        Status::Created,
        Json(applications::create_draft(&st.db, &who.0, id).await?),
    ))
}

#[get("/applications?<page>")]
pub async fn list_applications(
    who: CurrentUser,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<Value> {
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let (items, total) = applications::list(&st.db, &who.0, page - 1, 50).await?;
    Ok(json!({"items": items, "total": total, "page": page, "per_page": 50}))
}

#[get("/applications/<id>")]
pub async fn get_application(who: CurrentUser, st: &State<AppRef>, id: i32) -> AppResult<Value> {
    let view = applications::get(&st.db, &who.0, id).await?;
    let findings = crate::services::inspections::findings::of_application(
        &st.db,
        &st.checklists,
        &who.0,
        id,
        st.config.clock.now(),
    )
    .await?;
    let mut v = serde_json::to_value(view).map_err(AppError::internal)?;
    v["findings"] = serde_json::to_value(findings).map_err(AppError::internal)?;
    Ok(v)
}

#[derive(Deserialize)]
pub struct SubmitBody {
    pledge_accepted: Option<bool>,
    owner_name: Option<String>,
    ownership_doc_no: Option<String>,
    intended_use: Option<String>,
}

/// Submits an application. The declaration may come in the same body, for apps that collect it on one screen.
#[post("/applications/<id>/submit", data = "<body>")]
pub async fn submit_application(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    body: Json<SubmitBody>,
) -> AppResult<Json<applications::ApplicationView>> {
    if body.owner_name.is_some() || body.ownership_doc_no.is_some() {
        let d = applications::Declaration::parse(
            body.owner_name.as_deref().unwrap_or(""),
            body.ownership_doc_no.as_deref().unwrap_or(""),
            body.intended_use.as_deref().unwrap_or(""),
        )
        .map_err(AppError::Validation)?;
        applications::save_declaration(&st.db, &who.0, id, d).await?;
    }
    Ok(Json(
        applications::submit(
            &st.db,
            &crate::services::inspections::TaskPolicy::of(st),
            &who.0,
            id,
            body.pledge_accepted == Some(true),
        )
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct DocumentBody {
    kind: Option<String>,
    photo_id: Option<String>,
}

#[post("/applications/<id>/documents", data = "<body>")]
pub async fn attach_document(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    body: Json<DocumentBody>,
) -> AppResult<(Status, Value)> {
    let photo = body.photo_id.as_deref().unwrap_or("");
    applications::attach_document(
        &st.db,
        &who.0,
        id,
        body.kind.as_deref().unwrap_or(""),
        photo,
    )
    .await?;
    Ok((Status::Created, json!({"attached": photo})))
}

#[derive(FromForm)]
pub struct PhotoForm<'r> {
    file: Option<TempFile<'r>>,
}

#[post("/photos", data = "<form>")]
pub async fn upload_photo(
    who: CurrentUser,
    st: &State<AppRef>,
    form: Form<PhotoForm<'_>>,
) -> AppResult<(Status, Json<uploads::StoredPhoto>)> {
    let file = form
        .file
        .as_ref()
        .filter(|f| f.len() > 0)
        .ok_or_else(|| AppError::field("file", "请上传图片文件（字段名 file）"))?;
    let bytes = crate::web::landlord::read_upload(file).await?;
    Ok((
        Status::Created,
        Json(uploads::store_photo(&st.db, &st.config.uploads_dir(), &who.0, bytes).await?),
    ))
}
