//! API: sign-in tokens, landlord self-registration, the town's villages and grids.
use rocket::serde::json::{Json, Value};
use rocket::{State, get, post};
use serde::Deserialize;
use serde_json::json;

use super::text;
use crate::AppRef;
use crate::domain::account::Registration;
use crate::error::{AppError, AppResult};
use crate::services::{auth, town};
use crate::web::guards::{ClientIp, CurrentUser, bearer};

#[derive(Deserialize)]
pub struct LoginBody {
    phone: Option<Value>,
    password: Option<String>,
}

#[post("/auth/login", data = "<body>")]
pub async fn login(st: &State<AppRef>, ip: ClientIp, body: Json<LoginBody>) -> AppResult<Value> {
    let phone = text(body.phone.as_ref());
    let password = body.password.clone().unwrap_or_default();
    let actor = auth::authenticate(&st.db, &st.login_limiter, &phone, &password, &ip.0).await?;
    let token = auth::issue_token(&st.db, &actor, "api-login").await?;
    Ok(
        json!({"token": token, "role": actor.role.as_str(), "user_id": actor.id, "name": actor.name}),
    )
}

/// Revokes the presented token.
#[post("/auth/logout")]
pub async fn logout(
    who: CurrentUser,
    st: &State<AppRef>,
    req_token: BearerToken,
) -> AppResult<Value> {
    auth::revoke_token(&st.db, &who.0, &req_token.0).await?;
    Ok(json!({"revoked": true}))
}

pub struct BearerToken(pub String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for BearerToken {
    type Error = ();
    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        match bearer(req) {
            Some(t) => rocket::request::Outcome::Success(BearerToken(t)),
            None => rocket::request::Outcome::Error((rocket::http::Status::Unauthorized, ())),
        }
    }
}

#[derive(Deserialize)]
pub struct RegisterBody {
    name: Option<String>,
    phone: Option<Value>,
    password: Option<String>,
}

#[post("/landlords", data = "<body>")]
pub async fn register(
    st: &State<AppRef>,
    body: Json<RegisterBody>,
) -> AppResult<(rocket::http::Status, Value)> {
    let reg = Registration::parse(
        body.name.as_deref().unwrap_or(""),
        &text(body.phone.as_ref()),
        body.password.as_deref().unwrap_or(""),
    )
    .map_err(AppError::Validation)?;
    let a = auth::register_landlord(&st.db, reg).await?;
    Ok((
        rocket::http::Status::Created,
        json!({"user_id": a.id, "role": a.role.as_str(), "name": a.name}),
    ))
}

#[get("/villages")]
pub async fn villages(
    _who: CurrentUser,
    st: &State<AppRef>,
) -> AppResult<Json<Vec<town::VillageInfo>>> {
    Ok(Json(town::villages_with_grids(&st.db).await?))
}
