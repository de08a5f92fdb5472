//! Check-ins and check-outs per town-local day and village (`dashboard_days`), kept by triggers on
//! `stays` like m012's standing counts, so the wall's 12-week trend sums a few thousand counters
//! instead of counting some 460 000 stays of a county each time it is drawn (issue 10).
//! The series mirror the trend's definitions: a check-in is any stay by the day it was made; a
//! check-out is a checked-out stay by the day it ended.
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The town-local day of a timestamp column (`{c}`). China Standard Time is UTC+8 with no
/// daylight saving (`domain::clock::TOWN_OFFSET_SECS`; a test compares these counters with the
/// rows bucketed by `town_date`).
fn day(pg: bool, col: &str) -> String {
    if pg {
        format!("(({col} AT TIME ZONE 'UTC') + interval '8 hours')::date")
    } else {
        format!("date({col}, '+8 hours')")
    }
}

/// SQLite: an upsert adding `d` to the series' counter of the row `r` when `when` holds.
fn sqlite_bump(series: &str, col: &str, r: &str, d: i32, when: &str) -> String {
    let day = day(false, &format!("{r}.{col}"));
    format!(
        "INSERT INTO dashboard_days (series, day, village_id, n) \
         SELECT '{series}', {day}, COALESCE({r}.village_id, 0), {d} WHERE {r}.{col} IS NOT NULL AND {when} \
         ON CONFLICT (series, day, village_id) DO UPDATE SET n = n + ({d});"
    )
}

fn sqlite_triggers() -> Vec<String> {
    let out = |r: &str| format!("{r}.status = 'checked_out'");
    let both = |d: i32, r: &str| {
        format!(
            "{}\n{}",
            sqlite_bump("check_in", "created_at", r, d, "1"),
            sqlite_bump("check_out", "ended_at", r, d, &out(r))
        )
    };
    vec![
        format!(
            "CREATE TRIGGER dc_days_stays_ins AFTER INSERT ON stays BEGIN\n{}\nEND",
            both(1, "NEW")
        ),
        format!(
            "CREATE TRIGGER dc_days_stays_del AFTER DELETE ON stays BEGIN\n{}\nEND",
            both(-1, "OLD")
        ),
        format!(
            "CREATE TRIGGER dc_days_stays_upd_in AFTER UPDATE OF created_at, village_id ON stays \
             WHEN OLD.created_at IS NOT NEW.created_at OR OLD.village_id IS NOT NEW.village_id BEGIN\n{}\n{}\nEND",
            sqlite_bump("check_in", "created_at", "OLD", -1, "1"),
            sqlite_bump("check_in", "created_at", "NEW", 1, "1"),
        ),
        format!(
            "CREATE TRIGGER dc_days_stays_upd_out AFTER UPDATE OF status, ended_at, village_id ON stays \
             WHEN (OLD.status = 'checked_out') IS NOT (NEW.status = 'checked_out') \
             OR (NEW.status = 'checked_out' AND (OLD.ended_at IS NOT NEW.ended_at OR OLD.village_id IS NOT NEW.village_id)) BEGIN\n{}\n{}\nEND",
            sqlite_bump("check_out", "ended_at", "OLD", -1, &out("OLD")),
            sqlite_bump("check_out", "ended_at", "NEW", 1, &out("NEW")),
        ),
    ]
}

