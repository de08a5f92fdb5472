//! At most one open application per house, held by the database: two landlords' requests
//! racing past the service's check on PostgreSQL cannot both insert a draft.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Must list the same statuses as `ApplicationStatus::OPEN` in `src/domain/application.rs`.
const CREATE: &str = "CREATE UNIQUE INDEX applications_one_open_per_property ON applications (property_id) \
     WHERE status IN ('draft', 'submitted', 'inspecting', 'rectifying', 'passed')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A partial index: SeaQuery's index builder has no WHERE clause, and the same SQL runs
        // on SQLite and PostgreSQL.
        m.get_connection().execute_unprepared(CREATE).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX applications_one_open_per_property")
            .await?;
        Ok(())
    }
}
