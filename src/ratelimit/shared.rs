//! Limits shared by every instance on one PostgreSQL database. Each instance counts its own hits
//! in memory (so its own bursts are stopped at once), writes them out per key and second every
//! quarter second, and adds the other instances' sum, read at most once a second per key: a
//! lockout counted on one instance holds on the others within about two seconds.
//! Keys are stored as SHA-256 hashes: no phone number or address lands in the table.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};
use sha2::{Digest, Sha256};

use super::SlidingWindow;

/// How long the other instances' count of a key is believed before it is read again.
const FRESH: Duration = Duration::from_secs(1);
/// How often this instance's hits are written out.
const FLUSH: Duration = Duration::from_millis(250);
/// Rows older than this are swept; longer than any window.
const KEEP_SECS: i64 = 24 * 3600;
const SWEEP: Duration = Duration::from_secs(60);
/// Rows per upsert statement.
const CHUNK: usize = 500;

fn epoch_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn hashed(name: &str, key: &str) -> String {
    hex::encode(Sha256::digest(format!("{name}\u{1f}{key}").as_bytes()))
}

#[derive(Default)]
struct Pending {
    /// Net hits per (hashed key, second) not written yet; a release is −1.
    deltas: HashMap<(String, i64), i32>,
    /// Keys to forget on every instance (a successful sign-in).
    cleared: Vec<String>,
}

/// What the other instances counted for a key: their sum in the window and their oldest second.
#[derive(Clone, Copy)]
struct Others {
    n: i64,
    oldest: Option<i64>,
    read_at: Instant,
}

/// The counts this instance shares through the database (one per instance, for all limiters).
pub struct SharedCounts {
    db: DatabaseConnection,
    instance: String,
    pending: Mutex<Pending>,
    others: Mutex<HashMap<String, Others>>,
    running: AtomicBool,
}

impl SharedCounts {
    /// Shared counts on PostgreSQL; `None` on SQLite, whose one instance counts in memory.
    pub fn for_database(db: &DatabaseConnection) -> Option<Arc<SharedCounts>> {
        (db.get_database_backend() == DbBackend::Postgres).then(|| {
            Arc::new(SharedCounts {
                db: db.clone(),
                instance: uuid::Uuid::new_v4().simple().to_string(),
                pending: Mutex::default(),
                others: Mutex::default(),
                running: AtomicBool::new(false),
            })
        })
    }

    async fn others(&self, key: &str, window: Duration) -> Result<Others, DbErr> {
        if let Some(o) = self.others.lock().ok().and_then(|m| m.get(key).copied())
            && o.read_at.elapsed() < FRESH
        {
            return Ok(o);
        }
        let since = epoch_secs() - window.as_secs() as i64;
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, MIN(second) AS oldest \
                 FROM rate_hits WHERE key = $1 AND instance <> $2 AND second > $3",
                [key.into(), self.instance.clone().into(), since.into()],
            ))
            .await?;
        let (n, oldest) = match row {
            Some(r) => (r.try_get("", "n")?, r.try_get("", "oldest")?),
            None => (0, None),
        };
        let o = Others {
            n,
            oldest,
            read_at: Instant::now(),
        };
        if let Ok(mut m) = self.others.lock() {
            if m.len() > 100_000 {
                m.retain(|_, o| o.read_at.elapsed() < FRESH);
            }
            m.insert(key.to_string(), o);
        }
        Ok(o)
    }

    fn add(self: &Arc<Self>, key: &str, delta: i32) {
        if let Ok(mut p) = self.pending.lock() {
            *p.deltas.entry((key.to_string(), epoch_secs())).or_default() += delta;
        }
        self.start();
    }

    fn clear(self: &Arc<Self>, key: &str) {
        if let Ok(mut p) = self.pending.lock() {
            p.deltas.retain(|(k, _), _| k != key);
            p.cleared.push(key.to_string());
        }
        if let Ok(mut m) = self.others.lock() {
            m.remove(key);
        }
        self.start();
    }

    fn start(self: &Arc<Self>) {
        if let Ok(rt) = tokio::runtime::Handle::try_current()
            && !self.running.swap(true, Ordering::AcqRel)
        {
            rt.spawn(flusher(Arc::downgrade(self)));
        }
    }

    /// Writes this instance's hits and forgets the cleared keys everywhere.
    pub async fn flush(&self) -> Result<(), DbErr> {
        let Pending { deltas, cleared } = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(()),
        };
        let rows: Vec<_> = deltas.into_iter().filter(|(_, n)| *n != 0).collect();
        for (i, keys) in cleared.chunks(CHUNK).enumerate() {
            let marks: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
            let r = self
                .db
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!("DELETE FROM rate_hits WHERE key IN ({})", marks.join(", ")),
                    keys.iter().cloned().map(Value::from),
                ))
                .await;
            if let Err(e) = r {
                self.put_back(&rows, cleared[i * CHUNK..].to_vec());
                return Err(e);
            }
        }
        for (i, chunk) in rows.chunks(CHUNK).enumerate() {
            if let Err(e) = self.upsert(chunk).await {
                self.put_back(&rows[i * CHUNK..], vec![]);
                return Err(e);
            }
        }
        Ok(())
    }

    /// What a failed flush did not write waits for the next round instead of being lost.
    fn put_back(&self, rows: &[((String, i64), i32)], cleared: Vec<String>) {
        if let Ok(mut p) = self.pending.lock() {
            for ((k, s), n) in rows {
                *p.deltas.entry((k.clone(), *s)).or_default() += n;
            }
            p.cleared.extend(cleared);
        }
    }

    async fn upsert(&self, rows: &[((String, i64), i32)]) -> Result<(), DbErr> {
        let mut sql = String::from("INSERT INTO rate_hits (key, instance, second, n) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 4);
        for (i, ((key, second), n)) in rows.iter().enumerate() {
            let b = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            values.extend([
                key.clone().into(),
                self.instance.clone().into(),
                (*second).into(),
                (*n).into(),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (key, instance, second) DO UPDATE SET n = rate_hits.n + excluded.n",
        );
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?;
        Ok(())
    }

    async fn sweep(&self) -> Result<(), DbErr> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM rate_hits WHERE second < $1",
                [(epoch_secs() - KEEP_SECS).into()],
            ))
            .await?;
        Ok(())
    }
}

