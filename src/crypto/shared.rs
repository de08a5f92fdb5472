//! Where an instance's keys come from, and keeping its ring in step with the other instances:
//! PostgreSQL with a master key → the database's key ring (one ring for every instance); SQLite,
//! or PostgreSQL without a master key → the data directory's key files, as before.

use std::sync::{LockResult, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::key_table::{Imported, KeyRingError, KeyTable, PII, SIGNING};
use super::master::MasterKey;
use super::pii::PiiCipher;
use super::signing::PermitKeyring;
use crate::config::Config;

pub use super::key_table::KeyRingError as Error;

/// How often a database-backed instance asks whether another one rotated the signing key.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// The permit signing keys in memory, and the store they are refreshed from.
#[derive(Debug)]
pub struct SharedKeyring {
    ring: RwLock<PermitKeyring>,
    /// `None`: the key files of the data directory.
    table: Option<KeyTable>,
}

/// What an instance starts with.
pub struct Keys {
    pub keyring: SharedKeyring,
    pub pii: PiiCipher,
}

/// The database's key ring when this configuration calls for it: PostgreSQL and a master key.
pub fn table_for(config: &Config, db: &DatabaseConnection) -> Result<Option<KeyTable>, Error> {
    let master = MasterKey::configured(&config.master_key.0, &config.master_key_file)?;
    Ok(match master {
        Some(m) if !config.is_sqlite() => Some(KeyTable::new(db.clone(), m)),
        _ => None,
    })
}

/// Loads (on a first start: creates) this instance's keys. A master key that does not open the
/// database's keys stops the start, as do key files that were never imported.
pub async fn open(config: &Config, db: &DatabaseConnection) -> Result<Keys, Error> {
    let keys_dir = config.keys_dir();
    let Some(table) = table_for(config, db)? else {
        if !config.is_sqlite() {
            tracing::warn!(
                "keys are read from {}: several instances need ANJU_MASTER_KEY (or ANJU_MASTER_KEY_FILE) \
                 so that they share one key ring in the database",
                keys_dir.display()
            );
        }
        return Ok(Keys {
            keyring: SharedKeyring {
                ring: RwLock::new(PermitKeyring::load_or_create(
                    &keys_dir.join("permit-signing"),
                )?),
                table: None,
            },
            pii: PiiCipher::load_or_create(&keys_dir.join("pii.key"))?,
        });
    };
    table.refuse_unimported_files(&keys_dir).await?;
    let signing = table.ensure_first(SIGNING).await?;
    let pii = table.ensure_first(PII).await?;
    let pii = match pii.as_slice() {
        [(1, seed)] => PiiCipher::from_master_key(seed),
        _ => return Err(KeyRingError::WrongMaster(PII.into(), 1)),
    };
    Ok(Keys {
        keyring: SharedKeyring {
            ring: RwLock::new(PermitKeyring::from_seeds(&signing)),
            table: Some(table),
        },
        pii,
    })
}

/// `anju import-keys`: seals the data directory's key files into the database's key ring.
pub async fn import(config: &Config, db: &DatabaseConnection) -> Result<Imported, String> {
    match table_for(config, db).map_err(|e| e.to_string())? {
        Some(table) => table
            .import_files(&config.keys_dir())
            .await
            .map_err(|e| e.to_string()),
        None => Err(
            "import-keys 需要 PostgreSQL 数据库和 ANJU_MASTER_KEY 或 ANJU_MASTER_KEY_FILE (needs PostgreSQL and a master key)"
                .into(),
        ),
    }
}

impl SharedKeyring {
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, PermitKeyring>> {
        self.ring.read()
    }

    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, PermitKeyring>> {
        self.ring.write()
    }

    /// Whether the keys live in the database (and so need refreshing from it).
    pub fn in_database(&self) -> bool {
        self.table.is_some()
    }

    /// Picks up keys added elsewhere (another instance, the CLI). From the database this is one
    /// `MAX(idx)` query unless something changed.
    pub async fn refresh(&self) -> Result<(), Error> {
        let Some(table) = &self.table else {
            return self.write().map_err(poisoned)?.reload().map_err(Error::Io);
        };
        let have = self.read().map_err(poisoned)?.max_index();
        if table.max_index(SIGNING).await? == have {
            return Ok(());
        }
        let seeds = table.seeds(SIGNING).await?;
        self.write().map_err(poisoned)?.replace_seeds(&seeds);
        Ok(())
    }

    /// Makes a new key current everywhere; returns its id.
    pub async fn rotate(&self) -> Result<String, Error> {
        let Some(table) = &self.table else {
            return self.write().map_err(poisoned)?.rotate().map_err(Error::Io);
        };
        let seed = table.add_signing_key().await?;
        self.refresh().await?;
        Ok(super::signing::key_id_of_seed(&seed))
    }
}

fn poisoned<T>(_: T) -> Error {
    Error::Io(std::io::Error::other("keyring lock poisoned"))
}

/// Keeps a database-backed ring in step until the instance is gone.
pub fn spawn_refresher(state: std::sync::Weak<crate::AppState>) {
    rocket::tokio::spawn(async move {
        loop {
            rocket::tokio::time::sleep(REFRESH_EVERY).await;
            let Some(st) = state.upgrade() else {
                return;
            };
            if let Err(e) = st.keyring.refresh().await {
                tracing::warn!(error = %e, "could not refresh the signing key ring");
            }
        }
    });
}
