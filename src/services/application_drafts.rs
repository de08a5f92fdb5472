//! Draft applications beyond filling them in: a new draft starts from the house's last
//! application (declaration and documents), and a draft the landlord no longer wants is deleted.
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use super::{Actor, audit};
use crate::domain::application::ApplicationStatus;
use crate::domain::role::Role;
use crate::entities::{application, application_document, application_event, permit};
use crate::error::AppError;

/// Inside the transaction that creates draft `new`: copies the declaration and the documents of
/// the house's previous application, so a renewal or a second try does not start from nothing.
pub async fn prefill<C: ConnectionTrait>(
    tx: &C,
    new: &application::Model,
) -> Result<Option<application::Model>, AppError> {
    let Some(last) = application::Entity::find()
        .filter(application::Column::PropertyId.eq(new.property_id))
        .filter(application::Column::Id.ne(new.id))
        .order_by_desc(application::Column::Id)
        .one(tx)
        .await?
    else {
        return Ok(None);
    };
    let docs = application_document::Entity::find()
        .filter(application_document::Column::ApplicationId.eq(last.id))
        .order_by_asc(application_document::Column::Id)
        .all(tx)
        .await?;
    for d in docs {
        application_document::ActiveModel {
            application_id: Set(new.id),
            upload_id: Set(d.upload_id),
            kind: Set(d.kind),
            created_at: Set(new.created_at),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    let mut am: application::ActiveModel = new.clone().into();
    am.owner_name = Set(last.owner_name.clone());
    am.ownership_doc_no = Set(last.ownership_doc_no.clone());
    am.intended_use = Set(last.intended_use.clone());
    Ok(Some(am.update(tx).await?))
}

/// Deletes one of the landlord's drafts with its documents and history; a renewal draft frees
/// its permit for another renewal. Anything past draft is part of the record and stays.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id = id))]
pub async fn delete_draft(db: &DatabaseConnection, actor: &Actor, id: i32) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let a = application::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    if actor.role != Role::Landlord || a.landlord_id != actor.id {
        return Err(AppError::forbidden());
    }
    if a.status != ApplicationStatus::Draft.as_str() {
        return Err(AppError::Conflict(
            "只有尚未提交的草稿可以删除；已提交的申请会保留记录".into(),
        ));
    }
    application_document::Entity::delete_many()
        .filter(application_document::Column::ApplicationId.eq(id))
        .exec(&tx)
        .await?;
    application_event::Entity::delete_many()
        .filter(application_event::Column::ApplicationId.eq(id))
        .exec(&tx)
        .await?;
    permit::Entity::update_many()
        .col_expr(
            permit::Column::RenewedByApplicationId,
            Option::<i32>::None.into(),
        )
        .filter(permit::Column::RenewedByApplicationId.eq(id))
        .exec(&tx)
        .await?;
    application::Entity::delete_by_id(id).exec(&tx).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "application.delete_draft",
        "application",
        id,
        serde_json::json!({"property_id": a.property_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
