//! The standing counters (`dashboard_counts`, m012) counted afresh from the rows, for bulk writers
//! that set the per-row triggers aside (`seed-scale`) and for checking that the triggers kept up.
//! The metrics here are m012's, one for one: houses and their grade, permits, applications and
//! stays by status, each by its village; and m018's check-ins and check-outs per day
//! (`dashboard_days`).
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::AppError;

/// A counted table and the counters one of its rows is in (SQL over the row `r`).
struct Counted {
    table: &'static str,
    metrics: &'static [&'static str],
}

const COUNTED: &[Counted] = &[
    Counted {
        table: "properties",
        metrics: &["'houses'", "'grade_' || COALESCE(r.grade, 'none')"],
    },
    Counted {
        table: "permits",
        metrics: &["'permit_' || r.status"],
    },
    Counted {
        table: "applications",
        metrics: &["'app_' || r.status"],
    },
    Counted {
        table: "stays",
        metrics: &["'stay_' || r.status"],
    },
];

/// Tables whose rows the counters count.
pub const TABLES: [&str; 4] = ["properties", "permits", "applications", "stays"];

/// `INSERT … SELECT` adding the counts of `table`'s rows with an id above `after` to the
/// counters (each row's village is on the row: m016 put it on stays).
fn add_sql(c: &Counted, after: i64) -> Vec<String> {
    c.metrics
        .iter()
        .map(|m| {
            format!(
                "INSERT INTO dashboard_counts (village_id, metric, n) \
                 SELECT v, m, COUNT(*) FROM (SELECT r.village_id AS v, {m} AS m FROM {t} r \
                 WHERE r.id > {after}) x WHERE v IS NOT NULL AND m IS NOT NULL GROUP BY v, m \
                 ON CONFLICT (village_id, metric) DO UPDATE SET n = dashboard_counts.n + excluded.n",
                t = c.table
            )
        })
        .collect()
}

/// Adds the rows of `table` with an id above `after` to the counters. For rows written while the
/// triggers were set aside, in the same transaction.
pub async fn add_rows_after<C: ConnectionTrait>(
    db: &C,
    table: &str,
    after: i64,
) -> Result<(), AppError> {
    for c in COUNTED.iter().filter(|c| c.table == table) {
        for s in add_sql(c, after) {
            db.execute_unprepared(&s).await?;
        }
    }
    if table == "stays" {
        let pg = db.get_database_backend() == DbBackend::Postgres;
        for s in migration::dashboard_days_backfill(pg, after) {
            db.execute_unprepared(&s).await?;
        }
    }
    Ok(())
}

/// Replaces every counter with a count of the rows.
pub async fn recount<C: ConnectionTrait>(db: &C) -> Result<(), AppError> {
    db.execute_unprepared("DELETE FROM dashboard_counts")
        .await?;
    db.execute_unprepared("DELETE FROM dashboard_days").await?;
    for t in TABLES {
        add_rows_after(db, t, 0).await?;
    }
    Ok(())
}

/// The counters' triggers on the counted tables, to set aside for one transaction of bulk
/// inserts and put back before it commits (DDL is transactional on both databases, so no commit
/// ever sees the tables without them).
pub struct CounterTriggers {
    backend: DbBackend,
    /// SQLite: each trigger's name and its `CREATE TRIGGER` statement.
    sqlite: Vec<(String, String)>,
}

impl CounterTriggers {
    pub async fn load<C: ConnectionTrait>(db: &C) -> Result<CounterTriggers, AppError> {
        let backend = db.get_database_backend();
        let mut sqlite = Vec::new();
        if backend == DbBackend::Sqlite {
            let rows = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' \
                     AND name LIKE 'dc\\_%' ESCAPE '\\' ORDER BY name",
                ))
                .await?;
            for r in rows {
                sqlite.push((r.try_get("", "name")?, r.try_get("", "sql")?));
            }
        }
        Ok(CounterTriggers { backend, sqlite })
    }

    fn pg(&self, verb: &str) -> Vec<String> {
        let m012 = TABLES
            .iter()
            .flat_map(|t| ["ins_del", "upd"].map(|k| (*t, format!("dc_{t}_{k}"))));
        let m018 = ["ins_del", "upd"].map(|k| ("stays", format!("dc_days_stays_{k}")));
        m012.chain(m018)
            .map(|(t, name)| format!("ALTER TABLE {t} {verb} TRIGGER {name}"))
            .collect()
    }

    /// Sets the triggers aside inside the transaction `tx`.
    pub async fn pause<C: ConnectionTrait>(&self, tx: &C) -> Result<(), AppError> {
        let sql: Vec<String> = if self.backend == DbBackend::Postgres {
            self.pg("DISABLE")
        } else {
            self.sqlite
                .iter()
                .map(|(name, _)| format!("DROP TRIGGER {name}"))
                .collect()
        };
        for s in sql {
            tx.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    /// Puts them back, in the same transaction.
    pub async fn resume<C: ConnectionTrait>(&self, tx: &C) -> Result<(), AppError> {
        let sql: Vec<String> = if self.backend == DbBackend::Postgres {
            self.pg("ENABLE")
        } else {
            self.sqlite.iter().map(|(_, sql)| sql.clone()).collect()
        };
        for s in sql {
            tx.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}
