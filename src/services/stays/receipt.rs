//! The check-in receipt: the page a tenant's phone lands on (303) after checking in and can
//! reload. Only the check-out code's hash is stored, so the link carries the code sealed with
//! the stay id and an expiry (AES-GCM under the PII key: unreadable and unforgeable).
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::crypto::pii::PiiCipher;
use crate::domain::stay::{Lang, StayStatus};
use crate::entities::stay;
use crate::error::AppError;

/// How long the receipt link keeps showing the code: long enough to reload it the next day.
pub const RECEIPT_HOURS: i64 = 48;

/// The receipt link's token for a stay just created at `now`.
pub fn seal(
    pii: &PiiCipher,
    stay_id: i32,
    code: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let expires = (now + Duration::hours(RECEIPT_HOURS)).timestamp();
    let sealed = pii
        .encrypt(&format!("receipt|{stay_id}|{code}|{expires}"))
        .map_err(AppError::internal)?;
    // The cipher speaks standard base64 behind a version prefix; the URL gets the URL-safe form.
    let raw = sealed
        .strip_prefix("v1:")
        .and_then(|b| STANDARD.decode(b).ok())
        .ok_or_else(|| AppError::internal("unexpected cipher format"))?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

fn unseal(pii: &PiiCipher, token: &str) -> Option<(i32, String, i64)> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let plain = pii.decrypt(&format!("v1:{}", STANDARD.encode(raw))).ok()?;
    let mut parts = plain.split('|');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("receipt"), Some(id), Some(code), Some(exp), None) => {
            Some((id.parse().ok()?, code.to_string(), exp.parse().ok()?))
        }
        _ => None,
    }
}

/// What the receipt page shows: the stay's live status and, while the link lasts, the code.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub stay_id: i32,
    pub status: StayStatus,
    pub checkout_code: String,
}

/// Opens a receipt link for stay `stay_id`. A token for another stay, a forged one and an
/// expired one are all refused; the code is never shown once its link has expired.
#[tracing::instrument(level = "debug", skip_all, fields(stay_id = stay_id))]
pub async fn open<C: ConnectionTrait>(
    db: &C,
    pii: &PiiCipher,
    stay_id: i32,
    token: &str,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<Receipt, AppError> {
    let invalid = || {
        AppError::NotFound(
            lang.t(
                "链接无效。请使用登记时保存的登记编号和退租码。",
                "This link is not valid. Use the stay number and check-out code you saved.",
            )
            .into(),
        )
    };
    let (id, code, expires) = unseal(pii, token).ok_or_else(invalid)?;
    if id != stay_id {
        return Err(invalid());
    }
    if now.timestamp() > expires {
        return Err(AppError::Conflict(
            lang.t(
                "此链接已过期，不再显示退租码。请使用登记时保存的退租码，或请房东为您办理退租。",
                "This link has expired and no longer shows the code. Use the code you saved, or ask the landlord to check you out.",
            )
            .into(),
        ));
    }
    let s = stay::Entity::find_by_id(stay_id)
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let status = StayStatus::parse(&s.status).unwrap_or(StayStatus::Lapsed);
    Ok(Receipt {
        stay_id,
        status,
        checkout_code: code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_receipt_opens_only_unchanged() {
        let pii = PiiCipher::from_master_key(&[7u8; 32]);
        let now = Utc::now();
        let t = seal(&pii, 12, "ABCDEFGHJK", now).unwrap();
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let (id, code, exp) = unseal(&pii, &t).unwrap();
        assert_eq!((id, code.as_str()), (12, "ABCDEFGHJK"));
        assert_eq!(exp, (now + Duration::hours(RECEIPT_HOURS)).timestamp());
        let mut bytes: Vec<char> = t.chars().collect();
        bytes[5] = if bytes[5] == 'A' { 'B' } else { 'A' };
        let tampered: String = bytes.into_iter().collect();
        assert!(unseal(&pii, &tampered).is_none());
        assert!(unseal(&PiiCipher::from_master_key(&[8u8; 32]), &t).is_none());
        assert!(unseal(&pii, "").is_none() && unseal(&pii, "%%%").is_none());
    }
}
