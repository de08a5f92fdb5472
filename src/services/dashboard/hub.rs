//! One computation per change for every open screen: a per-instance task learns of changes —
//! on PostgreSQL from the instance's `LISTEN` on the changes channel (every audited change of
//! every instance notifies it on commit), on SQLite by looking at the audit log's newest id about
//! once a second — and then the generation goes up, and the first screen that asks computes the
//! scope's snapshot while the others wait for and reuse it.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use sea_orm::DbBackend;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use tokio::sync::{Mutex, Notify, watch};

use super::{Scope, Snapshot, compute};
use crate::AppState;
use crate::entities::audit_entry;
use crate::error::AppError;

/// How often the audit log is looked at; with the computation this keeps a change on the wall
/// within 3 s and collapses a burst of changes into one computation.
pub const POLL: Duration = Duration::from_secs(1);
/// Overdue and "last 24 hours" move with time alone: recompute at least this often.
pub const REFRESH: Duration = Duration::from_secs(60);
/// After a notification, further ones this soon after are folded into the same computation.
const DEBOUNCE: Duration = Duration::from_millis(300);

pub struct Hub {
    generation: watch::Sender<u64>,
    running: AtomicBool,
    cache: Mutex<HashMap<Scope, (u64, Arc<Snapshot>)>>,
    computations: AtomicU64,
    /// Rung by the PostgreSQL listener for every change any instance commits.
    pokes: Notify,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            generation: watch::channel(0).0,
            running: AtomicBool::new(false),
            cache: Mutex::new(HashMap::new()),
            computations: AtomicU64::new(0),
            pokes: Notify::new(),
        }
    }
}

/// The newest audit entry's id: the primary key's maximum, one index look-up on both databases.
pub async fn last_change<C: ConnectionTrait>(db: &C) -> Result<i64, AppError> {
    let q = Query::select()
        .expr_as(Expr::col(audit_entry::Column::Id).max(), "m")
        .from(audit_entry::Entity)
        .to_owned();
    Ok(match db.query_one(&q).await? {
        Some(row) => row.try_get::<Option<i64>>("", "m")?.unwrap_or(0),
        None => 0,
    })
}

impl Hub {
    /// Snapshots computed so far (for the benchmark and the tests: 50 screens, one computation).
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// Something changed (told by the PostgreSQL listener).
    pub fn poke(&self) {
        self.pokes.notify_one();
    }

    /// A receiver that changes whenever the figures may have; starts the watcher if needed.
    pub fn subscribe(&self, state: &Arc<AppState>) -> watch::Receiver<u64> {
        let rx = self.generation.subscribe();
        if !self.running.swap(true, Ordering::AcqRel) {
            tokio::spawn(watch_changes(Arc::downgrade(state)));
        }
        rx
    }

    /// The scope's snapshot for the current generation, computed by the first caller only.
    pub async fn snapshot(&self, st: &AppState, scope: Scope) -> Result<Arc<Snapshot>, AppError> {
        if !self.running.load(Ordering::Acquire) {
            // No watcher, so no way to know the cache is current: a one-off request computes.
            self.computations.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::new(
                compute(&st.db, scope, st.config.clock.now()).await?,
            ));
        }
        let generation = *self.generation.borrow();
        // Held across the computation on purpose: the other screens wait and then reuse it.
        let mut cache = self.cache.lock().await;
        if let Some((g, s)) = cache.get(&scope)
            && *g == generation
        {
            return Ok(s.clone());
        }
        let s = Arc::new(compute(&st.db, scope, st.config.clock.now()).await?);
        self.computations.fetch_add(1, Ordering::Relaxed);
        cache.insert(scope, (generation, s.clone()));
        Ok(s)
    }
}

async fn watch_changes(state: Weak<AppState>) {
    let mut seen: Option<i64> = None;
    let mut bumped = Instant::now();
    let listened = state
        .upgrade()
        .is_some_and(|st| st.db.get_database_backend() == DbBackend::Postgres);
    loop {
        let changed = if listened {
            Some(wait_for_poke(&state).await)
        } else {
            tokio::time::sleep(POLL).await;
            None
        };
        let Some(st) = state.upgrade() else { return };
        let hub = &st.dashboard;
        if hub.generation.receiver_count() == 0 {
            // Nobody is watching: stop; the next screen starts a new watcher.
            hub.running.store(false, Ordering::Release);
            if hub.generation.receiver_count() == 0 || hub.running.swap(true, Ordering::AcqRel) {
                return;
            }
        }
        let changed = match changed {
            Some(c) => c,
            None => match last_change(&st.db).await {
                Ok(last) => seen.replace(last) != Some(last),
                Err(e) => {
                    tracing::warn!(error = %e, "command room: cannot read the audit log");
                    continue;
                }
            },
        };
        if changed || bumped.elapsed() >= REFRESH {
            bumped = Instant::now();
            hub.generation.send_modify(|g| *g += 1);
        }
    }
}

/// Waits for the listener's poke (or a second, to notice that the screens have gone) and lets
/// a burst of changes settle: true when something changed.
async fn wait_for_poke(state: &Weak<AppState>) -> bool {
    let Some(st) = state.upgrade() else {
        return false;
    };
    let poked = tokio::time::timeout(POLL, st.dashboard.pokes.notified()).await;
    drop(st);
    if poked.is_err() {
        return false;
    }
    tokio::time::sleep(DEBOUNCE).await;
    if let Some(st) = state.upgrade() {
        // Pokes that came during the pause belong to this computation.
        let _ = tokio::time::timeout(Duration::ZERO, st.dashboard.pokes.notified()).await;
    }
    true
}
