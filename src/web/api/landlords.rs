//! API: houses changing hands and landlord accounts (claim codes, transfers, merging duplicates).
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{JsonBody, Text, parse_validated, text};
use super::doc::Problem;
use crate::AppRef;
use crate::domain::account::PersonName;
use crate::domain::fields::FieldErrors;
use crate::domain::identity::Phone;
use crate::error::AppResult;
use crate::services::claims::{self, IssuedCode};
use crate::services::landlord_merge::{self, MergePlan};
use crate::services::transfers::{self, Transferred};
use crate::web::guards::{TownAdmin, VillageOfficial};

/// The official of the house's village hands its unclaimed landlord a one-time claim code (valid
/// seven days), for towns without an SMS provider; it is shown once and replaces any earlier one.
#[utoipa::path(post, path = "/properties/{id}/claim-code", tag = "housing",
    params(("id" = i32, Path, description = "the house's id")),
    responses((status = 201, body = IssuedCode), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/properties/<id>/claim-code")]
pub async fn claim_code(
    who: VillageOfficial,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<(Status, Json<IssuedCode>)> {
    let issued = claims::issue(st, &who.0, id).await?;
    Ok((Status::Created, Json(issued)))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct TransferBody {
    #[schema(value_type = String, example = "13800002222")]
    #[validate(length(max = 32))]
    to_phone: Option<Text>,
    /// The new landlord's name, used only when the phone has no account yet.
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 32))]
    to_name: Option<Text>,
}

/// Moves a house with its open application and current permit to the landlord of `to_phone` (an
/// unclaimed account is made for a new phone); the old landlord loses access at once. The permit
/// keeps its number and signature (the landlord's name is not signed).
#[utoipa::path(post, path = "/properties/{id}/transfer", tag = "housing",
    params(("id" = i32, Path, description = "the house's id")), request_body = TransferBody,
    responses((status = 200, body = Transferred), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/properties/<id>/transfer", data = "<body>")]
pub async fn transfer(
    who: VillageOfficial,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<TransferBody>,
) -> AppResult<Json<Transferred>> {
    let (phone, name) = parse_validated(&*body, || {
        parse_recipient(text(&body.to_phone), text(&body.to_name))
    })?;
    let done = transfers::transfer(&st.db, &who.0, id, &phone, name.as_ref()).await?;
    Ok(Json(done))
}

/// The recipient's phone and optional name, each refused beside its field.
pub fn parse_recipient(
    phone: &str,
    name: &str,
) -> Result<(Phone, Option<PersonName>), FieldErrors> {
    let mut e = FieldErrors::new();
    let phone = Phone::parse(phone)
        .map_err(|m| e.add("to_phone", m.to_string()))
        .ok();
    let name = if name.trim().is_empty() {
        Some(None)
    } else {
        PersonName::parse(name)
            .map(Some)
            .map_err(|m| e.add("to_name", m))
            .ok()
    };
    match (phone, name) {
        (Some(p), Some(n)) if e.is_empty() => Ok((p, n)),
        _ => Err(e),
    }
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct MergeBody {
    /// The landlord account that is kept and receives everything.
    into_id: Option<i32>,
}

/// The town admin merges landlord account `id` into `into_id` (the same person): houses,
/// applications, permits and notifications move; account `id` is disabled and signed out.
#[utoipa::path(post, path = "/landlords/{id}/merge", tag = "accounts",
    params(("id" = i32, Path, description = "the account merged away")), request_body = MergeBody,
    responses((status = 200, body = MergePlan), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/landlords/<id>/merge", data = "<body>")]
pub async fn merge(
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<MergeBody>,
) -> AppResult<Json<MergePlan>> {
    let into = parse_validated(&*body, || {
        body.into_id.ok_or_else(|| {
            let mut e = FieldErrors::new();
            e.add("into_id", "请填写保留的账号");
            e
        })
    })?;
    Ok(Json(landlord_merge::merge(&st.db, &who.0, id, into).await?))
}
