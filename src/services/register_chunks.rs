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

/// A JSON string, or null read as empty; borrowed from the chunk unless it had escapes.
/// (serde borrows a `Cow` only outside an `Option`, so null is folded in here.)
pub struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed("")))
            }
        }
        d.deserialize_any(V)
    }
}

/// One register line as the chunk's JSON holds it: the stay's number, then the 12 text
/// columns in `exports::HEADERS` order (the document type as its code).
#[derive(Deserialize)]
pub struct Line<'a>(
    pub i64,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
    #[serde(borrow)] Text<'a>,
);

impl Line<'_> {
    /// The text cells after the line's number: the document type's label instead of its code,
    /// absent values empty (masked numbers only: an export never decrypts).
    pub fn cells(&self) -> [&str; 12] {
        let label = DocType::parse(&self.2.0).map_or("其他", |t| t.label_zh());
        [
            &self.1.0, label, &self.3.0, &self.4.0, &self.5.0, &self.6.0, &self.7.0, &self.8.0,
            &self.9.0, &self.10.0, &self.11.0, &self.12.0,
        ]
    }
}

/// The lines of a chunk's JSON.
pub fn parse(json: &str) -> Result<Vec<Line<'_>>, AppError> {
    serde_json::from_str(json).map_err(AppError::internal)
}

/// The largest stay id now: an export reads the stays up to it.
async fn last_id<C: ConnectionTrait>(db: &C) -> Result<i32, AppError> {
    let mut q = Query::select();
    q.expr_as(Expr::cust("MAX(\"id\")"), "last")
        .from(crate::entities::stay::Entity);
    Ok(match db.query_one(&q).await? {
        Some(row) => row.try_get::<Option<i32>>("", "last")?.unwrap_or(0),
        None => 0,
    })
}

/// The ranges of stay ids `(lo, hi]`, `size` ids each, that cover the stays up to the largest id
/// now, in order: an export reads the register one range at a time.
pub async fn id_ranges<C: ConnectionTrait>(db: &C, size: i64) -> Result<Vec<(i32, i32)>, AppError> {
    let last = i64::from(last_id(db).await?);
    let bound = |k: i64| i32::try_from(k * size).unwrap_or(i32::MAX);
    Ok((0..=last / size)
        .map(|k| (bound(k), bound(k + 1)))
        .collect())
}

/// The register lines of the stays with ids in `(lo, hi]`, in stay order, as a JSON array;
/// `None` when there are none.
pub async fn chunk_between<C: ConnectionTrait>(
    db: &C,
    f: &Filter,
    lo: i32,
    hi: i32,
) -> Result<Option<String>, AppError> {
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
        .and_where(s_id().gt(lo))
        .and_where(s_id().lte(hi))
        .order_by((Alias::new("s"), Alias::new("id")), sea_orm::Order::Asc);
    let join = if pg {
        "json_agg(\"line\" ORDER BY \"stay_id\")::text"
    } else {
        "json_group_array(json(\"line\") ORDER BY \"stay_id\")"
    };
    let mut q = Query::select();
    q.expr_as(Expr::cust(join), "json").from_subquery(rows, "t");
    Ok(match db.query_one(&q).await? {
        // An empty range aggregates to NULL on PostgreSQL and to `[]` on SQLite.
        Some(row) => row
            .try_get::<Option<String>>("", "json")?
            .filter(|j| j != "[]"),
        None => None,
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
        assert!(
            matches!(lines[0].1.0, Cow::Borrowed(_)),
            "plain text is borrowed"
        );
        assert!(
            matches!(lines[0].7.0, Cow::Owned(_)),
            "escaped text is unescaped"
        );
    }
}
