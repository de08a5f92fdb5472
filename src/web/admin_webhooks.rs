//! The town admin's webhook pages: subscribe the grid platform to events (the secret shown once),
//! see each delivery's attempts, send a failed one again, delete a subscription after asking.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::{Form, FromForm};
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::guards::{CsrfChecked, TownAdmin};
use super::pages::{Page, Pager};
use crate::AppRef;
use crate::domain::event::EventKind;
use crate::domain::fields::FieldErrors;
use crate::entities::delivery_attempt;
use crate::error::{AppError, AppResult};
use crate::services::events::webhooks::{self, DeliveryView, RawSubscription, SubscriptionView};

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhooks.html")]
pub struct WebhooksPage {
    page: Page,
    subs: Vec<SubscriptionView>,
    kinds: Vec<(&'static str, &'static str)>,
    form: WebhookForm,
    errors: FieldErrors,
    /// The new subscription's secret, on the page that follows its creation only.
    created: Option<(i32, String)>,
    allow_private: bool,
}

#[derive(Debug, Clone, Default, FromForm)]
pub struct WebhookForm {
    #[field(default = String::new())]
    url: String,
    events: Vec<String>,
    #[field(default = String::new())]
    description: String,
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    EventKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label_zh()))
        .collect()
}

#[get("/admin/webhooks")]
pub async fn list(who: TownAdmin, page: Page, st: &State<AppRef>) -> AppResult<WebhooksPage> {
    let subs = webhooks::list(&st.db, &who.0).await?;
    Ok(WebhooksPage {
        page,
        subs,
        kinds: kinds(),
        form: WebhookForm {
            events: EventKind::ALL
                .iter()
                .map(|k| k.as_str().to_string())
                .collect(),
            ..Default::default()
        },
        errors: FieldErrors::new(),
        created: None,
        allow_private: st.config.webhook_allow_private,
    })
}

#[post("/admin/webhooks", data = "<form>")]
pub async fn create(
    _csrf: CsrfChecked,
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    form: Form<WebhookForm>,
) -> AppResult<WebhooksPage> {
    let form = form.into_inner();
    let raw = RawSubscription {
        url: form.url.clone(),
        events: form.events.clone(),
        description: Some(form.description.clone()),
    };
    let now = st.config.clock.now();
    let (created, errors, form) = match webhooks::create(
        &st.db,
        &st.pii,
        &who.0,
        raw,
        st.config.webhook_allow_private,
        now,
    )
    .await
    {
        Ok((s, secret)) => (
            Some((s.id, secret)),
            FieldErrors::new(),
            <WebhookForm as Default>::default(),
        ),
        Err(AppError::Validation(e)) => (None, e, form),
        Err(e) => return Err(e),
    };
    let subs = webhooks::list(&st.db, &who.0).await?;
    Ok(WebhooksPage {
        page,
        subs,
        kinds: kinds(),
        form,
        errors,
        created,
        allow_private: st.config.webhook_allow_private,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhook.html")]
pub struct DeliveriesPage {
    page: Page,
    sub: SubscriptionView,
    deliveries: Vec<(DeliveryView, Vec<delivery_attempt::Model>)>,
    pager: Pager,
    pager_url: String,
}

#[get("/admin/webhooks/<id>?<page>")]
pub async fn deliveries(
    who: TownAdmin,
    view: Page,
    st: &State<AppRef>,
    id: i32,
    page: Option<u64>,
) -> AppResult<DeliveriesPage> {
    let index = Pager::index(page);
    let (sub, list, total) = webhooks::deliveries(&st.db, &who.0, id, index).await?;
    let mut attempts =
        webhooks::attempts_of(&st.db, &who.0, list.iter().map(|d| d.id).collect()).await?;
    let deliveries = list
        .into_iter()
        .map(|d| {
            let a = attempts.remove(&d.id).unwrap_or_default();
            (d, a)
        })
        .collect();
    let pager_url = format!("/admin/webhooks/{id}?page=");
    Ok(DeliveriesPage {
        page: view,
        sub,
        deliveries,
        pager: Pager::sized(index + 1, total, 50),
        pager_url,
    })
}

#[post("/admin/webhooks/<id>/deliveries/<delivery_id>/retry")]
pub async fn retry(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    delivery_id: i32,
) -> AppResult<Flash<Redirect>> {
    webhooks::retry(&st.db, &who.0, id, delivery_id, st.config.clock.now()).await?;
    Ok(Flash::success(
        Redirect::to(format!("/admin/webhooks/{id}")),
        "已重新加入发送队列",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhook_delete.html")]
pub struct DeletePage {
    page: Page,
    sub: SubscriptionView,
}

/// Asks before deleting: deliveries still waiting are given up.
#[get("/admin/webhooks/<id>/delete")]
pub async fn confirm_delete(
    who: TownAdmin,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<DeletePage> {
    let (sub, _, _) = webhooks::deliveries(&st.db, &who.0, id, 0).await?;
    Ok(DeletePage { page, sub })
}

#[post("/admin/webhooks/<id>/delete")]
pub async fn delete(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<Flash<Redirect>> {
    webhooks::delete(&st.db, &who.0, id).await?;
    Ok(Flash::success(
        Redirect::to("/admin/webhooks"),
        "已删除该订阅",
    ))
}
