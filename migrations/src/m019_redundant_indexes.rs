//! Drops indexes that another index begins with (or repeats): every insert kept them up to date
//! for no query. Each stays answerable from the longer index named beside it.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns) — and the index that makes it redundant, as a reminder.
const REDUNDANT: [(&str, &str, &str, &str); 5] = [
    (
        "ix_m007_applications_village_status",
        "applications",
        "village_id, status",
        "ix_applications_village_status (the same columns)",
    ),
    (
        "ix_properties_village",
        "properties",
        "village_id",
        "ix_properties_village_address, ix_m007_properties_village_grade",
    ),
    (
        "ix_permits_village_status",
        "permits",
        "village_id, status",
        "ix_m007_permits_village_status",
    ),
    (
        "ix_permits_status_until",
        "permits",
        "status, valid_until",
        "ix_m012_permits_status_until",
    ),
    (
        "ix_stays_status_created",
        "stays",
        "status, created_at",
        "ix_m016_stays_status_created",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, _, _, _) in REDUNDANT {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, table, cols, _) in REDUNDANT {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} ({cols})"
            ))
            .await?;
        }
        Ok(())
    }
}
