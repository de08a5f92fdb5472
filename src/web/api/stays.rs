//! API: check-in with the QR signature, landlord confirm/reject/check-out, tenant check-out by code,
//! and the residents' register for police systems.
use rocket::http::Status;
use rocket::serde::json::{Json, Value};
use rocket::{State, get, post};
use serde_json::json;

use super::text;
use crate::AppRef;
use crate::domain::clock::town_date;
use crate::domain::stay::{Lang, RawCheckIn};
use crate::error::{AppError, AppResult};
use crate::services::residents;
use crate::services::stays::{self, Transition};
use crate::web::checkin::{limit, occupancy_rule};
use crate::web::guards::{ApiReader, ClientIp, Landlord, MaybeUser};
use crate::web::residents::parse_filter;

#[post("/permits/<number>/stays", data = "<body>")]
pub async fn check_in(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    body: Json<serde_json::Map<String, Value>>,
) -> AppResult<(Status, Value)> {
    let lang = Lang::parse(body.get("lang").and_then(Value::as_str));
    limit(
        st,
        &[
            format!("checkin:ip:{}", ip.0),
            format!("checkin:permit:{number}"),
        ],
        lang,
    )?;
    let sig = text(body.get("sig"));
    let now = st.config.clock.now();
    let p =
        stays::permit_for_check_in(&st.db, &st.keyring, number, &sig, lang, town_date(now)).await?;
    let raw = RawCheckIn {
        name: text(body.get("name")),
        doc_type: text(body.get("doc_type")),
        doc_number: text(body.get("doc_number")),
        phone: text(body.get("phone")),
        room_id: text(body.get("room_id")),
        move_in: text(body.get("move_in")),
        move_out_expected: text(body.get("move_out_expected")),
        employer: text(body.get("employer")),
        consent: true,
    };
    let input = raw
        .parse(town_date(now), lang, false)
        .map_err(AppError::Validation)?;
    let done = stays::check_in_with_flood_limit(
        &st.db,
        &st.pii,
        &occupancy_rule(st),
        u64::from(st.config.stay_flood_per_hour),
        p.id,
        input,
        lang,
        now,
    )
    .await?;
    Ok((Status::Created, json!(done)))
}

fn stay_json(s: &crate::entities::stay::Model) -> Value {
    json!({"stay_id": s.id, "status": s.status, "ended_at": s.ended_at, "confirmed_at": s.confirmed_at})
}

#[post("/stays/<id>/confirm")]
pub async fn confirm(who: Landlord, st: &State<AppRef>, id: i32) -> AppResult<Value> {
    let s = stays::landlord_transition(&st.db, &who.0, id, Transition::Confirm).await?;
    Ok(stay_json(&s))
}

#[post("/stays/<id>/reject")]
pub async fn reject(who: Landlord, st: &State<AppRef>, id: i32) -> AppResult<Value> {
    let s = stays::landlord_transition(&st.db, &who.0, id, Transition::Reject).await?;
    Ok(stay_json(&s))
}

/// The tenant with `{"checkout_code"}`, or the landlord with their token.
#[post("/stays/<id>/checkout", data = "<body>")]
pub async fn checkout(
    ip: ClientIp,
    who: MaybeUser,
    st: &State<AppRef>,
    id: i32,
    body: Option<Json<serde_json::Map<String, Value>>>,
) -> AppResult<Value> {
    let code = body
        .as_ref()
        .map(|b| text(b.get("checkout_code")))
        .unwrap_or_default();
    let s = if !code.trim().is_empty() {
        limit(
            st,
            &[
                format!("checkout:ip:{}", ip.0),
                format!("checkout:stay:{id}"),
            ],
            Lang::Zh,
        )?;
        stays::check_out_with_code(&st.db, &st.pii, id, &code, Lang::Zh).await?
    } else {
        match who.0 {
            Some(a) => stays::landlord_transition(&st.db, &a, id, Transition::CheckOut).await?,
            None => {
                return Err(AppError::field(
                    "checkout_code",
                    "请提供退租码，或以房东身份登录",
                ));
            }
        }
    };
    Ok(stay_json(&s))
}

/// `full=true` returns whole document numbers and phones to officials, the admin and API clients
/// (police); every call is audited either way.
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
) -> AppResult<Value> {
    let f = parse_filter(village_id, grid_id, property_id, doc_type, active_on)?;
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
    let items: Vec<_> = rows
        .into_iter()
        .map(|r| r.resident(&st.pii, whole))
        .collect();
    Ok(json!({"items": items, "total": total, "page": page, "per_page": per_page}))
}
