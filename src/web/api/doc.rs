//! The OpenAPI document of `/api/v1`, derived from the handlers' `#[utoipa::path]` and the types
//! they take and answer; the answer shapes only the API has (pages, tasks, problems) live here.
use chrono::{DateTime, Utc};
use rocket::get;
use rocket::serde::json::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, ServerBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{
    accounts, dashboard, events, housing, inspections, landlords, permits, proofs, stays, users,
};
use crate::domain::inspection::{TaskKind, TaskStatus};
use crate::services::applications::ApplicationRow;
use crate::services::inspections::tasks::TaskRow;
use crate::services::permit_view::PermitView;
use crate::services::properties::PropertyView;
use crate::services::residents::Resident;

/// Every error: a stable code, a message in Chinese, and per-field messages for refused input.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    #[schema(example = "validation_failed")]
    error: String,
    message: String,
    /// Field name → messages, e.g. `{"rooms[0].area_m2": ["面积须为正数"]}`.
    fields: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

macro_rules! page {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            pub total: u64,
            pub page: u64,
            pub per_page: u64,
        }
    };
}

page!(
    /// One page of permits.
    PermitPage,
    PermitView
);
page!(
    /// One page of houses.
    PropertyPage,
    PropertyView
);
page!(
    /// One page of applications.
    ApplicationPage,
    ApplicationRow
);
page!(
    /// One page of the residents' register.
    ResidentPage,
    Resident
);

/// One inspection task as the grid platform sees it.
#[derive(Serialize, ToSchema)]
pub struct Task {
    id: i32,
    #[schema(value_type = TaskKind)]
    kind: String,
    #[schema(value_type = TaskStatus)]
    status: String,
    property_id: i32,
    application_id: Option<i32>,
    address: String,
    grid_id: i32,
    assignee_id: Option<i32>,
    due_at: DateTime<Utc>,
    overdue: bool,
    /// The checklist key to inspect with.
    checklist: String,
    created_at: DateTime<Utc>,
    /// For a re-inspection: the items to check again.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<String>>,
}

impl From<&TaskRow> for Task {
    fn from(t: &TaskRow) -> Self {
        Task {
            id: t.id,
            kind: t.kind.to_string(),
            status: t.status.to_string(),
            property_id: t.property_id,
            application_id: t.application_id,
            address: t.address.clone(),
            grid_id: t.grid_id,
            assignee_id: t.assignee_id,
            due_at: t.due_at,
            overdue: t.overdue,
            checklist: t.checklist.clone(),
            created_at: t.created_at,
            items: t.items.clone(),
        }
    }
}

/// The bearer scheme and the `/api/v1` base, which the derive cannot state.
struct Setup;

impl Modify for Setup {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        doc.servers = Some(vec![ServerBuilder::new().url("/api/v1").build()]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Anju 安居 API", version = "1",
        description = "Rental housing access permits: houses, applications, inspections, permits and stays. \
            Errors are JSON `{error, message, fields?}`; request bodies must be `application/json` (415 otherwise)."),
    modifiers(&Setup),
    security(("bearer" = [])),
    paths(
        accounts::login, accounts::logout, accounts::register, accounts::villages,
        housing::create_property, housing::list_properties, housing::get_property,
        housing::create_application, housing::list_applications, housing::get_application,
        housing::submit_application, housing::attach_document, housing::upload_photo,
        inspections::list_tasks, inspections::checklist, inspections::submit_inspection, inspections::previous_answers,
        inspections::fix_finding, inspections::application_findings,
        permits::approve, permits::reject, permits::get_permit, permits::list_permits,
        permits::suspend, permits::reinstate, permits::revoke, permits::certificate,
        permits::verify, permits::signing_keys,
        stays::check_in, stays::register_for_tenant, stays::confirm, stays::reject, stays::checkout, stays::register,
        proofs::issue, proofs::verify,
        users::reset_password, document,
        events::subscribe, events::subscriptions, events::unsubscribe, events::deliveries,
        events::retry, events::my_notifications, events::read_notification, events::report,
        events::sms_code,
        dashboard::snapshot, dashboard::stream, dashboard::weekly, dashboard::find,
        landlords::claim_code, landlords::transfer, landlords::merge,
    ),
    components(schemas(Problem, crate::domain::stay::StayStatus)),
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "public", security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/openapi.json")]
pub fn document() -> Json<Document> {
    Json(ApiDoc::openapi())
}
