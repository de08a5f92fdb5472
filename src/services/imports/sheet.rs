//! Reading an uploaded register: the 房屋, 房间 and 住户 sheets of an XLSX workbook, or a CSV of 房屋 in UTF-8
//! (with or without BOM) or GB18030, which Excel on Chinese Windows writes. Each row keeps the
//! spreadsheet's own row number, so messages point where the official will look.
use calamine::Reader;

use super::template::{HOUSES, RESIDENTS, ROOMS};
use crate::error::AppError;

/// One non-blank row: its 1-based row number in the sheet and its cells as text.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    pub row: u32,
    pub cells: Vec<String>,
}

fn bad(m: impl Into<String>) -> AppError {
    AppError::BadRequest(m.into())
}

/// Which sheet a chunk of rows comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Houses,
    Rooms,
    Residents,
}

/// Consecutive data rows of one sheet.
#[derive(Debug)]
pub struct Chunk {
    pub kind: Kind,
    pub rows: Vec<SheetRow>,
}

/// Rows per chunk: enough to look a chunk's landlords, houses and people up in a few queries.
pub const CHUNK_ROWS: usize = 2000;

/// Reads a file on a blocking thread and hands its rows over in chunks, the 房屋 sheet first, then
/// 房间, then 住户 (each later sheet's rows name the houses before them). At most two chunks wait
/// in the channel, so a register of 400 000 rows is never held whole; an unreadable file or a
/// wrong header ends the stream with its error.
pub fn stream(bytes: Vec<u8>) -> rocket::tokio::sync::mpsc::Receiver<Result<Chunk, AppError>> {
    let (tx, rx) = rocket::tokio::sync::mpsc::channel(2);
    rocket::tokio::task::spawn_blocking(move || {
        let mut send = |c: Result<Chunk, AppError>| tx.blocking_send(c).is_ok();
        // A reader that panics on a malformed file must not look like a file that ended.
        let read =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(bytes, &mut send)));
        match read {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                send(Err(e));
            }
            Err(_) => {
                send(Err(bad(
                    "无法读取该文件：文件已损坏，请用 Excel 另存后再上传",
                )));
            }
        }
    });
    rx
}

/// Reads an XLSX workbook (any of the 房屋, 房间 and 住户 sheets, at least one) or a CSV of the
/// 房屋 sheet, checking each header; `send` answers false once nobody listens.
fn read(
    bytes: Vec<u8>,
    send: &mut dyn FnMut(Result<Chunk, AppError>) -> bool,
) -> Result<(), AppError> {
    if !bytes.starts_with(b"PK") {
        let mut out = Body::new(Kind::Houses, HOUSES.0, &HOUSES.1, send);
        for row in csv_rows(&decode(&bytes))? {
            if !out.push(row)? {
                return Ok(());
            }
        }
        out.finish();
        return Ok(());
    }
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|_| bad("无法读取该 Excel 文件，请上传 .xlsx 或 .csv 文件"))?;
    let names = wb.sheet_names();
    if ![HOUSES.0, ROOMS.0, RESIDENTS.0]
        .iter()
        .any(|n| names.iter().any(|s| s == n))
    {
        return Err(bad(format!(
            "文件中没有「{}」「{}」「{}」表中的任何一张",
            HOUSES.0, ROOMS.0, RESIDENTS.0
        )));
    }
    for (kind, (name, cols)) in [
        (Kind::Houses, (HOUSES.0, &HOUSES.1[..])),
        (Kind::Rooms, (ROOMS.0, &ROOMS.1[..])),
        (Kind::Residents, (RESIDENTS.0, &RESIDENTS.1[..])),
    ] {
        if !names.iter().any(|s| s == name) {
            continue;
        }
        let mut out = Body::new(kind, name, cols, &mut *send);
        if !xlsx_rows(&mut wb, name, &mut |row| out.push(row))? {
            return Ok(());
        }
        out.finish();
    }
    Ok(())
}

/// The rows under one sheet's header, sent on in chunks once the header is the template's.
struct Body<'a> {
    kind: Kind,
    name: &'a str,
    want: &'a [&'a str],
    header_seen: bool,
    rows: Vec<SheetRow>,
    send: &'a mut dyn FnMut(Result<Chunk, AppError>) -> bool,
}

