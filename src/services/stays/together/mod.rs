//! Check-ins on one permit are decided together. While one transaction of this process holds
//! the permit's row (PostgreSQL) or the file's writer turn (SQLite), the check-ins that arrive for
//! it wait in a queue, and the next transaction decides them all, in arrival order: one lock, one
//! count, one insert of the stays, one audit append and one commit for the lot. One at a time,
//! each check-in held the row through its commit's flush and ten round trips on PostgreSQL, and
//! on SQLite the writer turn passed from task to task ten statements at a time, idle between
//! them half the time (issue 13, item 10).
//!
//! Every rule is decided as one at a time would decide it: the status, the caps and the flood
//! threshold under the permit's row, counted once and advanced as each member is admitted; the
//! unique index on `open_doc_hash` refuses a second open stay (`ON CONFLICT DO NOTHING`, so that
//! one refusal leaves the others' writes alone; when that member's place may have cost someone
//! else theirs, everyone is decided again alone). Should the transaction fail, each member is
//! decided again alone, so that one member's failure is nobody else's.
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::sync::{LazyLock, Mutex, PoisonError};

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::oneshot;

use super::CheckedIn;
use super::admission::StayFacts;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::stay::Lang;
use crate::error::AppError;

mod decide;
use decide::decide_all;

use super::Registrar;

/// One check-in waiting in a permit's queue, its check-out code drawn; the permit and the room
/// are read by the transaction that decides it.
pub(super) struct Member {
    pub by: Registrar,
    pub lang: Lang,
    pub rule: OccupancyRule,
    pub room_id: i32,
    pub stay: StayFacts,
    pub code: String,
    pub code_hash: String,
}

type Reply = oneshot::Sender<Result<CheckedIn, AppError>>;

/// A permit of a database: permit ids repeat across databases (tests run one each).
type Key = (String, i32);

/// A permit's waiting check-ins, each with where its answer goes.
type Queue = Vec<(Member, Reply)>;

/// Each permit's queue; a permit is here while its leader runs.
static QUEUES: LazyLock<Mutex<HashMap<Key, Queue>>> = LazyLock::new(Default::default);

/// Most check-ins decided in one transaction.
const MOST: usize = 64;

/// Times the leader steps aside before taking a batch.
const YIELDS: usize = 2;

/// Decides `member`'s check-in on the permit together with whoever else is waiting for it.
pub(super) async fn decide(
    db: &DatabaseConnection,
    permit_id: i32,
    member: Member,
) -> Result<CheckedIn, AppError> {
    let key = (database_of(db), permit_id);
    let (reply, answer) = oneshot::channel();
    let first = {
        let mut queues = QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
        match queues.entry(key.clone()) {
            Slot::Occupied(mut q) => {
                q.get_mut().push((member, reply));
                false
            }
            Slot::Vacant(q) => {
                q.insert(vec![(member, reply)]);
                true
            }
        }
    };
    // The leader runs on its own task, so that the queue is drained even if the request that
    // started it goes away.
    if first {
        tokio::spawn(lead(db.clone(), key));
    }
    answer
        .await
        .unwrap_or_else(|_| Err(AppError::internal("the check-in queue ended")))
}

/// The database a pool connects to: PostgreSQL's host, port and name, or SQLite's file (sqlx
/// names each in-memory database apart, `file:sqlx-in-memory-N`).
fn database_of(db: &DatabaseConnection) -> String {
    if db.get_database_backend() == DbBackend::Sqlite {
        let options = db.get_sqlite_connection_pool().connect_options();
        return options.get_filename().display().to_string();
    }
    let o = db.get_postgres_connection_pool().connect_options();
    format!(
        "{}:{}/{}",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or_default()
    )
}

/// `member`'s check-in decided in a transaction of its own.
async fn alone(
    db: &DatabaseConnection,
    permit_id: i32,
    member: Member,
) -> Result<CheckedIn, AppError> {
    decide_all(db, permit_id, std::slice::from_ref(&member))
        .await?
        .pop()
        .unwrap_or_else(|| Err(AppError::internal("a check-in left undecided")))
}

/// Removes a permit's queue when its leader stops without draining it (a panic, a runtime shutting
/// down): the waiting check-ins are answered with an error instead of waiting for ever, and the
/// next check-in starts a new leader.
struct Leading(Option<Key>);

impl Drop for Leading {
    fn drop(&mut self) {
        if let Some(key) = self.0.take() {
            QUEUES
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&key);
        }
    }
}

/// Decides the permit's queue, a transaction at a time, until it is empty.
async fn lead(db: DatabaseConnection, key: Key) {
    let mut leading = Leading(Some(key.clone()));
    loop {
        // Lets the requesters just answered (and any other ready task) run first: one that comes
        // straight back joins this batch instead of the next, so batches do not alternate
        // between full and nearly empty while the permit is busy.
        for _ in 0..YIELDS {
            tokio::task::yield_now().await;
        }
        let batch: Queue = {
            let mut queues = QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
            match queues.get_mut(&key) {
                Some(q) if !q.is_empty() => q.drain(..q.len().min(MOST)).collect(),
                _ => {
                    queues.remove(&key);
                    leading.0 = None;
                    return;
                }
            }
        };
        let (members, replies): (Vec<Member>, Vec<Reply>) = batch.into_iter().unzip();
        let answers = match decide_all(&db, key.1, &members).await {
            Ok(answers) => answers,
            Err(_) if members.len() > 1 => {
                let mut answers = Vec::with_capacity(members.len());
                for m in members {
                    answers.push(alone(&db, key.1, m).await);
                }
                answers
            }
            Err(e) => vec![Err(e)],
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A requester that went away needs no answer.
            let _ = reply.send(answer);
        }
    }
}
