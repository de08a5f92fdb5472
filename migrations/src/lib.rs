//! Database schema of Anju, one migration per change, applied at start by `anju serve`/`anju migrate`.
pub use sea_orm_migration::prelude::*;

mod m001_foundation;
mod m002_inspections;
mod m003_permits;
mod m004_stays;
mod m005_one_open_application;
mod m005_sessions;
mod m006_events;
mod m007_dashboard;
mod m008_residence_proofs;
mod m008_temporary_passwords;
mod m010_imports;
mod m011_claim_codes;
mod m012_dashboard_counts;
mod m013_key_ring;
mod m015_rate_hits;
mod m016_row_village;
mod m017_import_stays;
mod m018_dashboard_days;
mod m019_redundant_indexes;
mod m020_deferred_counters;
mod m021_open_stay_counts;
mod m022_duplicate_notification_index;

/// m018's counts of stays by day, for bulk writers that set its triggers aside.
pub use m018_dashboard_days::backfill as dashboard_days_backfill;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m001_foundation::Migration),
            Box::new(m002_inspections::Migration),
            Box::new(m003_permits::Migration),
            Box::new(m004_stays::Migration),
            Box::new(m005_one_open_application::Migration),
            Box::new(m005_sessions::Migration),
            Box::new(m006_events::Migration),
            Box::new(m007_dashboard::Migration),
            Box::new(m008_residence_proofs::Migration),
            Box::new(m008_temporary_passwords::Migration),
            Box::new(m010_imports::Migration),
            Box::new(m011_claim_codes::Migration),
            Box::new(m012_dashboard_counts::Migration),
            Box::new(m013_key_ring::Migration),
            Box::new(m015_rate_hits::Migration),
            Box::new(m016_row_village::Migration),
            Box::new(m017_import_stays::Migration),
            Box::new(m018_dashboard_days::Migration),
            Box::new(m019_redundant_indexes::Migration),
            Box::new(m020_deferred_counters::Migration),
            Box::new(m021_open_stay_counts::Migration),
            Box::new(m022_duplicate_notification_index::Migration),
        ]
    }
}
