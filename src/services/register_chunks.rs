//! The register read for the exports in chunks the database packs itself: each chunk comes back
//! as one row holding a JSON array of the chunk's lines (SQLite's `json_group_array`,
//! PostgreSQL's `json_agg`), instead of thousands of rows each decoded field by field. Parsing
//! that array borrows the text where it has no escapes, so a million lines allocate little; the
//! CSV quoting and the cells stay in Rust (`exports`).
use std::borrow::Cow;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend};
use serde::Deserialize;

use super::residents::{Filter, filtered_with};
use crate::domain::identity::DocType;
use crate::error::AppError;

/// One chunk: the JSON array of its lines and the last stay id in it (the next starts after it).
pub struct Chunk {
    pub last: i32,
    pub json: String,
}

/// One register line as the chunk's JSON holds it, in `exports::HEADERS` order.
#[derive(Deserialize)]
pub struct Line<'a>(
    pub i64,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
);

impl Line<'_> {
    /// The text cells after the line's number: the document type's label instead of its code,
    /// absent values empty (masked numbers only: an export never decrypts).
    pub fn cells(&self) -> [&str; 12] {
        fn o<'s>(v: &'s Option<Cow<'_, str>>) -> &'s str {
            v.as_deref().unwrap_or_default()
        }
        [
            o(&self.1),
            DocType::parse(&self.2).map_or("其他", |t| t.label_zh()),
            o(&self.3),
            o(&self.4),
            &self.5,
            &self.6,
            &self.7,
            &self.8,
            o(&self.9),
            &self.10,
            o(&self.11),
            o(&self.12),
        ]
    }
}

/// The lines of a chunk's JSON.
pub fn parse(json: &str) -> Result<Vec<Line<'_>>, AppError> {
    serde_json::from_str(json).map_err(AppError::internal)
}

/// Up to `limit` register lines after stay `after`, in stay order; `None` at the end.
pub async fn chunk_after<C: ConnectionTrait>(
    db: &C,
    f: &Filter,
    after: i32,
    limit: u64,
) -> Result<Option<Chunk>, AppError> {
    let backend = db.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let cols = [
        "\"s\".\"id\"",
        "\"s\".\"name\"",
        "\"s\".\"doc_type\"",
        "\"s\".\"doc_masked\"",
        "\"s\".\"phone_masked\"",
        "\"v\".\"name\"",
        "\"g\".\"name\"",
        "\"h\".\"address\"",
        "\"r\".\"label\"",
        // A stay waiting for its house's permit has none yet: its number is blank.
        "COALESCE(\"p\".\"number\", '')",
        // PostgreSQL writes a date as `YYYY-MM-DD` in JSON; SeaORM keeps that text on SQLite.
        "\"s\".\"move_in\"",
        "\"s\".\"move_out_expected\"",
        "\"s\".\"employer\"",
    ]
    .join(", ");
    let s_id = || Expr::col((Alias::new("s"), Alias::new("id")));
    let mut rows = filtered_with(f, !pg);
    rows.expr_as(s_id(), "stay_id")
        .expr_as(
            Expr::cust(if pg {
                format!("json_build_array({cols})")
            } else {
                format!("json_array({cols})")
            }),
            "line",
        )
        .and_where(s_id().gt(after))
        .order_by((Alias::new("s"), Alias::new("id")), sea_orm::Order::Asc)
        .limit(limit);
    let join = if pg {
        "json_agg(\"line\" ORDER BY \"stay_id\")::text"
    } else {
        "json_group_array(json(\"line\") ORDER BY \"stay_id\")"
    };
    let mut q = Query::select();
    q.expr_as(Expr::cust("MAX(\"stay_id\")"), "last")
        .expr_as(Expr::cust(join), "json")
        .from_subquery(rows, "t");
    let Some(row) = db.query_one(&q).await? else {
        return Ok(None);
    };
    let last: Option<i32> = row.try_get("", "last")?;
    let json: Option<String> = row.try_get("", "json")?;
    Ok(match (last, json) {
        (Some(last), Some(json)) => Some(Chunk { last, json }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_borrows_plain_text_and_unescapes_the_rest() {
        let json = r#"[[7,"张三","resident_id","3301**********1234","138****0000","锦绣村","第一网格","A路\"1\"号","101","HJ-1","2026-11-30",null,null]]"#;
        let lines = parse(json).unwrap();
        assert_eq!(lines[0].0, 7);
        let cells = lines[0].cells();
        assert_eq!(cells[0], "张三");
        assert_eq!(cells[1], "居民身份证");
        assert_eq!(cells[6], "A路\"1\"号");
        assert_eq!(cells[10], "");
        assert!(matches!(lines[0].1, Some(Cow::Borrowed(_))));
    }
}
