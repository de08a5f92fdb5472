//! The one check of a permit's QR signature, shared by public verification and check-in: a token
//! naming a key this instance has not loaded may come from a key rotated in by another instance
//! or the CLI, so the key directory is read again once before the token is refused.
use std::sync::RwLock;

use super::{Actor, audit};
use crate::AppState;
use crate::crypto::signing::{PermitKeyring, PermitSigningFields};
use crate::domain::role::Role;
use crate::error::AppError;

/// Whether `sig` is a good signature of `fields` under any key of the keyring (after one reload
/// when it names an unknown key). An empty token is never good.
pub fn verify_qr(
    keyring: &RwLock<PermitKeyring>,
    fields: &PermitSigningFields,
    sig: &str,
) -> Result<bool, AppError> {
    verify_signed(keyring, &fields.canonical_message(), sig)
}

/// [`verify_qr`] for any signed document's canonical message (residence proofs too).
pub fn verify_signed(
    keyring: &RwLock<PermitKeyring>,
    message: &str,
    sig: &str,
) -> Result<bool, AppError> {
    fn poisoned<T>(_: T) -> AppError {
        AppError::internal("keyring lock poisoned")
    }
    if sig.is_empty() {
        return Ok(false);
    }
    let (ok, known) = {
        let ring = keyring.read().map_err(poisoned)?;
        let key_id = sig.split_once('.').map(|(k, _)| k).unwrap_or("");
        (
            ring.verify_message(message, sig),
            ring.public_keys().iter().any(|k| k.key_id == key_id),
        )
    };
    if ok || known || !sig.contains('.') {
        return Ok(ok);
    }
    let mut ring = keyring.write().map_err(poisoned)?;
    ring.reload().map_err(AppError::internal)?;
    Ok(ring.verify_message(message, sig))
}

/// Makes a new signing key current (the town admin only) and records who did it; older keys
/// keep verifying certificates printed before. Returns the new key's id.
#[tracing::instrument(level = "debug", skip(st, actor), fields(actor = actor.id))]
pub async fn rotate_key(st: &AppState, actor: &Actor) -> Result<String, AppError> {
    if actor.role != Role::TownAdmin {
        return Err(AppError::Forbidden("只有镇管理员可以更换签名密钥".into()));
    }
    let id = st
        .keyring
        .write()
        .map_err(|_| AppError::internal("keyring lock poisoned"))?
        .rotate()
        .map_err(AppError::internal)?;
    let tx = crate::db::begin_write(&st.db).await?;
    audit::record(
        &tx,
        Some(actor.id),
        "signing_key.rotate",
        "signing_key",
        &id,
        serde_json::json!({"key_id": id}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
