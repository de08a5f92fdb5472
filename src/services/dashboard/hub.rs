//! One computation per change for every open screen: a per-instance task looks at the audit log's
//! newest id about once a second (every change writes an audit row in its transaction, so this
//! also sees other instances' changes); when it moved, the generation goes up, and the first
//! screen that asks computes the scope's snapshot while the others wait for and reuse it.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use tokio::sync::{Mutex, watch};

use super::{Scope, Snapshot, compute};
use crate::AppState;
use crate::entities::audit_entry;
use crate::error::AppError;

/// How often the audit log is looked at; with the computation this keeps a change on the wall
/// within 3 s and collapses a burst of changes into one computation.
pub const POLL: Duration = Duration::from_secs(1);
/// Overdue and "last 24 hours" move with time alone: recompute at least this often.
pub const REFRESH: Duration = Duration::from_secs(60);

pub struct Hub {
    generation: watch::Sender<u64>,
    running: AtomicBool,
    cache: Mutex<HashMap<Scope, (u64, Arc<Snapshot>)>>,
    computations: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            generation: watch::channel(0).0,
            running: AtomicBool::new(false),
            cache: Mutex::new(HashMap::new()),
            computations: AtomicU64::new(0),
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
    loop {
        tokio::time::sleep(POLL).await;
        let Some(st) = state.upgrade() else { return };
        let hub = &st.dashboard;
        if hub.generation.receiver_count() == 0 {
            // Nobody is watching: stop; the next screen starts a new watcher.
            hub.running.store(false, Ordering::Release);
            if hub.generation.receiver_count() == 0 || hub.running.swap(true, Ordering::AcqRel) {
                return;
            }
        }
        let last = match last_change(&st.db).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "command room: cannot read the audit log");
                continue;
            }
        };
        if seen != Some(last) || bumped.elapsed() >= REFRESH {
            seen = Some(last);
            bumped = Instant::now();
            hub.generation.send_modify(|g| *g += 1);
        }
    }
}
