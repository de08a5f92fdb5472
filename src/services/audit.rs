//! The append-only, hash-chained audit log: every state change writes one entry in its own transaction.
use chrono::{SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, UnionType};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use super::changes::{self, Change};
use super::events::Wake;
use crate::entities::audit_entry;
use crate::error::AppError;

/// Appends an entry chained to the previous one. Call it inside the transaction that makes the change,
/// so the change and its record commit or vanish together.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record<C: ConnectionTrait>(
    tx: &C,
    actor_id: Option<i32>,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let entity_id = entity_id.to_string();
    let change = Change::of_audit(entity, &entity_id);
    let entry = Entry {
        actor_id,
        action,
        entity,
        entity_id,
        detail,
    };
    record_many_announcing(tx, change, None, vec![entry]).await
}

/// The hash of the entry this process appended last (any database: a wrong guess only costs
/// the read it was meant to save).
static LAST_WRITTEN: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn last_written() -> Option<String> {
    LAST_WRITTEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn remember(hash: String) {
    *LAST_WRITTEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hash);
}

/// `INSERT … SELECT … WHERE (the tail's hash) = prev UNION ALL …`: writes `rows` (chained in
/// order from `prev`) only if they chain to the current tail; false when the guess was stale
/// (another process or instance wrote since). Every branch reads the tail as the statement
/// began, and the rows take their ids in the branches' order.
async fn insert_if_tail_is<C: ConnectionTrait>(
    tx: &C,
    rows: &[audit_entry::ActiveModel],
    prev: &str,
) -> Result<bool, AppError> {
    use audit_entry::Column as A;
    let cols = [
        A::At,
        A::ActorId,
        A::Action,
        A::Entity,
        A::EntityId,
        A::Detail,
        A::PrevHash,
        A::Hash,
    ];
    let mut branches = Vec::with_capacity(rows.len());
    for row in rows {
        let mut tail = Query::select();
        tail.column(A::Hash)
            .from(audit_entry::Entity)
            .order_by(A::Id, Order::Desc)
            .limit(1);
        let mut values = Query::select();
        for c in cols {
            let v = match row.get(c) {
                sea_orm::ActiveValue::Set(v) | sea_orm::ActiveValue::Unchanged(v) => v,
                sea_orm::ActiveValue::NotSet => {
                    return Err(AppError::internal("audit entry field"));
                }
            };
            values.expr(Expr::val(v));
        }
        values.and_where(Expr::from(tail).eq(prev));
        branches.push(values);
    }
    let mut branches = branches.into_iter();
    let Some(mut select) = branches.next() else {
        return Ok(true);
    };
    select.unions(branches.map(|b| (UnionType::All, b)));
    let mut q = Query::insert();
    q.into_table(audit_entry::Entity)
        .columns(cols)
        .select_from(select)
        .map_err(AppError::internal)?;
    Ok(tx.execute(&q).await?.rows_affected() == rows.len() as u64)
}

/// One entry for [`record_many`].
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor_id: Option<i32>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub detail: serde_json::Value,
}

/// Appends several entries, chained in order exactly as one [`record`] each would chain them,
/// reading the tail once and inserting them together: a bulk job's rows cost one round trip.
#[tracing::instrument(level = "debug", skip_all, fields(n = entries.len()))]
pub async fn record_many<C: ConnectionTrait>(
    tx: &C,
    entries: Vec<Entry<'_>>,
) -> Result<(), AppError> {
    // A batch (an import's) may touch many permits and their stays: everything is read again.
    record_many_announcing(tx, Change::Everything, None, entries).await
}

/// [`record_many`] for entries that together make `change` (stays registered together on one
/// permit change its figures, or the permit when an occupant moved in), carrying the outbox's
/// `wake` for events written earlier in `tx` in the same round trip as the chain's lock.
#[tracing::instrument(level = "debug", skip_all, fields(n = entries.len()))]
pub async fn record_many_announcing<C: ConnectionTrait>(
    tx: &C,
    change: Change,
    wake: Option<Wake>,
    entries: Vec<Entry<'_>>,
) -> Result<(), AppError> {
    if entries.is_empty() {
        // Nothing to chain, but the events' wake-up is still owed.
        if let Some(w) = wake {
            w.send(tx).await?;
        }
        return Ok(());
    }
    lock_chain(tx, change, wake).await?;
    let at = Utc::now().trunc_subsecs(6);
    // The tail is usually the entry this process wrote last: the insert then checks that itself
    // instead of reading the tail first (a round trip less inside every writer's turn).
    if entries.len() <= GUESS_MOST
        && let Some(guess) = last_written()
    {
        let (rows, last) = chained(guess.clone(), at, &entries);
        if insert_if_tail_is(tx, &rows, &guess).await? {
            remember(last);
            return Ok(());
        }
    }
    let (rows, last) = chained(chain_tail(tx).await?, at, &entries);
    // Ids follow insertion order within one statement, so the chain reads back in order. No ids
    // are read back: SQLite's writer connection (db::direct) reads no 64-bit column.
    for chunk in rows.chunks(500) {
        audit_entry::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(tx)
            .await?;
    }
    remember(last);
    Ok(())
}

