//! The `key_ring` table (PostgreSQL with a master key): sealed seeds read, created once, added on
//! rotation and imported from a data directory's key files. Seeds never leave this module in clear
//! except into the in-memory ring and the personal-data cipher.

use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, Value};

use super::master::{MasterKey, MasterKeyError};
use super::signing::{SEED_LEN, file_seeds, random_seed};

/// Permit signing keys: index 1, 2, … ; the highest signs.
pub const SIGNING: &str = "permit-signing";
/// The personal-data key: only index 1.
pub const PII: &str = "pii";

pub type Seed = [u8; SEED_LEN];

/// Why the key ring could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("密钥环数据库错误 (key ring database error): {0}")]
    Db(#[from] DbErr),
    #[error(
        "主密钥解不开数据库中的密钥 {0} #{1}：ANJU_MASTER_KEY 与写入时的不同，或该行被改动 (wrong master key, or an altered row); 拒绝启动"
    )]
    WrongMaster(String, u32),
    #[error("{0}")]
    Master(#[from] MasterKeyError),
    #[error(
        "数据目录中有密钥文件 {0}，数据库密钥环中却没有：请先运行 `anju import-keys` 把文件中的密钥移入数据库，否则旧许可证无法核验、已加密的个人信息无法解密 (run `anju import-keys` first)"
    )]
    NeedsImport(String),
    #[error(
        "数据库中已有另一把个人信息密钥，与 {0} 不同：两把不能合并，请确认哪一把加密了现有数据 (the database already holds a different personal-data key)"
    )]
    PiiConflict(String),
    #[error("无法读取密钥文件: {0}")]
    Io(#[from] std::io::Error),
    #[error("密钥编号已用尽 (no key index left)")]
    Exhausted,
}

/// The table and the master key that opens its rows.
pub struct KeyTable {
    db: DatabaseConnection,
    master: MasterKey,
}

/// What `anju import-keys` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub signing_added: usize,
    pub signing_present: usize,
    pub pii: &'static str,
}

impl KeyTable {
    pub fn new(db: DatabaseConnection, master: MasterKey) -> KeyTable {
        KeyTable { db, master }
    }

    /// The highest index of `kind` (0 when there is none): the cheap question asked every
    /// couple of seconds.
    pub async fn max_index(&self, kind: &str) -> Result<u32, KeyRingError> {
        let row = self
            .db
            .query_one_raw(self.stmt(
                "SELECT COALESCE(MAX(idx), 0) AS m FROM key_ring WHERE kind = $1",
                vec![kind.into()],
            ))
            .await?;
        let max: i32 = match row {
            Some(r) => r.try_get("", "m")?,
            None => 0,
        };
        Ok(u32::try_from(max).unwrap_or(0))
    }

