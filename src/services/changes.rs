//! What a change tells every instance: which permit's verification must be read again, and that
//! the command room's figures may have moved. Within a process at once (from inside the writing
//! transaction); across instances through one PostgreSQL `LISTEN/NOTIFY` channel, delivered by
//! PostgreSQL only when the transaction commits.
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::AppError;

/// The channel every instance listens on.
pub const CHANNEL: &str = "anju_changes";

/// A change announced inside a transaction keeps its permit out of the cache this long: the
/// transaction commits well within it, so whatever is read afterwards already sees the change.
const SETTLE: Duration = Duration::from_secs(2);

/// A cached reading is read again after this long even if no change was announced (a hand edit
/// of the database, a lost notification).
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// What changed, as far as the caches care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// This permit, or the stays counted on it.
    Permit(i32),
    /// Something every cached permit may show (a house's address, a village's name).
    Everything,
    /// Nothing a cached permit shows; the command room's figures only.
    Figures,
}

impl Change {
    fn payload(self) -> String {
        match self {
            Change::Permit(id) => format!("p{id}"),
            Change::Everything => "*".into(),
            Change::Figures => String::new(),
        }
    }

    fn parse(payload: &str) -> Change {
        match payload {
            "*" => Change::Everything,
            p => match p.strip_prefix('p').and_then(|n| n.parse().ok()) {
                Some(id) => Change::Permit(id),
                None => Change::Figures,
            },
        }
    }

    /// The change an audit entry stands for: the audit log sees every change, so the command
    /// room hears of all of them, and permits, houses and villages reach the verification cache.
    pub fn of_audit(entity: &str, entity_id: &str) -> Change {
        match (entity, entity_id.parse::<i32>()) {
            ("permit", Ok(id)) => Change::Permit(id),
            ("permit" | "property" | "village" | "import", _) => Change::Everything,
            _ => Change::Figures,
        }
    }
}

/// Per permit, the instant before which a cached reading of it is stale.
#[derive(Default)]
struct Stale {
    permits: HashMap<i32, Instant>,
    all: Option<Instant>,
}

static STALE: LazyLock<Mutex<Stale>> = LazyLock::new(Default::default);

fn mark(change: Change, until: Instant) {
    let mut s = STALE.lock().unwrap_or_else(PoisonError::into_inner);
    match change {
        Change::Permit(id) => {
            if s.permits.len() >= 10_000 {
                // Marks older than MAX_AGE cannot matter: every reading before them has aged out.
                let now = Instant::now();
                s.permits
                    .retain(|_, t| now.saturating_duration_since(*t) < MAX_AGE);
            }
            let t = s.permits.entry(id).or_insert(until);
            *t = (*t).max(until);
        }
        Change::Everything => s.all = Some(s.all.map_or(until, |t| t.max(until))),
        Change::Figures => {}
    }
}

/// Whether a reading of this permit taken at `fetched_at` still stands.
pub fn is_fresh(permit_id: i32, fetched_at: Instant) -> bool {
    if fetched_at.elapsed() >= MAX_AGE {
        return false;
    }
    let s = STALE.lock().unwrap_or_else(PoisonError::into_inner);
    s.all.is_none_or(|t| fetched_at > t)
        && s.permits.get(&permit_id).is_none_or(|t| fetched_at > *t)
}

/// Announces a change from inside the transaction that makes it: this process stops trusting
/// its cached reading now, the other instances when the transaction commits.
pub async fn announce<C: ConnectionTrait>(tx: &C, change: Change) -> Result<(), AppError> {
    mark(change, Instant::now() + SETTLE);
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(notify_statement(change, "")).await?;
    }
    Ok(())
}

/// `pg_notify` for this change, after `prefix` (a select list ending in a comma, or nothing),
/// so a caller that already makes a round trip can carry the notification along.
pub fn notify_statement(change: Change, prefix: &str) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("SELECT {prefix} pg_notify($1, $2)"),
        [CHANNEL.into(), change.payload().into()],
    )
}

/// Marks a change announced inside this process (the audit log calls it for every entry).
pub fn announce_local(change: Change) {
    mark(change, Instant::now() + SETTLE);
}

