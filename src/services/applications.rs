//! Permit applications: draft, declaration, documents, the safety pledge and submission, with a
//! timeline. Reading them lives in `application_view`.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};

use super::application_view::status_of;
pub use super::application_view::{
    ApplicationRow, ApplicationView, DOC_KINDS, DocumentView, EventView, doc_kind_label, get, list,
    may_read, rows_of, view_of,
};
use super::{Actor, audit};
use crate::db::WriteTx;
use crate::domain::application::ApplicationStatus;
use crate::domain::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use crate::domain::role::Role;
use crate::entities::{application, application_document, application_event, property, upload};
use crate::error::AppError;

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
