//! The register read from PostgreSQL with `COPY (…) TO STDOUT`, a range of stay ids per COPY on
//! two connections of its own, instead of a round trip per chunk of rows: CSV for the download,
//! finished line by line into exactly what `exports::csv_line` writes (formula text defused,
//! blanks, CRLF); COPY's text format for the XLSX writer.
use std::borrow::Cow;

use rocket::futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder};
use sea_orm::sqlx::Connection;

use super::register_chunks;
use super::residents::{Filter, filtered_with};
use crate::domain::identity::DocType;
use crate::error::AppError;

/// The document type's label for its code, as `register_chunks::Line::cells` gives it.
fn doc_label(col: &str) -> String {
    let arms: String = DocType::ALL
        .iter()
        .map(|t| {
            format!(
                " WHEN '{}' THEN '{}'",
                t.as_str().replace('\'', "''"),
                t.label_zh().replace('\'', "''")
            )
        })
        .collect();
    format!("CASE {col}{arms} ELSE '其他' END")
}

/// What a COPY of the register is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// The CSV download; each line is finished by `finish_csv_line`.
    Csv,
    /// Lines for the XLSX writer in COPY's text format (tab-separated, backslash escapes, one
    /// line per `\n`), parsed by `text_fields`.
    Text,
}

/// The `COPY` statement of the register's lines under `f` with stay ids in `(lo, hi]`, in stay order, the columns of
/// `exports::HEADERS`. The values come out as stored: defusing them in SQL (a `CASE` per
/// column) cost PostgreSQL more than the rest of the query. The filter holds only ids, dates
/// and enum codes, inlined by sea-query's PostgreSQL writer (COPY takes no parameters).
pub fn copy_sql(f: &Filter, to: CopyFormat, (lo, hi): (i32, i32)) -> String {
    let s_id = || Expr::col((Alias::new("s"), Alias::new("id")));
    let mut rows = filtered_with(f, false);
    rows.and_where(s_id().gt(lo)).and_where(s_id().lte(hi));
    let date = |c: &str| format!("to_char({c}, 'YYYY-MM-DD')");
    let cols = [
        "\"s\".\"id\"".to_string(),
        "\"s\".\"name\"".into(),
        doc_label("\"s\".\"doc_type\""),
        "\"s\".\"doc_masked\"".into(),
        "\"s\".\"phone_masked\"".into(),
        "\"v\".\"name\"".into(),
        "\"g\".\"name\"".into(),
        "\"h\".\"address\"".into(),
        "\"r\".\"label\"".into(),
        // A stay waiting for its house's permit has none yet: its number is blank.
        "\"p\".\"number\"".into(),
        date("\"s\".\"move_in\""),
        date("\"s\".\"move_out_expected\""),
        "\"s\".\"employer\"".into(),
    ];
    for c in cols {
        rows.expr(Expr::cust(c));
    }
    rows.order_by((Alias::new("s"), Alias::new("id")), sea_orm::Order::Asc);
    format!(
        "COPY ({}) TO STDOUT (FORMAT {})",
        rows.to_string(PostgresQueryBuilder),
        match to {
            CopyFormat::Csv => "csv",
            CopyFormat::Text => "text",
        }
    )
}

/// Appends one line of COPY's CSV (a whole line: PostgreSQL sends one per message) as
/// `csv_line` writes it. COPY quotes a value exactly when `csv_field` does (a comma, quote or
/// line break in it) and doubles quotes the same way; three things differ, mended here: a
/// value a spreadsheet would run as a formula gets its leading `'` (inside the quotes), an
/// empty string (`""`, which COPY tells from NULL) is written as nothing, and lines end in CRLF.
pub fn finish_csv_line(line: &[u8], out: &mut Vec<u8>) {
    let formula = |b: Option<&u8>| matches!(b, Some(b'=' | b'+' | b'-' | b'@'));
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            // A quoted value runs to the quote not followed by another.
            let start = i + 1;
            let mut j = start;
            while j < line.len() {
                if line[j] == b'"' {
                    if line.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            if j > start {
                out.push(b'"');
                if formula(line.get(start)) {
                    out.push(b'\'');
                }
                out.extend_from_slice(&line[start..j]);
                out.push(b'"');
            }
            i = j + 1;
        } else {
            let end =
                memchr::memchr(b',', &line[i.min(line.len())..]).map_or(line.len(), |n| i + n);
            if formula(line.get(i)) {
                out.push(b'\'');
            }
            out.extend_from_slice(&line[i.min(line.len())..end]);
            i = end;
        }
        if i < line.len() && line[i] == b',' {
            out.push(b',');
            i += 1;
        } else {
            out.extend_from_slice(b"\r\n");
            return;
        }
    }
}