/// Most entries appended on a guessed tail: one `UNION ALL` branch each (SQLite allows 500).
const GUESS_MOST: usize = 64;

/// The rows of `entries` chained in order from `prev_hash`, and the last one's hash.
fn chained(
    mut prev_hash: String,
    at: chrono::DateTime<Utc>,
    entries: &[Entry<'_>],
) -> (Vec<audit_entry::ActiveModel>, String) {
    let stamp = at.to_rfc3339();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let detail = e.detail.to_string();
        let hash = chain_hash(
            &prev_hash,
            &stamp,
            e.actor_id,
            e.action,
            e.entity,
            &e.entity_id,
            &detail,
        );
        rows.push(audit_entry::ActiveModel {
            at: Set(at),
            actor_id: Set(e.actor_id),
            action: Set(e.action.to_string()),
            entity: Set(e.entity.to_string()),
            entity_id: Set(e.entity_id.clone()),
            detail: Set(detail),
            prev_hash: Set(std::mem::replace(&mut prev_hash, hash.clone())),
            hash: Set(hash),
            ..Default::default()
        });
    }
    (rows, prev_hash)
}

/// Takes the chain's lock and announces `change`. On PostgreSQL two writers must not both read
/// the same tail and fork the chain; the same round trip tells the other instances (on commit)
/// that something changed, and carries the outbox's `wake` if one is owed. SQLite's writers are
/// one at a time already.
async fn lock_chain<C: ConnectionTrait>(
    tx: &C,
    change: Change,
    wake: Option<Wake>,
) -> Result<(), AppError> {
    changes::announce_local(change);
    if tx.get_database_backend() == DbBackend::Postgres {
        let mut prefix = String::from("pg_advisory_xact_lock(727275),");
        if let Some(w) = wake {
            prefix.push_str(&w.select_item());
            prefix.push(',');
        }
        tx.execute_raw(changes::notify_statement(change, &prefix))
            .await?;
    }
    Ok(())
}

/// The hash the next entry chains to; the caller holds the chain's lock.
async fn chain_tail<C: ConnectionTrait>(tx: &C) -> Result<String, AppError> {
    Ok(audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::Hash)
        .order_by_desc(audit_entry::Column::Id)
        .limit(1)
        .into_tuple::<String>()
        .one(tx)
        .await?
        .unwrap_or_else(|| "0".repeat(64)))
}

pub fn chain_hash(
    prev: &str,
    at: &str,
    actor_id: Option<i32>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        at,
        &actor_id.map(|a| a.to_string()).unwrap_or_default(),
        action,
        entity,
        entity_id,
        detail,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Recomputes the chain and returns the id of the first entry that does not fit, if any.
/// Reads in batches so a long log is never held in memory at once.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify_chain<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, AppError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut prev = "0".repeat(64);
    let mut after = 0i64;
    loop {
        let batch = audit_entry::Entity::find()
            .filter(audit_entry::Column::Id.gt(after))
            .order_by_asc(audit_entry::Column::Id)
            .limit(2000)
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(None);
        }
        for e in batch {
            let expect = chain_hash(
                &prev,
                &e.at.to_rfc3339(),
                e.actor_id,
                &e.action,
                &e.entity,
                &e.entity_id,
                &e.detail,
            );
            if e.prev_hash != prev || e.hash != expect {
                return Ok(Some(e.id));
            }
            after = e.id;
            prev = e.hash;
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at_zh: String,
    pub actor: String,
    pub action: String,
    pub record: String,
    pub detail: String,
}

/// One page of the audit log, newest first, for the town admin.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn page(
    db: &sea_orm::DatabaseConnection,
    actor: &super::Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<AuditRow>, u64), AppError> {
    use sea_orm::PaginatorTrait;
    if actor.role != crate::domain::role::Role::TownAdmin {
        return Err(AppError::forbidden());
    }
    let pager = audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Id)
        .paginate(db, per_page);
    let total = pager.num_items().await?;
    let entries = pager.fetch_page(page).await?;
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let actor = match e.actor_id {
            Some(id) => crate::entities::user::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|u| format!("{} ({})", u.name, u.phone))
                .unwrap_or_else(|| format!("#{id}")),
            None => "系统".into(),
        };
        rows.push(AuditRow {
            id: e.id,
            at_zh: crate::domain::dates::zh_datetime(&e.at),
            actor,
            action: e.action,
            record: format!("{} #{}", e.entity, e.entity_id),
            detail: e.detail,
        });
    }
    Ok((rows, total))
}
