//! The master key (`ANJU_MASTER_KEY` or `ANJU_MASTER_KEY_FILE`) and the sealing of key-ring
//! seeds under it, so the database only ever holds keys it cannot read by itself.

use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::path::Path;

const NONCE_LEN: usize = 12;

/// The master key as configured (text), kept out of `Debug` output so a logged `Config` never
/// shows it.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct MasterKeyText(pub String);

impl fmt::Debug for MasterKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Why a master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "ANJU_MASTER_KEY 须为 32 字节的 base64 或 64 位十六进制 (must be 32 bytes as base64 or 64 hex digits)"
    )]
    Format,
    #[error("无法读取 ANJU_MASTER_KEY_FILE {0}: {1}")]
    File(String, std::io::Error),
    #[error("ANJU_MASTER_KEY 与 ANJU_MASTER_KEY_FILE 只能设置一个 (set one of them, not both)")]
    Both,
}

/// The key that seals every key in the database's key ring. Only a key derived from it is held.
pub struct MasterKey {
    aead: Aes256Gcm,
}

impl MasterKey {
    pub fn from_bytes(master: &[u8; 32]) -> MasterKey {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&pad(master).into());
        mac.update(b"anju-key-ring-seal");
        let wrap: [u8; 32] = mac.finalize().into_bytes().into();
        MasterKey {
            aead: Aes256Gcm::new(&Key::<Aes256Gcm>::from(wrap)),
        }
    }

    /// The configured master key: the text, or the file (raw 32 bytes, or the same text forms);
    /// `None` when neither is set.
    pub fn configured(text: &str, file: &str) -> Result<Option<MasterKey>, MasterKeyError> {
        match (text.trim(), file.trim()) {
            ("", "") => Ok(None),
            (t, "") => parse(t).map(|k| Some(MasterKey::from_bytes(&k))),
            ("", f) => {
                let bytes =
                    std::fs::read(Path::new(f)).map_err(|e| MasterKeyError::File(f.into(), e))?;
                let key = match <[u8; 32]>::try_from(bytes.as_slice()) {
                    Ok(raw) => raw,
                    Err(_) => std::str::from_utf8(&bytes)
                        .map_err(|_| MasterKeyError::Format)
                        .and_then(|t| parse(t.trim()))?,
                };
                Ok(Some(MasterKey::from_bytes(&key)))
            }
            _ => Err(MasterKeyError::Both),
        }
    }

    /// nonce ‖ AES-256-GCM(seed), bound to the key's kind and index: a sealed key copied to
    /// another row does not open there.
    pub fn seal(&self, kind: &str, index: u32, seed: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(kind, index);
        // A 32-byte seed is far below AES-GCM's length limit, so encryption cannot fail; an
        // empty result would fail to open and be reported then.
        let sealed = self
            .aead
            .encrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: seed,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The seed inside `sealed`, or `None` when this is the wrong master key or the row was altered.
    pub fn open(&self, kind: &str, index: u32, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let aad = associated_data(kind, index);
        self.aead
            .decrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .ok()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey { .. }")
    }
}

fn associated_data(kind: &str, index: u32) -> Vec<u8> {
    format!("anju-key-ring-v1|{kind}|{index}").into_bytes()
}

fn pad(key: &[u8; 32]) -> [u8; 64] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    block
}

/// 64 hex digits, or base64 (standard or URL-safe, padded or not) of exactly 32 bytes.
fn parse(text: &str) -> Result<[u8; 32], MasterKeyError> {
    let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
    };
    decoded
        .and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok())
        .ok_or(MasterKeyError::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_spell_the_same_key() {
        let raw = [0xabu8; 32];
        let from_hex = parse(&hex::encode(raw)).unwrap();
        let from_b64 = parse(&STANDARD.encode(raw)).unwrap();
        let from_url = parse(&URL_SAFE_NO_PAD.encode(raw)).unwrap();
        assert_eq!(from_hex, raw);
        assert_eq!(from_b64, raw);
        assert_eq!(from_url, raw);
        assert!(parse("too short").is_err());
        assert!(parse(&STANDARD.encode([1u8; 31])).is_err());
    }

    #[test]
    fn a_sealed_seed_opens_only_with_the_same_key_kind_and_index() {
        let key = MasterKey::from_bytes(&[1; 32]);
        let sealed = key.seal("permit-signing", 2, &[9; 32]);
        assert!(!sealed.windows(32).any(|w| w == [9; 32]));
        assert_eq!(key.open("permit-signing", 2, &sealed), Some(vec![9; 32]));
        assert_eq!(key.open("permit-signing", 3, &sealed), None);
        assert_eq!(key.open("pii", 2, &sealed), None);
        assert_eq!(
            MasterKey::from_bytes(&[2; 32]).open("permit-signing", 2, &sealed),
            None
        );
        assert_eq!(key.open("permit-signing", 2, &sealed[..10]), None);
    }

    #[test]
    fn the_key_file_may_hold_raw_bytes_or_text_and_both_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.key");
        std::fs::write(&raw, [5u8; 32]).unwrap();
        let text = dir.path().join("text.key");
        std::fs::write(&text, format!("{}\n", hex::encode([5u8; 32]))).unwrap();
        let a = MasterKey::configured("", raw.to_str().unwrap())
            .unwrap()
            .unwrap();
        let b = MasterKey::configured("", text.to_str().unwrap())
            .unwrap()
            .unwrap();
        let sealed = a.seal("pii", 1, b"seed");
        assert_eq!(b.open("pii", 1, &sealed), Some(b"seed".to_vec()));
        assert!(MasterKey::configured("", "").unwrap().is_none());
        assert!(matches!(
            MasterKey::configured(&hex::encode([5u8; 32]), raw.to_str().unwrap()),
            Err(MasterKeyError::Both)
        ));
        assert_eq!(format!("{:?}", MasterKeyText("secret".into())), "\"***\"");
    }
}