    /// Every seed of `kind`, opened, by index. A row that does not open is an error, never skipped.
    pub async fn seeds(&self, kind: &str) -> Result<Vec<(u32, Seed)>, KeyRingError> {
        let rows = self
            .db
            .query_all_raw(self.stmt(
                "SELECT idx, sealed FROM key_ring WHERE kind = $1 ORDER BY idx",
                vec![kind.into()],
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let idx: i32 = r.try_get("", "idx")?;
            let sealed: Vec<u8> = r.try_get("", "sealed")?;
            let idx = u32::try_from(idx).map_err(|_| KeyRingError::WrongMaster(kind.into(), 0))?;
            let seed = self
                .master
                .open(kind, idx, &sealed)
                .and_then(|s| Seed::try_from(s.as_slice()).ok())
                .ok_or_else(|| KeyRingError::WrongMaster(kind.into(), idx))?;
            out.push((idx, seed));
        }
        Ok(out)
    }

    /// Seals `seed` into (kind, idx). False when that row already exists (another instance won).
    pub async fn insert(&self, kind: &str, idx: u32, seed: &Seed) -> Result<bool, KeyRingError> {
        let sealed = self.master.seal(kind, idx, seed);
        let idx = i32::try_from(idx).map_err(|_| KeyRingError::Exhausted)?;
        let done = self
            .db
            .execute_raw(self.stmt(
                "INSERT INTO key_ring (kind, idx, sealed, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind, idx) DO NOTHING",
                vec![
                    kind.into(),
                    idx.into(),
                    Value::Bytes(Some(sealed)),
                    chrono::Utc::now().into(),
                ],
            ))
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The seeds of `kind`, creating key 1 when there is none. Two instances starting together
    /// both try; the primary key keeps one and both read that one back.
    pub async fn ensure_first(&self, kind: &str) -> Result<Vec<(u32, Seed)>, KeyRingError> {
        let seeds = self.seeds(kind).await?;
        if !seeds.is_empty() {
            return Ok(seeds);
        }
        self.insert(kind, 1, &random_seed()).await?;
        self.seeds(kind).await
    }

    /// Adds a new signing key after the last and returns its seed.
    pub async fn add_signing_key(&self) -> Result<Seed, KeyRingError> {
        let seed = random_seed();
        self.append_signing(&seed).await?;
        Ok(seed)
    }

    /// Seals `seed` as signing key max+1; a rotation racing on another instance takes that number
    /// first, and this one takes the next instead of failing.
    async fn append_signing(&self, seed: &Seed) -> Result<(), KeyRingError> {
        for _ in 0..8 {
            let next = self
                .max_index(SIGNING)
                .await?
                .checked_add(1)
                .ok_or(KeyRingError::Exhausted)?;
            if self.insert(SIGNING, next, seed).await? {
                return Ok(());
            }
        }
        Err(KeyRingError::Exhausted)
    }

    /// Refuses a first start that would make fresh keys while the data directory still holds the
    /// keys existing permits and personal data depend on.
    pub async fn refuse_unimported_files(&self, keys_dir: &Path) -> Result<(), KeyRingError> {
        let pii_file = keys_dir.join("pii.key");
        if self.max_index(PII).await? == 0 && pii_file.exists() {
            return Err(KeyRingError::NeedsImport(pii_file.display().to_string()));
        }
        let dir = keys_dir.join("permit-signing");
        if self.max_index(SIGNING).await? == 0 && !file_seeds(&dir)?.is_empty() {
            return Err(KeyRingError::NeedsImport(dir.display().to_string()));
        }
        Ok(())
    }

    /// Seals the key files of `keys_dir` into the table. Running it again changes nothing. A
    /// signing key keeps its file number when that is free, otherwise it goes after the last;
    /// verification goes by key id, not number.
    pub async fn import_files(&self, keys_dir: &Path) -> Result<Imported, KeyRingError> {
        let mut report = Imported {
            pii: "none",
            ..Imported::default()
        };
        let pii_file = keys_dir.join("pii.key");
        match std::fs::read(&pii_file) {
            Ok(bytes) => {
                let seed = Seed::try_from(bytes.as_slice()).map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not 32 bytes", pii_file.display()),
                    )
                })?;
                self.insert(PII, 1, &seed).await?;
                match self.seeds(PII).await?.as_slice() {
                    [(1, s)] if *s == seed => report.pii = "present",
                    _ => return Err(KeyRingError::PiiConflict(pii_file.display().to_string())),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let mut have = self.seeds(SIGNING).await?;
        for (idx, seed) in file_seeds(&keys_dir.join("permit-signing"))? {
            if have.iter().any(|(_, s)| *s == seed) {
                report.signing_present += 1;
                continue;
            }
            // Keeping the file's number keeps the file's current key current.
            let free = !have.iter().any(|(i, _)| *i == idx);
            if !(free && self.insert(SIGNING, idx, &seed).await?) {
                self.append_signing(&seed).await?;
            }
            have = self.seeds(SIGNING).await?;
            report.signing_added += 1;
        }
        Ok(report)
    }

    fn stmt(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.db.get_database_backend(), sql, values)
    }
}

impl std::fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyTable { .. }")
    }
}
