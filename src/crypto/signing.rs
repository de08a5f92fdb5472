//! Ed25519 signatures on permit QR codes, with key rotation.
//!
//! A token is `{key_id}.{signature}`: the key id names the key so that certificates printed
//! before a rotation stay verifiable, and everything is URL-safe so it fits in `?sig=`.

use crate::crypto::keyfile::load_or_create_secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// What a permit QR code vouches for. Anything else shown on the verification page comes
/// from the database at scan time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitSigningFields {
    pub number: String,
    pub valid_until: NaiveDate,
    pub max_occupants: u32,
}

impl PermitSigningFields {
    /// The exact bytes that are signed; the version tag keeps a future format from ever
    /// verifying against an old one.
    pub fn canonical_message(&self) -> String {
        format!(
            "anju-permit-v1|{}|{}|{}",
            self.number,
            self.valid_until.format("%Y-%m-%d"),
            self.max_occupants
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PublicKeyInfo {
    pub key_id: String,
    pub algorithm: &'static str,
    pub public_key_b64url: String,
    pub current: bool,
}

struct KeyEntry {
    index: u32,
    key_id: String,
    signing: SigningKey,
    verifying: VerifyingKey,
}

/// The signing keys, numbered: the highest number signs; older keys only verify. They come from
/// `<data_dir>/keys/permit-signing/` (one `key-<N>.ed25519` file per key) or, on PostgreSQL
/// with a master key, from the database's key ring (see `crypto::shared`).
pub struct PermitKeyring {
    /// The key directory; `None` when the keys come from the database.
    dir: Option<PathBuf>,
    /// Sorted by index, so the last entry is the current key.
    keys: Vec<KeyEntry>,
}

pub const SEED_LEN: usize = 32;
/// Longer than any token we issue; refuses junk before any decoding work.
const MAX_TOKEN_LEN: usize = 128;

impl PermitKeyring {
    /// Loads every key in `dir`, creating the directory and a first key when there is none.
    pub fn load_or_create(dir: &Path) -> io::Result<PermitKeyring> {
        let mut ring = PermitKeyring {
            dir: Some(dir.to_path_buf()),
            keys: Vec::new(),
        };
        ring.reload()?;
        if ring.keys.is_empty() {
            ring.keys.push(load_key(dir, 1)?);
        }
        Ok(ring)
    }

    /// A ring of the given seeds (index, seed), e.g. unsealed from the database.
    pub fn from_seeds(seeds: &[(u32, [u8; SEED_LEN])]) -> PermitKeyring {
        let mut ring = PermitKeyring {
            dir: None,
            keys: Vec::new(),
        };
        ring.replace_seeds(seeds);
        ring
    }

    /// Replaces the keys by the given seeds (index, seed), which need not be sorted.
    pub fn replace_seeds(&mut self, seeds: &[(u32, [u8; SEED_LEN])]) {
        let mut keys: Vec<KeyEntry> = seeds.iter().map(|(i, s)| entry(*i, s)).collect();
        keys.sort_by_key(|k| k.index);
        self.keys = keys;
    }

    /// The index of the current key (0 when there is none).
    pub fn max_index(&self) -> u32 {
        self.keys.last().map_or(0, |k| k.index)
    }

    /// Re-reads the directory, picking up keys that another process has added. A ring from the
    /// database has no directory; `crypto::shared` refreshes it instead.
    pub fn reload(&mut self) -> io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let indices = key_file_indices(dir)?;
        self.keys = indices
            .into_iter()
            .map(|n| load_key(dir, n))
            .collect::<io::Result<_>>()?;
        Ok(())
    }

    /// Creates key N+1 and makes it the current key; older keys keep verifying. Returns the
    /// new key id.
    pub fn rotate(&mut self) -> io::Result<String> {
        self.reload()?;
        let Some(dir) = &self.dir else {
            return Err(io::Error::other("the key ring lives in the database"));
        };
        let next = self.keys.last().map_or(Some(1), |k| k.index.checked_add(1));
        let next = next.ok_or_else(|| io::Error::other("no key index left"))?;
        let entry = load_key(dir, next)?;
        let id = entry.key_id.clone();
        self.keys.push(entry);
        Ok(id)
    }

    pub fn current_key_id(&self) -> Option<&str> {
        self.keys.last().map(|k| k.key_id.as_str())
    }

    /// The token to put in the QR code's `sig=` parameter.
    pub fn sign(&self, fields: &PermitSigningFields) -> String {
        self.sign_message(&fields.canonical_message())
    }

    /// A token over any canonical message (each document type tags its own, e.g.
    /// `anju-proof-v1|…`, so a token made for one type never verifies as another).
    pub fn sign_message(&self, message: &str) -> String {
        // `load_or_create` guarantees a key; an empty ring yields a token that never verifies.
        let Some(key) = self.keys.last() else {
            return String::new();
        };
        let signature = key.signing.sign(message.as_bytes());
        format!(
            "{}.{}",
            key.key_id,
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// Whether `token` is a valid signature over `fields` by one of our keys. Never panics on
    /// any input.
    pub fn verify(&self, fields: &PermitSigningFields, token: &str) -> bool {
        self.verify_message(&fields.canonical_message(), token)
    }

    /// Whether `token` is a valid signature over `message` by one of our keys.
    pub fn verify_message(&self, message: &str, token: &str) -> bool {
        if token.len() > MAX_TOKEN_LEN {
            return false;
        }
        let Some((key_id, sig_b64)) = token.split_once('.') else {
            return false;
        };
        let Ok(sig_bytes) = URL_SAFE_NO_PAD.decode(sig_b64) else {
            return false;
        };
        let Ok(sig_bytes) = <[u8; 64]>::try_from(sig_bytes.as_slice()) else {
            return false;
        };
        let signature = Signature::from_bytes(&sig_bytes);
        // A 32-bit id may in principle collide, so every key with that id gets a try.
        self.keys.iter().filter(|k| k.key_id == key_id).any(|k| {
            k.verifying
                .verify_strict(message.as_bytes(), &signature)
                .is_ok()
        })
    }

    /// The public keys for `GET /api/v1/keys/permit-signing`, current key first.
    pub fn public_keys(&self) -> Vec<PublicKeyInfo> {
        let current = self.keys.last().map(|k| k.index);
        self.keys
            .iter()
            .rev()
            .map(|k| PublicKeyInfo {
                key_id: k.key_id.clone(),
                algorithm: "Ed25519",
                public_key_b64url: URL_SAFE_NO_PAD.encode(k.verifying.as_bytes()),
                current: Some(k.index) == current,
            })
            .collect()
    }
}

impl fmt::Debug for PermitKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.key_id.as_str()).collect();
        f.debug_struct("PermitKeyring")
            .field("dir", &self.dir)
            .field("key_ids", &ids)
            .finish()
    }
}

fn parse_key_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("key-")?.strip_suffix(".ed25519")?;
    let n: u32 = digits.parse().ok()?;
    // `key-01` next to `key-1` would make two files claim one index.
    (n.to_string() == digits).then_some(n)
}

