//! Encryption of personal data at rest (ID numbers, names, phones) and keyed lookup hashes
//! that let the database find a person by ID number without storing the number in clear.

use crate::crypto::keyfile::load_or_create_secret;
use crate::domain::identity::DocNumber;
use aes_gcm::aead::{Aead, KeyInit, Nonce};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use std::io;
use std::path::Path;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    #[error("not an Anju v1 ciphertext")]
    UnknownFormat,
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext does not decrypt: wrong key or altered data")]
    Decrypt,
    #[error("plaintext is too long to encrypt")]
    Encrypt,
}

/// AES-256-GCM for values and HMAC-SHA256 for lookups, with separate keys derived from one
/// master secret so that a single key file suffices and neither key reveals the other.
pub struct PiiCipher {
    aead: Aes256Gcm,
    hash_key: [u8; 32],
}

impl PiiCipher {
    pub fn from_master_key(master: &[u8; 32]) -> PiiCipher {
        let enc_key = hmac_sha256(master, &[b"anju-pii-enc"]);
        let hash_key = hmac_sha256(master, &[b"anju-pii-hash"]);
        PiiCipher {
            aead: Aes256Gcm::new(&Key::<Aes256Gcm>::from(enc_key)),
            hash_key,
        }
    }

    /// Loads the 32-byte master secret at `path` (e.g. `<data_dir>/keys/pii.key`), creating
    /// it on first run.
    pub fn load_or_create(path: &Path) -> io::Result<PiiCipher> {
        let master = load_or_create_secret(path, 32)?;
        let master: [u8; 32] = master
            .try_into()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "PII key is not 32 bytes"))?;
        Ok(PiiCipher::from_master_key(&master))
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag). A fresh random nonce each time, so equal
    /// plaintexts give different ciphertexts; use [`PiiCipher::lookup_hash`] to find equal values.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, PiiError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), plaintext.as_bytes())
            .map_err(|_| PiiError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    pub fn decrypt(&self, s: &str) -> Result<String, PiiError> {
        let encoded = s.strip_prefix(PREFIX).ok_or(PiiError::UnknownFormat)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| PiiError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(PiiError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Malformed)?;
        let plain = self
            .aead
            .decrypt(&Nonce::<Aes256Gcm>::from(nonce), sealed)
            .map_err(|_| PiiError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| PiiError::Malformed)
    }

    /// Hex HMAC-SHA256 of `doc_type|number`: deterministic, so it can be indexed and compared,
    /// but useless without the key to anyone enumerating the small space of ID numbers.
    pub fn lookup_hash(&self, doc_type: &str, normalised_number: &str) -> String {
        let mac = hmac_sha256(
            &self.hash_key,
            &[doc_type.as_bytes(), b"|", normalised_number.as_bytes()],
        );
        hex::encode(mac)
    }

    pub fn doc_lookup_hash(&self, doc: &DocNumber) -> String {
        self.lookup_hash(doc.doc_type().as_str(), doc.as_str())
    }
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiCipher { .. }")
    }
}

/// HMAC-SHA256 with a 32-byte key. The key is zero-padded to SHA-256's 64-byte block, which is
/// exactly what HMAC does with short keys, and makes construction infallible (no `Result` from
/// `new_from_slice` to unwrap).
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::DocType;

    fn cipher(seed: u8) -> PiiCipher {
        PiiCipher::from_master_key(&[seed; 32])
    }

    #[test]
    fn encrypted_text_decrypts_to_the_original() {
        let c = cipher(1);
        for text in ["330781199003071239", "张三", ""] {
            let sealed = c.encrypt(text).unwrap();
            assert!(sealed.starts_with("v1:"));
            assert!(!sealed.contains(text) || text.is_empty());
            assert_eq!(c.decrypt(&sealed).unwrap(), text);
        }
    }

    #[test]
    fn encrypting_the_same_text_twice_gives_different_ciphertexts() {
        let c = cipher(1);
        assert_ne!(
            c.encrypt("330781199003071239").unwrap(),
            c.encrypt("330781199003071239").unwrap()
        );
    }

    #[test]
    fn another_key_cannot_decrypt() {
        let sealed = cipher(1).encrypt("张三").unwrap();
        assert_eq!(cipher(2).decrypt(&sealed), Err(PiiError::Decrypt));
    }

    #[test]
    fn altered_or_malformed_ciphertexts_are_refused() {
        let c = cipher(1);
        let sealed = c.encrypt("13812345678").unwrap();
        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
        assert_eq!(
            c.decrypt(&format!("v1:{}", STANDARD.encode(&bytes))),
            Err(PiiError::Decrypt)
        );
        bytes[last] ^= 0x80;
        bytes[NONCE_LEN] ^= 0x01;
        assert_eq!(
            c.decrypt(&format!("v1:{}", STANDARD.encode(&bytes))),
            Err(PiiError::Decrypt)
        );
        assert_eq!(c.decrypt(&sealed[3..]), Err(PiiError::UnknownFormat));
        assert_eq!(c.decrypt("v2:AAAA"), Err(PiiError::UnknownFormat));
        assert_eq!(c.decrypt("v1:!!!"), Err(PiiError::Malformed));
        assert_eq!(c.decrypt("v1:AAAA"), Err(PiiError::Malformed));
        assert_eq!(c.decrypt(""), Err(PiiError::UnknownFormat));
    }

    #[test]
    fn lookup_hashes_are_deterministic_keyed_and_separate_document_types() {
        let c = cipher(1);
        let a = c.lookup_hash("resident_id", "330781199003071239");
        assert_eq!(a, c.lookup_hash("resident_id", "330781199003071239"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, c.lookup_hash("passport", "330781199003071239"));
        assert_ne!(a, c.lookup_hash("resident_id", "11010519491231002X"));
        assert_ne!(
            a,
            cipher(2).lookup_hash("resident_id", "330781199003071239")
        );
        let today = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let doc = DocNumber::parse(DocType::ResidentId, "330781199003071239", today).unwrap();
        assert_eq!(c.doc_lookup_hash(&doc), a);
    }

    #[test]
    fn the_padded_key_hmac_equals_standard_hmac() {
        let key = [7u8; 32];
        let mut standard = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        standard.update(b"anju-pii-enc");
        let want: [u8; 32] = standard.finalize().into_bytes().into();
        assert_eq!(hmac_sha256(&key, &[b"anju-pii-", b"enc"]), want);
    }

    #[test]
    fn the_master_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/pii.key");
        let sealed = PiiCipher::load_or_create(&path)
            .unwrap()
            .encrypt("张三")
            .unwrap();
        let again = PiiCipher::load_or_create(&path).unwrap();
        assert_eq!(again.decrypt(&sealed).unwrap(), "张三");
    }
}
