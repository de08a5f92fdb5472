//! API: the command room's snapshot, its live stream, the weekly trend and the search box.
use std::time::Duration;

use rocket::response::stream::{Event, EventStream};
use rocket::serde::json::Json;
use rocket::{Shutdown, State, get};

use super::doc::Problem;
use crate::AppRef;
use crate::domain::dashboard::clamp_weeks;
use crate::error::{AppError, AppResult};
use crate::services::dashboard::search::{self, SearchResult};
use crate::services::dashboard::trend::{self, Trend};
use crate::services::dashboard::{Scope, Snapshot, scope_for};
use crate::web::guards::Staff;

/// A comment line this often keeps proxies from closing a quiet stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The snapshot of the town, or of one village (`village_id`); an official sees their own.
#[utoipa::path(get, path = "/dashboard", tag = "command room",
    params(("village_id" = Option<i32>, Query)),
    responses((status = 200, body = Snapshot), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/dashboard?<village_id>")]
pub async fn snapshot(
    who: Staff,
    st: &State<AppRef>,
    village_id: Option<i32>,
) -> AppResult<Json<Snapshot>> {
    let scope = scope_for(&who.0, village_id)?;
    Ok(Json(
        (*st.dashboard.snapshot(st.inner(), scope).await?).clone(),
    ))
}

/// `snapshot` events: one on connect, another within 3 s of any change; a comment every 15 s.
/// Every open stream of a scope shares one computation per change.
pub fn live(st: AppRef, scope: Scope, mut end: Shutdown) -> EventStream![] {
    let mut changes = st.dashboard.subscribe(&st);
    EventStream! {
        loop {
            match st.dashboard.snapshot(&st, scope).await {
                Ok(s) => yield Event::json(&*s).event("snapshot"),
                Err(e) => tracing::warn!(error = %e, "command room: snapshot failed"),
            }
            rocket::tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                _ = &mut end => break,
            }
        }
    }
    .heartbeat(HEARTBEAT)
}

#[utoipa::path(get, path = "/dashboard/stream", tag = "command room",
    params(("village_id" = Option<i32>, Query)),
    responses((status = 200, description = "text/event-stream of `snapshot` events", content_type = "text/event-stream"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/dashboard/stream?<village_id>")]
pub async fn stream(
    who: Staff,
    st: &State<AppRef>,
    village_id: Option<i32>,
    end: Shutdown,
) -> AppResult<EventStream![]> {
    let scope = scope_for(&who.0, village_id)?;
    crate::services::dashboard::villages_of(&st.db, scope).await?;
    Ok(live(st.inner().clone(), scope, end))
}

/// Check-ins, check-outs, hazards found and fixed, permits issued per ISO week (town time).
#[utoipa::path(get, path = "/dashboard/trend", tag = "command room",
    params(("weeks" = Option<u32>, Query), ("village_id" = Option<i32>, Query)),
    responses((status = 200, body = Trend), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[get("/dashboard/trend?<weeks>&<village_id>")]
pub async fn weekly(
    who: Staff,
    st: &State<AppRef>,
    weeks: Option<u32>,
    village_id: Option<i32>,
) -> AppResult<Json<Trend>> {
    let scope = scope_for(&who.0, village_id)?;
    let weeks = clamp_weeks(weeks).map_err(|m| AppError::field("weeks", m))?;
    crate::services::dashboard::villages_of(&st.db, scope).await?;
    Ok(Json(
        trend::weekly(&st.db, scope, st.config.clock.now(), weeks).await?,
    ))
}

/// Houses by address fragment, permits by number, residents by whole document number or name.
#[utoipa::path(get, path = "/search", tag = "command room",
    params(("q" = String, Query), ("village_id" = Option<i32>, Query)),
    responses((status = 200, body = SearchResult), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[get("/search?<q>&<village_id>")]
pub async fn find(
    who: Staff,
    st: &State<AppRef>,
    q: Option<&str>,
    village_id: Option<i32>,
) -> AppResult<Json<SearchResult>> {
    let scope = scope_for(&who.0, village_id)?;
    let q = search::parse_query(q.unwrap_or(""))?;
    Ok(Json(search::search(st.inner(), &who.0, scope, &q).await?))
}
