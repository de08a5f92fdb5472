//! The grid worker's offline layer, served from the binary: the service worker, the web app
//! manifest and the scripts that keep answers, photos and the upload queue on the phone.
use rocket::get;
use rocket::http::{ContentType, Header};
use rocket::response::Responder;

/// A script with the header that lets `/sw.js` control `/inspector` (its own folder is `/`, so
/// the header only states the scope it is registered with).
#[derive(Responder)]
pub struct ServiceWorker {
    body: (ContentType, &'static str),
    allowed: Header<'static>,
}

#[get("/sw.js")]
pub fn service_worker() -> ServiceWorker {
    ServiceWorker {
        body: (
            ContentType::JavaScript,
            include_str!("../../templates/assets/pwa/sw.js"),
        ),
        allowed: Header::new("Service-Worker-Allowed", "/inspector"),
    }
}

#[get("/manifest.webmanifest")]
pub fn manifest() -> (ContentType, &'static str) {
    (
        ContentType::new("application", "manifest+json"),
        include_str!("../../templates/assets/pwa/manifest.webmanifest"),
    )
}

#[get("/static/offline.js")]
pub fn offline_js() -> (ContentType, &'static str) {
    (
        ContentType::JavaScript,
        include_str!("../../templates/assets/pwa/offline.js"),
    )
}

#[get("/static/walk.js")]
pub fn walk_js() -> (ContentType, &'static str) {
    (
        ContentType::JavaScript,
        include_str!("../../templates/assets/pwa/walk.js"),
    )
}

#[get("/static/icon.svg")]
pub fn icon() -> (ContentType, &'static str) {
    (
        ContentType::SVG,
        include_str!("../../templates/assets/pwa/icon.svg"),
    )
}
