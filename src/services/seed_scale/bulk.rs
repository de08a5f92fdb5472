//! Bulk loading on SQLite: each batch's transaction gets a large page cache, and the tables'
//! secondary indexes are set aside while `seed-scale` fills an empty database and made again
//! afterwards: building an index from sorted rows once is much cheaper than keeping it through
//! every batch's inserts. Rows are generated on a blocking thread while the previous statements
//! are written, so on two cores SQLite's inserting and the making of the next rows overlap.
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};

use tokio::sync::mpsc;

use crate::error::AppError;
use crate::services::dashboard::recount::{CounterTriggers, add_rows_after};

/// What a generator hands the writer, in order.
pub(super) enum Msg {
    /// A batch's transaction begins; the counted tables' largest ids before it.
    Begin(Vec<(&'static str, i32)>),
    Rows(Vec<Statement>),
    Commit,
}

/// Runs `make` on a blocking thread and writes what it sends, one transaction per batch with the
/// counters' per-row triggers set aside: the batch's rows are counted from the rows (ids above
/// those given at `Begin`) before it commits. A failed write drops the receiver, which stops the
/// generator at its next send; the error is returned once the generator has stopped.
pub(super) async fn write_generated<R, F>(db: &DatabaseConnection, make: F) -> Result<R, AppError>
where
    R: Send + 'static,
    F: FnOnce(&mpsc::Sender<Msg>) -> R + Send + 'static,
{
    let counters = CounterTriggers::load(db).await?;
    let (send, mut recv) = mpsc::channel::<Msg>(4);
    let generator = tokio::task::spawn_blocking(move || make(&send));
    let written: Result<(), AppError> = async {
        let mut open = None;
        while let Some(msg) = recv.recv().await {
            match msg {
                Msg::Begin(before) => {
                    let tx = batch_tx(db).await?;
                    counters.pause(&tx).await?;
                    open = Some((tx, before));
                }
                Msg::Rows(statements) => {
                    let (tx, _) = open
                        .as_ref()
                        .ok_or_else(|| AppError::internal("rows outside a batch"))?;
                    for st in statements {
                        tx.execute_raw(st).await?;
                    }
                }
                Msg::Commit => {
                    let (tx, before) = open
                        .take()
                        .ok_or_else(|| AppError::internal("no batch to commit"))?;
                    for (table, after) in before {
                        add_rows_after(&tx, table, i64::from(after)).await?;
                    }
                    counters.resume(&tx).await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(())
    }
    .await;
    drop(recv);
    let made = generator
        .await
        .map_err(|e| AppError::internal(format!("seed-scale generator: {e}")))?;
    written?;
    Ok(made)
}

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
