//! SQLite statements on the caller's thread: one connection per database file, opened beside
//! sqlx's pool and used only under this process's writer turn. sqlx runs every SQLite statement
//! on a driver thread, and each hand-off there and back costs two thread wake-ups; a check-in's
//! ten statements spent most of its writer turn waiting for them. Here a statement is a direct
//! call (microseconds), so the turn is as short as the work.
//!
//! Values are written exactly as sqlx writes them (dates `%F`, instants RFC 3339, booleans as
//! integers) so that either connection reads what the other wrote. Rows come back as SeaORM
//! rows typed by each column's declared type; SQLite does not tell a 64-bit integer column
//! from a 32-bit one, so integer columns read as `i32` and only expressions as `i64`. Callers
//! that read a 64-bit column of a table (the audit log's id) do not belong on this connection.
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sea_orm::sea_query::Value;
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, ExecResult, IntoMockRow, MockDatabase, MockExecResult,
    MockRow, QueryResult, RuntimeErr, Statement,
};

/// Opens the writer's connection to `file`, set up as the pool's connections are.
pub fn open(file: &Path) -> Result<Connection, DbErr> {
    configured(file).map_err(|e| error(e, false))
}

fn configured(file: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // As the pool's connections (db::connect). No busy wait: `BEGIN IMMEDIATE` either gets the
    // file at once or the caller queues asynchronously on the pool instead of blocking a thread.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Checkpoints run beside the writers (db::turn), not inside a writer's turn, where each one
    // held every other writer up for milliseconds.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `BEGIN IMMEDIATE`; `false` when another process holds the file's write lock.
pub fn begin(conn: &Mutex<Connection>) -> Result<bool, DbErr> {
    match lock(conn).execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Ok(false)
        }
        Err(e) => Err(error(e, false)),
    }
}

/// `COMMIT`, or `ROLLBACK`; a failed commit is rolled back so the connection is clean again.
pub fn finish(conn: &Mutex<Connection>, commit: bool) -> Result<(), DbErr> {
    let conn = lock(conn);
    if conn.is_autocommit() {
        return Ok(());
    }
    let done = conn.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" });
    if done.is_err() && !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").ok();
    }
    done.map_err(|e| error(e, false))
}

/// Copies what the WAL holds into the database file, as far as readers allow, without waiting
/// for anyone.
pub fn checkpoint(conn: &Connection) -> Result<(), DbErr> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .map_err(|e| error(e, false))
}

/// Opens a savepoint: a writer joining an open batch (db::turn) can be undone alone.
pub fn savepoint(conn: &Mutex<Connection>) -> Result<(), DbErr> {
    lock(conn)
        .execute_batch("SAVEPOINT anju_writer")
        .map_err(|e| error(e, false))
}

/// Ends the savepoint: keeping its writes in the batch, or undoing them.
pub fn release(conn: &Mutex<Connection>, keep: bool) -> Result<(), DbErr> {
    let conn = lock(conn);
    let sql = match keep {
        true => "RELEASE anju_writer",
        false => "ROLLBACK TO anju_writer; RELEASE anju_writer",
    };
    conn.execute_batch(sql).map_err(|e| error(e, false))
}

/// Runs a statement that writes; a statement that returns rows has them counted and dropped.
pub async fn execute(conn: &Mutex<Connection>, stmt: Statement) -> Result<ExecResult, DbErr> {
    let done = run(conn, &stmt)?;
    // SeaORM 2.0.4 builds results only inside its own connections; its proxy connection does not
    // compile against sea-query 1.0, so a mock connection serves as the constructor: it hands
    // back exactly the result it is given.
    MockDatabase::new(DbBackend::Sqlite)
        .append_exec_results([done])
        .into_connection()
        .execute_raw(stmt)
        .await
}

/// Runs a statement and returns its rows.
pub async fn query(conn: &Mutex<Connection>, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
    let rows = rows(conn, &stmt)?;
    // As in `execute`: the mock connection only turns these rows into SeaORM's results.
    MockDatabase::new(DbBackend::Sqlite)
        .append_query_results([rows])
        .into_connection()
        .query_all_raw(stmt)
        .await
}

fn run(conn: &Mutex<Connection>, stmt: &Statement) -> Result<MockExecResult, DbErr> {
    let conn = lock(conn);
    let mut s = prepare(&conn, stmt, false)?;
    let affected = if s.column_count() == 0 {
        s.raw_execute().map_err(|e| error(e, false))? as u64
    } else {
        let mut rows = s.raw_query();
        let mut n = 0;
        while rows.next().map_err(|e| error(e, false))?.is_some() {
            n += 1;
        }
        n
    };
    Ok(MockExecResult {
        last_insert_id: u64::try_from(conn.last_insert_rowid()).unwrap_or(0),
        rows_affected: affected,
    })
}

