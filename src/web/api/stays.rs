//! API: check-in with the QR signature, landlord confirm/reject/check-out, tenant check-out by code,
//! and the residents' register for police systems.
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::body::{JsonBody, OptionalJsonBody, Text, text, validated};
use super::doc::{Problem, ResidentPage};
use crate::AppRef;
use crate::domain::stay::{Lang, RawCheckIn};
use crate::error::{AppError, AppResult};
use crate::services::residents;
use crate::services::residents::{Filter, RawFilter};
use crate::services::stays::api::{self as stays, CheckInContext, StayState};
use crate::services::stays::{CheckedIn, Transition};
use crate::web::checkin::{limit, occupancy_rule};
use crate::web::guards::{ApiReader, ClientIp, Landlord, MaybeUser};

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct CheckInBody {
    /// The `sig` of the permit's QR code.
    #[schema(value_type = String)]
    #[validate(length(max = 256))]
    sig: Option<Text>,
    #[schema(value_type = String)]
    #[validate(length(max = 50))]
    name: Option<Text>,
    #[schema(value_type = crate::domain::identity::DocType)]
    #[validate(length(max = 32))]
    doc_type: Option<Text>,
    #[schema(value_type = String)]
    #[validate(length(max = 32))]
    doc_number: Option<Text>,
    #[schema(value_type = String, example = "13800001111")]
    #[validate(length(max = 32))]
    phone: Option<Text>,
    #[schema(value_type = i32)]
    #[validate(length(max = 12))]
    room_id: Option<Text>,
    /// YYYY-MM-DD
    #[schema(value_type = String, format = Date)]
    #[validate(length(max = 10))]
    move_in: Option<Text>,
    #[schema(value_type = Option<String>, format = Date)]
    #[validate(length(max = 10))]
    move_out_expected: Option<Text>,
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 100))]
    employer: Option<Text>,
    /// `en` for English messages; Chinese otherwise.
    #[validate(length(max = 8))]
    lang: Option<String>,
}

impl CheckInBody {
    fn raw(&self) -> RawCheckIn {
        RawCheckIn {
            name: text(&self.name).to_string(),
            doc_type: text(&self.doc_type).to_string(),
            doc_number: text(&self.doc_number).to_string(),
            phone: text(&self.phone).to_string(),
            room_id: text(&self.room_id).to_string(),
            move_in: text(&self.move_in).to_string(),
            move_out_expected: text(&self.move_out_expected).to_string(),
            employer: text(&self.employer).to_string(),
            consent: true,
        }
    }
}

