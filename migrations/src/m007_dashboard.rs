//! Covering indexes for the command room's grouped counts (issue 10): each count reads an index
//! in village (or status) order instead of the table.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "ix_m007_properties_village_grade",
        "properties",
        &["village_id", "grade", "created_at"],
    ),
    (
        "ix_m007_permits_village_status",
        "permits",
        &["village_id", "status", "valid_until", "issued_at"],
    ),
    (
        "ix_m007_applications_village_status",
        "applications",
        &["village_id", "status"],
    ),
    (
        "ix_m007_tasks_status_grid_due",
        "inspection_tasks",
        &["status", "grid_id", "due_at"],
    ),
    (
        "ix_m007_inspections_created",
        "inspections",
        &["created_at", "property_id"],
    ),
    (
        "ix_m007_findings_status_property",
        "findings",
        &["status", "property_id", "deadline_at"],
    ),
    (
        "ix_m007_findings_created",
        "findings",
        &["created_at", "property_id"],
    ),
    (
        "ix_m007_findings_closed",
        "findings",
        &["closed_at", "status", "property_id"],
    ),
    (
        "ix_m007_stays_status_property",
        "stays",
        &["status", "property_id", "created_at"],
    ),
    (
        "ix_m007_stays_created",
        "stays",
        &["created_at", "property_id"],
    ),
    (
        "ix_m007_stays_ended",
        "stays",
        &["ended_at", "status", "property_id"],
    ),
    // Search finds a resident by their whole name.
    ("ix_m007_stays_name", "stays", &["name"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            let mut idx = Index::create();
            idx.name(*name).table(*table);
            for c in *cols {
                idx.col(*c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            m.drop_index(Index::drop().name(*name).table(*table).to_owned())
                .await?;
        }
        Ok(())
    }
}
