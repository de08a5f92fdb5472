//! Write transactions. On SQLite the writers of one process queue on an async lock before
//! `BEGIN IMMEDIATE`: SQLite's own busy handler makes a waiting writer sleep 1, 2, 5… ms, so eight
//! writers on one file left the lock idle most of the time. The busy timeout stays as the fallback
//! between processes.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rocket::tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// A transaction opened to write; on SQLite it holds this process's writer turn until it ends.
pub struct WriteTx {
    // Dropped first: an abandoned transaction is rolled back before the turn passes on.
    tx: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

/// One writer lock per SQLite file, shared by every pool this process opens on it.
fn writer_lock(db: &DatabaseConnection) -> Option<Arc<AsyncMutex<()>>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<AsyncMutex<()>>>>> = OnceLock::new();
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Some(locks.entry(file).or_default().clone())
}

/// Opens a transaction that will write. On SQLite it is IMMEDIATE so that concurrent writers
/// of other processes queue on the busy timeout instead of failing with "database is locked".
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let turn = match writer_lock(db) {
        Some(lock) => Some(lock.lock_owned().await),
        None => None,
    };
    let tx = db
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await?;
    Ok(WriteTx { tx, _turn: turn })
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.tx.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.tx.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.tx.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.tx.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.tx.support_returning()
    }
}