impl<'a> Body<'a> {
    fn new(
        kind: Kind,
        name: &'a str,
        want: &'a [&'a str],
        send: &'a mut dyn FnMut(Result<Chunk, AppError>) -> bool,
    ) -> Self {
        Body {
            kind,
            name,
            want,
            header_seen: false,
            rows: Vec::with_capacity(CHUNK_ROWS),
            send,
        }
    }

    /// Takes the next non-blank row; false once the receiver has gone.
    fn push(&mut self, row: SheetRow) -> Result<bool, AppError> {
        if !self.header_seen {
            let got: Vec<&str> = row.cells.iter().map(|c| c.trim()).collect();
            if got.len() < self.want.len() || got[..self.want.len()] != *self.want {
                return Err(bad(format!(
                    "「{}」表第 {} 行应为表头：{}",
                    self.name,
                    row.row,
                    self.want.join("、")
                )));
            }
            self.header_seen = true;
            return Ok(true);
        }
        self.rows.push(row);
        if self.rows.len() < CHUNK_ROWS {
            return Ok(true);
        }
        Ok(self.flush())
    }

    fn flush(&mut self) -> bool {
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(CHUNK_ROWS));
        (self.send)(Ok(Chunk {
            kind: self.kind,
            rows,
        }))
    }

    fn finish(mut self) {
        if !self.rows.is_empty() {
            self.flush();
        }
    }
}

/// A sheet's non-blank rows, read cell by cell from the XML stream and handed to `each` as they
/// end: the workbook's grid is never held whole. False once `each` says stop.
fn xlsx_rows<R: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Xlsx<R>,
    sheet: &str,
    each: &mut dyn FnMut(SheetRow) -> Result<bool, AppError>,
) -> Result<bool, AppError> {
    let unreadable = || bad(format!("无法读取「{sheet}」表"));
    let mut cells = wb.worksheet_cells_reader(sheet).map_err(|_| unreadable())?;
    let mut current: Option<SheetRow> = None;
    while let Some(cell) = cells.next_cell().map_err(|_| unreadable())? {
        let (r, c) = cell.get_position();
        if current.as_ref().is_none_or(|row| row.row != r + 1) {
            if let Some(done) = current.take().filter(not_blank)
                && !each(done)?
            {
                return Ok(false);
            }
            current = Some(SheetRow {
                row: r + 1,
                cells: Vec::new(),
            });
        }
        let text = cell_text(&calamine::Data::from(cell.get_value().clone()));
        if let Some(row) = current.as_mut().filter(|_| !text.is_empty()) {
            let c = c as usize;
            if row.cells.len() <= c {
                row.cells.resize(c + 1, String::new());
            }
            row.cells[c] = text;
        }
    }
    match current.filter(not_blank) {
        Some(last) => each(last),
        None => Ok(true),
    }
}

/// A cell as the official typed it: whole numbers (层数, 手机) without a trailing `.0`.
fn cell_text(d: &calamine::Data) -> String {
    match d {
        calamine::Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
            format!("{}", *f as i64)
        }
        // A date Excel recognised (入住日期) is written back the way the template asks for it.
        calamine::Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, day, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        _ => d.to_string(),
    }
}

/// UTF-8 (a BOM is dropped) when the bytes are valid UTF-8, GB18030 otherwise.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks; a row's number is
/// the line it starts on, as a spreadsheet counts it.
pub fn csv_rows(text: &str) -> Result<Vec<SheetRow>, AppError> {
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut line: u32 = 1;
    let mut start: u32 = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if cell.is_empty() => quoted = true,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' | '\r' if !quoted => {
                cells.push(std::mem::take(&mut cell));
                push_row(
                    &mut rows,
                    Some(SheetRow {
                        row: start,
                        cells: std::mem::take(&mut cells),
                    }),
                );
                line += 1;
                start = line;
            }
            '\n' => {
                line += 1;
                cell.push(c);
            }
            _ => cell.push(c),
        }
    }
    if quoted {
        return Err(bad(format!("CSV 第 {start} 行的引号没有闭合")));
    }
    if !cell.is_empty() || !cells.is_empty() {
        cells.push(cell);
        push_row(&mut rows, Some(SheetRow { row: start, cells }));
    }
    Ok(rows)
}

fn not_blank(r: &SheetRow) -> bool {
    r.cells.iter().any(|c| !c.trim().is_empty())
}

fn push_row(rows: &mut Vec<SheetRow>, row: Option<SheetRow>) {
    if let Some(r) = row.filter(not_blank) {
        rows.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_line_numbers_quotes_and_skip_blank_lines() {
        let rows =
            csv_rows("a,b\r\n\r\n\"x,1\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,1").unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            (rows[1].row, rows[1].cells.clone()),
            (3, vec!["x,1".into(), "say \"hi\"".into()])
        );
        assert_eq!(rows[2].row, 4);
        assert_eq!(rows[2].cells[0], "two\nlines");
        assert_eq!(rows[3].row, 6);
        assert!(csv_rows("\"open").is_err());
    }

    #[test]
    fn utf8_with_or_without_bom_and_gb18030_decode_alike() {
        let text = "村,地址\n锦绣村,三组18号\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(decode(text.as_bytes()), text);
        assert_eq!(
            decode(&[b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()),
            text
        );
        assert_eq!(decode(&gb), text);
    }
}
