//! Landlord self-registration, and claiming the account an import made for the phone: the page asks
//! for a code when the phone is already known, and its “获取验证码” button is a plain form button.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::{CookieJar, Status};
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::auth_pages::sign_in;
use super::checkin::limit;
use super::guards::{ClientIp, CsrfChecked};
use super::pages::Page;
use crate::AppRef;
use crate::domain::account::Registration;
use crate::domain::fields::FieldErrors;
use crate::domain::identity::Phone;
use crate::domain::stay::Lang;
use crate::error::AppError;
use crate::services::claims::{self, Registered};
use crate::services::events::sms_codes;

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
pub struct RegisterPage {
    page: Page,
    name: String,
    phone: String,
    errors: FieldErrors,
    /// The phone has imported houses: the code field and its button are shown.
    need_code: bool,
    /// A notice above the form (e.g. that a code was sent).
    message: String,
}

#[derive(FromForm, Default)]
pub struct RegisterForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    phone: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    password2: String,
    #[field(default = String::new())]
    sms_code: String,
}

impl RegisterForm {
    fn page(&self, page: Page, errors: FieldErrors, need_code: bool) -> RegisterPage {
        RegisterPage {
            page,
            name: self.name.clone(),
            phone: self.phone.clone(),
            errors,
            need_code,
            message: String::new(),
        }
    }
}

#[get("/register")]
pub fn register_page(page: Page) -> RegisterPage {
    RegisterPage {
        page,
        name: String::new(),
        phone: String::new(),
        errors: FieldErrors::new(),
        need_code: false,
        message: String::new(),
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
    let need_code = match Phone::parse(&form.phone) {
        Ok(p) => claims::is_claimable(st, &p).await,
        Err(_) => false,
    };
    let reg = match Registration::parse(&form.name, &form.phone, &form.password) {
        Ok(r) if form.password == form.password2 => r,
        parsed => {
            let mut e = parsed.err().unwrap_or_default();
            if form.password != form.password2 {
                e.add("password2", "两次输入的密码不一致");
            }
            return Err((Status::UnprocessableEntity, form.page(page, e, need_code)));
        }
    };
    let code = Some(form.sms_code.as_str()).filter(|c| !c.trim().is_empty());
    match claims::register_or_claim(st, reg, code).await {
        Ok(done) => {
            let actor = done.actor();
            let welcome = match done {
                Registered::Claimed(_) => "认领成功：您名下已登记的房屋都在这里",
                Registered::New(_) => "注册成功，欢迎使用安居",
            };
            if let Err(e) = sign_in(st, cookies, actor).await {
                tracing::error!(error = %e, "session after registration");
                return Ok(Flash::success(Redirect::to("/login"), "注册成功，请登录"));
            }
            Ok(Flash::success(Redirect::to("/landlord"), welcome))
        }
        Err(AppError::Validation(e)) => {
            Err((Status::UnprocessableEntity, form.page(page, e, need_code)))
        }
        Err(other) => {
            let mut e = FieldErrors::new();
            e.add("form", other.to_string());
            Err((other.status(), form.page(page, e, need_code)))
        }
    }
}

/// The “获取验证码” button: the whole form is posted here (no script needed), a code is sent to a
/// phone with imported houses, and the form comes back filled in except for the passwords.
#[post("/register/sms-code", data = "<form>")]
pub async fn send_code(
    _csrf: CsrfChecked,
    page: Page,
    st: &State<AppRef>,
    ip: ClientIp,
    form: Form<RegisterForm>,
) -> (Status, RegisterPage) {
    let refuse = |status: Status, field: &str, msg: &str, page: Page, need_code: bool| {
        let mut e = FieldErrors::new();
        e.add(field, msg);
        (status, form.page(page, e, need_code))
    };
    let phone = match Phone::parse(&form.phone) {
        Ok(p) => p,
        Err(m) => {
            return refuse(
                Status::UnprocessableEntity,
                "phone",
                &m.to_string(),
                page,
                false,
            );
        }
    };
    if !claims::is_claimable(st, &phone).await {
        return refuse(
            Status::UnprocessableEntity,
            "phone",
            "该手机号无需验证码：新用户直接注册，已注册的请直接登录",
            page,
            false,
        );
    }
    let sent = match limit(st, &[format!("sms-code:ip:{}", ip.0)], Lang::Zh).await {
        Ok(()) => sms_codes::send(st, &phone).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => {
            let mut p = form.page(page, FieldErrors::new(), true);
            p.message = format!(
                "验证码已发送至 {}，{} 分钟内有效",
                phone.masked(),
                sms_codes::VALID_MINUTES
            );
            (Status::Ok, p)
        }
        Err(e) => refuse(e.status(), "sms_code", &e.to_string(), page, true),
    }
}
