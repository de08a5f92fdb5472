//! Permit applications: draft, declaration, documents, the safety pledge and submission, with a timeline.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::properties::{self, PropertyView};
use super::{Actor, audit};
use crate::db::WriteTx;
use crate::domain::application::ApplicationStatus;
use crate::domain::dates::zh_datetime;
use crate::domain::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use crate::domain::role::Role;
use crate::entities::{
    application, application_document, application_event, property, upload, user,
};
use crate::error::AppError;

/// What a document upload is for.
pub const DOC_KINDS: [(&str, &str); 2] =
    [("ownership_proof", "产权证明"), ("house_photo", "房屋照片")];

pub fn doc_kind_label(kind: &str) -> &'static str {
    DOC_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("其他材料")
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub status: String,
    pub status_label: String,
    pub actor_name: String,
    pub note: Option<String>,
    pub at: chrono::DateTime<Utc>,
    pub at_zh: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: i32,
    pub kind: String,
    pub kind_label: &'static str,
    pub upload_id: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    pub id: i32,
    #[schema(value_type = crate::domain::application::ApplicationStatus)]
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub owner_name: Option<String>,
    pub ownership_doc_no: Option<String>,
    pub intended_use: Option<String>,
    pub pledge_accepted_at: Option<chrono::DateTime<Utc>>,
    pub submitted_at: Option<chrono::DateTime<Utc>>,
    pub submitted_zh: Option<String>,
    pub reject_reason: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub property: PropertyView,
    pub documents: Vec<DocumentView>,
    pub history: Vec<EventView>,
    /// The permit issued on this application, once approved.
    pub permit_number: Option<String>,
}

/// Who may read an application: its landlord, the official of its village, the admin and API clients.
pub fn may_read(actor: &Actor, a: &application::Model) -> bool {
    match actor.role {
        Role::TownAdmin | Role::ApiClient => true,
        Role::VillageOfficial => actor.village_id == Some(a.village_id),
        Role::Landlord => a.landlord_id == actor.id,
        Role::Inspector => false,
    }
}

