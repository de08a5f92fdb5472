//! The writer turn of one SQLite file in this process: the async lock writers queue on, how many
//! are queued, the turn's own connection (db::direct) and its open batch. A writer that finishes
//! while others queue leaves its transaction open as a batch that they join, each in a savepoint,
//! and that commits once, when the turn comes round to it again: under load the file sees one
//! commit (one WAL append, whose index pages consecutive check-ins share) for many writers,
//! instead of one each. Nobody is told their write succeeded before the batch has committed.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rocket::tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, watch};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use super::direct;

/// One file's writer turn.
pub struct TurnLock {
    writer: Arc<AsyncMutex<Writer>>,
    queued: AtomicUsize,
}

/// The file's checkpoints, run on a blocking thread of their own after every so many commits
/// of the writer's connection (whose automatic checkpoints are off).
#[derive(Default)]
struct Checkpoints {
    conn: Mutex<Option<rusqlite::Connection>>,
}

/// Commits between checkpoints: at most a few thousand WAL pages, about what SQLite's own
/// automatic checkpoint (1 000 pages) lets through.
const CHECKPOINT_EVERY: usize = 64;

/// What the holder of the turn owns.
pub struct Writer {
    file: PathBuf,
    // Only the turn's holder uses it; the mutex makes it `Sync` for the transaction's futures.
    conn: Option<Mutex<rusqlite::Connection>>,
    commits: usize,
    checkpoints: Arc<Checkpoints>,
    /// The open batch's outcome, sent to every writer in it when it ends.
    batch: Option<watch::Sender<Outcome>>,
}

/// `None` until the batch ends; then whether it committed (the error's text if not).
type Outcome = Option<Result<(), String>>;

/// A writer's place in an open batch: resolves when the batch has committed or failed.
pub struct Joined(watch::Receiver<Outcome>);

/// The turn of the SQLite file behind `db` (shared by every pool of this process on it); `None`
/// on PostgreSQL.
pub fn of(db: &DatabaseConnection) -> Option<Arc<TurnLock>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<TurnLock>>>> = OnceLock::new();
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut turns = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !turns.contains_key(&file) {
        // Files deleted since (tests' databases) take their writer connection with them.
        turns.retain(|f, _| f.exists());
    }
    Some(
        turns
            .entry(file.clone())
            .or_insert_with(|| Arc::new(TurnLock::new(file)))
            .clone(),
    )
}

impl TurnLock {
    fn new(file: PathBuf) -> TurnLock {
        TurnLock {
            writer: Arc::new(AsyncMutex::new(Writer {
                file,
                conn: None,
                commits: 0,
                checkpoints: Default::default(),
                batch: None,
            })),
            queued: AtomicUsize::new(0),
        }
    }

    /// Waits for the turn, counted among the queued meanwhile.
    pub async fn take(&self) -> OwnedMutexGuard<Writer> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.queued);
        self.writer.clone().lock_owned().await
    }

    /// Whether anyone waits for the turn now.
    pub fn contended(&self) -> bool {
        self.queued.load(Ordering::SeqCst) > 0
    }

    /// Commits the open batch when the turn comes round, whatever becomes of the writer that
    /// opened it (its future may be dropped while it waits).
    pub fn commit_batch_later(self: &Arc<Self>) {
        let lock = self.clone();
        rocket::tokio::spawn(async move { lock.take().await.end_batch() });
    }
}

impl Writer {
    /// The connection to the file, opened now if it is not yet; `None` when the database is not
    /// a file this process can open a second connection to (an in-memory database).
    pub fn connection(&mut self) -> Result<Option<&Mutex<rusqlite::Connection>>, DbErr> {
        if self.conn.is_none() {
            if !self.file.is_file() {
                return Ok(None);
            }
            self.conn = Some(Mutex::new(direct::open(&self.file)?));
        }
        Ok(self.conn.as_ref())
    }

    /// Commits the connection's transaction. Every [`CHECKPOINT_EVERY`]th commit starts a
    /// checkpoint beside the writers, unless one still runs.
    pub fn commit(&mut self) -> Result<(), DbErr> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| DbErr::Custom("the writer's connection is not open".into()))?;
        direct::finish(conn, true)?;
        self.commits += 1;
        if self.commits.is_multiple_of(CHECKPOINT_EVERY) {
            let (file, checkpoints) = (self.file.clone(), self.checkpoints.clone());
            rocket::tokio::task::spawn_blocking(move || {
                // A checkpoint still running holds the lock: this one is not needed.
                let Ok(mut conn) = checkpoints.conn.try_lock() else {
                    return;
                };
                if conn.is_none() {
                    *conn = direct::open(&file).ok();
                }
                if let Some(Err(e)) = conn.as_ref().map(direct::checkpoint) {
                    tracing::debug!(error = %e, "a checkpoint did not run");
                }
            });
        }
        Ok(())
    }

    /// The connection opened by [`Writer::connection`].
    pub fn opened(&self) -> Option<&Mutex<rusqlite::Connection>> {
        self.conn.as_ref()
    }

    /// Whether a batch is open on the connection: the next writer joins it.
    pub fn in_batch(&self) -> bool {
        self.batch.is_some()
    }

    /// Leaves the connection's transaction open as a batch (if it is not one already) and joins
    /// the caller to it.
    pub fn join_batch(&mut self) -> Joined {
        Joined(
            self.batch
                .get_or_insert_with(|| watch::channel(None).0)
                .subscribe(),
        )
    }

    /// Commits the open batch, if any, and tells its writers. Every taker of the turn that does
    /// not join the batch ends it first.
    pub fn end_batch(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        let done = self.commit();
        if let Err(e) = &done {
            tracing::error!(error = %e, "a batch of writes failed to commit");
        }
        batch.send_replace(Some(done.map_err(|e| e.to_string())));
    }
}

impl Joined {
    /// Waits until the batch has committed; its failure is every member's.
    pub async fn committed(mut self) -> Result<(), DbErr> {
        let outcome = match self.0.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(DbErr::Custom(format!("the batch of writes failed: {e}"))),
            None => Err(DbErr::Custom("the batch of writes was abandoned".into())),
        }
    }
}
