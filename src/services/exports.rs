//! Exports of the residents' register: CSV streamed chunk by chunk, XLSX in constant-memory mode
//! written to a temporary file. Neither holds more than one chunk of rows in memory.
use std::path::{Path, PathBuf};

use rocket::futures::Stream;
use sea_orm::DatabaseConnection;

use super::residents::{Filter, RegisterRow, chunk_after};
use crate::domain::identity::DocType;
use crate::error::AppError;

/// Rows fetched per database round trip.
pub const CHUNK: u64 = 2000;

/// CSV lines per round trip: one row of about 160 bytes a line comes back per chunk.
const CSV_CHUNK: u64 = 5000;

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

/// The text cells of a register line after its number, in `HEADERS` order: masked numbers only
/// (an export never decrypts), borrowed from the row so that a million lines allocate nothing
/// per cell.
fn text_cells<'r>(r: &'r RegisterRow, dates: &'r mut [String; 2]) -> [&'r str; 12] {
    use std::fmt::Write;
    let [move_in, move_out] = dates;
    move_in.clear();
    let _ = write!(move_in, "{}", r.move_in.format("%Y-%m-%d"));
    move_out.clear();
    if let Some(d) = r.move_out_expected {
        let _ = write!(move_out, "{}", d.format("%Y-%m-%d"));
    }
    [
        r.name.as_deref().unwrap_or_default(),
        DocType::parse(&r.doc_type).map_or("其他", |t| t.label_zh()),
        r.doc_masked.as_deref().unwrap_or_default(),
        r.phone_masked.as_deref().unwrap_or_default(),
        &r.village_name,
        &r.grid_name,
        &r.address,
        &r.room_label,
        &r.permit_number,
        move_in,
        move_out,
        r.employer.as_deref().unwrap_or_default(),
    ]
}

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

/// One CSV line (CRLF) of `fields`, each quoted and defused by `csv_field`: the reference the
/// database-written lines (`register_csv`) are checked against.
pub fn csv_line<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// Reads the register chunk by chunk on its own task, one chunk ahead of whoever formats them,
/// so that the database and the formatting work at the same time. `fetch(after)` gives the
/// chunk after a stay id and its last id, or `None` at the end. Stops at the end, at the first
/// error (sent on), or when the receiver is gone (the download was abandoned).
fn prefetch<T, F, Fut>(fetch: F) -> rocket::tokio::sync::mpsc::Receiver<Result<T, AppError>>
where
    T: Send + 'static,
    F: Fn(i32) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Option<(i32, T)>, AppError>> + Send,
{
    let (tx, rx) = rocket::tokio::sync::mpsc::channel(2);
    rocket::tokio::spawn(async move {
        let mut after = 0;
        loop {
            match fetch(after).await {
                Ok(Some((last, chunk))) => {
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                    after = last;
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    rx
}

/// The register's rows, chunk by chunk (for the XLSX writer).
fn prefetch_rows(
    db: DatabaseConnection,
    f: Filter,
) -> rocket::tokio::sync::mpsc::Receiver<Result<Vec<RegisterRow>, AppError>> {
    prefetch(move |after| {
        let (db, f) = (db.clone(), f.clone());
        async move {
            let rows = chunk_after(&db, &f, after, CHUNK, false).await?;
            Ok(rows.last().map(|r| r.stay_id).map(|last| (last, rows)))
        }
    })
}

/// The register as CSV: a UTF-8 BOM (so Excel reads the Chinese right), the header, then one
/// chunk of lines per item, joined by the database (`register_csv`). A database error mid-way
/// ends the stream with an `io::Error`, which aborts the response: the client sees a failed
/// download, never a short file that looks whole.
pub fn csv_stream(
    db: DatabaseConnection,
    f: Filter,
) -> impl Stream<Item = std::io::Result<std::io::Cursor<Vec<u8>>>> + Send {
    async_stream::stream! {
        let mut head = String::from("\u{FEFF}");
        csv_line(&mut head, HEADERS);
        yield Ok(std::io::Cursor::new(head.into_bytes()));
        let mut chunks = prefetch(move |after| {
            let (db, f) = (db.clone(), f.clone());
            async move {
                let chunk = super::register_csv::chunk_after(&db, &f, after, CSV_CHUNK).await?;
                Ok(chunk.map(|c| (c.last, c.lines)))
            }
        });
        while let Some(chunk) = chunks.recv().await {
            match chunk {
                Ok(lines) => yield Ok(std::io::Cursor::new(lines.into_bytes())),
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

/// Writes the register to an XLSX file in `dir` and returns its path. The database is paged on
/// this task while a blocking thread writes rows as they arrive (constant-memory worksheet).
pub async fn xlsx_file(
    db: &DatabaseConnection,
    f: &Filter,
    dir: &Path,
) -> Result<PathBuf, AppError> {
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let path = dir.join(format!("residents-{}.xlsx", uuid::Uuid::new_v4().simple()));
    let mut chunks = prefetch_rows(db.clone(), f.clone());
    let (tx, mut rx) = rocket::tokio::sync::mpsc::channel::<Vec<RegisterRow>>(2);
    let out = path.clone();
    let writer = rocket::tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut wb = rust_xlsxwriter::Workbook::new();
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
        let mut dates = [String::new(), String::new()];
        while let Some(chunk) = rx.blocking_recv() {
            for r in &chunk {
                ws.write_number(row, 0, f64::from(r.stay_id))
                    .map_err(|e| e.to_string())?;
                for (c, v) in text_cells(r, &mut dates).into_iter().enumerate() {
                    ws.write_string(row, c as u16 + 1, v)
                        .map_err(|e| e.to_string())?;
                }
                row += 1;
            }
        }
        wb.save(&out).map_err(|e| e.to_string())
    });
    let fed: Result<(), AppError> = async {
        while let Some(chunk) = chunks.recv().await {
            if tx.send(chunk?).await.is_err() {
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