/// The fields of one line of COPY's text format (without its `\n`): `\N` is NULL, read as
/// blank; the escapes COPY writes (`\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`) are undone. A tab
/// byte always separates fields: tabs inside a value are escaped.
pub fn text_fields(line: &[u8]) -> impl Iterator<Item = Cow<'_, str>> {
    line.split(|b| *b == b'\t').map(|field| {
        if field == b"\\N" {
            return Cow::Borrowed("");
        }
        if !field.contains(&b'\\') {
            return String::from_utf8_lossy(field);
        }
        let mut out = Vec::with_capacity(field.len());
        let mut bytes = field.iter();
        while let Some(&b) = bytes.next() {
            if b != b'\\' {
                out.push(b);
                continue;
            }
            match bytes.next() {
                Some(b'b') => out.push(0x08),
                Some(b'f') => out.push(0x0c),
                Some(b'n') => out.push(b'\n'),
                Some(b'r') => out.push(b'\r'),
                Some(b't') => out.push(b'\t'),
                Some(b'v') => out.push(0x0b),
                Some(&other) => out.push(other),
                None => {}
            }
        }
        Cow::Owned(String::from_utf8_lossy(&out).into_owned())
    })
}

/// Stay ids per COPY: each range is read whole on one of `READERS` connections while the other
/// reads the next, so a range's lines (about 4 MB of CSV) are what waits in memory per reader.
const RANGE: i64 = 25_000;

/// Connections reading ranges at the same time: PostgreSQL runs one query on one core, and two
/// COPYs of half the register took 1.8 s where one of all of it took 3.1 s.
const READERS: usize = 2;

/// Reads every `READERS`-th range, starting at `first`, on its own connection and sends each
/// range's lines on. The connection is taken out of the pool, so when the download is abandoned
/// (the receiver gone) it is closed rather than handed back with a COPY half read.
async fn read_ranges(
    db: DatabaseConnection,
    f: Filter,
    to: CopyFormat,
    ranges: Vec<(i32, i32)>,
    tx: rocket::tokio::sync::mpsc::Sender<Result<Vec<u8>, AppError>>,
) {
    let read = async {
        let mut conn = db.get_postgres_connection_pool().acquire().await?.detach();
        // Compiling the plan (JIT) costs more than it saves on a query that streams its rows
        // straight out; the setting dies with this connection.
        sea_orm::sqlx::Executor::execute(&mut conn, "SET jit = off").await?;
        for range in ranges {
            let mut lines = Vec::new();
            let mut copy = conn.copy_out_raw(&copy_sql(&f, to, range)).await?;
            // PostgreSQL sends one message per line ("messages sent from the backend will
            // always correspond to single data rows"), so a message is a whole line.
            while let Some(line) = copy.next().await {
                let line = line?;
                match to {
                    CopyFormat::Csv => finish_csv_line(&line, &mut lines),
                    CopyFormat::Text => lines.extend_from_slice(&line),
                }
            }
            drop(copy);
            if tx.send(Ok(lines)).await.is_err() {
                return Ok(());
            }
        }
        conn.close().await
    };
    if let Err(e) = read.await {
        let _ = tx.send(Err(AppError::internal(e))).await;
    }
}

