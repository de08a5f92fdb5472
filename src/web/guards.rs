//! Request guards: who is asking (session cookie or bearer token), their role, CSRF, client address.
use std::sync::Mutex;

use rocket::Request;
use rocket::http::{Cookie, SameSite, Status};
use rocket::request::{FromRequest, Outcome};

use crate::domain::role::Role;
use crate::error::{AppError, is_api};
use crate::services::{Actor, auth};
use crate::{AppRef, AppState};

pub const SESSION_COOKIE: &str = "anju_session";
pub const CSRF_COOKIE: &str = "anju_csrf";
pub const CSRF_PARAM: &str = "_csrf";
/// Signed-in sessions last a working week; after that the user signs in again.
pub const SESSION_DAYS: i64 = 7;

/// Why a guard refused, kept for the catcher that renders the error page.
#[derive(Default)]
pub struct GuardNote(pub Mutex<Option<String>>);

pub fn note(req: &Request<'_>, msg: &str) {
    let n = req.local_cache(GuardNote::default);
    if let Ok(mut g) = n.0.lock() {
        *g = Some(msg.to_string());
    }
}

pub fn take_note(req: &Request<'_>) -> Option<String> {
    req.local_cache(GuardNote::default)
        .0
        .lock()
        .ok()
        .and_then(|g| g.clone())
}

fn state<'r>(req: &'r Request<'_>) -> Option<&'r AppState> {
    req.rocket().state::<AppRef>().map(|a| a.as_ref())
}

pub fn bearer(req: &Request<'_>) -> Option<String> {
    req.headers()
        .get_one("Authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

/// Cookies are Secure whenever the public address is https, so they never travel in clear text.
fn secure(req_or_public_url: &str) -> bool {
    req_or_public_url.starts_with("https://")
}

/// Writes the session cookie for a signed-in user.
pub fn start_session(cookies: &rocket::http::CookieJar<'_>, public_url: &str, actor: &Actor) {
    let value = format!("{}:{}", actor.id, chrono::Utc::now().timestamp());
    let c = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .secure(secure(public_url))
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(rocket::time::Duration::days(SESSION_DAYS));
    cookies.add_private(c);
}

pub fn end_session(cookies: &rocket::http::CookieJar<'_>) {
    cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
}

async fn resolve(req: &Request<'_>) -> Result<Option<Actor>, AppError> {
    let Some(st) = state(req) else {
        return Err(AppError::internal("no state"));
    };
    if is_api(req) {
        // The API takes bearer tokens only, so a browser's cookies can never be used cross-site against it.
        return match bearer(req) {
            Some(t) => auth::actor_for_token(&st.db, &t).await,
            None => Ok(None),
        };
    }
    let Some(c) = req.cookies().get_private(SESSION_COOKIE) else {
        return Ok(None);
    };
    let mut parts = c.value().splitn(2, ':');
    let id = parts.next().and_then(|s| s.parse::<i32>().ok());
    let issued = parts.next().and_then(|s| s.parse::<i64>().ok());
    let (Some(id), Some(issued)) = (id, issued) else {
        return Ok(None);
    };
    if chrono::Utc::now().timestamp() - issued > SESSION_DAYS * 86_400 {
        return Ok(None);
    }
    Ok(auth::find_user(&st.db, id)
        .await?
        .as_ref()
        .and_then(auth::actor_of))
}

/// Anyone signed in (cookie for pages, bearer token for the API).
pub struct CurrentUser(pub Actor);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let cached = req
            .local_cache_async(async { resolve(req).await.ok().flatten() })
            .await;
        match cached {
            Some(a) => Outcome::Success(CurrentUser(a.clone())),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

/// The signed-in user if there is one; never fails.
pub struct MaybeUser(pub Option<Actor>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let cached = req
            .local_cache_async(async { resolve(req).await.ok().flatten() })
            .await;
        Outcome::Success(MaybeUser(cached.clone()))
    }
}

macro_rules! role_guard {
    ($name:ident, $($role:path),+) => {
        #[doc = concat!("A signed-in user whose role is ", stringify!($($role),+), ".")]
        pub struct $name(pub Actor);

        #[rocket::async_trait]
        impl<'r> FromRequest<'r> for $name {
            type Error = ();
            async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
                match req.guard::<CurrentUser>().await {
                    Outcome::Success(CurrentUser(a)) if $(a.role == $role)||+ => Outcome::Success($name(a)),
                    Outcome::Success(_) => {
                        note(req, "您的账号没有此页面的权限");
                        Outcome::Error((Status::Forbidden, ()))
                    }
                    Outcome::Error(e) => Outcome::Error(e),
                    Outcome::Forward(s) => Outcome::Forward(s),
                }
            }
        }
    };
}

role_guard!(Landlord, Role::Landlord);
role_guard!(Inspector, Role::Inspector);
role_guard!(VillageOfficial, Role::VillageOfficial);
role_guard!(TownAdmin, Role::TownAdmin);
role_guard!(Staff, Role::TownAdmin, Role::VillageOfficial);
role_guard!(
    ApiReader,
    Role::TownAdmin,
    Role::VillageOfficial,
    Role::Inspector,
    Role::ApiClient
);

/// The CSRF token of this browser, made on first use and kept in a private cookie.
pub fn csrf_token(req: &Request<'_>) -> String {
    if let Some(c) = req.cookies().get_private(CSRF_COOKIE) {
        return c.value().to_string();
    }
    let raw: [u8; 24] = rand::random();
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let c = Cookie::build((CSRF_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/");
    req.cookies().add_private(c);
    token
}

/// A state-changing form carries the token in its action URL (`?_csrf=…`), so the check needs no
/// body parsing and works for multipart uploads too.
pub struct CsrfChecked;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CsrfChecked {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let sent = req.query_value::<&str>(CSRF_PARAM).and_then(|r| r.ok());
        let expected = req
            .cookies()
            .get_private(CSRF_COOKIE)
            .map(|c| c.value().to_string());
        match (sent, expected) {
            (Some(s), Some(e)) if constant_eq(s.as_bytes(), e.as_bytes()) => {
                Outcome::Success(CsrfChecked)
            }
            _ => {
                note(req, "页面已过期或来源不明，请返回刷新页面后重试");
                Outcome::Error((Status::Forbidden, ()))
            }
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client's address as Rocket sees it (honours `ip_header` when behind a proxy).
pub struct ClientIp(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(ClientIp(
            req.client_ip()
                .map(|i| i.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}
