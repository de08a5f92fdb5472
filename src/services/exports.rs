//! Exports of the residents' register: CSV streamed piece by piece, XLSX in constant-memory mode
//! written to a temporary file. Neither holds more than a few ranges of stays in memory (5 000
//! ids a chunk on SQLite, 25 000 a COPY on PostgreSQL).
use std::path::{Path, PathBuf};

use rocket::futures::Stream;
use sea_orm::{DatabaseConnection, DbBackend};

use super::register_chunks;
use super::register_copy::{self, CopyFormat};
use super::residents::Filter;
use crate::error::AppError;

/// Stay ids per database round trip: a chunk of at most this many lines comes back as one row.
const CHUNK: i64 = 5000;

pub const HEADERS: [&str; 13] = [
    "登记编号",
    "姓名",
    "证件类型",
    "证件号码",
    "手机号码",
    "村",
    "网格",
    "地址",
    "房间",
    "准入证号",
    "入住日期",
    "预计退租日期",
    "工作单位",
];

/// Quotes a CSV field, and defuses text a spreadsheet would run as a formula.
fn csv_field(out: &mut String, v: &str) {
    let quoted = v.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if v.starts_with(['=', '+', '-', '@']) {
        out.push('\'');
    }
    if quoted {
        for ch in v.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// One CSV line (CRLF) of `fields`, each quoted and defused by `csv_field` (tests use it as the
/// reference for what the export writes).
pub fn csv_line<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// Chunks read at the same time, each on its own pooled connection.
const READ_AHEAD: usize = 2;

/// Reads the register's chunks (JSON arrays of lines, `register_chunks`) on its own task, in
/// stay order: the stays up to the largest id at the start, in ranges of `CHUNK` ids, of which
/// `READ_AHEAD` are read at the same time on their own connections while whoever formats them
/// works. Stops at the end, at the first error (sent on), or when the receiver is gone (the
/// download was abandoned).
fn prefetch_chunks(
    db: DatabaseConnection,
    f: Filter,
) -> rocket::tokio::sync::mpsc::Receiver<Result<String, AppError>> {
    use rocket::futures::StreamExt;
    let (tx, rx) = rocket::tokio::sync::mpsc::channel(READ_AHEAD);
    rocket::tokio::spawn(async move {
        let ranges = match register_chunks::id_ranges(&db, CHUNK).await {
            Ok(ranges) => ranges,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let mut chunks = rocket::futures::stream::iter(ranges)
            .map(|(lo, hi)| {
                let (db, f) = (db.clone(), f.clone());
                async move { register_chunks::chunk_between(&db, &f, lo, hi).await }
            })
            .buffered(READ_AHEAD);
        while let Some(chunk) = chunks.next().await {
            let sent = match chunk {
                Ok(None) => continue,
                Ok(Some(json)) => tx.send(Ok(json)).await,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    });
    rx
}

/// The register's CSV lines (no header) formatted here from the chunks `prefetch_chunks` reads,
/// one piece of the body per chunk.
fn chunk_lines(
    db: DatabaseConnection,
    f: Filter,
) -> impl Stream<Item = Result<Vec<u8>, AppError>> + Send {
    async_stream::stream! {
        let mut chunks = prefetch_chunks(db, f);
        let mut id = String::new();
        while let Some(chunk) = chunks.recv().await {
            yield chunk.and_then(|json| {
                let lines = register_chunks::parse(&json)?;
                let mut buf = String::with_capacity(json.len());
                for l in &lines {
                    use std::fmt::Write;
                    id.clear();
                    let _ = write!(id, "{}", l.0);
                    csv_line(&mut buf, std::iter::once(id.as_str()).chain(l.cells()));
                }
                Ok(buf.into_bytes())
            });
        }
    }
}

/// The register as CSV: a UTF-8 BOM (so Excel reads the Chinese right), the header, then the
/// lines, which PostgreSQL writes itself (`register_copy`) and SQLite hands over in chunks. A
/// database error mid-way ends the stream with an `io::Error`, which aborts the response: the
/// client sees a failed download, never a short file that looks whole.
pub fn csv_stream(
    db: DatabaseConnection,
    f: Filter,
) -> impl Stream<Item = std::io::Result<std::io::Cursor<Vec<u8>>>> + Send {
    use rocket::futures::StreamExt;
    async_stream::stream! {
        let mut head = String::from("\u{FEFF}");
        csv_line(&mut head, HEADERS);
        yield Ok(std::io::Cursor::new(head.into_bytes()));
        let mut lines = if db.get_database_backend() == DbBackend::Postgres {
            register_copy::lines(db, f, CopyFormat::Csv).boxed()
        } else {
            chunk_lines(db, f).boxed()
        };
        while let Some(piece) = lines.next().await {
            match piece {
                Ok(bytes) => yield Ok(std::io::Cursor::new(bytes)),
                Err(e) => {
                    tracing::error!("CSV export aborted: {e}");
                    yield Err(std::io::Error::other("residents export aborted by a database error"));
                    break;
                }
            }
        }
    }
}

/// The CSV stream as a response body that fails, rather than ends, when the stream fails.
pub fn csv_body(
    db: DatabaseConnection,
    f: Filter,
) -> rocket::response::stream::ReaderStream<
    rocket::response::stream::One<impl rocket::tokio::io::AsyncRead + Send + Unpin>,
> {
    rocket::response::stream::ReaderStream::one(tokio_util::io::StreamReader::new(Box::pin(
        csv_stream(db, f),
    )))
}

/// Deflate level of the XLSX container (1 fastest … 9); see `xlsx_file`.
const ZIP_LEVEL: u8 = 3;

/// Lines on their way to the XLSX writer: a chunk's JSON (SQLite), or COPY text-format lines
/// (PostgreSQL, `register_copy`).
enum Piece {
    Json(String),
    Text(Vec<u8>),
}

/// One register line as a worksheet row: the number as a number (as text if it is not one), the
/// text cells after it; a blank cell is left out, as a spreadsheet saves it.
fn write_row<'a>(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    number: Result<f64, &str>,
    cells: impl IntoIterator<Item = &'a str>,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    match number {
        Ok(n) => ws.write_number(row, 0, n)?,
        Err(text) => ws.write_string(row, 0, text)?,
    };
    for (c, v) in cells.into_iter().enumerate() {
        if !v.is_empty() {
            ws.write_string(row, c as u16 + 1, v)?;
        }
    }
    Ok(())
}

/// Writes a piece's lines from `row` on; returns the row after them.
fn write_piece(
    ws: &mut rust_xlsxwriter::Worksheet,
    mut row: u32,
    piece: &Piece,
) -> Result<u32, String> {
    match piece {
        Piece::Json(json) => {
            for l in &register_chunks::parse(json).map_err(|e| e.to_string())? {
                write_row(ws, row, Ok(l.0 as f64), l.cells()).map_err(|e| e.to_string())?;
                row += 1;
            }
        }
        Piece::Text(lines) => {
            for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let fields: Vec<_> = register_copy::text_fields(line).collect();
                let (number, cells) = fields.split_first().ok_or("empty COPY line")?;
                write_row(
                    ws,
                    row,
                    number.parse().map_err(|_| number.as_ref()),
                    cells.iter().map(|c| c.as_ref()),
                )
                .map_err(|e| e.to_string())?;
                row += 1;
            }
        }
    }
    Ok(row)
}

/// Writes the register to an XLSX file in `dir` and returns its path. The database is read on
/// this task (COPY on PostgreSQL, chunks on SQLite) while a blocking thread writes rows as they
/// arrive (constant-memory worksheet).
pub async fn xlsx_file(
    db: &DatabaseConnection,
    f: &Filter,
    dir: &Path,
) -> Result<PathBuf, AppError> {
    use rocket::futures::StreamExt;
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let path = dir.join(format!("residents-{}.xlsx", uuid::Uuid::new_v4().simple()));
    let mut pieces = if db.get_database_backend() == DbBackend::Postgres {
        register_copy::lines(db.clone(), f.clone(), CopyFormat::Text)
            .map(|p| p.map(Piece::Text))
            .boxed()
    } else {
        let mut chunks = prefetch_chunks(db.clone(), f.clone());
        async_stream::stream! {
            while let Some(chunk) = chunks.recv().await {
                yield chunk.map(Piece::Json);
            }
        }
        .boxed()
    };
    let (tx, mut rx) = rocket::tokio::sync::mpsc::channel::<Piece>(2);
    let out = path.clone();
    let writer = rocket::tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        // Compressing the sheet is most of the time a big export takes: for a million lines,
        // level 3 saves in 5.1 s and 62 MB where the default 6 takes 7.9 s and 58 MB (Excel
        // itself saves at 3).
        wb.set_zip_compression_level(ZIP_LEVEL);
        wb.set_tempdir(out.parent().unwrap_or(Path::new(".")))
            .map_err(|e| e.to_string())?;
        let ws = wb
            .add_worksheet_with_constant_memory()
            .map_err(|e| e.to_string())?;
        ws.set_name("实有人口").map_err(|e| e.to_string())?;
        for (c, h) in HEADERS.iter().enumerate() {
            ws.write_string(0, c as u16, *h)
                .map_err(|e| e.to_string())?;
        }
        let mut row: u32 = 1;
        while let Some(piece) = rx.blocking_recv() {
            row = write_piece(ws, row, &piece)?;
        }
        wb.save(&out).map_err(|e| e.to_string())
    });
    let fed: Result<(), AppError> = async {
        while let Some(piece) = pieces.next().await {
            if tx.send(piece?).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(tx);
    let written = writer.await.map_err(AppError::internal)?;
    if let Err(e) = fed.and(written.map_err(AppError::internal)) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&str]) -> String {
        let mut out = String::new();
        csv_line(&mut out, fields.iter().copied());
        out
    }

    #[test]
    fn plain_fields_are_written_as_they_are() {
        assert_eq!(line(&["1", "张三", "锦绣村"]), "1,张三,锦绣村\r\n");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_and_quotes_doubled() {
        assert_eq!(
            line(&["a,b", "say \"hi\"", "x\ny"]),
            "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\r\n"
        );
    }

    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_is_defused_inside_the_quotes() {
        assert_eq!(line(&["=1+1", "@x", "-3,4"]), "'=1+1,'@x,\"'-3,4\"\r\n");
    }
}
