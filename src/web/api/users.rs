//! API: account administration by the town admin (password reset).
use rocket::serde::json::Json;
use rocket::{State, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppRef;
use crate::error::AppResult;
use crate::services::credentials;
use crate::web::guards::TownAdmin;

/// A new password for the user, shown this once; every session and token of the user has ended.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResetPasswordResponse {
    pub temporary_password: String,
}

/// The town admin resets a user's password.
#[utoipa::path(post, path = "/users/{id}/reset-password", tag = "accounts",
    params(("id" = i32, Path, description = "the user's id")),
    responses((status = 200, description = "the temporary password", body = ResetPasswordResponse),
        (status = 401, body = super::doc::Problem), (status = 403, body = super::doc::Problem),
        (status = 404, body = super::doc::Problem), (status = 409, body = super::doc::Problem)))]
#[post("/users/<id>/reset-password")]
pub async fn reset_password(
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Json<ResetPasswordResponse>> {
    let temporary_password = credentials::reset_password(&st.db, &who.0, id).await?;
    Ok(Json(ResetPasswordResponse { temporary_password }))
}