/// The landlord registers a tenant for them (no `sig` needed; it is ignored): the stay is
/// `active` at once, under the same caps and one-open-stay rule. Give the tenant the code.
#[utoipa::path(post, path = "/properties/{id}/stays", tag = "stays",
    params(("id" = i32, Path)), request_body = CheckInBody,
    responses((status = 201, body = CheckedIn), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/properties/<id>/stays", data = "<body>")]
pub async fn register_for_tenant(
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<CheckInBody>,
) -> AppResult<(Status, Json<CheckedIn>)> {
    validated(&*body)?;
    let done = crate::services::stays::register_for_tenant(
        &st.db,
        &st.pii,
        &occupancy_rule(st),
        &who.0,
        id,
        &body.raw(),
        false,
        st.config.clock.now(),
    )
    .await?;
    Ok((Status::Created, Json(done)))
}

/// A tenant checks in on a permit; the landlord confirms. `checkout_code` is shown once.
#[utoipa::path(post, path = "/permits/{number}/stays", tag = "stays", security(()),
    params(("number" = String, Path)), request_body = CheckInBody,
    responses((status = 201, body = CheckedIn), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/permits/<number>/stays", data = "<body>")]
pub async fn check_in(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    _json: JsonBody,
    body: Json<CheckInBody>,
) -> AppResult<(Status, Json<CheckedIn>)> {
    let lang = Lang::parse(body.lang.as_deref());
    limit(
        st,
        &[
            format!("checkin:ip:{}", ip.0),
            format!("checkin:permit:{number}"),
        ],
        lang,
    )
    .await?;
    validated(&*body)?;
    let raw = body.raw();
    let cx = CheckInContext {
        db: &st.db,
        keyring: &st.keyring,
        pii: &st.pii,
        rule: &occupancy_rule(st),
        flood_per_hour: u64::from(st.config.stay_flood_per_hour),
        now: st.config.clock.now(),
    };
    let done = stays::check_in_by_number(cx, number, text(&body.sig), raw, lang).await?;
    Ok((Status::Created, Json(done)))
}

#[utoipa::path(post, path = "/stays/{id}/confirm", tag = "stays", params(("id" = i32, Path)),
    responses((status = 200, body = StayState), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/stays/<id>/confirm")]
pub async fn confirm(who: Landlord, st: &State<AppRef>, id: i32) -> AppResult<Json<StayState>> {
    Ok(Json(
        stays::landlord_transition_state(&st.db, &who.0, id, Transition::Confirm).await?,
    ))
}

#[utoipa::path(post, path = "/stays/{id}/reject", tag = "stays", params(("id" = i32, Path)),
    responses((status = 200, body = StayState), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/stays/<id>/reject")]
pub async fn reject(who: Landlord, st: &State<AppRef>, id: i32) -> AppResult<Json<StayState>> {
    Ok(Json(
        stays::landlord_transition_state(&st.db, &who.0, id, Transition::Reject).await?,
    ))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct CheckoutBody {
    /// The code the tenant was given at check-in; without it, the landlord's token decides.
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 64))]
    checkout_code: Option<Text>,
}

/// The tenant with `{"checkout_code"}`, or the landlord with their token.
#[utoipa::path(post, path = "/stays/{id}/checkout", tag = "stays", params(("id" = i32, Path)),
    request_body(content = Option<CheckoutBody>),
    security((), ("bearer" = [])),
    responses((status = 200, body = StayState), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/stays/<id>/checkout", data = "<body>")]
pub async fn checkout(
    ip: ClientIp,
    who: MaybeUser,
    st: &State<AppRef>,
    id: i32,
    _json: OptionalJsonBody,
    body: Option<Json<CheckoutBody>>,
) -> AppResult<Json<StayState>> {
    if let Some(b) = &body {
        validated(&**b)?;
    }
    let code = body
        .as_ref()
        .map(|b| text(&b.checkout_code).to_string())
        .unwrap_or_default();
    let s = if !code.trim().is_empty() {
        limit(
            st,
            &[
                format!("checkout:ip:{}", ip.0),
                format!("checkout:stay:{id}"),
            ],
            Lang::Zh,
        )
        .await?;
        stays::check_out_with_code_state(&st.db, &st.pii, id, &code, Lang::Zh).await?
    } else {
        match who.0 {
            Some(a) => {
                stays::landlord_transition_state(&st.db, &a, id, Transition::CheckOut).await?
            }
            None => {
                return Err(AppError::field(
                    "checkout_code",
                    "请提供退租码，或以房东身份登录",
                ));
            }
        }
    };
    Ok(Json(s))
}

/// `full=true` returns whole document numbers and phones to officials, the admin and API clients
/// (police); every call is audited either way.
#[utoipa::path(get, path = "/residents", tag = "stays",
    params(
        ("village_id" = Option<i32>, Query),
        ("grid_id" = Option<i32>, Query),
        ("property_id" = Option<i32>, Query),
        ("doc_type" = Option<crate::domain::identity::DocType>, Query),
        ("active_on" = Option<String>, Query, format = Date, description = "YYYY-MM-DD: stays active that day"),
        ("page" = Option<u64>, Query, minimum = 1),
        ("per_page" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "default 100"),
        ("full" = Option<bool>, Query, description = "whole document numbers and phones (audited)"),
    ),
    responses((status = 200, body = ResidentPage), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
#[get(
    "/residents?<village_id>&<grid_id>&<property_id>&<doc_type>&<active_on>&<page>&<per_page>&<full>"
)]
#[allow(clippy::too_many_arguments)]
pub async fn register(
    who: ApiReader,
    st: &State<AppRef>,
    village_id: Option<&str>,
    grid_id: Option<&str>,
    property_id: Option<&str>,
    doc_type: Option<&str>,
    active_on: Option<&str>,
    page: Option<u64>,
    per_page: Option<u64>,
    full: Option<bool>,
) -> AppResult<Json<ResidentPage>> {
    let f = Filter::parse(
        RawFilter {
            village_id,
            grid_id,
            property_id,
            doc_type,
            active_on,
            status: None,
            moved: None,
        },
        st.config.clock.now(),
    )?;
    let f = residents::scoped(&who.0, f)?;
    let whole = full.unwrap_or(false) && residents::may_see_whole(&who.0);
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let per_page = per_page.unwrap_or(100).clamp(1, 1000);
    let (rows, total) = residents::page(&st.db, &f, (page - 1) * per_page, per_page).await?;
    residents::audit_read(
        &st.db,
        &who.0,
        "residents.api",
        &f,
        json!({"page": page, "full": whole, "rows": rows.len()}),
    )
    .await?;
    let items = rows
        .into_iter()
        .map(|r| r.resident(&st.pii, whole))
        .collect();
    Ok(Json(ResidentPage {
        items,
        total,
        page,
        per_page,
    }))
}
