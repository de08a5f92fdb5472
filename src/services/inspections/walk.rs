//! What the walk page starts from and the shortcuts it offers: the saved draft or the last
//! inspection's answers carried over, "all the rest passed", and the evidence a re-inspection
//! looks at.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::findings::{FindingView, views_of};
use super::json_list;
use super::previous::{carries_over, previous_of};
use super::submit::{DraftAnswer, draft_of};
use super::tasks::may_work;
use crate::domain::checklist::{AnswerResult, Checklist, ChecklistRegistry, Item, ItemKind};
use crate::domain::inspection::finding_status;
use crate::entities::{finding, inspection_task as task};
use crate::error::AppError;
use crate::services::Actor;

/// The answers a walk opens with: the saved draft, else (for a routine patrol or a
/// re-inspection) the previous inspection's answers marked as carried over. Photos are not
/// carried: they show the house as it was, and a finding needs today's.
#[tracing::instrument(level = "debug", skip_all, fields(task_id = t.id))]
pub async fn opening_answers(
    db: &DatabaseConnection,
    t: &task::Model,
) -> Result<Vec<DraftAnswer>, AppError> {
    let draft = draft_of(t);
    if !draft.is_empty() || !carries_over(&t.kind) {
        return Ok(draft);
    }
    let scope = t.items.as_deref().map(|i| json_list(Some(i)));
    Ok(previous_of(db, t)
        .await?
        .answers
        .into_iter()
        .filter(|a| scope.as_ref().is_none_or(|s| s.contains(&a.item)))
        .map(|a| DraftAnswer {
            item: a.item,
            result: Some(a.result),
            value: a.value,
            note: a.note,
            photo_ids: Vec::new(),
            carried: true,
        })
        .collect())
}

/// Whether an item can be passed without looking at it more closely: a number or a choice
/// passes only by its value, so those must be filled in one by one.
fn passable_in_bulk(item: &Item) -> bool {
    matches!(item.kind, ItemKind::PassFail | ItemKind::Text)
}

/// Marks every unanswered item among `items` as passed ("本节全部合格" / "其余全部合格").
/// Answered items, failed ones among them, stay as they are. Returns how many were marked.
pub fn pass_unanswered<'a>(
    items: impl Iterator<Item = &'a Item>,
    answers: &mut Vec<DraftAnswer>,
) -> usize {
    let mut n = 0;
    for item in items.filter(|i| passable_in_bulk(i)) {
        match answers.iter_mut().find(|a| a.item == item.key) {
            Some(a) if a.result.is_some() || a.value.is_some() => {}
            Some(a) => {
                a.result = Some(AnswerResult::Pass);
                n += 1;
            }
            None => {
                answers.push(DraftAnswer {
                    item: item.key.clone(),
                    result: Some(AnswerResult::Pass),
                    ..Default::default()
                });
                n += 1;
            }
        }
    }
    n
}

/// The items of `c` a bulk pass covers: one section (by key) or, without one, all in scope.
pub fn bulk_scope<'a>(
    c: &'a Checklist,
    section: Option<&'a str>,
    scope: Option<&'a [String]>,
) -> impl Iterator<Item = &'a Item> + 'a {
    c.sections
        .iter()
        .filter(move |s| section.is_none_or(|k| s.key == k))
        .flat_map(|s| s.items.iter())
        .filter(move |i| scope.is_none_or(|keys| keys.contains(&i.key)))
}

/// For a re-inspection: the open findings it looks at again, with the landlord's fix report,
/// so the inspector sees before and after side by side.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, task_id = t.id))]
pub async fn evidence(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    actor: &Actor,
    t: &task::Model,
    now: DateTime<Utc>,
) -> Result<Vec<FindingView>, AppError> {
    let Some(items) = t.items.as_deref().map(|i| json_list(Some(i))) else {
        return Ok(Vec::new());
    };
    if !may_work(db, actor, t).await? {
        return Err(AppError::Forbidden("这不是您负责网格的任务".into()));
    }
    let list = finding::Entity::find()
        .filter(finding::Column::PropertyId.eq(t.property_id))
        .filter(finding::Column::Status.ne(finding_status::CLOSED))
        .filter(finding::Column::ItemKey.is_in(items))
        .order_by_asc(finding::Column::Id)
        .all(db)
        .await?;
    views_of(db, reg, list, now).await
}