async fn flusher(counts: Weak<SharedCounts>) {
    let mut swept = Instant::now();
    loop {
        tokio::time::sleep(FLUSH).await;
        let Some(c) = counts.upgrade() else { return };
        if let Err(e) = c.flush().await {
            tracing::warn!(error = %e, "shared rate limits: cannot write this instance's hits");
        }
        if swept.elapsed() >= SWEEP {
            swept = Instant::now();
            if let Err(e) = c.sweep().await {
                tracing::warn!(error = %e, "shared rate limits: cannot sweep old hits");
            }
        }
    }
}

/// A named limit: this instance's sliding window plus, on PostgreSQL, the other instances' hits.
pub struct Limiter {
    name: &'static str,
    limit: u32,
    window: Duration,
    local: SlidingWindow,
    shared: Option<Arc<SharedCounts>>,
}

impl Limiter {
    pub fn new(
        name: &'static str,
        limit: u32,
        window: Duration,
        shared: Option<Arc<SharedCounts>>,
    ) -> Limiter {
        Limiter {
            name,
            limit,
            window,
            local: SlidingWindow::new(limit, window),
            shared,
        }
    }

    /// Counts this event if there is room for it on every instance together; `Err(retry_after)`
    /// otherwise. An unreadable database falls back to this instance's count (and says so).
    pub async fn check_and_hit(&self, key: &str) -> Result<(), Duration> {
        self.local.check_and_hit(key)?;
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let hk = hashed(self.name, key);
        match shared.others(&hk, self.window).await {
            Ok(o) if self.local.count(key) as i64 + o.n > i64::from(self.limit) => {
                self.local.release(key);
                let waited = o.oldest.map_or(0, |s| (epoch_secs() - s).max(0)) as u64;
                return Err(self
                    .window
                    .saturating_sub(Duration::from_secs(waited))
                    .max(Duration::from_secs(1)));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, limiter = self.name, "shared rate limit unreadable; counting on this instance only")
            }
        }
        shared.add(&hk, 1);
        Ok(())
    }

    /// Gives back one event counted by `check_and_hit` (a reservation that was not used).
    pub fn release(&self, key: &str) {
        self.local.release(key);
        if let Some(shared) = &self.shared {
            shared.add(&hashed(self.name, key), -1);
        }
    }

    /// Forgets the key's events on every instance.
    pub fn clear(&self, key: &str) {
        self.local.clear(key);
        if let Some(shared) = &self.shared {
            shared.clear(&hashed(self.name, key));
        }
    }
}
