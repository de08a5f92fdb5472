//! The JSON API of API.md (`/api/v1`): same services as the pages, bearer tokens, JSON problems;
//! its OpenAPI document is derived from the handlers (`doc`), Swagger UI serves it (`docs`).
pub mod accounts;
pub mod body;
mod checklists;
pub mod dashboard;
pub mod doc;
pub mod docs;
pub mod events;
pub mod housing;
pub mod inspections;
pub mod landlords;
pub mod permits;
pub mod proofs;
pub mod stays;
pub mod users;

use rocket::{Route, routes};

pub fn routes() -> Vec<Route> {
    routes![
        accounts::login,
        accounts::logout,
        accounts::register,
        accounts::villages,
        housing::create_property,
        housing::list_properties,
        housing::get_property,
        housing::create_application,
        housing::get_application,
        housing::list_applications,
        housing::submit_application,
        housing::attach_document,
        housing::upload_photo,
        inspections::list_tasks,
        inspections::checklist,
        inspections::submit_inspection,
        inspections::previous_answers,
        inspections::fix_finding,
        inspections::application_findings,
        doc::document,
        docs::page,
        docs::asset,
        permits::approve,
        permits::reject,
        permits::get_permit,
        permits::list_permits,
        permits::suspend,
        permits::reinstate,
        permits::revoke,
        permits::certificate,
        permits::verify,
        permits::signing_keys,
        stays::check_in,
        stays::register_for_tenant,
        stays::confirm,
        stays::reject,
        stays::checkout,
        stays::register,
        proofs::issue,
        proofs::verify,
        users::reset_password,
        events::subscribe,
        events::subscriptions,
        events::unsubscribe,
        events::deliveries,
        events::retry,
        events::my_notifications,
        events::read_notification,
        events::report,
        events::sms_code,
        dashboard::snapshot,
        dashboard::stream,
        dashboard::weekly,
        dashboard::find,
        landlords::claim_code,
        landlords::transfer,
        landlords::merge,
    ]
}
