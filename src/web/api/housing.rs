//! API: houses with rooms, applications (draft, documents, submission) and photo uploads.
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{FromForm, State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{JsonBody, Text, parse_validated, text, validated};
use super::doc::{ApplicationPage, Problem, PropertyPage};
use crate::AppRef;
use crate::domain::property::{MAX_ROOMS, RawProperty, RawRoom};
use crate::error::{AppError, AppResult};
use crate::services::inspections::findings::FindingView;
use crate::services::{applications, properties, uploads};
use crate::web::guards::{CurrentUser, Landlord};

/// The domain's room limit, in the type `validator` compares lengths with.
const ROOMS_LIMIT: u64 = MAX_ROOMS as u64;

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct RoomBody {
    #[schema(value_type = String, example = "101")]
    #[validate(length(max = 32))]
    label: Option<Text>,
    /// Negative for basement floors.
    #[schema(value_type = i32, minimum = -3, maximum = 50)]
    #[validate(range(min = -3, max = 50))]
    floor: Option<Text>,
    #[schema(value_type = f64, example = 14.5)]
    #[validate(range(min = 0.0, max = 10000.0))]
    area_m2: Option<Text>,
    #[schema(value_type = crate::domain::occupancy::RoomKind)]
    #[validate(length(max = 32))]
    kind: Option<Text>,
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct PropertyBody {
    #[schema(value_type = i32)]
    village_id: Option<Text>,
    #[schema(value_type = i32)]
    grid_id: Option<Text>,
    #[schema(value_type = String, example = "锦绣村东区 12 号")]
    #[validate(length(max = 200))]
    address: Option<Text>,
    #[schema(value_type = i32, minimum = 1, maximum = 50)]
    #[validate(range(min = 1, max = 50))]
    floors: Option<Text>,
    #[schema(value_type = crate::domain::property::Structure)]
    #[validate(length(max = 32))]
    structure: Option<Text>,
    #[serde(default)]
    #[validate(length(max = ROOMS_LIMIT), nested)]
    rooms: Vec<RoomBody>,
}

impl PropertyBody {
    fn raw(&self) -> RawProperty {
        RawProperty {
            village_id: text(&self.village_id).to_string(),
            grid_id: text(&self.grid_id).to_string(),
            address: text(&self.address).to_string(),
            floors: text(&self.floors).to_string(),
            structure: text(&self.structure).to_string(),
            rooms: self
                .rooms
                .iter()
                .map(|r| RawRoom {
                    label: text(&r.label).to_string(),
                    floor: text(&r.floor).to_string(),
                    area_m2: text(&r.area_m2).to_string(),
                    kind: text(&r.kind).to_string(),
                })
                .collect(),
        }
    }
}

/// A landlord registers a house with its rooms.
#[utoipa::path(post, path = "/properties", tag = "housing", request_body = PropertyBody,
    responses((status = 201, body = properties::PropertyView), (status = 403, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/properties", data = "<body>")]
pub async fn create_property(
    who: Landlord,
    st: &State<AppRef>,
    _json: JsonBody,
    body: Json<PropertyBody>,
) -> AppResult<(Status, Json<properties::PropertyView>)> {
    let draft = parse_validated(&*body, || body.raw().parse())?;
    Ok((
        Status::Created,
        Json(properties::create(&st.db, &who.0, draft).await?),
    ))
}

/// Houses the caller may see, 50 a page.
#[utoipa::path(get, path = "/properties", tag = "housing",
    params(("page" = Option<u64>, Query, minimum = 1, description = "1-based page of 50")),
    responses((status = 200, body = PropertyPage), (status = 401, body = Problem)))]
#[get("/properties?<page>")]
pub async fn list_properties(
    who: CurrentUser,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<Json<PropertyPage>> {
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let (items, total) = properties::list(&st.db, &who.0, page - 1, 50).await?;
    Ok(Json(PropertyPage {
        items,
        total,
        page,
        per_page: 50,
    }))
}

#[utoipa::path(get, path = "/properties/{id}", tag = "housing", params(("id" = i32, Path)),
    responses((status = 200, body = properties::PropertyView), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[get("/properties/<id>")]
pub async fn get_property(
    who: CurrentUser,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Json<properties::PropertyView>> {
    Ok(Json(properties::get(&st.db, &who.0, id).await?))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct ApplicationBody {
    #[schema(value_type = i32)]
    #[validate(length(max = 12))]
    property_id: Option<Text>,
}

/// Opens a draft application for a house.
#[utoipa::path(post, path = "/applications", tag = "housing", request_body = ApplicationBody,
    responses((status = 201, body = applications::ApplicationView), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/applications", data = "<body>")]
pub async fn create_application(
    who: Landlord,
    st: &State<AppRef>,
    _json: JsonBody,
    body: Json<ApplicationBody>,
) -> AppResult<(Status, Json<applications::ApplicationView>)> {
    validated(&*body)?;
    let id = text(&body.property_id)
        .parse::<i32>()
        .map_err(|_| AppError::field("property_id", "请提供房屋编号"))?;
    Ok((
        Status::Created,
        Json(applications::create_draft(&st.db, &who.0, id).await?),
    ))
}

/// Applications the caller may see, 50 a page.
#[utoipa::path(get, path = "/applications", tag = "housing",
    params(("page" = Option<u64>, Query, minimum = 1, description = "1-based page of 50")),
    responses((status = 200, body = ApplicationPage), (status = 401, body = Problem)))]
#[get("/applications?<page>")]
pub async fn list_applications(
    who: CurrentUser,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<Json<ApplicationPage>> {
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let (items, total) = applications::list(&st.db, &who.0, page - 1, 50).await?;
    Ok(Json(ApplicationPage {
        items,
        total,
        page,
        per_page: 50,
    }))
}

/// An application with its findings.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDetail {
    #[serde(flatten)]
    application: applications::ApplicationView,
    findings: Vec<FindingView>,
}

#[utoipa::path(get, path = "/applications/{id}", tag = "housing", params(("id" = i32, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[get("/applications/<id>")]
pub async fn get_application(
    who: CurrentUser,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Json<ApplicationDetail>> {
    let application = applications::get(&st.db, &who.0, id).await?;
    let findings = crate::services::inspections::findings::of_application(
        &st.db,
        &st.checklists,
        &who.0,
        id,
        st.config.clock.now(),
    )
    .await?;
    Ok(Json(ApplicationDetail {
        application,
        findings,
    }))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct SubmitBody {
    pledge_accepted: Option<bool>,
    #[validate(length(max = 32))]
    owner_name: Option<String>,
    #[validate(length(max = 64))]
    ownership_doc_no: Option<String>,
    #[validate(length(max = 200))]
    intended_use: Option<String>,
}

/// Submits an application. The declaration may come in the same body, for apps that collect it on one screen.
#[utoipa::path(post, path = "/applications/{id}/submit", tag = "housing", params(("id" = i32, Path)),
    request_body = SubmitBody,
    responses((status = 200, body = applications::ApplicationView), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/applications/<id>/submit", data = "<body>")]
pub async fn submit_application(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<SubmitBody>,
) -> AppResult<Json<applications::ApplicationView>> {
    validated(&*body)?;
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

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct DocumentBody {
    /// The document's kind, e.g. `ownership`.
    #[validate(length(max = 32))]
    kind: Option<String>,
    /// The `id` a `POST /photos` answered.
    #[validate(length(max = 128))]
    photo_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AttachedOut {
    attached: String,
}

#[utoipa::path(post, path = "/applications/{id}/documents", tag = "housing",
    params(("id" = i32, Path)), request_body = DocumentBody,
    responses((status = 201, body = AttachedOut), (status = 403, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/applications/<id>/documents", data = "<body>")]
pub async fn attach_document(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<DocumentBody>,
) -> AppResult<(Status, Json<AttachedOut>)> {
    validated(&*body)?;
    let photo = body.photo_id.as_deref().unwrap_or("");
    applications::attach_document(
        &st.db,
        &who.0,
        id,
        body.kind.as_deref().unwrap_or(""),
        photo,
    )
    .await?;
    Ok((
        Status::Created,
        Json(AttachedOut {
            attached: photo.to_string(),
        }),
    ))
}

#[derive(FromForm)]
pub struct PhotoForm<'r> {
    file: Option<TempFile<'r>>,
}

/// The multipart body of `POST /photos`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PhotoUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Stores a JPEG or PNG photo (EXIF removed); answers its id for documents and findings.
#[utoipa::path(post, path = "/photos", tag = "housing",
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = uploads::StoredPhoto), (status = 413, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
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
    let bytes = crate::web::landlord_applications::read_upload(file).await?;
    Ok((
        Status::Created,
        Json(uploads::store_photo(&st.db, &st.storage, &who.0, bytes).await?),
    ))
}
