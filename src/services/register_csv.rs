//! The register's CSV lines written by the database itself: each chunk of the export comes back
//! as one row holding its lines already joined, instead of 2 000 rows each decoded into a struct
//! and formatted here. The quoting and formula defusing are exactly `exports::csv_field`'s (a test
//! compares the two on both databases).
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend};

use super::residents::{Filter, filtered_with};
use crate::domain::identity::DocType;
use crate::error::AppError;

/// One chunk of CSV lines and the last stay id in it (the next chunk starts after it).
pub struct CsvChunk {
    pub last: i32,
    pub lines: String,
}

/// SQL functions that differ between the two databases.
struct Dialect {
    /// Position of a substring (0 when absent).
    find: &'static str,
    /// The character with a code point.
    chr: &'static str,
}

impl Dialect {
    fn of(backend: DbBackend) -> Dialect {
        match backend {
            DbBackend::Postgres => Dialect {
                find: "strpos",
                chr: "chr",
            },
            _ => Dialect {
                find: "instr",
                chr: "char",
            },
        }
    }

    /// `col` (NULL as empty) as one CSV field: quoted when it holds a comma, quote or line
    /// break (quotes doubled), and prefixed with `'` when a spreadsheet would run it as a formula.
    fn field(&self, col: &str) -> String {
        let Dialect { find, chr } = self;
        let x = format!("COALESCE({col}, '')");
        let defuse =
            format!("CASE WHEN substr({x}, 1, 1) IN ('=', '+', '-', '@') THEN '''' ELSE '' END");
        format!(
            "CASE WHEN {find}({x}, ',') + {find}({x}, '\"') + {find}({x}, {chr}(10)) + {find}({x}, {chr}(13)) > 0 \
             THEN '\"' || {defuse} || replace({x}, '\"', '\"\"') || '\"' \
             ELSE {defuse} || {x} END"
        )
    }

    fn date(&self, backend: DbBackend, col: &str) -> String {
        match backend {
            DbBackend::Postgres => format!("COALESCE(to_char({col}, 'YYYY-MM-DD'), '')"),
            // SeaORM keeps dates as `YYYY-MM-DD` text on SQLite.
            _ => format!("COALESCE({col}, '')"),
        }
    }
}

/// The document type's Chinese label, as `exports::text_cells` writes it.
fn doc_type_label(col: &str) -> String {
    let arms: String = DocType::ALL
        .iter()
        .map(|t| format!(" WHEN '{}' THEN '{}'", t.as_str(), t.label_zh()))
        .collect();
    format!("CASE {col}{arms} ELSE '其他' END")
}

/// One register line in `HEADERS` order, ending in CRLF.
fn line(backend: DbBackend) -> String {
    let d = Dialect::of(backend);
    let fields = [
        "CAST(\"s\".\"id\" AS TEXT)".to_string(),
        d.field("\"s\".\"name\""),
        doc_type_label("\"s\".\"doc_type\""),
        d.field("\"s\".\"doc_masked\""),
        d.field("\"s\".\"phone_masked\""),
        d.field("\"v\".\"name\""),
        d.field("\"g\".\"name\""),
        d.field("\"h\".\"address\""),
        d.field("\"r\".\"label\""),
        d.field("\"p\".\"number\""),
        d.date(backend, "\"s\".\"move_in\""),
        d.date(backend, "\"s\".\"move_out_expected\""),
        d.field("\"s\".\"employer\""),
    ];
    format!(
        "{} || {}(13) || {}(10)",
        fields.join(" || ',' || "),
        d.chr,
        d.chr
    )
}

/// The lines of up to `limit` register rows after stay `after`, in stay order; `None` at the end.
pub async fn chunk_after<C: ConnectionTrait>(
    db: &C,
    f: &Filter,
    after: i32,
    limit: u64,
) -> Result<Option<CsvChunk>, AppError> {
    let backend = db.get_database_backend();
    let sqlite = backend == DbBackend::Sqlite;
    let mut rows = filtered_with(f, sqlite);
    rows.expr_as(Expr::col((Alias::new("s"), Alias::new("id"))), "stay_id")
        .expr_as(Expr::cust(line(backend)), "line")
        .and_where(Expr::col((Alias::new("s"), Alias::new("id"))).gt(after))
        .order_by((Alias::new("s"), Alias::new("id")), sea_orm::Order::Asc)
        .limit(limit);
    let join = match backend {
        DbBackend::Postgres => "string_agg(\"line\", '' ORDER BY \"stay_id\")",
        _ => "group_concat(\"line\", '' ORDER BY \"stay_id\")",
    };
    let mut q = Query::select();
    q.expr_as(Expr::cust("MAX(\"stay_id\")"), "last")
        .expr_as(Expr::cust(join), "lines")
        .from_subquery(rows, "t");
    let Some(row) = db.query_one(&q).await? else {
        return Ok(None);
    };
    let last: Option<i32> = row.try_get("", "last")?;
    let lines: Option<String> = row.try_get("", "lines")?;
    Ok(match (last, lines) {
        (Some(last), Some(lines)) => Some(CsvChunk { last, lines }),
        _ => None,
    })
}
