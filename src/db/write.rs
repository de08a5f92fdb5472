//! Write transactions. On SQLite the writers of one process queue on an async lock before
//! `BEGIN IMMEDIATE`: SQLite's own busy handler makes a waiting writer sleep 1, 2, 5… ms, so eight
//! writers on one file left the lock idle most of the time. The busy timeout stays as the fallback
//! between processes. [`begin_write_direct`] runs a short use case's statements on the turn's own
//! connection (db::direct) instead of the pool's.
use std::sync::Arc;

use rocket::tokio::sync::OwnedMutexGuard;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use super::direct;
use super::turn::{self, TurnLock, Writer};

/// A transaction opened to write; on SQLite it holds this process's writer turn until it ends.
pub struct WriteTx {
    inner: Inner,
}

enum Inner {
    Pooled {
        // Dropped first: an abandoned transaction is rolled back before the turn passes on.
        tx: DatabaseTransaction,
        _turn: Option<OwnedMutexGuard<Writer>>,
    },
    /// On the turn's own connection, which holds `BEGIN IMMEDIATE` until commit or drop.
    Direct(DirectTx),
}

struct DirectTx {
    /// Held until the transaction ends (taken when it commits into a batch).
    turn: Option<OwnedMutexGuard<Writer>>,
    lock: Arc<TurnLock>,
    /// A savepoint in an open batch (db::turn), rather than the connection's own transaction.
    joined: bool,
    open: bool,
}

impl DirectTx {
    fn conn(&self) -> Result<&std::sync::Mutex<rusqlite::Connection>, DbErr> {
        self.turn
            .as_ref()
            .and_then(|t| t.opened())
            .ok_or_else(|| DbErr::Custom("the writer's connection is not open".into()))
    }

    fn undo(&mut self) -> Result<(), DbErr> {
        self.open = false;
        match self.joined {
            true => direct::release(self.conn()?, false),
            false => direct::finish(self.conn()?, false),
        }
    }

    /// Commits at once when nobody waits for the turn; otherwise into a batch that commits
    /// when the turn comes round again, and returns once it has.
    async fn commit(mut self) -> Result<(), DbErr> {
        if !self.joined && !self.lock.contended() {
            self.open = false;
            return match self.turn.as_mut() {
                Some(turn) => turn.commit(),
                None => Err(DbErr::Custom("the writer's turn is gone".into())),
            };
        }
        if self.joined {
            direct::release(self.conn()?, true)?;
        }
        self.open = false;
        let mut turn = self
            .turn
            .take()
            .ok_or_else(|| DbErr::Custom("the writer's turn is gone".into()))?;
        let joined = turn.join_batch();
        if !self.joined {
            self.lock.commit_batch_later();
        }
        drop(turn);
        joined.committed().await
    }
}

impl Drop for DirectTx {
    // An abandoned transaction is rolled back before the turn passes on, as a pooled one is.
    fn drop(&mut self) {
        if self.open {
            self.undo().ok();
        }
    }
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

/// Opens a transaction that will write. On SQLite it is IMMEDIATE so that concurrent writers
/// of other processes queue on the busy timeout instead of failing with "database is locked".
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let turn = match turn::of(db) {
        Some(lock) => {
            let mut turn = lock.take().await;
            // The pool's connection cannot write while the turn's own holds a batch open.
            turn.end_batch();
            Some(turn)
        }
        None => None,
    };
    pooled(db, turn).await
}

async fn pooled(
    db: &DatabaseConnection,
    turn: Option<OwnedMutexGuard<Writer>>,
) -> Result<WriteTx, DbErr> {
    let tx = db
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        })
        .await?;
    Ok(WriteTx {
        inner: Inner::Pooled { tx, _turn: turn },
    })
}

/// [`begin_write`] for a short use case whose every read is of 32-bit integer, text, real,
/// boolean, date or instant columns, or of expressions read as `i64` (db::direct): on SQLite its
/// statements run on the writer turn's own connection. When another process holds the file, or
/// the database is in memory, it is an ordinary [`begin_write`] transaction.
pub async fn begin_write_direct(db: &DatabaseConnection) -> Result<WriteTx, DbErr> {
    let Some(lock) = turn::of(db) else {
        return pooled(db, None).await;
    };
    let mut turn = lock.take().await;
    let joined = turn.in_batch();
    let begun = match (joined, turn.connection()) {
        (true, Ok(Some(conn))) => direct::savepoint(conn).map(|()| true),
        (false, Ok(Some(conn))) => direct::begin(conn),
        (_, Ok(None)) => Ok(false),
        (_, Err(e)) => Err(e),
    };
    match begun {
        Ok(true) => Ok(WriteTx {
            inner: Inner::Direct(DirectTx {
                turn: Some(turn),
                lock,
                joined,
                open: true,
            }),
        }),
        Ok(false) => pooled(db, Some(turn)).await,
        Err(e) => {
            tracing::warn!(error = %e, "the writer's own connection failed; using the pool");
            turn.end_batch();
            pooled(db, Some(turn)).await
        }
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), DbErr> {
        match self.inner {
            Inner::Pooled { tx, .. } => tx.commit().await,
            Inner::Direct(d) => d.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self.inner {
            Inner::Pooled { tx, .. } => tx.rollback().await,
            Inner::Direct(mut d) => d.undo(),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTx {
    fn get_database_backend(&self) -> DbBackend {
        match &self.inner {
            Inner::Pooled { tx, .. } => tx.get_database_backend(),
            Inner::Direct(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match &self.inner {
            Inner::Pooled { tx, .. } => tx.execute_raw(stmt).await,
            Inner::Direct(d) => direct::execute(d.conn()?, stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &self.inner {
            Inner::Pooled { tx, .. } => tx.execute_unprepared(sql).await,
            Inner::Direct(d) => {
                let stmt = Statement::from_string(DbBackend::Sqlite, sql.to_string());
                direct::execute(d.conn()?, stmt).await
            }
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.inner {
            Inner::Pooled { tx, .. } => tx.query_one_raw(stmt).await,
            Inner::Direct(d) => Ok(direct::query(d.conn()?, stmt).await?.into_iter().next()),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.inner {
            Inner::Pooled { tx, .. } => tx.query_all_raw(stmt).await,
            Inner::Direct(d) => direct::query(d.conn()?, stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        match &self.inner {
            Inner::Pooled { tx, .. } => tx.support_returning(),
            Inner::Direct(_) => true,
        }
    }
}
