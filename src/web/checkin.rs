//! Public tenant pages: check-in from the QR code (zh-CN, `lang=en` for English) and check-out by code.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{FromForm, State, get, post};

use super::guards::{ClientIp, CsrfChecked};
use super::pages::Page;
use crate::domain::clock::town_date;
use crate::domain::fields::FieldErrors;
use crate::domain::identity::DocType;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::stay::{Lang, RawCheckIn};
use crate::entities::permit;
use crate::error::{AppError, AppResult};
use crate::ratelimit::retry_message;
use crate::services::stays::{self, RoomOption};
use crate::{AppRef, AppState};

/// The occupancy rule of the current checklist; the default when none is loaded.
pub fn occupancy_rule(st: &AppState) -> OccupancyRule {
    st.checklists
        .current("rental-safety")
        .map(|c| c.occupancy.rule())
        .unwrap_or_default()
}

/// Per-IP and per-key limits on the public endpoints (check-in, check-out).
pub async fn limit(st: &AppState, keys: &[String], lang: Lang) -> Result<(), AppError> {
    for k in keys {
        if let Err(wait) = st.public_limiter.check_and_hit(k).await {
            return Err(AppError::TooMany(match lang {
                Lang::Zh => retry_message(wait),
                Lang::En => format!(
                    "Too many attempts; try again in {} s",
                    wait.as_secs().max(1)
                ),
            }));
        }
    }
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "stays/checkin.html")]
pub struct CheckinPage {
    page: Page,
    lang: Lang,
    number: String,
    sig: String,
    address: String,
    valid_until: String,
    max_occupants: i32,
    rooms: Vec<RoomOption>,
    doc_types: Vec<(&'static str, &'static str)>,
    raw: RawCheckIn,
    errors: FieldErrors,
    form_error: Option<String>,
}

impl CheckinPage {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.t(zh, en)
    }
    fn en(&self) -> bool {
        self.lang == Lang::En
    }
}

#[derive(FromForm, Default)]
pub struct CheckinForm {
    name: Option<String>,
    doc_type: Option<String>,
    doc_number: Option<String>,
    phone: Option<String>,
    room_id: Option<String>,
    move_in: Option<String>,
    move_out_expected: Option<String>,
    employer: Option<String>,
    consent: Option<String>,
    /// Set by the language button: show the form again in `?lang=`, keeping what was typed.
    switch_lang: Option<String>,
}

