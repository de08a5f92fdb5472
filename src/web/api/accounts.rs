//! API: sign-in tokens, landlord self-registration, the town's villages and grids.
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{JsonBody, Text, parse_validated, text, validated};
use crate::AppRef;
use crate::domain::account::Registration;
use crate::domain::role::Role;
use crate::error::AppResult;
use crate::services::{auth, claims, town};
use crate::web::guards::{ClientIp, CurrentUser, bearer};

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct LoginBody {
    #[schema(value_type = String, example = "13800001111")]
    #[validate(length(max = 32))]
    phone: Option<Text>,
    #[validate(length(max = 1024))]
    password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    role: Role,
    user_id: i32,
    name: String,
}

/// Signs in with phone and password; answers a bearer token.
#[utoipa::path(post, path = "/auth/login", tag = "accounts", security(()),
    request_body = LoginBody,
    responses((status = 200, body = LoginOut), (status = 401, body = super::doc::Problem),
        (status = 415, body = super::doc::Problem), (status = 422, body = super::doc::Problem),
        (status = 429, body = super::doc::Problem)))]
#[post("/auth/login", data = "<body>")]
pub async fn login(
    st: &State<AppRef>,
    ip: ClientIp,
    _json: JsonBody,
    body: Json<LoginBody>,
) -> AppResult<Json<LoginOut>> {
    validated(&*body)?;
    let password = body.password.clone().unwrap_or_default();
    let actor = auth::authenticate(
        &st.db,
        &st.login_limiter,
        text(&body.phone),
        &password,
        &ip.0,
    )
    .await?;
    let token = auth::issue_token(&st.db, &actor, "api-login").await?;
    Ok(Json(LoginOut {
        token,
        role: actor.role,
        user_id: actor.id,
        name: actor.name,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct LogoutOut {
    revoked: bool,
}

/// Revokes the presented token.
#[utoipa::path(post, path = "/auth/logout", tag = "accounts",
    responses((status = 200, body = LogoutOut), (status = 401, body = super::doc::Problem)))]
#[post("/auth/logout")]
pub async fn logout(
    who: CurrentUser,
    st: &State<AppRef>,
    req_token: BearerToken,
) -> AppResult<Json<LogoutOut>> {
    auth::revoke_token(&st.db, &who.0, &req_token.0).await?;
    Ok(Json(LogoutOut { revoked: true }))
}

pub struct BearerToken(pub String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for BearerToken {
    type Error = ();
    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        match bearer(req) {
            Some(t) => rocket::request::Outcome::Success(BearerToken(t)),
            None => rocket::request::Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct RegisterBody {
    #[validate(length(max = 32))]
    name: Option<String>,
    #[schema(value_type = String, example = "13800001111")]
    #[validate(length(max = 32))]
    phone: Option<Text>,
    #[validate(length(max = 128))]
    password: Option<String>,
    /// Needed only to claim a phone whose houses were imported: the code from
    /// `POST /auth/sms-code`, or the eight-digit claim code an official handed over.
    #[schema(value_type = Option<String>, example = "123456")]
    #[validate(length(max = 16))]
    sms_code: Option<Text>,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredOut {
    user_id: i32,
    role: Role,
    name: String,
    /// True when an imported account was claimed (its houses are already there).
    claimed: bool,
}

/// A landlord registers themselves, or claims the account an import made for their phone.
#[utoipa::path(post, path = "/landlords", tag = "accounts", security(()),
    request_body = RegisterBody,
    responses((status = 201, body = RegisteredOut), (status = 409, body = super::doc::Problem),
        (status = 415, body = super::doc::Problem), (status = 422, body = super::doc::Problem)))]
#[post("/landlords", data = "<body>")]
pub async fn register(
    st: &State<AppRef>,
    _json: JsonBody,
    body: Json<RegisterBody>,
) -> AppResult<(Status, Json<RegisteredOut>)> {
    let reg = parse_validated(&*body, || {
        Registration::parse(
            body.name.as_deref().unwrap_or(""),
            text(&body.phone),
            body.password.as_deref().unwrap_or(""),
        )
    })?;
    let code = body.sms_code.as_ref().map(Text::as_str);
    let done = claims::register_or_claim(st, reg, code).await?;
    let claimed = matches!(done, claims::Registered::Claimed(_));
    let a = done.actor();
    Ok((
        Status::Created,
        Json(RegisteredOut {
            user_id: a.id,
            role: a.role,
            name: a.name.clone(),
            claimed,
        }),
    ))
}

/// Every village with its grids.
#[utoipa::path(get, path = "/villages", tag = "accounts",
    responses((status = 200, body = Vec<town::VillageInfo>), (status = 401, body = super::doc::Problem)))]
#[get("/villages")]
pub async fn villages(
    _who: CurrentUser,
    st: &State<AppRef>,
) -> AppResult<Json<Vec<town::VillageInfo>>> {
    Ok(Json(town::villages_with_grids(&st.db).await?))
}
