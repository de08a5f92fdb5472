//! Sign-in, sign-out and the change-password page (registration: `register_pages`).
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::{CookieJar, Status};
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{
    ClientIp, CsrfChecked, CurrentUser, MaybeUser, end_session, rotate_csrf, session_token,
    start_session,
};
use super::pages::{Page, home_of};
use crate::AppRef;
use crate::domain::fields::FieldErrors;
use crate::error::AppError;
use crate::services::{Actor, auth, credentials, sessions};

/// Starts a server-side session and gives the browser a fresh CSRF token with it.
pub(super) async fn sign_in(
    st: &AppRef,
    cookies: &CookieJar<'_>,
    actor: &Actor,
) -> Result<(), AppError> {
    let token = sessions::start(&st.db, actor).await?;
    start_session(cookies, &st.config.public_url, &token);
    rotate_csrf(cookies, &st.config.public_url);
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    page: Page,
    phone: String,
    errors: FieldErrors,
    message: String,
}

#[derive(FromForm, Default)]
pub struct LoginForm {
    phone: String,
    password: String,
}

#[allow(clippy::result_large_err)] // Rocket takes its responders by value, once per request.
#[get("/login")]
pub fn login_page(page: Page, user: MaybeUser) -> Result<LoginPage, Redirect> {
    if let Some(a) = user.0 {
        return Err(Redirect::to(home_of(a.role)));
    }
    Ok(LoginPage {
        page,
        phone: String::new(),
        errors: FieldErrors::new(),
        message: String::new(),
    })
}

#[post("/login", data = "<form>")]
pub async fn login(
    _csrf: CsrfChecked,
    page: Page,
    st: &State<AppRef>,
    ip: ClientIp,
    cookies: &CookieJar<'_>,
    form: Form<LoginForm>,
) -> Result<Redirect, (Status, LoginPage)> {
    match auth::authenticate(
        &st.db,
        &st.login_limiter,
        &form.phone,
        &form.password,
        &ip.0,
    )
    .await
    {
        Ok(actor) => match sign_in(st, cookies, &actor).await {
            // Signed in with the admin's temporary password (now used up): choose one first.
            Ok(()) => match auth::has_temporary_password(&st.db, actor.id).await {
                Ok(true) => Ok(Redirect::to("/account/password?first=1")),
                _ => Ok(Redirect::to(home_of(actor.role))),
            },
            Err(e) => Err((
                e.status(),
                LoginPage {
                    page,
                    phone: form.phone.clone(),
                    errors: FieldErrors::new(),
                    message: e.to_string(),
                },
            )),
        },
        Err(e) => {
            let status = e.status();
            let (errors, message) = match e {
                AppError::Validation(f) => (f, String::new()),
                other => (FieldErrors::new(), other.to_string()),
            };
            Err((
                status,
                LoginPage {
                    page,
                    phone: form.phone.clone(),
                    errors,
                    message,
                },
            ))
        }
    }
}

/// Ends the session on the server too, so a copy of the cookie signs nobody in.
#[post("/logout")]
pub async fn logout(
    _csrf: CsrfChecked,
    st: &State<AppRef>,
    cookies: &CookieJar<'_>,
) -> Result<Flash<Redirect>, AppError> {
    if let Some(t) = session_token(cookies) {
        sessions::end(&st.db, &t).await?;
    }
    end_session(cookies);
    Ok(Flash::success(Redirect::to("/login"), "您已安全退出"))
}

#[derive(Template, WebTemplate)]
#[template(path = "account_password.html")]
pub struct PasswordPage {
    page: Page,
    errors: FieldErrors,
    message: String,
}

#[derive(FromForm, Default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password2: String,
}

#[get("/account/password?<first>")]
pub fn password_page(_who: CurrentUser, page: Page, first: Option<&str>) -> PasswordPage {
    PasswordPage {
        page,
        errors: FieldErrors::new(),
        message: if first.is_some() {
            "您用的是管理员重置的临时密码，它只能使用这一次。请现在设置自己的新密码（当前密码填临时密码）。"
                .into()
        } else {
            String::new()
        },
    }
}

/// Any signed-in user changes their password; their other sessions and API tokens end.
#[post("/account/password", data = "<form>")]
pub async fn change_password(
    _csrf: CsrfChecked,
    who: CurrentUser,
    page: Page,
    st: &State<AppRef>,
    cookies: &CookieJar<'_>,
    form: Form<PasswordForm>,
) -> Result<Flash<Redirect>, (Status, PasswordPage)> {
    let refuse = |e: AppError, page: Page| {
        let status = e.status();
        let (errors, message) = match e {
            AppError::Validation(f) => (f, String::new()),
            other => (FieldErrors::new(), other.to_string()),
        };
        (
            status,
            PasswordPage {
                page,
                errors,
                message,
            },
        )
    };
    if form.new_password != form.new_password2 {
        let mut e = FieldErrors::new();
        e.add("new_password2", "两次输入的新密码不一致");
        return Err(refuse(AppError::Validation(e), page));
    }
    let keep = session_token(cookies);
    match credentials::change_password(
        &st.db,
        &st.login_limiter,
        &who.0,
        keep.as_deref(),
        &form.current_password,
        &form.new_password,
    )
    .await
    {
        Ok(()) => Ok(Flash::success(
            Redirect::to(home_of(who.0.role)),
            "密码已修改，其他设备上的登录已退出",
        )),
        Err(e) => Err(refuse(e, page)),
    }
}
