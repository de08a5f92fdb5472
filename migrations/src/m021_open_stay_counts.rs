//! Each permit's and each room's open (pending or active) stays, kept by triggers on `stays`, so
//! that a check-in's cap check reads two numbers instead of counting the house's open stays: on
//! a house with thousands of registrations the count was half of every check-in (issue 13, item
//! 10). The triggers are immediate on both databases, so a transaction that admits several stays
//! (an import) reads its own admissions; every writer of `stays` keeps the numbers, whichever
//! code path (or hand-written SQL) it comes from.
use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statuses that hold a place (`StayStatus::Pending`, `StayStatus::Active`).
const OPEN: &str = "('pending', 'active')";

/// The counted tables and the column of `stays` that points at each.
const COUNTED: [(&str, &str); 2] = [("permits", "permit_id"), ("rooms", "room_id")];

fn sqlite_triggers() -> Vec<String> {
    let bump = |row: &str, by: &str| {
        COUNTED
            .iter()
            .map(|(t, col)| {
                format!(
                    "UPDATE {t} SET open_stays = open_stays {by} 1 \
                     WHERE id = {row}.{col} AND {row}.status IN {OPEN};"
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    vec![
        format!(
            "CREATE TRIGGER oc_stays_ins AFTER INSERT ON stays BEGIN\n{}\nEND",
            bump("NEW", "+")
        ),
        format!(
            "CREATE TRIGGER oc_stays_del AFTER DELETE ON stays BEGIN\n{}\nEND",
            bump("OLD", "-")
        ),
        format!(
            "CREATE TRIGGER oc_stays_upd AFTER UPDATE OF status, permit_id, room_id ON stays \
             BEGIN\n{}\n{}\nEND",
            bump("OLD", "-"),
            bump("NEW", "+")
        ),
    ]
}

fn postgres_triggers() -> Vec<String> {
    let bump = |row: &str, by: &str| {
        COUNTED
            .iter()
            .map(|(t, col)| {
                format!(
                    "IF {row}.status IN {OPEN} AND {row}.{col} IS NOT NULL THEN \
                     UPDATE {t} SET open_stays = open_stays {by} 1 WHERE id = {row}.{col}; END IF;"
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    vec![
        format!(
            "CREATE FUNCTION oc_stays() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n\
             IF TG_OP IN ('UPDATE', 'DELETE') THEN\n{}\nEND IF;\n\
             IF TG_OP IN ('UPDATE', 'INSERT') THEN\n{}\nEND IF;\n\
             RETURN NULL;\nEND $$",
            bump("OLD", "-"),
            bump("NEW", "+")
        ),
        "CREATE TRIGGER oc_stays_ins_del AFTER INSERT OR DELETE ON stays \
         FOR EACH ROW EXECUTE FUNCTION oc_stays()"
            .into(),
        // Only when a counted fact changes: most updates of a stay (a confirmation's timestamp,
        // retention's wipe of personal data) leave the numbers alone.
        "CREATE TRIGGER oc_stays_upd AFTER UPDATE OF status, permit_id, room_id ON stays \
         FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status \
         OR OLD.permit_id IS DISTINCT FROM NEW.permit_id OR OLD.room_id IS DISTINCT FROM NEW.room_id) \
         EXECUTE FUNCTION oc_stays()"
            .into(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (t, col) in COUNTED {
            db.execute_unprepared(&format!(
                "ALTER TABLE {t} ADD COLUMN open_stays INTEGER NOT NULL DEFAULT 0"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "UPDATE {t} SET open_stays = (SELECT COUNT(*) FROM stays \
                 WHERE stays.{col} = {t}.id AND stays.status IN {OPEN})"
            ))
            .await?;
        }
        let triggers = match db.get_database_backend() {
            DbBackend::Postgres => postgres_triggers(),
            _ => sqlite_triggers(),
        };
        for sql in triggers {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let drops: &[&str] = match db.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER IF EXISTS oc_stays_ins_del ON stays",
                "DROP TRIGGER IF EXISTS oc_stays_upd ON stays",
                "DROP FUNCTION IF EXISTS oc_stays()",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS oc_stays_ins",
                "DROP TRIGGER IF EXISTS oc_stays_del",
                "DROP TRIGGER IF EXISTS oc_stays_upd",
            ],
        };
        for sql in drops {
            db.execute_unprepared(sql).await?;
        }
        for (t, _) in COUNTED {
            db.execute_unprepared(&format!("ALTER TABLE {t} DROP COLUMN open_stays"))
                .await?;
        }
        Ok(())
    }
}
