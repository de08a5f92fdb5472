//! The register as CSV written by PostgreSQL itself (`COPY (…) TO STDOUT (FORMAT csv)`): one
//! query streamed on its own connection instead of a round trip per chunk, the lines exactly
//! as `exports::csv_line` writes them (quoted, formula text defused, CRLF).
use rocket::futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::{Alias, Expr, PostgresQueryBuilder};
use sea_orm::sqlx::Connection;

use super::residents::{Filter, filtered_with};
use crate::domain::identity::DocType;
use crate::error::AppError;

/// Bytes gathered before a piece of the body is handed on: PostgreSQL sends one message per
/// line, far too small to be a piece of the response each.
const PIECE: usize = 64 * 1024;

/// A text column as `csv_field` treats it: defused with a leading `'` when a spreadsheet would
/// run it as a formula; empty as NULL, because COPY writes an empty string as `""` and NULL as
/// nothing, and the reference writes nothing for both.
fn text(col: &str) -> String {
    format!(
        "CASE WHEN left({col}, 1) IN ('=', '+', '-', '@') THEN '''' || {col} ELSE NULLIF({col}, '') END"
    )
}

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

/// The `COPY` statement of the register's lines under `f`, in stay order, the columns of
/// `exports::HEADERS`. The filter holds only ids, dates and enum codes, inlined by sea-query's
/// PostgreSQL writer (COPY takes no parameters).
pub fn copy_sql(f: &Filter) -> String {
    let mut rows = filtered_with(f, false);
    let date = |c: &str| format!("to_char({c}, 'YYYY-MM-DD')");
    let cols = [
        "\"s\".\"id\"".to_string(),
        text("\"s\".\"name\""),
        doc_label("\"s\".\"doc_type\""),
        text("\"s\".\"doc_masked\""),
        text("\"s\".\"phone_masked\""),
        text("\"v\".\"name\""),
        text("\"g\".\"name\""),
        text("\"h\".\"address\""),
        text("\"r\".\"label\""),
        // A stay waiting for its house's permit has none yet: its number is blank.
        text("\"p\".\"number\""),
        date("\"s\".\"move_in\""),
        date("\"s\".\"move_out_expected\""),
        text("\"s\".\"employer\""),
    ];
    for c in cols {
        rows.expr(Expr::cust(c));
    }
    rows.order_by((Alias::new("s"), Alias::new("id")), sea_orm::Order::Asc);
    format!(
        "COPY ({}) TO STDOUT (FORMAT csv)",
        rows.to_string(PostgresQueryBuilder)
    )
}

/// Turns COPY's LF line ends into CRLF, leaving line breaks inside quoted fields as they are.
/// Every `"` in COPY's CSV opens or closes a quote (quotes inside are doubled), so counting
/// them tells inside from outside across pieces.
#[derive(Default)]
pub struct Crlf {
    quoted: bool,
}

impl Crlf {
    pub fn convert(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while let Some(i) = memchr::memchr2(b'"', b'\n', bytes) {
            out.extend_from_slice(&bytes[..i]);
            if bytes[i] == b'"' {
                self.quoted = !self.quoted;
            } else if !self.quoted {
                out.push(b'\r');
            }
            out.push(bytes[i]);
            bytes = &bytes[i + 1..];
        }
        out.extend_from_slice(bytes);
    }
}

/// The register's CSV lines (no header) from PostgreSQL in pieces of about `PIECE` bytes. The
/// connection is taken out of the pool: if the download is abandoned mid-way it is closed,
/// which ends the COPY, instead of going back to the pool with the rest still to be read.
pub fn csv_lines(
    db: DatabaseConnection,
    f: Filter,
) -> impl Stream<Item = Result<Vec<u8>, AppError>> + Send {
    async_stream::stream! {
        let sql = copy_sql(&f);
        let mut conn = match db.get_postgres_connection_pool().acquire().await {
            Ok(c) => c.detach(),
            Err(e) => {
                yield Err(AppError::internal(e));
                return;
            }
        };
        let mut copy = match conn.copy_out_raw(&sql).await {
            Ok(copy) => copy,
            Err(e) => {
                yield Err(AppError::internal(e));
                return;
            }
        };
        let mut crlf = Crlf::default();
        let mut piece = Vec::with_capacity(PIECE + PIECE / 8);
        while let Some(bytes) = copy.next().await {
            match bytes {
                Ok(bytes) => crlf.convert(&bytes, &mut piece),
                Err(e) => {
                    yield Err(AppError::internal(e));
                    return;
                }
            }
            if piece.len() >= PIECE {
                yield Ok(std::mem::replace(&mut piece, Vec::with_capacity(PIECE + PIECE / 8)));
            }
        }
        drop(copy);
        let _ = conn.close().await;
        if !piece.is_empty() {
            yield Ok(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crlf(pieces: &[&str]) -> String {
        let mut c = Crlf::default();
        let mut out = Vec::new();
        for p in pieces {
            c.convert(p.as_bytes(), &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn line_ends_become_crlf_but_breaks_inside_quotes_stay() {
        assert_eq!(crlf(&["1,a\n2,\"x\ny\"\n"]), "1,a\r\n2,\"x\ny\"\r\n");
    }

    #[test]
    fn quotes_are_followed_across_pieces_and_doubled_quotes_change_nothing() {
        assert_eq!(
            crlf(&["1,\"say \"", "\"hi\"\"\n", "z\"\n3\n"]),
            "1,\"say \"\"hi\"\"\nz\"\r\n3\r\n"
        );
    }

    #[test]
    fn the_statement_copies_the_filtered_register_in_stay_order() {
        let f = Filter {
            village_id: Some(7),
            ..Filter::default()
        };
        let sql = copy_sql(&f);
        assert!(sql.starts_with("COPY (SELECT "), "{sql}");
        assert!(sql.ends_with(") TO STDOUT (FORMAT csv)"), "{sql}");
        assert!(sql.contains("\"h\".\"village_id\" = 7"), "{sql}");
        assert!(
            sql.contains("WHEN 'resident_id' THEN '居民身份证'"),
            "{sql}"
        );
        assert!(sql.contains("ORDER BY \"s\".\"id\" ASC"), "{sql}");
    }
}
