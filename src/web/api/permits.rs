//! API: approval and rejection, permits and their status changes, certificates, public
//! verification and the published signing keys.
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{OptionalJsonBody, Text, parse_validated, text, validated};
use super::doc::{PermitPage, Problem};
use crate::AppRef;
use crate::crypto::signing::PublicKeyInfo;
use crate::domain::application::ApplicationStatus;
use crate::domain::permit::{MAX_VALID_MONTHS, PermitAction};
use crate::error::{AppError, AppResult};
use crate::services::permit_view::{self, PermitView};
use crate::services::permits::{self, Approval};
use crate::services::verification::Verification;
use crate::web::guards::{ClientIp, CurrentUser, VillageOfficial};

#[derive(Deserialize, Serialize, Default, ToSchema, Validate)]
pub struct ApproveBody {
    /// The town's default when absent.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 60)]
    #[validate(range(min = 1, max = MAX_VALID_MONTHS))]
    valid_months: Option<Text>,
    /// A cap below what the rooms allow.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 500)]
    #[validate(range(min = 1, max = 500))]
    max_occupants: Option<Text>,
}

#[derive(Serialize, ToSchema)]
pub struct ApprovedOut {
    permit_number: String,
    max_occupants: i32,
    valid_until: chrono::NaiveDate,
    /// What the certificate's QR code opens.
    qr_url: String,
}

