//! What every page shares: the page context guard, the error page, the stylesheet and the home redirect.
use askama::Template;
use rocket::http::{ContentType, Status};
use rocket::request::{FlashMessage, FromRequest, Outcome};
use rocket::response::{self, Redirect, Responder};
use rocket::{Request, get};

use super::guards::{MaybeUser, csrf_token};
use crate::domain::role::Role;
use crate::services::Actor;

/// Context of the shared layout: who is signed in, the CSRF token for forms, a one-time message.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub user: Option<Actor>,
    pub csrf: String,
    pub flash: Option<(String, String)>,
    /// Unread notices of the signed-in user: the bell's number.
    pub unread: u64,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Page {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let user = match req.guard::<MaybeUser>().await {
            Outcome::Success(MaybeUser(u)) => u,
            _ => None,
        };
        let flash = match req.guard::<Option<FlashMessage<'_>>>().await {
            Outcome::Success(Some(f)) => Some((f.kind().to_string(), f.message().to_string())),
            _ => None,
        };
        let unread = match (&user, req.rocket().state::<crate::AppRef>()) {
            // A failed count shows no number rather than failing the page.
            (Some(u), Some(st)) => crate::services::notifications::unread_count(&st.db, u.id)
                .await
                .unwrap_or(0),
            _ => 0,
        };
        Outcome::Success(Page {
            user,
            csrf: csrf_token(req),
            flash,
            unread,
        })
    }
}

impl Page {
    /// Grid workers get the offline layer (service worker, manifest, upload queue).
    pub fn field_worker(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role == Role::Inspector)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    page: Page,
    status: u16,
    title: &'a str,
    message: &'a str,
    detail: &'a str,
}

fn title_of(status: Status) -> &'static str {
    match status.code {
        400 => "请求有误",
        401 => "请先登录",
        403 => "无权访问",
        404 => "页面不存在",
        413 => "文件过大",
        422 => "提交的内容有误",
        429 => "操作太频繁",
        _ => "系统繁忙",
    }
}

/// The error page in the shared layout, as HTML text.
pub fn error_html(req: &Request<'_>, status: Status, message: &str, detail: &str) -> String {
    let user = req.local_cache(|| None::<Actor>).clone();
    let page = Page {
        user,
        csrf: csrf_token(req),
        flash: None,
        unread: 0,
    };
    ErrorTemplate {
        page,
        status: status.code,
        title: title_of(status),
        message,
        detail,
    }
    .render()
    .unwrap_or_else(|_| format!("<h1>{}</h1><p>{}</p>", status.code, message))
}

/// Renders the error page with its status. Used by `AppError`.
pub fn error_page(
    req: &Request<'_>,
    status: Status,
    message: &str,
    detail: &str,
) -> response::Result<'static> {
    let html = error_html(req, status, message, detail);
    let mut resp = (ContentType::HTML, html).respond_to(req)?;
    resp.set_status(status);
    Ok(resp)
}

pub fn default_message(status: Status) -> &'static str {
    match status.code {
        400 => "请求格式不正确，请返回重试。",
        401 => "请先登录后再访问此页面。",
        403 => "您的账号没有访问此页面或记录的权限。",
        404 => "您访问的页面或记录不存在，可能已被删除。",
        413 => "上传的内容超过大小限制（图片不超过 10 MB）。",
        422 => "提交的内容不完整或格式不正确，请返回修改。",
        429 => "操作太频繁，请稍后再试。",
        _ => "系统暂时无法处理您的请求，请稍后再试。",
    }
}

#[get("/static/app.css")]
pub fn stylesheet() -> (ContentType, &'static str) {
    (
        ContentType::CSS,
        include_str!("../../templates/assets/app.css"),
    )
}

/// Where each role starts.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Landlord => "/landlord",
        Role::Inspector => "/inspector",
        Role::VillageOfficial => "/official",
        Role::TownAdmin => "/admin",
        Role::ApiClient => "/api/v1/openapi.json",
    }
}

#[get("/")]
pub fn index(user: MaybeUser) -> Redirect {
    match user.0 {
        Some(a) => Redirect::to(home_of(a.role)),
        None => Redirect::to("/login"),
    }
}

/// Pagination for long lists: 1-based page numbers in the URL, 0-based for the services.
#[derive(Debug, Clone, Copy)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

impl Pager {
    pub const PER_PAGE: u64 = 20;
    pub fn new(page: u64, total: u64) -> Pager {
        Self::sized(page, total, Self::PER_PAGE)
    }
    pub fn sized(page: u64, total: u64, per_page: u64) -> Pager {
        let pages = total.div_ceil(per_page.max(1)).max(1);
        Pager {
            page: page.clamp(1, pages),
            pages,
            total,
        }
    }
    /// A page number from the URL as the services count it; absurd numbers are clamped so the
    /// offset can never overflow the database's integer.
    pub fn index(page: Option<u64>) -> u64 {
        page.unwrap_or(1).clamp(1, 1_000_000) - 1
    }
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }
    pub fn has_next(&self) -> bool {
        self.page < self.pages
    }
    pub fn prev(&self) -> u64 {
        self.page.saturating_sub(1).max(1)
    }
    pub fn next(&self) -> u64 {
        self.page + 1
    }
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
