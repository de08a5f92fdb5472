//! API: webhook subscriptions and their deliveries (town admin), the user's notices, an
//! inspector's report of another matter seen on a visit, and one-time SMS codes.
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::body::{JsonBody, Text, text, validated};
use super::doc::Problem;
use crate::AppRef;
use crate::domain::identity::Phone;
use crate::error::{AppError, AppResult};
use crate::services::events::reports::RawReport;
use crate::services::events::webhooks::{self, DeliveryView, RawSubscription, SubscriptionView};
use crate::services::events::{reports, sms_codes};
use crate::services::notifications::{self, NoticeItem};
use crate::web::checkin::limit;
use crate::web::guards::{ClientIp, CurrentUser, Inspector, TownAdmin};

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct SubscriptionBody {
    #[schema(value_type = String, example = "https://grid.example.gov.cn/anju/events")]
    #[validate(length(max = 500))]
    url: Option<Text>,
    /// Event type names, e.g. `task.created`.
    #[schema(value_type = Vec<crate::domain::event::EventKind>)]
    #[validate(length(max = 32))]
    events: Option<Vec<Text>>,
    #[schema(value_type = Option<String>)]
    #[validate(length(max = 200))]
    description: Option<Text>,
}

/// The new subscription's id and its secret, shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedSubscription {
    pub id: i32,
    /// `whsec_` + base64 of 32 random bytes: the HMAC key of the `webhook-signature` header.
    pub secret: String,
}