/// Approves a passed application and issues the permit (official of the village).
#[utoipa::path(post, path = "/applications/{id}/approve", tag = "permits",
    params(("id" = i32, Path)), request_body(content = Option<ApproveBody>),
    responses((status = 201, body = ApprovedOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/applications/<id>/approve", data = "<body>")]
pub async fn approve(
    who: VillageOfficial,
    st: &State<AppRef>,
    id: i32,
    _json: OptionalJsonBody,
    body: Option<Json<ApproveBody>>,
) -> AppResult<(Status, Json<ApprovedOut>)> {
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let input = parse_validated(&body, || {
        Approval::parse(
            text(&body.valid_months),
            text(&body.max_occupants),
            st.config.permit_valid_months,
        )
    })?;
    let p = permits::approve(st, &who.0, id, input).await?;
    Ok((
        Status::Created,
        Json(ApprovedOut {
            qr_url: permit_view::qr_url(&st.config.public_url, &p),
            permit_number: p.number,
            max_occupants: p.max_occupants,
            valid_until: p.valid_until,
        }),
    ))
}

#[derive(Deserialize, Serialize, Default, ToSchema, Validate)]
pub struct ReasonBody {
    #[schema(value_type = String)]
    #[validate(length(max = 500))]
    reason: Option<Text>,
}

#[derive(Serialize, ToSchema)]
pub struct RejectedOut {
    id: i32,
    status: ApplicationStatus,
}

/// Rejects a passed application with a reason.
#[utoipa::path(post, path = "/applications/{id}/reject", tag = "permits",
    params(("id" = i32, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = RejectedOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/applications/<id>/reject", data = "<body>")]
pub async fn reject(
    who: VillageOfficial,
    st: &State<AppRef>,
    id: i32,
    _json: OptionalJsonBody,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<RejectedOut>> {
    let reason = reason_of(body.as_ref())?;
    permits::reject(&st.db, &who.0, id, &reason).await?;
    Ok(Json(RejectedOut {
        id,
        status: ApplicationStatus::Rejected,
    }))
}

fn reason_of(body: Option<&Json<ReasonBody>>) -> Result<String, AppError> {
    match body {
        None => Ok(String::new()),
        Some(b) => {
            validated(&**b)?;
            Ok(text(&b.reason).to_string())
        }
    }
}

#[utoipa::path(get, path = "/permits/{number}", tag = "permits", params(("number" = String, Path)),
    responses((status = 200, body = PermitView), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[get("/permits/<number>")]
pub async fn get_permit(
    who: CurrentUser,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<Json<PermitView>> {
    Ok(Json(permit_view::get(st, &who.0, number).await?))
}

/// Permits the caller may see, 50 a page.
#[utoipa::path(get, path = "/permits", tag = "permits",
    params(("page" = Option<u64>, Query, minimum = 1, description = "1-based page of 50")),
    responses((status = 200, body = PermitPage), (status = 401, body = Problem)))]
#[get("/permits?<page>")]
pub async fn list_permits(
    who: CurrentUser,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<Json<PermitPage>> {
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let (items, total) = permit_view::list(st, &who.0, page - 1, 50).await?;
    Ok(Json(PermitPage {
        items,
        total,
        page,
        per_page: 50,
    }))
}

async fn change(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    action: PermitAction,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    let reason = reason_of(body.as_ref())?;
    let p = permits::change_status(st, &who.0, number, action, &reason).await?;
    Ok(Json(
        permit_view::view_of(&st.db, &st.config.public_url, p, st.config.clock.today()).await?,
    ))
}

/// Suspends an active permit (a reason is required).
#[utoipa::path(post, path = "/permits/{number}/suspend", tag = "permits",
    params(("number" = String, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = PermitView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/permits/<number>/suspend", data = "<body>")]
pub async fn suspend(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    _json: OptionalJsonBody,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    change(who, st, number, PermitAction::Suspend, body).await
}

/// Reinstates a suspended permit.
#[utoipa::path(post, path = "/permits/{number}/reinstate", tag = "permits",
    params(("number" = String, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = PermitView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/permits/<number>/reinstate", data = "<body>")]
pub async fn reinstate(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    _json: OptionalJsonBody,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    change(who, st, number, PermitAction::Reinstate, body).await
}

/// Revokes a permit for good (a reason is required).
#[utoipa::path(post, path = "/permits/{number}/revoke", tag = "permits",
    params(("number" = String, Path)), request_body(content = Option<ReasonBody>),
    responses((status = 200, body = PermitView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/permits/<number>/revoke", data = "<body>")]
pub async fn revoke(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    _json: OptionalJsonBody,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    change(who, st, number, PermitAction::Revoke, body).await
}

/// The permit certificate as a signed PDF with its QR code.
#[utoipa::path(get, path = "/permits/{number}/certificate.pdf", tag = "permits",
    params(("number" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/permits/<number>/certificate.pdf")]
pub async fn certificate(
    who: CurrentUser,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<(ContentType, Vec<u8>)> {
    let pdf = crate::services::certificates::render(st, &who.0, number).await?;
    Ok((ContentType::PDF, pdf))
}

/// Counts a public request against the caller's address; 429 with a message past the limit.
pub async fn public_limit(st: &AppRef, ip: &ClientIp) -> Result<(), AppError> {
    st.public_limiter
        .check_and_hit(&format!("public:{}", ip.0))
        .await
        .map_err(|wait| AppError::TooMany(crate::ratelimit::retry_message(wait)))
}

/// Public: is this permit genuine and valid? Occupancy only with a valid `sig`.
#[utoipa::path(get, path = "/verify/{number}", tag = "public", security(()),
    params(("number" = String, Path), ("sig" = Option<String>, Query, description = "the QR code's signature")),
    responses((status = 200, body = Verification), (status = 429, body = Problem)))]
#[get("/verify/<number>?<sig>")]
pub async fn verify(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
) -> AppResult<Json<Verification>> {
    public_limit(st, &ip).await?;
    Ok(Json(
        crate::services::verification::verify(st, number, sig.unwrap_or("")).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct SigningKeys {
    #[schema(example = "Ed25519")]
    algorithm: &'static str,
    message_format: &'static str,
    token_format: &'static str,
    keys: Vec<PublicKeyInfo>,
}

/// Public: the keys that sign permits, for offline verification.
#[utoipa::path(get, path = "/keys/permit-signing", tag = "public", security(()),
    responses((status = 200, body = SigningKeys), (status = 429, body = Problem)))]
#[get("/keys/permit-signing")]
pub async fn signing_keys(ip: ClientIp, st: &State<AppRef>) -> AppResult<Json<SigningKeys>> {
    public_limit(st, &ip).await?;
    let keys = st
        .keyring
        .read()
        .map_err(|_| AppError::internal("keyring lock poisoned"))?
        .public_keys();
    Ok(Json(SigningKeys {
        algorithm: "Ed25519",
        message_format: "anju-permit-v1|{number}|{valid_until YYYY-MM-DD}|{max_occupants}",
        token_format: "{key_id}.{base64url(signature)}",
        keys,
    }))
}