/// The register's lines (no header) from PostgreSQL, a range of stay ids per piece, in stay
/// order: finished CSV lines for `CopyFormat::Csv`, text-format lines for `CopyFormat::Text`.
/// The stays read are those up to the largest id at the start.
pub fn lines(
    db: DatabaseConnection,
    f: Filter,
    to: CopyFormat,
) -> impl Stream<Item = Result<Vec<u8>, AppError>> + Send {
    async_stream::stream! {
        let ranges = match register_chunks::id_ranges(&db, RANGE).await {
            Ok(ranges) => ranges,
            Err(e) => {
                yield Err(e);
                return;
            }
        };
        let mut readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (tx, rx) = rocket::tokio::sync::mpsc::channel(1);
                let mine = ranges.iter().copied().skip(r).step_by(READERS).collect();
                rocket::tokio::spawn(read_ranges(db.clone(), f.clone(), to, mine, tx));
                rx
            })
            .collect();
        for k in 0..ranges.len() {
            match readers[k % READERS].recv().await {
                Some(Ok(lines)) if lines.is_empty() => {}
                Some(Ok(lines)) => yield Ok(lines),
                Some(Err(e)) => {
                    yield Err(e);
                    return;
                }
                None => {
                    yield Err(AppError::internal("a register reader stopped early"));
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as PostgreSQL's CSV COPY writes it: NULL as nothing, an empty string as `""`,
    /// quoted when a comma, quote or line break is in it.
    fn copy_csv(values: &[Option<&str>]) -> Vec<u8> {
        let fields: Vec<String> = values
            .iter()
            .map(|v| match v {
                None => String::new(),
                Some(v) if v.is_empty() || v.contains([',', '"', '\n', '\r']) => {
                    format!("\"{}\"", v.replace('"', "\"\""))
                }
                Some(v) => v.to_string(),
            })
            .collect();
        format!("{}\n", fields.join(",")).into_bytes()
    }

    #[test]
    fn a_copy_line_is_finished_exactly_as_the_reference_writes_it() {
        let cases: &[&[Option<&str>]] = &[
            &[Some("7"), Some("张三"), None, Some(""), Some("x")],
            &[Some("=1+1"), Some("-a,b \"c\"\r\nd"), Some("@"), Some("+")],
            &[
                Some("\"=quoted\""),
                Some(",=x"),
                Some("a\nb"),
                Some("=\"q\""),
            ],
            &[None],
            &[Some("")],
            &[None, None, Some("-")],
            &[Some("\"\""), Some("\""), Some("\"\"\"")],
        ];
        for values in cases {
            let mut finished = Vec::new();
            finish_csv_line(&copy_csv(values), &mut finished);
            let mut reference = String::new();
            crate::services::exports::csv_line(
                &mut reference,
                values.iter().map(|v| v.unwrap_or("")),
            );
            assert_eq!(
                String::from_utf8(finished).unwrap(),
                reference,
                "{values:?}"
            );
        }
    }

    #[test]
    fn the_statement_copies_the_filtered_register_in_stay_order() {
        let f = Filter {
            village_id: Some(7),
            ..Filter::default()
        };
        let sql = copy_sql(&f, CopyFormat::Csv, (0, 25_000));
        assert!(sql.starts_with("COPY (SELECT "), "{sql}");
        assert!(sql.ends_with(") TO STDOUT (FORMAT csv)"), "{sql}");
        assert!(sql.contains("\"h\".\"village_id\" = 7"), "{sql}");
        assert!(
            sql.contains("WHEN 'resident_id' THEN '居民身份证'"),
            "{sql}"
        );
        assert!(
            sql.contains("\"s\".\"id\" > 0 AND \"s\".\"id\" <= 25000"),
            "{sql}"
        );
        assert!(sql.contains("ORDER BY \"s\".\"id\" ASC"), "{sql}");
        let text = copy_sql(&f, CopyFormat::Text, (0, 25_000));
        assert!(text.ends_with(") TO STDOUT (FORMAT text)"), "{text}");
    }

    #[test]
    fn text_format_fields_are_split_at_tabs_and_unescaped_and_null_is_blank() {
        let line = "7\t张三\t\\N\ta\\tb\\\\c\\nd\\re\t=1+1".as_bytes();
        let fields: Vec<Cow<str>> = text_fields(line).collect();
        assert_eq!(fields, ["7", "张三", "", "a\tb\\c\nd\re", "=1+1"]);
        assert!(
            matches!(fields[1], Cow::Borrowed(_)),
            "plain text is borrowed"
        );
    }
}