fn rows(conn: &Mutex<Connection>, stmt: &Statement) -> Result<Vec<MockRow>, DbErr> {
    let conn = lock(conn);
    let mut s = prepare(&conn, stmt, true)?;
    let columns: Vec<(String, Kind)> = s
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), Kind::of(c.decl_type())))
        .collect();
    let mut rows = s.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| error(e, true))? {
        let mut values = std::collections::BTreeMap::new();
        for (i, (name, kind)) in columns.iter().enumerate() {
            let v = row.get_ref(i).map_err(|e| error(e, true))?;
            values.insert(name.clone(), kind.read(v)?);
        }
        out.push(values.into_mock_row());
    }
    Ok(out)
}

fn prepare<'c>(
    conn: &'c Connection,
    stmt: &Statement,
    reading: bool,
) -> Result<rusqlite::CachedStatement<'c>, DbErr> {
    let mut s = conn
        .prepare_cached(&stmt.sql)
        .map_err(|e| error(e, reading))?;
    let values = stmt.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
    if values.len() != s.parameter_count() {
        return Err(DbErr::Custom(format!(
            "{} values for {} parameters",
            values.len(),
            s.parameter_count()
        )));
    }
    for (i, v) in values.iter().enumerate() {
        s.raw_bind_parameter(i + 1, bound(v)?)
            .map_err(|e| error(e, reading))?;
    }
    Ok(s)
}

