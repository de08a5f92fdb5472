//! Residence proof pages: the public verification page a scan opens, the PDF behind its keyed
//! link, and the one form that issues a proof (landlord, official, or tenant with the code).
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{ClientIp, CsrfChecked, MaybeUser};
use super::landlord_permits::PdfDownload;
use super::pages::Page;
use crate::AppRef;
use crate::domain::fields::FieldErrors;
use crate::domain::stay::Lang;
use crate::error::{AppError, AppResult};
use crate::services::proofs::{self, ProofVerification, Requester};
use crate::web::api::permits::public_limit;
use crate::web::checkin::limit;

#[derive(Template, WebTemplate)]
#[template(path = "public/verify_proof.html")]
pub struct VerifyProofPage {
    page: Page,
    v: ProofVerification,
}

/// What the QR on a residence proof opens. No session, no cookie, masked facts only.
#[get("/verify-proof/<number>?<sig>")]
pub async fn verify_page(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    sig: Option<&str>,
) -> AppResult<VerifyProofPage> {
    public_limit(st, &ip).await?;
    let v = proofs::verify(st, number, sig.unwrap_or("")).await?;
    Ok(VerifyProofPage {
        page: Page::default(),
        v,
    })
}

/// The proof's PDF; the `key` in its link is what authorises it.
#[get("/proofs/<number>/proof.pdf?<key>")]
pub async fn pdf(
    ip: ClientIp,
    st: &State<AppRef>,
    number: &str,
    key: Option<&str>,
) -> AppResult<PdfDownload> {
    public_limit(st, &ip).await?;
    let pdf = proofs::pdf(st, number, key.unwrap_or("")).await?;
    Ok(super::landlord_permits::pdf_file(
        &format!("residence-proof-{number}.pdf"),
        pdf,
    ))
}

#[derive(FromForm, Default)]
pub struct ProofForm {
    stay_id: Option<String>,
    checkout_code: Option<String>,
}

/// The tenant's proof form: the check-out page's fields, asking for a proof instead.
#[derive(Template, WebTemplate)]
#[template(path = "stays/proof.html")]
pub struct ProofPage {
    page: Page,
    lang: Lang,
    stay_id: String,
    errors: FieldErrors,
}

impl ProofPage {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.t(zh, en)
    }
}

#[get("/stays/proof?<lang>&<stay>")]
pub fn proof_page(page: Page, lang: Option<&str>, stay: Option<i32>) -> ProofPage {
    ProofPage {
        page,
        lang: Lang::parse(lang),
        stay_id: stay.map(|s| s.to_string()).unwrap_or_default(),
        errors: FieldErrors::new(),
    }
}

/// Issues a proof and sends the browser to its PDF (303, so a reload does not issue another).
/// With a check-out code the tenant asks; without one, the signed-in landlord or official.
#[post("/stays/proof?<lang>", data = "<form>")]
pub async fn issue(
    _csrf: CsrfChecked,
    ip: ClientIp,
    page: Page,
    who: MaybeUser,
    st: &State<AppRef>,
    lang: Option<&str>,
    form: Form<ProofForm>,
) -> Result<Redirect, Result<Flash<Redirect>, (Status, AppResult<ProofPage>)>> {
    let lang = Lang::parse(lang);
    let typed = form.stay_id.clone().unwrap_or_default();
    let code = form.checkout_code.clone().unwrap_or_default();
    let tenant = !code.trim().is_empty() || who.0.is_none();
    let mut view = ProofPage {
        page,
        lang,
        stay_id: typed.clone(),
        errors: FieldErrors::new(),
    };
    let Ok(id) = typed.trim().parse::<i32>() else {
        view.errors.add(
            "stay_id",
            lang.t("请填写登记编号", "Please enter the stay number"),
        );
        return Err(Err((Status::UnprocessableEntity, Ok(view))));
    };
    let requester = if tenant {
        let keys = [format!("proof:ip:{}", ip.0), format!("proof:stay:{id}")];
        if let Err(e) = limit(st, &keys, lang).await {
            return Err(Err((e.status(), Err(e))));
        }
        Requester::CheckoutCode(&code)
    } else {
        match &who.0 {
            Some(a) => Requester::User(a),
            None => return Err(Err((Status::Unauthorized, Err(AppError::Unauthorized)))),
        }
    };
    match proofs::issue(st, requester, id).await {
        Ok(p) => Ok(Redirect::to(p.pdf_path)),
        Err(e) if !tenant => {
            let back = who
                .0
                .as_ref()
                .map_or("/", |a| super::pages::home_of(a.role));
            Err(Ok(Flash::error(Redirect::to(back), e.to_string())))
        }
        Err(AppError::Validation(e)) => {
            view.errors = e;
            Err(Err((Status::UnprocessableEntity, Ok(view))))
        }
        Err(AppError::Conflict(m)) => {
            view.errors.add("checkout_code", m);
            Err(Err((Status::Conflict, Ok(view))))
        }
        Err(e) => Err(Err((e.status(), Err(e)))),
    }
}