impl CheckinForm {
    pub(crate) fn raw(&self) -> RawCheckIn {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        RawCheckIn {
            name: s(&self.name),
            doc_type: s(&self.doc_type),
            doc_number: s(&self.doc_number),
            phone: s(&self.phone),
            room_id: s(&self.room_id),
            move_in: s(&self.move_in),
            move_out_expected: s(&self.move_out_expected),
            employer: s(&self.employer),
            consent: self.consent.is_some(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &AppState,
    page: Page,
    lang: Lang,
    p: &permit::Model,
    sig: &str,
    raw: RawCheckIn,
    errors: FieldErrors,
    form_error: Option<String>,
) -> AppResult<CheckinPage> {
    let place = stays::place_of(&st.db, &occupancy_rule(st), p).await?;
    Ok(CheckinPage {
        page,
        lang,
        number: p.number.clone(),
        sig: sig.to_string(),
        address: place.address,
        valid_until: lang.date(&p.valid_until),
        max_occupants: p.max_occupants,
        rooms: place.rooms,
        doc_types: DocType::ALL
            .iter()
            .map(|t| (t.as_str(), lang.t(t.label_zh(), t.label_en())))
            .collect(),
        raw,
        errors,
        form_error,
    })
}

#[get("/p/<number>/checkin?<sig>&<lang>")]
pub async fn checkin_page(
    page: Page,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
    lang: Option<&str>,
) -> AppResult<CheckinPage> {
    let lang = Lang::parse(lang);
    let sig = sig.unwrap_or_default();
    let today = st.config.clock.today();
    let p = stays::permit_for_check_in(&st.db, &st.keyring, number, sig, lang, today).await?;
    let raw = RawCheckIn {
        move_in: today.format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    form_page(st, page, lang, &p, sig, raw, FieldErrors::new(), None).await
}

#[post("/p/<number>/checkin?<sig>&<lang>", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn checkin(
    _csrf: CsrfChecked,
    ip: ClientIp,
    page: Page,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
    lang: Option<&str>,
    form: Form<CheckinForm>,
) -> Result<Redirect, (Status, AppResult<CheckinPage>)> {
    let lang = Lang::parse(lang);
    let sig = sig.unwrap_or_default();
    let keys = [
        format!("checkin:ip:{}", ip.0),
        format!("checkin:permit:{number}"),
    ];
    if let Err(e) = limit(st, &keys, lang).await {
        return Err((e.status(), Err(e)));
    }
    let now = st.config.clock.now();
    let p = match stays::permit_for_check_in(&st.db, &st.keyring, number, sig, lang, town_date(now))
        .await
    {
        Ok(p) => p,
        Err(e) => return Err((e.status(), Err(e))),
    };
    let raw = form.raw();
    if form.switch_lang.is_some() {
        let page = form_page(st, page, lang, &p, sig, raw, FieldErrors::new(), None).await;
        return Err((Status::Ok, page));
    }
    let result = match raw.parse(town_date(now), lang, true) {
        Ok(c) => {
            stays::check_in_with_flood_limit(
                &st.db,
                &st.pii,
                &occupancy_rule(st),
                u64::from(st.config.stay_flood_per_hour),
                p.id,
                c,
                lang,
                now,
            )
            .await
        }
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        // 303 to a page that can be reloaded: re-posting would register the person again and
        // be refused as "already registered", losing the code.
        Ok(done) => match stays::receipt::seal(&st.pii, done.stay_id, &done.checkout_code, now) {
            Ok(t) => Ok(Redirect::to(format!(
                "/stays/{}/receipt?t={t}&lang={}",
                done.stay_id,
                lang.as_str()
            ))),
            Err(e) => Err((e.status(), Err(e))),
        },
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            form_page(st, page, lang, &p, sig, raw, e, None).await,
        )),
        Err(e @ (AppError::Conflict(_) | AppError::TooMany(_))) => Err((
            e.status(),
            form_page(
                st,
                page,
                lang,
                &p,
                sig,
                raw,
                FieldErrors::new(),
                Some(e.to_string()),
            )
            .await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "stays/checkout.html")]
pub struct CheckoutPage {
    page: Page,
    lang: Lang,
    stay_id: String,
    errors: FieldErrors,
    done: bool,
}

impl CheckoutPage {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.t(zh, en)
    }
}

#[get("/stays/checkout?<lang>&<stay>")]
pub fn checkout_page(page: Page, lang: Option<&str>, stay: Option<i32>) -> CheckoutPage {
    CheckoutPage {
        page,
        lang: Lang::parse(lang),
        stay_id: stay.map(|s| s.to_string()).unwrap_or_default(),
        errors: FieldErrors::new(),
        done: false,
    }
}

/// Check-out reached from the QR page of the house (`/p/{number}`): the same form.
#[get("/p/<_number>/checkout?<lang>&<stay>")]
pub fn checkout_from_qr(
    page: Page,
    _number: &str,
    lang: Option<&str>,
    stay: Option<i32>,
) -> CheckoutPage {
    checkout_page(page, lang, stay)
}

#[derive(FromForm, Default)]
pub struct CheckoutForm {
    stay_id: Option<String>,
    checkout_code: Option<String>,
}

#[post("/stays/checkout?<lang>", data = "<form>")]
pub async fn checkout(
    _csrf: CsrfChecked,
    ip: ClientIp,
    page: Page,
    st: &State<AppRef>,
    lang: Option<&str>,
    form: Form<CheckoutForm>,
) -> (Status, AppResult<CheckoutPage>) {
    let lang = Lang::parse(lang);
    let typed = form.stay_id.clone().unwrap_or_default();
    let mut view = CheckoutPage {
        page,
        lang,
        stay_id: typed.clone(),
        errors: FieldErrors::new(),
        done: false,
    };
    let Ok(id) = typed.trim().parse::<i32>() else {
        view.errors.add(
            "stay_id",
            lang.t("请填写登记编号", "Please enter the stay number"),
        );
        return (Status::UnprocessableEntity, Ok(view));
    };
    let keys = [
        format!("checkout:ip:{}", ip.0),
        format!("checkout:stay:{id}"),
    ];
    if let Err(e) = limit(st, &keys, lang).await {
        return (e.status(), Err(e));
    }
    let code = form.checkout_code.clone().unwrap_or_default();
    match stays::check_out_with_code(&st.db, &st.pii, id, &code, lang).await {
        Ok(_) => {
            view.done = true;
            (Status::Ok, Ok(view))
        }
        Err(AppError::Validation(e)) => {
            view.errors = e;
            (Status::UnprocessableEntity, Ok(view))
        }
        Err(AppError::Conflict(m)) => {
            view.errors.add("checkout_code", m);
            (Status::Conflict, Ok(view))
        }
        Err(e) => (e.status(), Err(e)),
    }
}