/// A SeaQuery value as sqlx's SQLite driver binds it.
fn bound(v: &Value) -> Result<Sql, DbErr> {
    fn or_null<T>(v: &Option<T>, f: impl FnOnce(&T) -> Sql) -> Sql {
        v.as_ref().map_or(Sql::Null, f)
    }
    Ok(match v {
        Value::Bool(b) => or_null(b, |b| Sql::Integer(i64::from(*b))),
        Value::TinyInt(i) => or_null(i, |i| Sql::Integer(i64::from(*i))),
        Value::SmallInt(i) => or_null(i, |i| Sql::Integer(i64::from(*i))),
        Value::Int(i) => or_null(i, |i| Sql::Integer(i64::from(*i))),
        Value::BigInt(i) => or_null(i, |i| Sql::Integer(*i)),
        Value::TinyUnsigned(i) => or_null(i, |i| Sql::Integer(i64::from(*i))),
        Value::SmallUnsigned(i) => or_null(i, |i| Sql::Integer(i64::from(*i))),
        Value::Unsigned(i) => or_null(i, |i| Sql::Integer(i64::from(*i))),
        Value::BigUnsigned(Some(i)) => Sql::Integer(
            i64::try_from(*i).map_err(|_| DbErr::Custom(format!("{i} is out of range")))?,
        ),
        Value::BigUnsigned(None) => Sql::Null,
        Value::Float(f) => or_null(f, |f| Sql::Real(f64::from(*f))),
        Value::Double(f) => or_null(f, |f| Sql::Real(*f)),
        Value::String(s) => or_null(s, |s| Sql::Text(s.clone())),
        Value::Char(c) => or_null(c, |c| Sql::Text(c.to_string())),
        Value::Bytes(b) => or_null(b, |b| Sql::Blob(b.clone())),
        Value::Json(j) => or_null(j, |j| Sql::Text(j.to_string())),
        Value::ChronoDate(d) => or_null(d, |d| Sql::Text(d.format("%F").to_string())),
        Value::ChronoDateTime(t) => or_null(t, |t| Sql::Text(t.format("%F %T%.f").to_string())),
        Value::ChronoDateTimeUtc(t) => or_null(t, |t| {
            Sql::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        Value::ChronoDateTimeWithTimeZone(t) => or_null(t, |t| {
            Sql::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        Value::Uuid(u) => or_null(u, |u| Sql::Blob(u.as_bytes().to_vec())),
        other => {
            return Err(DbErr::Custom(format!(
                "the direct SQLite connection does not bind {other:?}"
            )));
        }
    })
}

/// How a column is read, from the type its table declares (`None`: an expression).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Bool,
    Real,
    Text,
    Blob,
    Date,
    Instant,
    Expression,
}

impl Kind {
    /// The declared types SeaQuery's SQLite backend writes for SeaORM's column types.
    fn of(declared: Option<&str>) -> Kind {
        let Some(t) = declared.map(str::to_ascii_lowercase) else {
            return Kind::Expression;
        };
        match t.as_str() {
            "boolean" => Kind::Bool,
            "date_text" => Kind::Date,
            "timestamp_with_timezone_text" => Kind::Instant,
            "float" | "double" | "real" => Kind::Real,
            "blob" => Kind::Blob,
            t if t.contains("int") => Kind::Int,
            _ => Kind::Text,
        }
    }

    fn read(self, v: ValueRef<'_>) -> Result<Value, DbErr> {
        let bad = || DbErr::Type(format!("{v:?} does not read as {self:?}"));
        let text = |v: ValueRef<'_>| v.as_str().map(str::to_string).map_err(|_| bad());
        Ok(match (self, v) {
            (Kind::Int, ValueRef::Null) => Value::Int(None),
            (Kind::Int, ValueRef::Integer(i)) => match i32::try_from(i) {
                Ok(i) => Value::Int(Some(i)),
                Err(_) => Value::BigInt(Some(i)),
            },
            (Kind::Bool, ValueRef::Null) => Value::Bool(None),
            (Kind::Bool, ValueRef::Integer(i)) => Value::Bool(Some(i != 0)),
            (Kind::Real, ValueRef::Null) => Value::Double(None),
            (Kind::Real, ValueRef::Real(f)) => Value::Double(Some(f)),
            (Kind::Real, ValueRef::Integer(i)) => Value::Double(Some(i as f64)),
            (Kind::Text, ValueRef::Null) => Value::String(None),
            (Kind::Text, v @ ValueRef::Text(_)) => Value::String(Some(text(v)?)),
            (Kind::Blob | Kind::Expression, ValueRef::Blob(b)) => Value::Bytes(Some(b.to_vec())),
            (Kind::Blob, ValueRef::Null) => Value::Bytes(None),
            (Kind::Date, ValueRef::Null) => Value::ChronoDate(None),
            (Kind::Date, v @ ValueRef::Text(_)) => Value::ChronoDate(Some(
                NaiveDate::parse_from_str(&text(v)?, "%F").map_err(|_| bad())?,
            )),
            (Kind::Instant, ValueRef::Null) => Value::ChronoDateTimeUtc(None),
            (Kind::Instant, v @ ValueRef::Text(_)) => {
                Value::ChronoDateTimeUtc(Some(instant(&text(v)?).ok_or_else(bad)?))
            }
            (Kind::Expression, ValueRef::Null) => Value::BigInt(None),
            (Kind::Expression, ValueRef::Integer(i)) => Value::BigInt(Some(i)),
            (Kind::Expression, ValueRef::Real(f)) => Value::Double(Some(f)),
            (Kind::Expression, v @ ValueRef::Text(_)) => Value::String(Some(text(v)?)),
            _ => return Err(bad()),
        })
    }
}

/// An instant as sqlx writes it (RFC 3339) or as SQLite's own functions do (`%F %T`, UTC).
fn instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%F %T%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// A SQLite error as SeaORM reports a driver's, with the extended result code first in the
/// message so that [`super::unique_violation`] recognises it.
fn error(e: rusqlite::Error, reading: bool) -> DbErr {
    let text = match &e {
        rusqlite::Error::SqliteFailure(f, msg) => format!(
            "SQLite error {}: {}",
            f.extended_code,
            msg.clone().unwrap_or_else(|| f.to_string())
        ),
        other => other.to_string(),
    };
    if reading {
        DbErr::Query(RuntimeErr::Internal(text))
    } else {
        DbErr::Exec(RuntimeErr::Internal(text))
    }
}

/// Whether an error from this connection is a broken UNIQUE or PRIMARY KEY constraint.
pub fn is_unique_violation(e: &DbErr) -> bool {
    match e {
        DbErr::Exec(RuntimeErr::Internal(m)) | DbErr::Query(RuntimeErr::Internal(m)) => {
            m.starts_with("SQLite error 2067:") || m.starts_with("SQLite error 1555:")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_back_as_sqlx_writes_them() {
        let t = DateTime::parse_from_rfc3339("2026-12-02T06:16:03.123456+00:00")
            .unwrap()
            .with_timezone(&Utc);
        let Sql::Text(s) = bound(&Value::ChronoDateTimeUtc(Some(t))).unwrap() else {
            panic!("an instant binds as text");
        };
        assert_eq!(s, "2026-12-02T06:16:03.123456+00:00");
        assert_eq!(instant(&s), Some(t));
        assert_eq!(
            instant("2026-12-02 06:16:03"),
            Some(t.with_nanosecond(0).unwrap())
        );
    }

    #[test]
    fn declared_types_choose_how_a_column_reads() {
        assert_eq!(Kind::of(Some("integer")), Kind::Int);
        assert_eq!(Kind::of(Some("varchar(200)")), Kind::Text);
        assert_eq!(
            Kind::of(Some("timestamp_with_timezone_text")),
            Kind::Instant
        );
        assert_eq!(Kind::of(None), Kind::Expression);
        assert_eq!(
            Kind::Int.read(ValueRef::Integer(7)).unwrap(),
            Value::Int(Some(7))
        );
        assert_eq!(
            Kind::Expression.read(ValueRef::Integer(7)).unwrap(),
            Value::BigInt(Some(7))
        );
        assert_eq!(
            Kind::Bool.read(ValueRef::Integer(1)).unwrap(),
            Value::Bool(Some(true))
        );
        assert!(Kind::Date.read(ValueRef::Text(b"yesterday")).is_err());
    }

    use chrono::Timelike;
}
