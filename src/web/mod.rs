//! HTTP layer: routes by actor, guards, catchers and security headers. Thin: rules live in services.
pub mod admin;
pub mod admin_merge;
pub mod admin_places;
pub mod admin_records;
pub mod admin_tasks;
pub mod admin_users;
pub mod admin_webhooks;
pub mod api;
pub mod auth_pages;
pub mod checkin;
pub mod checkin_receipt;
pub mod command;
pub mod command_charts;
pub mod guards;
pub mod houses;
pub mod imports;
pub mod inspector;
pub mod inspector_report;
pub mod inspector_walk;
pub mod landlord;
pub mod landlord_applications;
pub mod landlord_fix;
pub mod landlord_permits;
pub mod landlord_tenants;
pub mod notices;
pub mod official_houses;
pub mod official_lists;
pub mod offline;
pub mod pages;
pub mod permits;
pub mod photos;
pub mod proofs;
pub mod public;
pub mod register_pages;
pub mod residents;
pub mod respond;
pub mod staff;
pub mod tenants;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header, Status};
use rocket::{Build, Request, Response, Rocket, catch, catchers, routes};

use crate::error::{Problem, is_api};

pub fn mount(r: Rocket<Build>) -> Rocket<Build> {
    r.attach(SecurityHeaders)
        .mount(
            "/",
            routes![
                pages::index,
                pages::stylesheet,
                offline::service_worker,
                offline::manifest,
                offline::offline_js,
                offline::walk_js,
                offline::icon,
                auth_pages::login_page,
                auth_pages::login,
                auth_pages::logout,
                register_pages::register_page,
                register_pages::register,
                register_pages::send_code,
                auth_pages::password_page,
                auth_pages::change_password,
                landlord::home,
                landlord::new_house,
                landlord::create_house,
                landlord::edit_house,
                landlord::update_house,
                landlord::house,
                landlord::apply,
                landlord_applications::application,
                landlord_applications::save_declaration,
                landlord_applications::upload_document,
                landlord_applications::delete_document,
                landlord_applications::submit,
                landlord_applications::delete_draft,
                landlord_fix::report_fix,
                landlord_tenants::new_tenant,
                landlord_tenants::register_tenant,
                photos::photo,
                staff::inspector_home,
                inspector::task,
                inspector::start,
                inspector_walk::walk,
                inspector_walk::walk_submit,
                inspector::inspection,
                inspector_report::form,
                inspector_report::submit,
                staff::official_home,
                staff::official_application,
                official_houses::house,
                official_houses::claim_code,
                official_houses::transfer,
                official_lists::findings,
                official_lists::task_list,
                houses::list,
                admin_records::applications_list,
                admin_records::application,
                admin_records::permits_list,
                admin_records::permit,
                admin::home,
                admin::villages,
                admin::create_village,
                admin::create_grid,
                admin_places::rename_village,
                admin_places::rename_grid,
                admin::users,
                admin::create_user,
                admin::user_grids,
                admin::save_user_grids,
                admin_users::confirm_disable,
                admin_users::disable,
                admin_users::enable,
                admin_users::confirm_reset,
                admin_users::reset_password,
                admin_merge::merge_page,
                admin_merge::merge,
                admin::audit,
                admin_webhooks::list,
                admin_webhooks::create,
                admin_webhooks::deliveries,
                admin_webhooks::retry,
                admin_webhooks::confirm_delete,
                admin_webhooks::delete,
                admin_tasks::tasks,
                admin_tasks::reassign,
                admin_tasks::overdue_findings,
                permits::queue,
                permits::review,
                permits::approve,
                permits::reject,
                permits::permits_list,
                permits::permit,
                permits::change,
                permits::keys,
                permits::rotate_key,
                landlord_permits::permit,
                landlord_permits::renew,
                landlord_permits::mark_read,
                notices::list,
                notices::read_all,
                landlord_permits::certificate,
                public::verify_page,
                public::healthz,
                checkin::checkin_page,
                checkin::checkin,
                checkin::checkout_page,
                checkin::checkout,
                checkin::checkout_from_qr,
                checkin_receipt::receipt_page,
                proofs::verify_page,
                proofs::pdf,
                proofs::proof_page,
                proofs::issue,
                tenants::confirm,
                tenants::reject,
                tenants::checkout,
                residents::register,
                residents::reveal,
                residents::export_csv,
                residents::export_xlsx,
                command::wall,
                command::stream,
                command::snapshot_json,
                command::script,
                command::search_page,
                command::monthly_report,
                imports::template_xlsx,
                imports::index,
                imports::check,
                imports::progress,
                imports::errors_xlsx,
                imports::commit,
            ],
        )
        .mount("/api/v1", api::routes())
        .register(
            "/",
            catchers![
                bad_request,
                unauthorized,
                forbidden,
                not_found,
                too_large,
                unsupported,
                unprocessable,
                too_many,
                internal
            ],
        )
}

fn catch_any(status: Status, req: &Request<'_>) -> (Status, (ContentType, String)) {
    let note = guards::take_note(req);
    let message = note.unwrap_or_else(|| pages::default_message(status).to_string());
    if is_api(req) {
        let code = match status.code {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            422 => "validation_failed",
            429 => "too_many_requests",
            503 => "unavailable",
            _ => "internal",
        };
        let body = serde_json::to_string(&Problem {
            error: code,
            message,
            fields: None,
        })
        .unwrap_or_default();
        return (status, (ContentType::JSON, body));
    }
    (
        status,
        (
            ContentType::HTML,
            pages::error_html(req, status, &message, ""),
        ),
    )
}

macro_rules! catcher {
    ($name:ident, $code:literal) => {
        #[catch($code)]
        fn $name(req: &Request<'_>) -> (Status, (ContentType, String)) {
            catch_any(
                Status::from_code($code).unwrap_or(Status::InternalServerError),
                req,
            )
        }
    };
}

catcher!(bad_request, 400);
catcher!(unauthorized_inner, 401);
catcher!(forbidden, 403);
catcher!(not_found, 404);
catcher!(too_large, 413);
catcher!(unsupported, 415);
catcher!(unprocessable, 422);
catcher!(too_many, 429);
catcher!(internal, 500);

/// Pages send people to sign in; the API answers 401 in JSON.
#[allow(clippy::result_large_err)] // Rocket takes its responders by value, once per request.
#[catch(401)]
fn unauthorized(
    req: &Request<'_>,
) -> Result<rocket::response::Redirect, (Status, (ContentType, String))> {
    if is_api(req) {
        Err(unauthorized_inner(req))
    } else {
        Ok(rocket::response::Redirect::to("/login"))
    }
}

/// Security headers on every response, including a strict Content-Security-Policy: no inline
/// scripts or styles, nothing from other origins.
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        res.set_header(Header::new(
            "Permissions-Policy",
            "camera=(self), geolocation=(), microphone=()",
        ));
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        let path = req.uri().path().as_str();
        // The shell may be cached; pages stay no-store (the service worker keeps its own copies).
        if !path.starts_with("/static/")
            && !path.starts_with("/photos/")
            && !path.starts_with(api::docs::ASSET_PREFIX)
        {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}