/// The instances of this process on one database (several only in tests), and whether their
/// listener runs.
#[derive(Default)]
struct Listeners {
    states: Vec<Weak<crate::AppState>>,
    running: bool,
}

static LISTENERS: LazyLock<Mutex<HashMap<String, Listeners>>> = LazyLock::new(Default::default);

/// Clears `running` however the listener ends, even when its runtime is dropped under it.
struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        let mut all = LISTENERS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(l) = all.get_mut(&self.0) {
            l.running = false;
        }
    }
}

/// On PostgreSQL, one connection per process and database listens for changes and for new
/// outbox events for as long as an instance on it lives, reconnecting after errors.
pub fn spawn_listener(state: &std::sync::Arc<crate::AppState>) {
    let url = state.config.database_url.clone();
    {
        let mut all = LISTENERS.lock().unwrap_or_else(PoisonError::into_inner);
        let l = all.entry(url.clone()).or_default();
        l.states.retain(|w| w.strong_count() > 0);
        l.states.push(std::sync::Arc::downgrade(state));
        if l.running {
            return;
        }
        l.running = true;
    }
    let pool = state.db.get_postgres_connection_pool().clone();
    rocket::tokio::spawn(async move {
        let _running = Running(url.clone());
        loop {
            if let Err(e) = listen(&url, &pool).await {
                tracing::warn!(error = %e, "LISTEN for changes failed; reconnecting");
            }
            if live(&url).is_empty() {
                return;
            }
            // Whatever was said while nobody listened: read everything again.
            mark(Change::Everything, Instant::now());
            poke_all(&url);
            rocket::tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// The instances of this process on `url` that are still alive.
fn live(url: &str) -> Vec<std::sync::Arc<crate::AppState>> {
    let mut all = LISTENERS.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(l) = all.get_mut(url) else {
        return Vec::new();
    };
    l.states.retain(|w| w.strong_count() > 0);
    l.states.iter().filter_map(Weak::upgrade).collect()
}

fn poke_all(url: &str) {
    for st in live(url) {
        st.dashboard.poke();
    }
}

async fn listen(url: &str, pool: &sea_orm::sqlx::PgPool) -> Result<(), sea_orm::sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen_all([CHANNEL, super::events::PG_CHANNEL]).await?;
    loop {
        // Wakes now and then to notice that every instance has gone.
        let got = rocket::tokio::time::timeout(Duration::from_secs(5), l.try_recv()).await;
        let Ok(n) = got else {
            if live(url).is_empty() {
                return Ok(());
            }
            continue;
        };
        let Some(n) = n? else {
            // The connection was lost and made again: what was said meanwhile is gone.
            mark(Change::Everything, Instant::now());
            poke_all(url);
            continue;
        };
        if n.channel() == super::events::PG_CHANNEL {
            super::events::WAKE.notify_one();
            continue;
        }
        // Delivered after the commit: a reading from now on sees the change.
        mark(Change::parse(n.payload()), Instant::now());
        poke_all(url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_as_the_change_they_carry() {
        for c in [Change::Permit(42), Change::Everything, Change::Figures] {
            assert_eq!(Change::parse(&c.payload()), c);
        }
        assert_eq!(Change::parse("p"), Change::Figures);
    }

    #[test]
    fn audit_entries_of_permits_houses_and_villages_reach_the_cache() {
        assert_eq!(Change::of_audit("permit", "7"), Change::Permit(7));
        assert_eq!(Change::of_audit("property", "7"), Change::Everything);
        assert_eq!(Change::of_audit("village", "2"), Change::Everything);
        assert_eq!(Change::of_audit("stay", "9"), Change::Figures);
    }

    #[test]
    fn a_reading_before_an_announced_change_is_stale_and_one_after_it_stands() {
        let before = Instant::now();
        announce_local(Change::Permit(-5));
        assert!(!is_fresh(-5, before));
        // Inside the settling time the writer may not have committed: nothing is trusted yet.
        assert!(!is_fresh(-5, Instant::now()));
        mark(Change::Permit(-6), Instant::now());
        std::thread::sleep(Duration::from_millis(2));
        assert!(is_fresh(-6, Instant::now()));
        assert!(
            is_fresh(-7, Instant::now()),
            "other permits keep their readings"
        );
    }
}
