//! Request guards: who is asking (session cookie or bearer token), their role, CSRF, client address.
use std::net::IpAddr;
use std::sync::Mutex;

use ipnet::IpNet;
use rocket::Request;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome};

use crate::domain::role::Role;
use crate::error::{AppError, is_api};
use crate::services::{Actor, auth, sessions};
use crate::{AppRef, AppState};
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "anju_session";
pub const CSRF_COOKIE: &str = "anju_csrf";
pub const CSRF_PARAM: &str = "_csrf";
pub use crate::services::sessions::SESSION_DAYS;

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
fn secure(public_url: &str) -> bool {
    public_url.starts_with("https://")
}

/// Writes the session cookie: it carries only the session's random token, the server keeps the rest.
pub fn start_session(cookies: &CookieJar<'_>, public_url: &str, token: &str) {
    let c = Cookie::build((SESSION_COOKIE, token.to_string()))
        .http_only(true)
        .secure(secure(public_url))
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(rocket::time::Duration::days(SESSION_DAYS));
    cookies.add_private(c);
}

/// The session token this browser presents, if any.
pub fn session_token(cookies: &CookieJar<'_>) -> Option<String> {
    cookies
        .get_private(SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

pub fn end_session(cookies: &CookieJar<'_>) {
    cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
}

async fn resolve(req: &Request<'_>) -> Result<Option<Actor>, AppError> {
    let Some(st) = state(req) else {
        return Err(AppError::internal("no state"));
    };
    if is_api(req) {
        // The API takes bearer tokens only, so a browser's cookies can never be used cross-site against it.
        return match bearer(req) {
            Some(t) => auth::actor_for_token(&st.db, &t, st.config.token_ttl_days).await,
            None => Ok(None),
        };
    }
    match session_token(req.cookies()) {
        Some(t) => sessions::resolve(&st.db, &t).await,
        None => Ok(None),
    }
}

/// Who is asking, resolved once per request. A failure to find out (the database is down) is
/// logged and kept as `Err`, so the guards answer 500 instead of treating the user as signed out.
async fn cached_user<'r>(req: &'r Request<'_>) -> &'r Result<Option<Actor>, ()> {
    req.local_cache_async(async {
        resolve(req).await.map_err(|e| {
            tracing::error!(error = %e, detail = ?e, path = %req.uri().path(), "cannot resolve the signed-in user");
        })
    })
    .await
}

/// Anyone signed in (cookie for pages, bearer token for the API).
pub struct CurrentUser(pub Actor);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match cached_user(req).await {
            Ok(Some(a)) => Outcome::Success(CurrentUser(a.clone())),
            Ok(None) => Outcome::Error((Status::Unauthorized, ())),
            Err(()) => Outcome::Error((Status::InternalServerError, ())),
        }
    }
}

/// The signed-in user if there is one; fails only when the database cannot say (500).
pub struct MaybeUser(pub Option<Actor>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match cached_user(req).await {
            Ok(u) => Outcome::Success(MaybeUser(u.clone())),
            Err(()) => Outcome::Error((Status::InternalServerError, ())),
        }
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
    let public_url = state(req)
        .map(|s| s.config.public_url.as_str())
        .unwrap_or("");
    rotate_csrf(req.cookies(), public_url)
}

/// Gives the browser a new CSRF token. Done at sign-in, so a token planted or read before the
/// sign-in is worthless after it.
pub fn rotate_csrf(cookies: &CookieJar<'_>, public_url: &str) -> String {
    let raw: [u8; 24] = rand::random();
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let c = Cookie::build((CSRF_COOKIE, token.clone()))
        .http_only(true)
        .secure(secure(public_url))
        .same_site(SameSite::Lax)
        .path("/");
    cookies.add_private(c);
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
            (Some(s), Some(e)) if bool::from(s.as_bytes().ct_eq(e.as_bytes())) => {
                Outcome::Success(CsrfChecked)
            }
            _ => {
                note(req, "页面已过期或来源不明，请返回刷新页面后重试");
                Outcome::Error((Status::Forbidden, ()))
            }
        }
    }
}

/// The client's address for limits and logs. The TCP peer, unless the peer is a proxy listed in
/// `ANJU_TRUSTED_PROXIES`: then `X-Forwarded-For` is walked from the right past trusted hops (each
/// hop appends the address it saw, so only the entries our proxies added can be believed), or
/// `X-Real-IP` is taken. Headers from anyone else are ignored, so they cannot dodge a limit.
pub struct ClientIp(pub String);

pub fn client_ip(
    peer: Option<IpAddr>,
    trusted: &[IpNet],
    forwarded_for: &[&str],
    real_ip: Option<&str>,
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&ip.to_canonical()));
    let peer = peer?.to_canonical();
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    if !hops.is_empty() {
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop our proxy did not write can be anything: stop at the last address we can trust.
            let Ok(ip) = hop.parse::<IpAddr>().map(|i| i.to_canonical()) else {
                break;
            };
            client = ip;
            if !is_trusted(&ip) {
                break;
            }
        }
        return Some(client);
    }
    real_ip
        .and_then(|r| r.trim().parse::<IpAddr>().ok())
        .map(|i| i.to_canonical())
        .or(Some(peer))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientIp {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let trusted = state(req)
            .map(|s| s.trusted_proxies.as_slice())
            .unwrap_or(&[]);
        let forwarded: Vec<&str> = req.headers().get("X-Forwarded-For").collect();
        let ip = client_ip(
            req.remote().map(|r| r.ip()),
            trusted,
            &forwarded,
            req.headers().get_one("X-Real-IP"),
        );
        Outcome::Success(ClientIp(
            ip.map(|i| i.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let got = client_ip(ip("203.0.113.9"), &[], &["1.2.3.4"], Some("5.6.7.8"));
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_for_is_walked_from_the_right_past_trusted_hops() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let got = client_ip(
            ip("10.0.0.2"),
            &trusted,
            &["6.6.6.6, 198.51.100.7", "10.0.0.5"],
            Some("9.9.9.9"),
        );
        assert_eq!(
            got,
            ip("198.51.100.7"),
            "the spoofed leftmost entry is not believed"
        );
    }

    #[test]
    fn a_trusted_peer_without_forwarded_for_gives_its_real_ip_header() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert_eq!(
            client_ip(ip("127.0.0.1"), &trusted, &[], Some("198.51.100.7")),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), &trusted, &["garbage"], None),
            ip("127.0.0.1")
        );
    }
}
