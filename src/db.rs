//! Database connection (SQLite in WAL mode or PostgreSQL), migrations under a lock, write transactions.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::config::Config;

mod direct;
mod turn;
mod write;
pub use write::{WriteTx, begin_write, begin_write_direct};

/// Whether a write broke a UNIQUE (or primary key) constraint, on either kind of connection.
pub fn unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    ) || direct::is_unique_violation(e)
}

pub async fn connect(cfg: &Config) -> Result<DatabaseConnection, DbErr> {
    if cfg.is_sqlite() {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
            DbErr::Custom(format!("无法创建数据目录 {}: {e}", cfg.data_dir.display()))
        })?;
    }
    let mut opts = ConnectOptions::new(cfg.database_url.clone());
    opts.max_connections(cfg.db_pool_size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // `ANJU_SQL_LOG=1` logs every statement with its time (target `sqlx::query`), for finding
        // a slow query on a real database; off by default.
        .sqlx_logging(std::env::var_os("ANJU_SQL_LOG").is_some_and(|v| v == "1"));
    if cfg.is_sqlite() {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
                // Sorts and `INSERT … SELECT` from the same table (the audit chain's append) use
                // a temporary b-tree; on disk each one created, wrote and unlinked a file.
                .pragma("temp_store", "MEMORY")
        });
    }
    // Switching a fresh file to WAL needs a moment of exclusive access and answers "database is
    // locked" at once, without waiting, when another process opens it at the same moment.
    let mut attempt = 0;
    loop {
        match Database::connect(opts.clone()).await {
            Err(e) if cfg.is_sqlite() && attempt < 50 && e.to_string().contains("locked") => {
                attempt += 1;
                rocket::tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Applies pending migrations inside one write transaction. sea-orm-migration takes no lock, so two
/// instances starting together serialise here: on PostgreSQL on an advisory lock, on SQLite on the
/// IMMEDIATE transaction. Both databases roll DDL back, so a failed migration leaves nothing half-done.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let tx = begin_immediate(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(727274)",
        ))
        .await?;
    }
    Migrator::up(&tx, None).await?;
    tx.commit().await
}

/// A transaction outside the writer queue (migrations: they run before anything else writes).
async fn begin_immediate(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Refreshes PostgreSQL's statistics of tables a bulk load just filled. Until autovacuum gets
/// to them (a minute later, or never where it is off) the planner believes the old row counts:
/// with a million new stays still counted as a few, the register's export joined every house
/// against every stay (116 s instead of 4). SQLite plans without row counts; nothing to do.
pub async fn analyze_after_bulk_load(
    db: &DatabaseConnection,
    tables: &[&str],
) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres && !tables.is_empty() {
        db.execute_unprepared(&format!("ANALYZE {}", tables.join(", ")))
            .await?;
    }
    Ok(())
}
