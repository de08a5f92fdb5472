//! Bulk loading on SQLite: each batch's transaction gets a large page cache, and the tables'
//! secondary indexes are set aside while `seed-scale` fills an empty database and made again
//! afterwards: building an index from sorted rows once is much cheaper than keeping it through
//! every batch's inserts.
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};

use crate::error::AppError;

/// A batch's transaction, with a page cache that holds the growing tables' index pages on SQLite
/// (its default 2 MB cache made each insert into a large index re-read pages from the file).
pub(super) async fn batch_tx(db: &DatabaseConnection) -> Result<DatabaseTransaction, AppError> {
    let tx = db.begin().await?;
    if tx.get_database_backend() == DbBackend::Sqlite {
        tx.execute_unprepared("PRAGMA cache_size = -262144").await?;
    }
    Ok(tx)
}

pub(super) const HOUSE_TABLES: [&str; 7] = [
    "properties",
    "rooms",
    "applications",
    "permits",
    "inspection_tasks",
    "inspections",
    "findings",
];

/// Drops the tables' indexes that were made by `CREATE INDEX` and returns their definitions.
pub(super) async fn set_aside(
    db: &DatabaseConnection,
    tables: &[&str],
) -> Result<Vec<(String, String)>, AppError> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(vec![]);
    }
    let marks = vec!["?"; tables.len()].join(", ");
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                 AND tbl_name IN ({marks})"
            ),
            tables.iter().map(|t| (*t).into()),
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push((
            r.try_get::<String>("", "name")?,
            r.try_get::<String>("", "sql")?,
        ));
    }
    for (name, _) in &out {
        db.execute_unprepared(&format!("DROP INDEX \"{name}\""))
            .await?;
    }
    Ok(out)
}

/// Makes the indexes again, in one transaction whose sorts have the batches' large cache and a
/// helper thread.
pub(super) async fn restore(
    db: &DatabaseConnection,
    dropped: Vec<(String, String)>,
) -> Result<(), AppError> {
    if dropped.is_empty() {
        return Ok(());
    }
    let tx = batch_tx(db).await?;
    tx.execute_unprepared("PRAGMA threads = 2").await?;
    for (_, sql) in dropped {
        tx.execute_unprepared(&sql).await?;
    }
    tx.execute_unprepared("PRAGMA threads = 0").await?;
    tx.commit().await?;
    Ok(())
}
