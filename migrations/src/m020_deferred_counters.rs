//! PostgreSQL: the command room's counters (m012, m018) are bumped when a transaction commits
//! instead of when it writes its row. A counter's row is locked from its bump to the commit, and
//! every check-in of a village bumps the same few rows: bumped at the writer's first insert, they
//! made all check-ins of the village queue on one another for their whole transaction (issue 13,
//! item 10); bumped at the commit, only for the commit. The triggers become deferred constraint
//! triggers with the same names, functions and conditions, so `dashboard::recount`'s
//! `CounterTriggers` sets them aside as before. SQLite serialises its writers anyway: unchanged.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DEFERRED: &str = " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW";
const IMMEDIATE: &str = " FOR EACH ROW";

/// Each counter trigger's table and definition as PostgreSQL prints it.
async fn counter_triggers(
    db: &SchemaManagerConnection<'_>,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT t.tgname AS name, c.relname AS tbl, pg_get_triggerdef(t.oid) AS def \
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             WHERE NOT t.tgisinternal AND t.tgname LIKE 'dc\\_%' ORDER BY t.tgname",
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "name")?,
                r.try_get("", "tbl")?,
                r.try_get("", "def")?,
            ))
        })
        .collect()
}

/// Recreates every counter trigger with `to` in place of `from` (each definition holds it once).
async fn recreate(
    m: &SchemaManager<'_>,
    (from_kind, to_kind): (&str, &str),
    (from, to): (&str, &str),
) -> Result<(), DbErr> {
    let db = m.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (name, table, def) in counter_triggers(db).await? {
        if !def.starts_with(from_kind) || !def.contains(from) {
            return Err(DbErr::Migration(format!(
                "trigger {name}: unexpected definition {def}"
            )));
        }
        let def = def.replacen(from_kind, to_kind, 1).replacen(from, to, 1);
        db.execute_unprepared(&format!("DROP TRIGGER {name} ON {table}"))
            .await?;
        db.execute_unprepared(&def).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate(
            m,
            ("CREATE TRIGGER", "CREATE CONSTRAINT TRIGGER"),
            (IMMEDIATE, DEFERRED),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate(
            m,
            ("CREATE CONSTRAINT TRIGGER", "CREATE TRIGGER"),
            (DEFERRED, IMMEDIATE),
        )
        .await
    }
}
