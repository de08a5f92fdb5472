//! Sign-in, sign-out and landlord self-registration pages.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::{CookieJar, Status};
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{ClientIp, CsrfChecked, MaybeUser, end_session, start_session};
use super::pages::{Page, home_of};
use crate::AppRef;
use crate::domain::account::Registration;
use crate::domain::fields::FieldErrors;
use crate::error::AppError;
use crate::services::auth;

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
        Ok(actor) => {
            start_session(cookies, &st.config.public_url, &actor);
            Ok(Redirect::to(home_of(actor.role)))
        }
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

#[post("/logout")]
pub fn logout(_csrf: CsrfChecked, cookies: &CookieJar<'_>) -> Flash<Redirect> {
    end_session(cookies);
    Flash::success(Redirect::to("/login"), "您已安全退出")
}

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
pub struct RegisterPage {
    page: Page,
    name: String,
    phone: String,
    errors: FieldErrors,
}

#[derive(FromForm, Default)]
pub struct RegisterForm {
    name: String,
    phone: String,
    password: String,
    password2: String,
}

#[get("/register")]
pub fn register_page(page: Page) -> RegisterPage {
    RegisterPage {
        page,
        name: String::new(),
        phone: String::new(),
        errors: FieldErrors::new(),
    }
}

#[post("/register", data = "<form>")]
pub async fn register(
    _csrf: CsrfChecked,
    page: Page,
    st: &State<AppRef>,
    cookies: &CookieJar<'_>,
    form: Form<RegisterForm>,
) -> Result<Flash<Redirect>, (Status, RegisterPage)> {
    let refuse = |errors: FieldErrors, page: Page| {
        (
            Status::UnprocessableEntity,
            RegisterPage {
                page,
                name: form.name.clone(),
                phone: form.phone.clone(),
                errors,
            },
        )
    };
    let reg = match Registration::parse(&form.name, &form.phone, &form.password) {
        Ok(r) if form.password == form.password2 => r,
        Ok(_) => {
            let mut e = FieldErrors::new();
            e.add("password2", "两次输入的密码不一致");
            return Err(refuse(e, page));
        }
        Err(mut e) => {
            if form.password != form.password2 {
                e.add("password2", "两次输入的密码不一致");
            }
            return Err(refuse(e, page));
        }
    };
    match auth::register_landlord(&st.db, reg).await {
        Ok(actor) => {
            start_session(cookies, &st.config.public_url, &actor);
            Ok(Flash::success(
                Redirect::to("/landlord"),
                "注册成功，欢迎使用安居",
            ))
        }
        Err(AppError::Validation(e)) => Err(refuse(e, page)),
        Err(other) => {
            let mut e = FieldErrors::new();
            e.add("form", other.to_string());
            Err((
                other.status(),
                RegisterPage {
                    page,
                    name: form.name.clone(),
                    phone: form.phone.clone(),
                    errors: e,
                },
            ))
        }
    }
}
