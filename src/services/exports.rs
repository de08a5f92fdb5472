//! Exports of the residents' register: CSV streamed chunk by chunk, XLSX in constant-memory mode
//! written to a temporary file. Neither holds more than one chunk of rows in memory.
use std::path::{Path, PathBuf};

use rocket::futures::Stream;
use sea_orm::DatabaseConnection;

use super::residents::{Filter, RegisterRow, Resident, chunk_after};
use crate::error::AppError;

/// Rows fetched per database round trip.
pub const CHUNK: u64 = 2000;

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

fn cells(r: &Resident) -> [String; 13] {
    [
        r.stay_id.to_string(),
        r.name.clone(),
        r.doc_type_label.to_string(),
        r.doc_number.clone(),
        r.phone.clone(),
        r.village.clone(),
        r.grid.clone(),
        r.address.clone(),
        r.room.clone(),
        r.permit_number.clone(),
        r.move_in.format("%Y-%m-%d").to_string(),
        r.move_out_expected
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        r.employer.clone(),
    ]
}

/// Quotes a CSV field, and defuses text a spreadsheet would run as a formula.
fn csv_field(out: &mut String, v: &str) {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&v);
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// The register as CSV: a UTF-8 BOM (so Excel reads the Chinese right), the header, then one
/// chunk of rows per item. A database error mid-way ends the stream with an `io::Error`, which
/// aborts the response: the client sees a failed download, never a short file that looks whole.
pub fn csv_stream(
    db: DatabaseConnection,
    st: crate::AppRef,
    f: Filter,
) -> impl Stream<Item = std::io::Result<std::io::Cursor<Vec<u8>>>> + Send {
    async_stream::stream! {
        let mut head = String::from("\u{FEFF}");
        csv_line(&mut head, &HEADERS.map(String::from));
        yield Ok(std::io::Cursor::new(head.into_bytes()));
        let mut after = 0;
        loop {
            let rows = match chunk_after(&db, &f, after, CHUNK).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("CSV export aborted: {e}");
                    yield Err(std::io::Error::other("residents export aborted by a database error"));
                    break;
                }
            };
            let Some(last) = rows.last() else { break };
            after = last.stay_id;
            let mut buf = String::with_capacity(rows.len() * 160);
            for r in rows {
                csv_line(&mut buf, &cells(&r.resident(&st.pii, false)));
            }
            yield Ok(std::io::Cursor::new(buf.into_bytes()));
        }
    }
}

/// The CSV stream as a response body that fails, rather than ends, when the stream fails.
pub fn csv_body(
    db: DatabaseConnection,
    st: crate::AppRef,
    f: Filter,
) -> rocket::response::stream::ReaderStream<
    rocket::response::stream::One<impl rocket::tokio::io::AsyncRead + Send + Unpin>,
> {
    rocket::response::stream::ReaderStream::one(tokio_util::io::StreamReader::new(Box::pin(
        csv_stream(db, st, f),
    )))
}

/// Writes the register to an XLSX file in `dir` and returns its path. The database is paged on
/// this task while a blocking thread writes rows as they arrive (constant-memory worksheet).
pub async fn xlsx_file(
    db: &DatabaseConnection,
    st: &crate::AppRef,
    f: &Filter,
    dir: &Path,
) -> Result<PathBuf, AppError> {
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let path = dir.join(format!("residents-{}.xlsx", uuid::Uuid::new_v4().simple()));
    let (tx, mut rx) = rocket::tokio::sync::mpsc::channel::<Vec<RegisterRow>>(2);
    let state = st.clone();
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
        while let Some(chunk) = rx.blocking_recv() {
            for r in chunk {
                let r = r.resident(&state.pii, false);
                ws.write_number(row, 0, f64::from(r.stay_id))
                    .map_err(|e| e.to_string())?;
                for (c, v) in cells(&r).iter().enumerate().skip(1) {
                    ws.write_string(row, c as u16, v)
                        .map_err(|e| e.to_string())?;
                }
                row += 1;
            }
        }
        wb.save(&out).map_err(|e| e.to_string())
    });
    let mut after = 0;
    let fed: Result<(), AppError> = async {
        loop {
            let rows = chunk_after(db, f, after, CHUNK).await?;
            let Some(last) = rows.last() else { break };
            after = last.stay_id;
            if tx.send(rows).await.is_err() {
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
