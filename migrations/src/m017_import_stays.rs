//! Import (issue 11): a stay may wait for its house's permit, and an import's batch finds its
//! houses by village and address through an index.
//!
//! A resident imported onto a house that has no permit taking tenants is a pending stay without
//! a permit, attached when the permit is issued: `stays.permit_id` loses its NOT NULL (the
//! foreign key stays). Without `ix_properties_village_address` each commit batch read every house
//! of its villages to find its 500; `ix_applications_property` likewise for the houses' applications.
//!
//! PostgreSQL drops the constraint in place. SQLite cannot alter a column, but dropping a NOT NULL
//! changes nothing stored, so the table's definition is edited the way SQLite's documentation
//! gives for that case (writable_schema, then a new schema_version so every connection rereads
//! it) instead of copying a large table with its indexes and triggers.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STRICT: &str = "\"permit_id\" integer NOT NULL";
const LOOSE: &str = "\"permit_id\" integer";

async fn sqlite_swap(m: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    // One transaction: every statement on the same connection, as writable_schema is per connection.
    let tx = m.get_connection().begin().await?;
    let one = |sql: &str| Statement::from_string(DbBackend::Sqlite, sql.to_string());
    let row = tx
        .query_one_raw(one(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'stays'",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("no stays table".into()))?;
    let sql: String = row.try_get("", "sql")?;
    let Some(at) = sql.find(from) else {
        return Err(DbErr::Migration(format!(
            "stays.permit_id is not `{from}`: {sql}"
        )));
    };
    let new = format!("{}{}{}", &sql[..at], to, &sql[at + from.len()..]);
    let version: i64 = tx
        .query_one_raw(one("PRAGMA schema_version"))
        .await?
        .ok_or_else(|| DbErr::Migration("no schema_version".into()))?
        .try_get_by_index(0)?;
    tx.execute_unprepared("PRAGMA writable_schema = ON").await?;
    tx.execute_unprepared(&format!(
        "UPDATE sqlite_master SET sql = '{}' WHERE type = 'table' AND name = 'stays'",
        new.replace('\'', "''")
    ))
    .await?;
    tx.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
        .await?;
    tx.execute_unprepared("PRAGMA writable_schema = OFF")
        .await?;
    tx.commit().await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_properties_village_address")
                .table("properties")
                .col("village_id")
                .col("address")
                .to_owned(),
        )
        .await?;
        // The import reads the applications of its houses (those past draft lock their rooms);
        // the one-open-application index is partial, so it does not serve that look-up.
        m.create_index(
            Index::create()
                .name("ix_applications_property")
                .table("applications")
                .col("property_id")
                .to_owned(),
        )
        .await?;
        match m.get_database_backend() {
            DbBackend::Sqlite => sqlite_swap(m, STRICT, LOOSE).await,
            _ => {
                m.get_connection()
                    .execute_unprepared("ALTER TABLE stays ALTER COLUMN permit_id DROP NOT NULL")
                    .await?;
                Ok(())
            }
        }
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_applications_property")
                .table("applications")
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_properties_village_address")
                .table("properties")
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        // Stays still waiting for a permit cannot keep their place under the old rule.
        db.execute_unprepared("DELETE FROM stays WHERE permit_id IS NULL")
            .await?;
        match m.get_database_backend() {
            DbBackend::Sqlite => sqlite_swap(m, &format!("{LOOSE},"), &format!("{STRICT},")).await,
            _ => {
                db.execute_unprepared("ALTER TABLE stays ALTER COLUMN permit_id SET NOT NULL")
                    .await?;
                Ok(())
            }
        }
    }
}
