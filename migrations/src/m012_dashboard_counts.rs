//! The command room's standing counts (houses by grade, permits, applications and stays by status,
//! per village), kept by triggers in the same transaction as every write that changes them, so
//! the snapshot reads a few hundred rows instead of walking every house and stay (issue 10).
//! Triggers rather than service code: imports, seeding, transfers and any later writer stay
//! counted without having to remember it.
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A counted table: its name, the columns whose change moves a row between counters, the village
/// of a row (`{r}` is `NEW` or `OLD`) and the counters a row is in.
struct Counted {
    table: &'static str,
    columns: &'static str,
    village: &'static str,
    metrics: &'static [&'static str],
}

const COUNTED: &[Counted] = &[
    Counted {
        table: "properties",
        columns: "village_id, grade",
        village: "{r}.village_id",
        metrics: &["'houses'", "'grade_' || COALESCE({r}.grade, 'none')"],
    },
    Counted {
        table: "permits",
        columns: "village_id, status",
        village: "{r}.village_id",
        metrics: &["'permit_' || {r}.status"],
    },
    Counted {
        table: "applications",
        columns: "village_id, status",
        village: "{r}.village_id",
        metrics: &["'app_' || {r}.status"],
    },
    Counted {
        table: "stays",
        columns: "property_id, status",
        village: "(SELECT village_id FROM properties WHERE id = {r}.property_id)",
        metrics: &["'stay_' || {r}.status"],
    },
];

fn at(expr: &str, r: &str) -> String {
    expr.replace("{r}", r)
}

/// Whether an update moves the row between counters (`IS NOT` is SQLite's null-safe inequality;
/// PostgreSQL spells it `IS DISTINCT FROM` and allows no subquery here, hence columns only).
fn changed(c: &Counted, not_equal: &str) -> String {
    c.columns
        .split(", ")
        .map(|col| format!("OLD.{col} {not_equal} NEW.{col}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn sqlite(c: &Counted) -> Vec<String> {
    let add = |r: &str| -> String {
        c.metrics
            .iter()
            .map(|m| {
                format!(
                    "INSERT INTO dashboard_counts (village_id, metric, n) VALUES ({}, {}, 1) \
                     ON CONFLICT (village_id, metric) DO UPDATE SET n = n + 1;",
                    at(c.village, r),
                    at(m, r)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sub = |r: &str| -> String {
        c.metrics
            .iter()
            .map(|m| {
                format!(
                    "UPDATE dashboard_counts SET n = n - 1 WHERE village_id = {} AND metric = {};",
                    at(c.village, r),
                    at(m, r)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let t = c.table;
    vec![
        format!(
            "CREATE TRIGGER dc_{t}_ins AFTER INSERT ON {t} BEGIN\n{}\nEND",
            add("NEW")
        ),
        format!(
            "CREATE TRIGGER dc_{t}_del AFTER DELETE ON {t} BEGIN\n{}\nEND",
            sub("OLD")
        ),
        format!(
            "CREATE TRIGGER dc_{t}_upd AFTER UPDATE OF {} ON {t} WHEN {} BEGIN\n{}\n{}\nEND",
            c.columns,
            changed(c, "IS NOT"),
            sub("OLD"),
            add("NEW")
        ),
    ]
}

fn postgres(c: &Counted) -> Vec<String> {
    let bump = |r: &str, d: i32| -> String {
        c.metrics
            .iter()
            .map(|m| format!("PERFORM dc_bump({}, {}, {d});", at(c.village, r), at(m, r)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let t = c.table;
    vec![
        format!(
            "CREATE FUNCTION dc_{t}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n\
             IF TG_OP IN ('UPDATE', 'DELETE') THEN\n{}\nEND IF;\n\
             IF TG_OP IN ('UPDATE', 'INSERT') THEN\n{}\nEND IF;\n\
             RETURN NULL;\nEND $$",
            bump("OLD", -1),
            bump("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER dc_{t}_ins_del AFTER INSERT OR DELETE ON {t} \
             FOR EACH ROW EXECUTE FUNCTION dc_{t}()"
        ),
        format!(
            "CREATE TRIGGER dc_{t}_upd AFTER UPDATE OF {} ON {t} FOR EACH ROW \
             WHEN ({}) EXECUTE FUNCTION dc_{t}()",
            c.columns,
            changed(c, "IS DISTINCT FROM")
        ),
    ]
}

/// Fills the counters from the rows already there.
fn backfill(c: &Counted) -> Vec<String> {
    c.metrics
        .iter()
        .map(|m| {
            format!(
                "INSERT INTO dashboard_counts (village_id, metric, n) \
                 SELECT v, m, COUNT(*) FROM (SELECT {} AS v, {} AS m FROM {} AS r) AS x \
                 WHERE v IS NOT NULL AND m IS NOT NULL GROUP BY v, m",
                at(c.village, "r"),
                at(m, "r"),
                c.table
            )
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let pg = db.get_database_backend() == DbBackend::Postgres;
        let mut sql = vec![
            "CREATE TABLE dashboard_counts (village_id INTEGER NOT NULL, metric VARCHAR(40) NOT NULL, \
             n BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (village_id, metric))"
                .to_string(),
        ];
        if pg {
            sql.push(
                "CREATE FUNCTION dc_bump(v integer, m text, d integer) RETURNS void LANGUAGE plpgsql AS $$\n\
                 BEGIN\nIF v IS NULL OR m IS NULL THEN RETURN; END IF;\n\
                 INSERT INTO dashboard_counts (village_id, metric, n) VALUES (v, m, d)\n\
                 ON CONFLICT (village_id, metric) DO UPDATE SET n = dashboard_counts.n + EXCLUDED.n;\n\
                 END $$"
                    .to_string(),
            );
        }
        for c in COUNTED {
            sql.extend(backfill(c));
            sql.extend(if pg { postgres(c) } else { sqlite(c) });
        }
        // The windows the snapshot still counts from rows: permits past their date or expiring,
        // issued today; houses registered today.
        sql.push("CREATE INDEX ix_m012_permits_status_until ON permits (status, valid_until, village_id)".into());
        sql.push("CREATE INDEX ix_m012_permits_issued ON permits (issued_at, village_id)".into());
        sql.push(
            "CREATE INDEX ix_m012_properties_created ON properties (created_at, village_id)".into(),
        );
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let pg = db.get_database_backend() == DbBackend::Postgres;
        let mut sql = Vec::new();
        for c in COUNTED {
            let t = c.table;
            if pg {
                sql.push(format!("DROP TRIGGER IF EXISTS dc_{t}_ins_del ON {t}"));
                sql.push(format!("DROP TRIGGER IF EXISTS dc_{t}_upd ON {t}"));
                sql.push(format!("DROP FUNCTION IF EXISTS dc_{t}()"));
            } else {
                for k in ["ins", "del", "upd"] {
                    sql.push(format!("DROP TRIGGER IF EXISTS dc_{t}_{k}"));
                }
            }
        }
        if pg {
            sql.push("DROP FUNCTION IF EXISTS dc_bump(integer, text, integer)".into());
        }
        for ix in [
            "ix_m012_permits_status_until",
            "ix_m012_permits_issued",
            "ix_m012_properties_created",
        ] {
            sql.push(format!("DROP INDEX IF EXISTS {ix}"));
        }
        sql.push("DROP TABLE IF EXISTS dashboard_counts".into());
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }
}
