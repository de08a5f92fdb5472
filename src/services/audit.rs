//! The append-only, hash-chained audit log: every state change writes one entry in its own transaction.
use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, QueryOrder, QuerySelect, Set,
    Statement,
};
use sha2::{Digest, Sha256};

use crate::entities::audit_entry;
use crate::error::AppError;

/// Appends an entry chained to the previous one. Call it inside the transaction that makes the change,
/// so the change and its record commit or vanish together.
pub async fn record<C: ConnectionTrait>(
    tx: &C,
    actor_id: Option<i32>,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    if tx.get_database_backend() == DbBackend::Postgres {
        // Two writers must not both read the same tail and fork the chain.
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(727275)",
        ))
        .await?;
    }
    let prev_hash = audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Id)
        .limit(1)
        .one(tx)
        .await?
        .map(|e| e.hash)
        .unwrap_or_else(|| "0".repeat(64));
    // PostgreSQL keeps microseconds; hashing more precision than is stored would break verification.
    let at = Utc::now().trunc_subsecs(6);
    let entity_id = entity_id.to_string();
    let detail = detail.to_string();
    let hash = chain_hash(
        &prev_hash,
        &at.to_rfc3339(),
        actor_id,
        action,
        entity,
        &entity_id,
        &detail,
    );
    audit_entry::ActiveModel {
        at: Set(at),
        actor_id: Set(actor_id),
        action: Set(action.to_string()),
        entity: Set(entity.to_string()),
        entity_id: Set(entity_id),
        detail: Set(detail),
        prev_hash: Set(prev_hash),
        hash: Set(hash),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
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
pub async fn verify_chain<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, AppError> {
    let mut prev = "0".repeat(64);
    for e in audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .all(db)
        .await?
    {
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
        prev = e.hash;
    }
    Ok(None)
}