/// First 8 hex characters of SHA-256 of the public key: short enough for a QR code.
pub fn key_id_of(verifying: &VerifyingKey) -> String {
    let digest = Sha256::digest(verifying.as_bytes());
    hex::encode(&digest[..4])
}

/// The seeds of the key files in `dir` (index, seed), for moving them into the database. A
/// missing directory holds none; nothing is created.
pub fn file_seeds(dir: &Path) -> io::Result<Vec<(u32, [u8; SEED_LEN])>> {
    let indices = match key_file_indices(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        other => other?,
    };
    indices
        .into_iter()
        .map(|n| Ok((n, to_seed(fs::read(dir.join(file_name(n)))?)?)))
        .collect()
}

/// A new random seed for a key the database ring will hold.
pub fn random_seed() -> [u8; SEED_LEN] {
    let mut seed = [0u8; SEED_LEN];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    seed
}

/// The key id a seed's key will carry.
pub fn key_id_of_seed(seed: &[u8; SEED_LEN]) -> String {
    key_id_of(&SigningKey::from_bytes(seed).verifying_key())
}

fn key_file_indices(dir: &Path) -> io::Result<Vec<u32>> {
    let mut indices = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(n) = name.to_str().and_then(parse_key_file_name) {
            indices.push(n);
        }
    }
    indices.sort_unstable();
    Ok(indices)
}

fn file_name(index: u32) -> String {
    format!("key-{index}.ed25519")
}

fn to_seed(bytes: Vec<u8>) -> io::Result<[u8; SEED_LEN]> {
    bytes
        .try_into()
        .map_err(|_| io::Error::new(ErrorKind::InvalidData, "signing key seed is not 32 bytes"))
}

fn load_key(dir: &Path, index: u32) -> io::Result<KeyEntry> {
    let seed = to_seed(load_or_create_secret(
        &dir.join(file_name(index)),
        SEED_LEN,
    )?)?;
    Ok(entry(index, &seed))
}

fn entry(index: u32, seed: &[u8; SEED_LEN]) -> KeyEntry {
    let signing = SigningKey::from_bytes(seed);
    let verifying = signing.verifying_key();
    KeyEntry {
        index,
        key_id: key_id_of(&verifying),
        signing,
        verifying,
    }
}

#[cfg(test)]
mod tests;