/// The town admin subscribes a URL to event types.
#[utoipa::path(post, path = "/webhooks", tag = "events", request_body = SubscriptionBody,
    responses((status = 201, body = CreatedSubscription), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/webhooks", data = "<body>")]
pub async fn subscribe(
    who: TownAdmin,
    st: &State<AppRef>,
    _json: JsonBody,
    body: Json<SubscriptionBody>,
) -> AppResult<(Status, Json<CreatedSubscription>)> {
    validated(&*body)?;
    let raw = RawSubscription {
        url: text(&body.url).to_string(),
        events: body
            .events
            .iter()
            .flatten()
            .map(|t| t.as_str().to_string())
            .collect(),
        description: body.description.as_ref().map(|d| d.as_str().to_string()),
    };
    let now = st.config.clock.now();
    let (s, secret) = webhooks::create(
        &st.db,
        &st.pii,
        &who.0,
        raw,
        st.config.webhook_allow_private,
        now,
    )
    .await?;
    Ok((
        Status::Created,
        Json(CreatedSubscription { id: s.id, secret }),
    ))
}

#[utoipa::path(get, path = "/webhooks", tag = "events",
    responses((status = 200, body = Vec<SubscriptionView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/webhooks")]
pub async fn subscriptions(
    who: TownAdmin,
    st: &State<AppRef>,
) -> AppResult<Json<Vec<SubscriptionView>>> {
    Ok(Json(webhooks::list(&st.db, &who.0).await?))
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "events", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/webhooks/<id>")]
pub async fn unsubscribe(who: TownAdmin, st: &State<AppRef>, id: i32) -> AppResult<Status> {
    webhooks::delete(&st.db, &who.0, id).await?;
    Ok(Status::NoContent)
}

/// A subscription's deliveries, newest first, 50 a page (`page` from 1).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "events",
    params(("id" = i32, Path), ("page" = Option<u64>, Query)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/webhooks/<id>/deliveries?<page>")]
pub async fn deliveries(
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    page: Option<u64>,
) -> AppResult<Json<Vec<DeliveryView>>> {
    let page = page.unwrap_or(1).clamp(1, 100_000) - 1;
    Ok(Json(
        webhooks::deliveries(&st.db, &who.0, id, page).await?.1,
    ))
}

#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "events",
    params(("id" = i32, Path), ("delivery_id" = i32, Path)),
    responses((status = 202), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/webhooks/<id>/deliveries/<delivery_id>/retry")]
pub async fn retry(
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    delivery_id: i32,
) -> AppResult<Status> {
    webhooks::retry(&st.db, &who.0, id, delivery_id, st.config.clock.now()).await?;
    Ok(Status::Accepted)
}

/// The caller's notices, newest first (30 a page).
#[utoipa::path(get, path = "/notifications", tag = "events",
    params(("unread" = Option<bool>, Query), ("page" = Option<u64>, Query)),
    responses((status = 200, body = Vec<NoticeItem>), (status = 401, body = Problem)))]
#[get("/notifications?<unread>&<page>")]
pub async fn my_notifications(
    who: CurrentUser,
    st: &State<AppRef>,
    unread: Option<bool>,
    page: Option<u64>,
) -> AppResult<Json<Vec<NoticeItem>>> {
    let page = page.unwrap_or(1).clamp(1, 100_000) - 1;
    Ok(Json(
        notifications::list(&st.db, &who.0, unread.unwrap_or(false), page)
            .await?
            .0,
    ))
}

#[utoipa::path(post, path = "/notifications/{id}/read", tag = "events", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[post("/notifications/<id>/read")]
pub async fn read_notification(who: CurrentUser, st: &State<AppRef>, id: i32) -> AppResult<Status> {
    notifications::mark_read(&st.db, &who.0, id).await?;
    Ok(Status::NoContent)
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct ReportBody {
    #[schema(value_type = crate::domain::event::ReportCategory)]
    #[validate(length(max = 32))]
    category: Option<Text>,
    #[schema(value_type = String, example = "三楼楼道停放电动车充电")]
    #[validate(length(max = 500))]
    description: Option<Text>,
    /// Ids of photos the inspector uploaded (`POST /photos`).
    #[schema(value_type = Vec<String>)]
    #[validate(length(max = 9))]
    photo_ids: Option<Vec<Text>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportedEvent {
    /// The `event.reported` event's id, as the grid platform receives it.
    pub event_id: String,
}

/// The task's inspector reports another matter seen on the visit.
#[utoipa::path(post, path = "/tasks/{id}/events", tag = "inspections", params(("id" = i32, Path)),
    request_body = ReportBody,
    responses((status = 201, body = ReportedEvent), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/tasks/<id>/events", data = "<body>")]
pub async fn report(
    who: Inspector,
    st: &State<AppRef>,
    id: i32,
    _json: JsonBody,
    body: Json<ReportBody>,
) -> AppResult<(Status, Json<ReportedEvent>)> {
    validated(&*body)?;
    let raw = RawReport {
        category: text(&body.category).to_string(),
        description: text(&body.description).to_string(),
        photo_ids: body
            .photo_ids
            .iter()
            .flatten()
            .map(|t| t.as_str().to_string())
            .collect(),
    };
    let r = raw.parse().map_err(AppError::Validation)?;
    let event_id = reports::report(&st.db, &who.0, id, r, st.config.clock.now()).await?;
    Ok((Status::Created, Json(ReportedEvent { event_id })))
}

#[derive(Deserialize, Serialize, ToSchema, Validate)]
pub struct SmsCodeBody {
    #[schema(value_type = String, example = "13800001111")]
    #[validate(length(max = 32))]
    phone: Option<Text>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SmsCodeSent {
    pub sent: bool,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

/// Sends a six-digit code to a phone, now (1 a minute and 5 an hour per number; valid 10 minutes).
#[utoipa::path(post, path = "/auth/sms-code", tag = "accounts", security(()), request_body = SmsCodeBody,
    responses((status = 202, body = SmsCodeSent), (status = 400, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/auth/sms-code", data = "<body>")]
pub async fn sms_code(
    ip: ClientIp,
    st: &State<AppRef>,
    _json: JsonBody,
    body: Json<SmsCodeBody>,
) -> AppResult<(Status, Json<SmsCodeSent>)> {
    validated(&*body)?;
    limit(
        st,
        &[format!("sms-code:ip:{}", ip.0)],
        crate::domain::stay::Lang::Zh,
    )
    .await?;
    let phone =
        Phone::parse(text(&body.phone)).map_err(|e| AppError::field("phone", &e.to_string()))?;
    sms_codes::send(st, &phone).await?;
    Ok((
        Status::Accepted,
        Json(SmsCodeSent {
            sent: true,
            expires_in: sms_codes::VALID_MINUTES * 60,
        }),
    ))
}
