//! Officials' permit pages: the approval queue, the review page with approve/reject, the
//! village's permits with suspend/reinstate/revoke; the admin's signing-key rotation.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, TownAdmin, VillageOfficial};
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::crypto::signing::PublicKeyInfo;
use crate::domain::drilldown::{PermitFilter, parse_opt, parse_village};
use crate::domain::fields::FieldErrors;
use crate::domain::permit::PermitAction;
use crate::error::{AppError, AppResult};
use crate::services::applications::{self, ApplicationRow, ApplicationView};
use crate::services::dashboard::records;
use crate::services::permit_view::{self, InspectionLine, PermitView};
use crate::services::permits;

#[derive(Template, WebTemplate)]
#[template(path = "official/queue.html")]
pub struct QueuePage {
    page: Page,
    apps: Vec<ApplicationRow>,
    pager: Pager,
}

#[get("/official/queue?<page>")]
pub async fn queue(
    who: VillageOfficial,
    page_ctx: Page,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<QueuePage> {
    let (apps, total) =
        permit_view::approval_queue(&st.db, &who.0, Pager::index(page), Pager::PER_PAGE).await?;
    Ok(QueuePage {
        page: page_ctx,
        apps,
        pager: Pager::new(page.unwrap_or(1), total),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "official/review.html")]
pub struct ReviewPage {
    page: Page,
    app: ApplicationView,
    inspections: Vec<InspectionLine>,
    permit: Option<PermitView>,
    rule: crate::domain::occupancy::OccupancyRule,
    computed_max: u32,
    valid_months: String,
    cap: String,
    reason: String,
    errors: FieldErrors,
}

impl ReviewPage {
    fn can_decide(&self) -> bool {
        self.app.status == crate::domain::application::ApplicationStatus::Passed.as_str()
    }
}

#[derive(FromForm, Default)]
pub struct DecisionForm {
    valid_months: Option<String>,
    max_occupants: Option<String>,
    reason: Option<String>,
}

async fn review_page(
    st: &AppRef,
    who: &VillageOfficial,
    page: Page,
    id: i32,
    form: &DecisionForm,
    errors: FieldErrors,
) -> AppResult<ReviewPage> {
    let app = applications::get(&st.db, &who.0, id).await?;
    let inspections = permit_view::inspections_of(&st.db, &st.checklists, id).await?;
    let permit = match permit_view::of_application(&st.db, id).await? {
        Some(p) => Some(
            permit_view::view_of(&st.db, &st.config.public_url, p, st.config.clock.today()).await?,
        ),
        None => None,
    };
    let rule = permits::occupancy_rule(st);
    let rooms: Vec<_> = app
        .property
        .rooms
        .iter()
        .filter_map(|r| crate::domain::occupancy::RoomKind::parse(&r.kind).map(|k| (k, r.area_m2)))
        .collect();
    let computed_max = crate::domain::occupancy::max_occupants(&rule, &rooms, None);
    Ok(ReviewPage {
        page,
        app,
        inspections,
        permit,
        rule,
        computed_max,
        valid_months: form
            .valid_months
            .clone()
            .unwrap_or_else(|| st.config.permit_valid_months.to_string()),
        cap: form.max_occupants.clone().unwrap_or_default(),
        reason: form.reason.clone().unwrap_or_default(),
        errors,
    })
}

#[get("/official/applications/<id>/review")]
pub async fn review(
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<ReviewPage> {
    review_page(
        st,
        &who,
        page,
        id,
        &DecisionForm::default(),
        FieldErrors::new(),
    )
    .await
}

type Refused = (Status, AppResult<ReviewPage>);

#[post("/official/applications/<id>/approve", data = "<form>")]
pub async fn approve(
    _csrf: CsrfChecked,
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<DecisionForm>,
) -> Result<Flash<Redirect>, Refused> {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let result = match crate::services::permits::Approval::parse(
        &s(&form.valid_months),
        &s(&form.max_occupants),
        st.config.permit_valid_months,
    ) {
        Ok(input) => permits::approve(st, &who.0, id, input).await,
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        Ok(p) => Ok(Flash::success(
            Redirect::to(format!("/official/permits/{}", p.number)),
            format!("已发证：{}", p.number),
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            review_page(st, &who, page, id, &form, e).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[post("/official/applications/<id>/reject", data = "<form>")]
pub async fn reject(
    _csrf: CsrfChecked,
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<DecisionForm>,
) -> Result<Flash<Redirect>, Refused> {
    let reason = form.reason.clone().unwrap_or_default();
    match permits::reject(&st.db, &who.0, id, &reason).await {
        Ok(()) => Ok(Flash::success(
            Redirect::to("/official/queue"),
            format!("申请 #{id} 已退回"),
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            review_page(st, &who, page, id, &form, e).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "official/permits.html")]
pub struct PermitsPage {
    page: Page,
    permits: Vec<PermitView>,
    pager: Pager,
    statuses: Vec<(&'static str, &'static str)>,
    status: &'static str,
}

/// The village's permits, optionally by status as of today (the command room's drill-down).
#[get("/official/permits?<village_id>&<status>&<page>")]
pub async fn permits_list(
    who: VillageOfficial,
    page_ctx: Page,
    st: &State<AppRef>,
    village_id: Option<&str>,
    status: Option<&str>,
    page: Option<u64>,
) -> AppResult<PermitsPage> {
    let bad = |e: &'static str| AppError::BadRequest(e.into());
    let village_id = parse_village(village_id).map_err(bad)?;
    let filter = parse_opt(status, PermitFilter::parse, "未知的准入证状态").map_err(bad)?;
    let (permits, total) = records::permits(
        st,
        &who.0,
        village_id,
        filter,
        Pager::index(page),
        Pager::PER_PAGE,
    )
    .await?;
    Ok(PermitsPage {
        page: page_ctx,
        permits,
        pager: Pager::new(page.unwrap_or(1), total),
        statuses: PermitFilter::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        status: filter.map(PermitFilter::as_str).unwrap_or(""),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "official/permit.html")]
pub struct OfficialPermitPage {
    page: Page,
    p: PermitView,
    reason: String,
    errors: FieldErrors,
}

impl OfficialPermitPage {
    fn is(&self, status: &str) -> bool {
        self.p.status == status
    }
}

#[get("/official/permits/<number>")]
pub async fn permit(
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    number: &str,
) -> AppResult<OfficialPermitPage> {
    let p = permit_view::get(st, &who.0, number).await?;
    Ok(OfficialPermitPage {
        page,
        p,
        reason: String::new(),
        errors: FieldErrors::new(),
    })
}

#[derive(FromForm, Default)]
pub struct StatusForm {
    reason: Option<String>,
    confirm: Option<String>,
}

#[post("/official/permits/<number>/<action>", data = "<form>")]
pub async fn change(
    _csrf: CsrfChecked,
    who: VillageOfficial,
    page: Page,
    st: &State<AppRef>,
    number: &str,
    action: &str,
    form: Form<StatusForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<OfficialPermitPage>)> {
    let action = match action {
        "suspend" => PermitAction::Suspend,
        "reinstate" => PermitAction::Reinstate,
        "revoke" => PermitAction::Revoke,
        _ => return Err((Status::NotFound, Err(AppError::not_found()))),
    };
    let reason = form.reason.clone().unwrap_or_default();
    // Revoking is final, so the form asks once more through a required checkbox.
    let result = if action == PermitAction::Revoke && form.confirm.as_deref() != Some("yes") {
        Err(AppError::field("confirm", "吊销后不能恢复，请勾选确认"))
    } else {
        permits::change_status(st, &who.0, number, action, &reason).await
    };
    match result {
        Ok(p) => Ok(Flash::success(
            Redirect::to(format!("/official/permits/{}", p.number)),
            format!("准入证已{}", action.label_zh()),
        )),
        Err(AppError::Validation(errors)) => {
            let view = permit_view::get(st, &who.0, number).await;
            Err((
                Status::UnprocessableEntity,
                view.map(|p| OfficialPermitPage {
                    page,
                    p,
                    reason,
                    errors,
                }),
            ))
        }
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/keys.html")]
pub struct KeysPage {
    page: Page,
    section: &'static str,
    keys: Vec<PublicKeyInfo>,
}

#[get("/admin/keys")]
pub async fn keys(_who: TownAdmin, page: Page, st: &State<AppRef>) -> AppResult<KeysPage> {
    let keys = st
        .keyring
        .read()
        .map_err(|_| AppError::internal("keyring lock poisoned"))?
        .public_keys();
    Ok(KeysPage {
        page,
        section: "keys",
        keys,
    })
}

#[derive(FromForm, Default)]
pub struct RotateForm {
    confirm: Option<String>,
}

/// Makes a new key current; older keys keep verifying certificates printed before.
#[post("/admin/keys/rotate", data = "<form>")]
pub async fn rotate_key(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    form: Form<RotateForm>,
) -> AppResult<Flash<Redirect>> {
    if form.confirm.as_deref() != Some("yes") {
        return Ok(Flash::error(
            Redirect::to("/admin/keys"),
            "请勾选确认后再更换签名密钥",
        ));
    }
    let id = crate::services::signatures::rotate_key(st, &who.0).await?;
    Ok(Flash::success(
        Redirect::to("/admin/keys"),
        format!("已启用新签名密钥 {id}；旧密钥继续用于核验已打印的证书"),
    ))
}