fn pg_triggers() -> Vec<String> {
    vec![
        format!(
            "CREATE FUNCTION dc_day_bump(s text, t timestamptz, v integer, d integer) RETURNS void \
             LANGUAGE plpgsql AS $$\nBEGIN\nIF t IS NULL THEN RETURN; END IF;\n\
             INSERT INTO dashboard_days (series, day, village_id, n) VALUES (s, {}, COALESCE(v, 0), d)\n\
             ON CONFLICT (series, day, village_id) DO UPDATE SET n = dashboard_days.n + EXCLUDED.n;\n\
             END $$",
            day(true, "t")
        ),
        "CREATE FUNCTION dc_days_stays() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n\
         IF TG_OP = 'INSERT' THEN\n\
           PERFORM dc_day_bump('check_in', NEW.created_at, NEW.village_id, 1);\n\
           IF NEW.status = 'checked_out' THEN PERFORM dc_day_bump('check_out', NEW.ended_at, NEW.village_id, 1); END IF;\n\
         ELSIF TG_OP = 'DELETE' THEN\n\
           PERFORM dc_day_bump('check_in', OLD.created_at, OLD.village_id, -1);\n\
           IF OLD.status = 'checked_out' THEN PERFORM dc_day_bump('check_out', OLD.ended_at, OLD.village_id, -1); END IF;\n\
         ELSE\n\
           IF OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.village_id IS DISTINCT FROM NEW.village_id THEN\n\
             PERFORM dc_day_bump('check_in', OLD.created_at, OLD.village_id, -1);\n\
             PERFORM dc_day_bump('check_in', NEW.created_at, NEW.village_id, 1);\n\
           END IF;\n\
           IF OLD.status = 'checked_out' THEN PERFORM dc_day_bump('check_out', OLD.ended_at, OLD.village_id, -1); END IF;\n\
           IF NEW.status = 'checked_out' THEN PERFORM dc_day_bump('check_out', NEW.ended_at, NEW.village_id, 1); END IF;\n\
         END IF;\n\
         RETURN NULL;\nEND $$"
            .to_string(),
        "CREATE TRIGGER dc_days_stays_ins_del AFTER INSERT OR DELETE ON stays \
         FOR EACH ROW EXECUTE FUNCTION dc_days_stays()"
            .to_string(),
        "CREATE TRIGGER dc_days_stays_upd AFTER UPDATE OF created_at, village_id, status, ended_at ON stays \
         FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at \
         OR OLD.village_id IS DISTINCT FROM NEW.village_id \
         OR (OLD.status = 'checked_out') IS DISTINCT FROM (NEW.status = 'checked_out') \
         OR (NEW.status = 'checked_out' AND OLD.ended_at IS DISTINCT FROM NEW.ended_at)) \
         EXECUTE FUNCTION dc_days_stays()"
            .to_string(),
    ]
}

/// Counts of the stays already there, per series, day and village.
pub fn backfill(pg: bool, after_id: i64) -> Vec<String> {
    [
        ("check_in", "created_at", "1 = 1"),
        ("check_out", "ended_at", "r.status = 'checked_out'"),
    ]
    .iter()
    .map(|(series, col, when)| {
        format!(
            "INSERT INTO dashboard_days (series, day, village_id, n) \
             SELECT '{series}', d, v, COUNT(*) FROM (SELECT {} AS d, COALESCE(r.village_id, 0) AS v \
             FROM stays r WHERE r.id > {after_id} AND r.{col} IS NOT NULL AND {when}) x GROUP BY d, v \
             ON CONFLICT (series, day, village_id) DO UPDATE SET n = dashboard_days.n + excluded.n",
            day(pg, &format!("r.{col}"))
        )
    })
    .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let pg = db.get_database_backend() == DbBackend::Postgres;
        // The trend reads one series over a range of days, for the town or one village.
        let mut sql = vec![
            "CREATE TABLE dashboard_days (series VARCHAR(16) NOT NULL, day DATE NOT NULL, \
             village_id INTEGER NOT NULL, n BIGINT NOT NULL DEFAULT 0, \
             PRIMARY KEY (series, day, village_id))"
                .to_string(),
        ];
        sql.extend(backfill(pg, 0));
        sql.extend(if pg { pg_triggers() } else { sqlite_triggers() });
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let pg = db.get_database_backend() == DbBackend::Postgres;
        let sql: Vec<&str> = if pg {
            vec![
                "DROP TRIGGER IF EXISTS dc_days_stays_ins_del ON stays",
                "DROP TRIGGER IF EXISTS dc_days_stays_upd ON stays",
                "DROP FUNCTION IF EXISTS dc_days_stays()",
                "DROP FUNCTION IF EXISTS dc_day_bump(text, timestamptz, integer, integer)",
            ]
        } else {
            vec![
                "DROP TRIGGER IF EXISTS dc_days_stays_ins",
                "DROP TRIGGER IF EXISTS dc_days_stays_del",
                "DROP TRIGGER IF EXISTS dc_days_stays_upd_in",
                "DROP TRIGGER IF EXISTS dc_days_stays_upd_out",
            ]
        };
        for s in sql
            .into_iter()
            .chain(["DROP TABLE IF EXISTS dashboard_days"])
        {
            db.execute_unprepared(s).await?;
        }
        Ok(())
    }
}
