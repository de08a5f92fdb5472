//! API: residence proofs (居住证明) — issue one for a stay, verify one by its QR signature.
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{OptionalJsonBody, Text, text, validated};
use super::doc::Problem;
use super::permits::public_limit;
use crate::AppRef;
use crate::domain::stay::Lang;
use crate::error::{AppError, AppResult};
use crate::services::proofs::{self, IssuedProof, ProofVerification, Requester};
use crate::web::checkin::limit;
use crate::web::guards::{ClientIp, MaybeUser};

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct ProofBody {
    /// The tenant's check-out code; without it, the caller's token decides (landlord, official).
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 64))]
    checkout_code: Option<Text>,
}

/// Issues a residence proof for a stay: its landlord, the village's official, or anyone with the
/// stay's check-out code. Every issue is audited.
#[utoipa::path(post, path = "/stays/{id}/proof", tag = "stays", params(("id" = i32, Path)),
    request_body(content = Option<ProofBody>),
    security((), ("bearer" = [])),
    responses((status = 201, body = IssuedProof), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/stays/<id>/proof", data = "<body>")]
pub async fn issue(
    ip: ClientIp,
    who: MaybeUser,
    st: &State<AppRef>,
    id: i32,
    _json: OptionalJsonBody,
    body: Option<Json<ProofBody>>,
) -> AppResult<(Status, Json<IssuedProof>)> {
    if let Some(b) = &body {
        validated(&**b)?;
    }
    let code = body
        .as_ref()
        .map(|b| text(&b.checkout_code).to_string())
        .unwrap_or_default();
    let requester = if !code.trim().is_empty() {
        limit(
            st,
            &[format!("proof:ip:{}", ip.0), format!("proof:stay:{id}")],
            Lang::Zh,
        )
        .await?;
        Requester::CheckoutCode(&code)
    } else {
        match &who.0 {
            Some(a) => Requester::User(a),
            None => {
                return Err(AppError::field(
                    "checkout_code",
                    "请提供退租码，或以房东、村干部身份登录",
                ));
            }
        }
    };
    let issued = proofs::issue(st, requester, id).await?;
    Ok((Status::Created, Json(issued)))
}

/// Public: is this residence proof genuine? The masked facts only with a matching `sig`.
#[utoipa::path(get, path = "/verify-proof/{number}", tag = "public", security(()),
    params(("number" = String, Path), ("sig" = Option<String>, Query, description = "the proof's QR signature")),
    responses((status = 200, body = ProofVerification), (status = 429, body = Problem)))]
#[get("/verify-proof/<number>?<sig>")]
pub async fn verify(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
) -> AppResult<Json<ProofVerification>> {
    public_limit(st, &ip).await?;
    Ok(Json(proofs::verify(st, number, sig.unwrap_or("")).await?))
}
