//! INTERIM until the documents module lands: glyph coverage and PDF rendering of certificates.
use crate::AppRef;
use crate::error::AppError;
use crate::services::Actor;

pub fn ensure_printable(_st: &AppRef, _texts: &[&str]) -> Result<(), AppError> {
    Ok(())
}

pub async fn render(_st: &AppRef, _actor: &Actor, _number: &str) -> Result<Vec<u8>, AppError> {
    Err(AppError::NotFound("证书模块尚未接入".into()))
}
