//! API: approval and rejection, permits and their status changes, certificates, public
//! verification and the published signing keys.
use rocket::http::{ContentType, Status};
use rocket::serde::json::{Json, Value};
use rocket::{State, get, post};
use serde::Deserialize;
use serde_json::json;

use super::text;
use crate::AppRef;
use crate::domain::permit::PermitAction;
use crate::error::{AppError, AppResult};
use crate::services::permit_view::{self, PermitView};
use crate::services::permits::{self, Approval};
use crate::services::verification::Verification;
use crate::web::guards::{ClientIp, CurrentUser, VillageOfficial};

#[derive(Deserialize, Default)]
pub struct ApproveBody {
    valid_months: Option<Value>,
    max_occupants: Option<Value>,
}

#[post("/applications/<id>/approve", data = "<body>")]
pub async fn approve(
    who: VillageOfficial,
    st: &State<AppRef>,
    id: i32,
    body: Option<Json<ApproveBody>>,
) -> AppResult<(Status, Value)> {
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let input = Approval::parse(
        &text(body.valid_months.as_ref()),
        &text(body.max_occupants.as_ref()),
        st.config.permit_valid_months,
    )?;
    let p = permits::approve(st, &who.0, id, input).await?;
    Ok((
        Status::Created,
        json!({"permit_number": p.number, "max_occupants": p.max_occupants,
               "valid_until": p.valid_until, "qr_url": permit_view::qr_url(&st.config.public_url, &p)}),
    ))
}

#[derive(Deserialize, Default)]
pub struct ReasonBody {
    reason: Option<Value>,
}

#[post("/applications/<id>/reject", data = "<body>")]
pub async fn reject(
    who: VillageOfficial,
    st: &State<AppRef>,
    id: i32,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Value> {
    let reason = text(body.as_ref().and_then(|b| b.reason.as_ref()));
    permits::reject(&st.db, &who.0, id, &reason).await?;
    Ok(json!({"id": id, "status": "rejected"}))
}

#[get("/permits/<number>")]
pub async fn get_permit(
    who: CurrentUser,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<Json<PermitView>> {
    Ok(Json(permit_view::get(st, &who.0, number).await?))
}

#[get("/permits?<page>")]
pub async fn list_permits(
    who: CurrentUser,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<Value> {
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let (items, total) = permit_view::list(st, &who.0, page - 1, 50).await?;
    Ok(json!({"items": items, "total": total, "page": page, "per_page": 50}))
}

async fn change(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    action: PermitAction,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    let reason = text(body.as_ref().and_then(|b| b.reason.as_ref()));
    let p = permits::change_status(
        &st.db,
        &who.0,
        number,
        action,
        &reason,
        st.config.clock.now(),
    )
    .await?;
    Ok(Json(
        permit_view::view_of(&st.db, &st.config.public_url, p, st.config.clock.today()).await?,
    ))
}

#[post("/permits/<number>/suspend", data = "<body>")]
pub async fn suspend(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    change(who, st, number, PermitAction::Suspend, body).await
}

#[post("/permits/<number>/reinstate", data = "<body>")]
pub async fn reinstate(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    change(who, st, number, PermitAction::Reinstate, body).await
}

#[post("/permits/<number>/revoke", data = "<body>")]
pub async fn revoke(
    who: VillageOfficial,
    st: &State<AppRef>,
    number: &str,
    body: Option<Json<ReasonBody>>,
) -> AppResult<Json<PermitView>> {
    change(who, st, number, PermitAction::Revoke, body).await
}

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
pub fn public_limit(st: &AppRef, ip: &ClientIp) -> Result<(), AppError> {
    st.public_limiter
        .check_and_hit(&format!("public:{}", ip.0))
        .map_err(|wait| AppError::TooMany(crate::ratelimit::retry_message(wait)))
}

#[get("/verify/<number>?<sig>")]
pub async fn verify(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
) -> AppResult<Json<Verification>> {
    public_limit(st, &ip)?;
    Ok(Json(
        crate::services::verification::verify(st, number, sig.unwrap_or("")).await?,
    ))
}

#[get("/keys/permit-signing")]
pub fn signing_keys(ip: ClientIp, st: &State<AppRef>) -> AppResult<Value> {
    public_limit(st, &ip)?;
    let keys = st
        .keyring
        .read()
        .map_err(|_| AppError::internal("keyring lock poisoned"))?
        .public_keys();
    Ok(json!({
        "algorithm": "Ed25519",
        "message_format": "anju-permit-v1|{number}|{valid_until YYYY-MM-DD}|{max_occupants}",
        "token_format": "{key_id}.{base64url(signature)}",
        "keys": keys,
    }))
}
