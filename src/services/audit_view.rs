//! The audit log as the town admin reads it: in Chinese, filtered by person, action and date,
//! naming the person whose document number was revealed (looked up now, so a wiped stay no
//! longer names anyone).
use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::Actor;
use crate::domain::audit_labels::{action_label, entity_label};
use crate::domain::clock::town_day_start;
use crate::domain::dates::zh_datetime;
use crate::domain::role::Role;
use crate::entities::{audit_entry, stay, user};
use crate::error::AppError;

/// The log's filters as typed; empty means "any".
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A name fragment or a whole phone number of whoever acted.
    pub person: String,
    pub action: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditLine {
    pub id: i64,
    pub at_zh: String,
    pub actor: String,
    pub action: String,
    pub action_label: String,
    pub record: String,
    /// For a revealed document number: whose it was.
    pub subject: Option<String>,
}

/// One page of the filtered log, newest first.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn page(
    db: &DatabaseConnection,
    actor: &Actor,
    f: &AuditFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<AuditLine>, u64), AppError> {
    if actor.role != Role::TownAdmin {
        return Err(AppError::forbidden());
    }
    let mut q = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
    let person = f.person.trim();
    if !person.is_empty() {
        let ids: Vec<i32> = user::Entity::find()
            .filter(
                Condition::any()
                    .add(user::Column::Phone.eq(person))
                    .add(user::Column::Name.contains(person)),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        q = q.filter(audit_entry::Column::ActorId.is_in(ids));
    }
    if !f.action.trim().is_empty() {
        q = q.filter(audit_entry::Column::Action.eq(f.action.trim()));
    }
    if let Some(d) = f.from {
        q = q.filter(audit_entry::Column::At.gte(town_day_start(d)));
    }
    if let Some(d) = f.to {
        q = q.filter(audit_entry::Column::At.lt(town_day_start(d) + Duration::days(1)));
    }
    let pager = q.paginate(db, per_page);
    let total = pager.num_items().await?;
    let entries = pager.fetch_page(page).await?;
    let users: HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(entries.iter().filter_map(|e| e.actor_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, format!("{}（{}）", u.name, u.phone)))
        .collect();
    let revealed: Vec<i32> = entries
        .iter()
        .filter(|e| e.action == "stay.reveal_doc")
        .filter_map(|e| e.entity_id.parse().ok())
        .collect();
    let names: HashMap<i32, Option<String>> = stay::Entity::find()
        .filter(stay::Column::Id.is_in(revealed))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let lines = entries
        .into_iter()
        .map(|e| {
            let subject = (e.action == "stay.reveal_doc").then(|| {
                e.entity_id
                    .parse()
                    .ok()
                    .and_then(|id| names.get(&id).cloned().flatten())
                    .unwrap_or_else(|| "（个人信息已删除）".into())
            });
            AuditLine {
                id: e.id,
                at_zh: zh_datetime(&e.at),
                actor: match e.actor_id {
                    Some(id) => users.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                    None => "系统".into(),
                },
                action_label: action_label(&e.action).to_string(),
                action: e.action,
                record: format!("{} #{}", entity_label(&e.entity), e.entity_id),
                subject,
            }
        })
        .collect();
    Ok((lines, total))
}
