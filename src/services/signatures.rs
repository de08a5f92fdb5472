//! The one check of a permit's QR signature, shared by public verification and check-in: a token
//! naming a key this instance has not loaded may come from a key rotated in by another instance
//! or the CLI, so the ring is refreshed once before the token is refused.
use super::{Actor, audit};
use crate::AppState;
use crate::crypto::shared::SharedKeyring;
use crate::crypto::signing::PermitSigningFields;
use crate::domain::role::Role;
use crate::error::AppError;

fn poisoned<T>(_: T) -> AppError {
    AppError::internal("keyring lock poisoned")
}

/// Whether `sig` is a good signature of `fields` under any key of the keyring (after one refresh
/// when it names an unknown key). An empty token is never good.
pub async fn verify_qr(
    keyring: &SharedKeyring,
    fields: &PermitSigningFields,
    sig: &str,
) -> Result<bool, AppError> {
    verify_signed(keyring, &fields.canonical_message(), sig).await
}

/// [`verify_qr`] for any signed document's canonical message (residence proofs too).
pub async fn verify_signed(
    keyring: &SharedKeyring,
    message: &str,
    sig: &str,
) -> Result<bool, AppError> {
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
    keyring.refresh().await.map_err(AppError::internal)?;
    Ok(keyring
        .read()
        .map_err(poisoned)?
        .verify_message(message, sig))
}

/// Brings the ring up to date before signing: another instance or the CLI may have rotated the
/// key. Call it before the write transaction opens: from the database it needs a pooled
/// connection of its own, and many transactions each waiting for a second connection while
/// holding one would starve the pool.
pub async fn refresh_before_signing(keyring: &SharedKeyring) -> Result<(), AppError> {
    keyring.refresh().await.map_err(AppError::internal)
}

/// A token over `message` by the current key.
pub fn sign_current(keyring: &SharedKeyring, message: &str) -> Result<String, AppError> {
    Ok(keyring.read().map_err(poisoned)?.sign_message(message))
}

/// Makes a new signing key current (the town admin only) and records who did it; older keys
/// keep verifying certificates printed before. Returns the new key's id.
#[tracing::instrument(level = "debug", skip(st, actor), fields(actor = actor.id))]
pub async fn rotate_key(st: &AppState, actor: &Actor) -> Result<String, AppError> {
    if actor.role != Role::TownAdmin {
        return Err(AppError::Forbidden("只有镇管理员可以更换签名密钥".into()));
    }
    let id = st.keyring.rotate().await.map_err(AppError::internal)?;
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
