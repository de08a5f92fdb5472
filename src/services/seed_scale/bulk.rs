//! Bulk loading: on SQLite the batches go through a connection of their own (a large page cache,
//! foreign keys unchecked), and the tables' secondary indexes are set aside while `seed-scale`
//! fills an empty database and made again afterwards: building an index from sorted rows once is
//! much cheaper than keeping it through every batch's inserts. Rows are generated on a blocking
//! thread while the previous statements are written, so on two cores SQLite's inserting and the
//! making of the next rows overlap.
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, SqlxSqliteConnector, Statement,
    TransactionTrait, sqlx,
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
                    let tx = db.begin().await?;
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

/// The connection the batches are written on. On SQLite a connection of its own to the same file,
/// with foreign keys unchecked: the generator makes every reference from ids it assigned (a test
/// runs `PRAGMA foreign_key_check` after a seed), and each check cost a B-tree lookup per
/// reference. Its page cache (256 MB) holds the growing tables' pages (SQLite's default 2 MB made
/// each insert into a large index re-read pages from the file), and goes with it afterwards
/// instead of staying on a pooled connection of the application.
pub(super) async fn writer(db: &DatabaseConnection) -> Result<DatabaseConnection, AppError> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(db.clone());
    }
    let opts = db.get_sqlite_connection_pool().connect_options();
    if opts.get_filename() == std::path::Path::new(":memory:") {
        return Ok(db.clone());
    }
    let opts = opts
        .as_ref()
        .clone()
        .foreign_keys(false)
        .pragma("cache_size", "-262144");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(|e| AppError::internal(format!("seed-scale writer: {e}")))?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
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
/// (Keeping those whose first column grows with the rows' order, as a house's id does, was
/// measured: their upkeep through the inserts cost more than making them again.)
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

/// Makes the indexes again, in one transaction whose sorts have the writer's large cache and a
/// helper thread; returns the seconds it took.
pub(super) async fn restore(
    db: &DatabaseConnection,
    dropped: Vec<(String, String)>,
) -> Result<f64, AppError> {
    if dropped.is_empty() {
        return Ok(0.0);
    }
    let started = std::time::Instant::now();
    let tx = db.begin().await?;
    tx.execute_unprepared("PRAGMA threads = 2").await?;
    for (_, sql) in dropped {
        tx.execute_unprepared(&sql).await?;
    }
    tx.execute_unprepared("PRAGMA threads = 0").await?;
    tx.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}