fn status_of(a: &application::Model) -> ApplicationStatus {
    ApplicationStatus::parse(&a.status).unwrap_or(ApplicationStatus::Draft)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn view_of<C: ConnectionTrait>(
    db: &C,
    a: application::Model,
) -> Result<ApplicationView, AppError> {
    let p = property::Entity::find_by_id(a.property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let property = properties::view_of(db, p).await?;
    let documents = application_document::Entity::find()
        .filter(application_document::Column::ApplicationId.eq(a.id))
        .order_by_asc(application_document::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|d| DocumentView {
            id: d.id,
            kind_label: doc_kind_label(&d.kind),
            kind: d.kind,
            upload_id: d.upload_id,
        })
        .collect();
    let events = application_event::Entity::find()
        .filter(application_event::Column::ApplicationId.eq(a.id))
        .order_by_asc(application_event::Column::Id)
        .all(db)
        .await?;
    // One query for everyone who acted on this application, not one per event.
    let actor_ids: Vec<i32> = events.iter().filter_map(|e| e.actor_id).collect();
    let names: std::collections::HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(actor_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut history = Vec::new();
    for e in events {
        let actor_name = match e.actor_id {
            Some(id) => names.get(&id).cloned().unwrap_or_default(),
            None => "系统".into(),
        };
        history.push(EventView {
            status_label: crate::domain::application::status_label(&e.status).to_string(),
            status: e.status,
            actor_name,
            note: e.note,
            at_zh: zh_datetime(&e.at),
            at: e.at,
        });
    }
    let permit_number = super::permit_view::of_application(db, a.id)
        .await?
        .map(|p| p.number);
    let s = status_of(&a);
    Ok(ApplicationView {
        permit_number,
        id: a.id,
        status: a.status.clone(),
        status_label: s.label_zh(),
        badge: s.badge(),
        owner_name: a.owner_name,
        ownership_doc_no: a.ownership_doc_no,
        intended_use: a.intended_use,
        pledge_accepted_at: a.pledge_accepted_at,
        submitted_zh: a.submitted_at.as_ref().map(zh_datetime),
        submitted_at: a.submitted_at,
        reject_reason: a.reject_reason,
        created_at: a.created_at,
        property,
        documents,
        history,
    })
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> Result<ApplicationView, AppError> {
    let a = application::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !may_read(actor, &a) {
        return Err(AppError::forbidden());
    }
    view_of(db, a).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicationRow {
    pub id: i32,
    #[schema(value_type = crate::domain::application::ApplicationStatus)]
    pub status: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub property_id: i32,
    pub address: String,
    pub updated_at: chrono::DateTime<Utc>,
    pub updated_zh: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ApplicationRow>, u64), AppError> {
    let mut q = application::Entity::find().order_by_desc(application::Column::UpdatedAt);
    q = super::scope_to_actor(
        q,
        actor,
        application::Column::LandlordId,
        application::Column::VillageId,
    )?;
    let pager = q.paginate(db, per_page);
    let total = pager.num_items().await?;
    let apps = pager.fetch_page(page).await?;
    Ok((rows_of(db, apps).await?, total))
}

/// List rows for a page of applications, their addresses in one query.
pub async fn rows_of<C: ConnectionTrait>(
    db: &C,
    apps: Vec<application::Model>,
) -> Result<Vec<ApplicationRow>, AppError> {
    let addresses: std::collections::HashMap<i32, String> = property::Entity::find()
        .filter(property::Column::Id.is_in(apps.iter().map(|a| a.property_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.address))
        .collect();
    let mut rows = Vec::new();
    for a in apps {
        let address = addresses.get(&a.property_id).cloned().unwrap_or_default();
        let s = status_of(&a);
        rows.push(ApplicationRow {
            id: a.id,
            status_label: s.label_zh(),
            badge: s.badge(),
            status: a.status,
            property_id: a.property_id,
            address,
            updated_zh: zh_datetime(&a.updated_at),
            updated_at: a.updated_at,
        });
    }
    Ok(rows)
}

#[tracing::instrument(level = "debug", skip_all, fields(app_id = app_id))]
pub async fn add_event<C: ConnectionTrait>(
    tx: &C,
    app_id: i32,
    status: ApplicationStatus,
    actor_id: Option<i32>,
    note: Option<String>,
) -> Result<(), AppError> {
    application_event::ActiveModel {
        application_id: Set(app_id),
        status: Set(status.as_str().into()),
        actor_id: Set(actor_id),
        note: Set(note),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// Loads an application for change by its own landlord, in the given transaction.
async fn own_for_change(
    tx: &WriteTx,
    actor: &Actor,
    id: i32,
) -> Result<application::Model, AppError> {
    let a = application::Entity::find_by_id(id)
        .one(tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if actor.role != Role::Landlord || a.landlord_id != actor.id {
        return Err(AppError::forbidden());
    }
    Ok(a)
}

/// A second open application for a house lost the race to the partial unique index: 409, as
/// when the service's own check sees the first.
pub(crate) fn one_open_per_house(e: sea_orm::DbErr) -> AppError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict("该房屋已有办理中的申请，请勿重复申请".into())
        }
        _ => e.into(),
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, property_id = property_id))]
pub async fn create_draft(
    db: &DatabaseConnection,
    actor: &Actor,
    property_id: i32,
) -> Result<ApplicationView, AppError> {
    if actor.role != Role::Landlord {
        return Err(AppError::Forbidden("只有房东可以申请准入证".into()));
    }
    let tx = crate::db::begin_write(db).await?;
    let p = property::Entity::find_by_id(property_id)
        .one(&tx)
        .await?
        .ok_or_else(|| AppError::field("property_id", "房屋不存在"))?;
    if p.landlord_id != actor.id {
        return Err(AppError::forbidden());
    }
    let open = application::Entity::find()
        .filter(application::Column::PropertyId.eq(property_id))
        .filter(application::Column::Status.is_in(ApplicationStatus::OPEN.map(|s| s.as_str())))
        .one(&tx)
        .await?;
    if let Some(open) = open {
        return Err(AppError::Conflict(format!(
            "该房屋已有办理中的申请（编号 {}），请勿重复申请",
            open.id
        )));
    }
    let now = Utc::now();
    let a = application::ActiveModel {
        property_id: Set(property_id),
        landlord_id: Set(actor.id),
        village_id: Set(p.village_id),
        status: Set(ApplicationStatus::Draft.as_str().into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .map_err(super::applications::one_open_per_house)?;
    add_event(
        &tx,
        a.id,
        ApplicationStatus::Draft,
        Some(actor.id),
        Some("创建申请".into()),
    )
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "application.create",
        "application",
        a.id,
        serde_json::json!({"property_id": property_id}),
    )
    .await?;
    let a = super::application_drafts::prefill(&tx, &a)
        .await?
        .unwrap_or(a);
    let v = view_of(&tx, a).await?;
    tx.commit().await?;
    Ok(v)
}

/// The declaration (申报表) a landlord fills in before submitting.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub owner_name: String,
    pub ownership_doc_no: String,
    pub intended_use: String,
}

impl Declaration {
    pub fn parse(
        owner_name: &str,
        doc_no: &str,
        intended_use: &str,
    ) -> Result<Declaration, FieldErrors> {
        let mut e = FieldErrors::new();
        let owner = crate::domain::account::PersonName::parse(owner_name)
            .map_err(|m| e.add("owner_name", m.replace("姓名", "产权人姓名")))
            .ok();
        let doc = doc_no.trim();
        if has_control(doc, false) {
            e.add("ownership_doc_no", CONTROL_CHARACTER);
        } else if doc.is_empty() {
            e.add("ownership_doc_no", "请填写不动产权证号或其他产权证明编号");
        } else if doc.chars().count() > 64 {
            e.add("ownership_doc_no", "证号不能超过 64 个字");
        }
        let usage = intended_use.trim();
        if has_control(usage, true) {
            e.add("intended_use", CONTROL_CHARACTER);
        } else if usage.chars().count() > 200 {
            e.add("intended_use", "出租说明不能超过 200 个字");
        }
        match owner {
            Some(o) if e.is_empty() => Ok(Declaration {
                owner_name: o.as_str().into(),
                ownership_doc_no: doc.into(),
                intended_use: usage.into(),
            }),
            _ => Err(e),
        }
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn save_declaration(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    d: Declaration,
) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let a = own_for_change(&tx, actor, id).await?;
    if !status_of(&a).is_editable() {
        return Err(AppError::Conflict("申请已提交，不能再修改".into()));
    }
    let mut am: application::ActiveModel = a.into();
    am.owner_name = Set(Some(d.owner_name));
    am.ownership_doc_no = Set(Some(d.ownership_doc_no));
    am.intended_use = Set(Some(d.intended_use));
    am.updated_at = Set(Utc::now());
    am.update(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "application.declare",
        "application",
        id,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn attach_document(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    kind: &str,
    upload_id: &str,
) -> Result<(), AppError> {
    if !DOC_KINDS.iter().any(|(k, _)| *k == kind) {
        return Err(AppError::field("kind", "材料类型无效"));
    }
    if has_control(upload_id, false) {
        return Err(AppError::field("photo_id", CONTROL_CHARACTER));
    }
    let tx = crate::db::begin_write(db).await?;
    let a = own_for_change(&tx, actor, id).await?;
    if !status_of(&a).is_editable() {
        return Err(AppError::Conflict("申请已提交，不能再修改材料".into()));
    }
    match upload::Entity::find_by_id(upload_id.to_string())
        .one(&tx)
        .await?
    {
        Some(u) if u.uploaded_by == actor.id => {}
        Some(_) => return Err(AppError::forbidden()),
        None => return Err(AppError::field("photo_id", "照片不存在，请重新上传")),
    }
    let d = application_document::ActiveModel {
        application_id: Set(id),
        upload_id: Set(upload_id.into()),
        kind: Set(kind.into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "application.attach",
        "application",
        id,
        serde_json::json!({"document": d.id, "kind": kind}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id, doc_id = doc_id))]
pub async fn remove_document(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    doc_id: i32,
) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let a = own_for_change(&tx, actor, id).await?;
    if !status_of(&a).is_editable() {
        return Err(AppError::Conflict("申请已提交，不能再修改材料".into()));
    }
    let res = application_document::Entity::delete_many()
        .filter(application_document::Column::Id.eq(doc_id))
        .filter(application_document::Column::ApplicationId.eq(id))
        .exec(&tx)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::not_found());
    }
    audit::record(
        &tx,
        Some(actor.id),
        "application.detach",
        "application",
        id,
        serde_json::json!({"document": doc_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Submits a complete draft: declaration filled, ownership proof and a house photo attached, pledge accepted.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn submit(
    db: &DatabaseConnection,
    policy: &super::inspections::TaskPolicy,
    actor: &Actor,
    id: i32,
    pledge_accepted: bool,
) -> Result<ApplicationView, AppError> {
    let tx = crate::db::begin_write(db).await?;
    let a = own_for_change(&tx, actor, id).await?;
    if !status_of(&a).can_move_to(ApplicationStatus::Submitted) {
        return Err(AppError::Conflict(format!(
            "申请当前状态为「{}」，不能提交",
            status_of(&a).label_zh()
        )));
    }
    let docs = application_document::Entity::find()
        .filter(application_document::Column::ApplicationId.eq(id))
        .all(&tx)
        .await?;
    let mut e = FieldErrors::new();
    if a.owner_name.is_none() {
        e.add("declaration", "请先填写并保存申报信息");
    }
    if !docs.iter().any(|d| d.kind == "ownership_proof") {
        e.add("ownership_proof", "请上传产权证明");
    }
    if !docs.iter().any(|d| d.kind == "house_photo") {
        e.add("house_photo", "请至少上传一张房屋照片");
    }
    if !pledge_accepted {
        e.add("pledge_accepted", "请阅读并同意《安全责任承诺书》");
    }
    e.into_result()?;
    let now = policy.clock.now();
    let mut am: application::ActiveModel = a.into();
    am.status = Set(ApplicationStatus::Submitted.as_str().into());
    am.pledge_accepted_at = Set(Some(now));
    am.submitted_at = Set(Some(now));
    am.updated_at = Set(now);
    let a = am.update(&tx).await?;
    add_event(
        &tx,
        id,
        ApplicationStatus::Submitted,
        Some(actor.id),
        Some("已签署安全责任承诺书并提交申请".into()),
    )
    .await?;
    audit::record(
        &tx,
        Some(actor.id),
        "application.submit",
        "application",
        id,
        serde_json::json!({"pledge_accepted_at": now}),
    )
    .await?;
    let house = super::events::house_facts(&tx, a.property_id).await?;
    let data = serde_json::json!({"application_id": id, "property_id": house.property_id, "address": house.address,
        "village": house.village, "village_id": house.village_id, "grid_id": house.grid_id});
    let ev = super::events::NewEvent::about(
        crate::domain::event::EventKind::ApplicationSubmitted,
        &house,
        data,
    );
    super::events::record(&tx, now, ev).await?;
    super::inspections::tasks::create_initial(&tx, &a, policy).await?;
    let v = view_of(&tx, a).await?;
    tx.commit().await?;
    Ok(v)
}
