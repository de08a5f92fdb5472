//! The monthly report the town sends to the county (XLSX). Every figure is counted from
//! write-once instants — permits' issue time, inspections' and findings' creation, findings'
//! closing and fix reports, stays' check-in, confirmation and end — which the audit trail records
//! as they happen and nothing later rewrites, so a past month gives the same figures every time.
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_xlsxwriter::{DocProperties, Format, Workbook};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait};

use super::counts::{count_if, run, sums};
use super::{Scope, villages_of};
use crate::domain::clock::town_day_start;
use crate::domain::dashboard::next_month;
use crate::domain::inspection::finding_status;
use crate::domain::stay::StayStatus;
use crate::entities::{finding, inspection, permit, property, stay};
use crate::error::AppError;

pub const HEADERS: [&str; 11] = [
    "村",
    "出租房屋",
    "新发准入证",
    "完成检查",
    "发现隐患",
    "整改隐患",
    "月末逾期隐患",
    "月末在住人数",
    "入住登记",
    "退租",
    "整改率",
];

/// One village's row of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    pub village: String,
    /// houses, permits issued, inspections, found, fixed, overdue at end, residents at end, ins, outs
    pub figures: [i64; 9],
}

/// Rows of `table` (joined to its house for the village) whose figures are the given sums.
fn by_house(
    table: impl sea_orm::sea_query::IntoTableRef + Clone,
    house_col: impl sea_orm::sea_query::IntoColumnRef,
    only: Condition,
    exprs: Vec<Expr>,
) -> SelectStatement {
    let pv = Expr::col((property::Entity, property::Column::VillageId));
    let mut q = Query::select();
    q.expr_as(pv.clone(), "village_id")
        .from(table)
        .inner_join(
            property::Entity,
            Expr::col((property::Entity, property::Column::Id)).equals(house_col),
        )
        .cond_where(only)
        .group_by_col((property::Entity, property::Column::VillageId));
    sums(&mut q, exprs);
    q
}

fn between(col: impl ColumnTrait, start: DateTime<Utc>, end: DateTime<Utc>) -> Condition {
    Condition::all().add(col.gte(start)).add(col.lt(end))
}

/// The figures of the month that begins on `first` (town time), per village of the scope.
#[tracing::instrument(level = "debug", skip_all, fields(month = %first))]
pub async fn rows<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    first: NaiveDate,
) -> Result<Vec<ReportRow>, AppError> {
    let (start, end) = (town_day_start(first), town_day_start(next_month(first)));
    let villages = villages_of(db, scope).await?;
    let only = |c: Condition| match scope.village_id {
        Some(v) => c.add(property::Column::VillageId.eq(v)),
        None => c,
    };
    let mut figures: std::collections::HashMap<i32, [i64; 9]> = Default::default();
    let mut put = |v: i32, i: usize, n: i64| figures.entry(v).or_default()[i] = n;

    let mut q = Query::select();
    q.expr_as(
        Expr::col((property::Entity, property::Column::VillageId)),
        "village_id",
    )
    .from(property::Entity)
    .cond_where(only(
        Condition::all().add(property::Column::CreatedAt.lt(end)),
    ))
    .group_by_col((property::Entity, property::Column::VillageId));
    sums(&mut q, vec![Expr::val(1i32).sum()]);
    for (v, c) in run(db, &q, 1).await? {
        put(v, 0, c[0]);
    }
    let q = by_house(
        permit::Entity,
        (permit::Entity, permit::Column::PropertyId),
        only(between(permit::Column::IssuedAt, start, end)),
        vec![Expr::val(1i32).sum()],
    );
    for (v, c) in run(db, &q, 1).await? {
        put(v, 1, c[0]);
    }
    let q = by_house(
        inspection::Entity,
        (inspection::Entity, inspection::Column::PropertyId),
        only(between(inspection::Column::CreatedAt, start, end)),
        vec![Expr::val(1i32).sum()],
    );
    for (v, c) in run(db, &q, 1).await? {
        put(v, 2, c[0]);
    }
    // Overdue at the month's end: the lists' rule (`finding_is_overdue`) as it stood then —
    // found before the end, deadline passed, neither reported fixed nor closed by then.
    let (created, closed, reported, deadline) = (
        finding::Column::CreatedAt,
        finding::Column::ClosedAt,
        finding::Column::FixReportedAt,
        finding::Column::DeadlineAt,
    );
    let not_by_end = |c: finding::Column| Condition::any().add(c.is_null()).add(c.gte(end));
    let q = by_house(
        finding::Entity,
        (finding::Entity, finding::Column::PropertyId),
        only(
            Condition::all().add(created.lt(end)).add(
                Condition::any()
                    .add(created.gte(start))
                    .add(not_by_end(closed))
                    .add(closed.gte(start)),
            ),
        ),
        vec![
            count_if(created.gte(start)),
            count_if(
                between(closed, start, end).add(finding::Column::Status.eq(finding_status::CLOSED)),
            ),
            count_if(
                Condition::all()
                    .add(deadline.lt(end))
                    .add(not_by_end(closed))
                    .add(not_by_end(reported)),
            ),
        ],
    );
    for (v, c) in run(db, &q, 3).await? {
        put(v, 3, c[0]);
        put(v, 4, c[1]);
        put(v, 5, c[2]);
    }
    let (confirmed, ended, s_created) = (
        stay::Column::ConfirmedAt,
        stay::Column::EndedAt,
        stay::Column::CreatedAt,
    );
    let q = by_house(
        stay::Entity,
        (stay::Entity, stay::Column::PropertyId),
        only(
            Condition::all()
                .add(s_created.lt(end))
                .add(Condition::any().add(ended.is_null()).add(ended.gte(start))),
        ),
        vec![
            count_if(
                Condition::all()
                    .add(confirmed.lt(end))
                    .add(Condition::any().add(ended.is_null()).add(ended.gte(end))),
            ),
            count_if(s_created.gte(start)),
            count_if(
                between(ended, start, end)
                    .add(stay::Column::Status.eq(StayStatus::CheckedOut.as_str())),
            ),
        ],
    );
    for (v, c) in run(db, &q, 3).await? {
        put(v, 6, c[0]);
        put(v, 7, c[1]);
        put(v, 8, c[2]);
    }
    Ok(villages
        .into_iter()
        .map(|v| ReportRow {
            figures: figures.get(&v.id).copied().unwrap_or_default(),
            village: v.name,
        })
        .collect())
}

/// The town's name for the report's title.
pub async fn town_name<C: ConnectionTrait>(db: &C) -> Result<String, AppError> {
    use sea_orm::EntityTrait;
    Ok(crate::entities::town::Entity::find()
        .one(db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default())
}

/// The workbook: one sheet, a title, a row per village and the town's total. Its document date
/// is the month's end, so a regenerated report is the same file.
pub fn workbook(town: &str, first: NaiveDate, rows: &[ReportRow]) -> Result<Vec<u8>, AppError> {
    let x = |e: rust_xlsxwriter::XlsxError| AppError::internal(e);
    let mut wb = Workbook::new();
    let end = next_month(first);
    let stamp = rust_xlsxwriter::ExcelDateTime::from_ymd(
        u16::try_from(end.year()).unwrap_or(2000),
        end.month() as u8,
        1,
    )
    .map_err(x)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{town}居住出租房屋月报 {}", first.format("%Y-%m")))
            .set_creation_datetime(&stamp),
    );
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let ws = wb.add_worksheet();
    ws.set_name("月报").map_err(x)?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "{town}居住出租房屋管理月报（{}年{}月）",
            first.format("%Y"),
            first.format("%-m")
        ),
        &bold,
    )
    .map_err(x)?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, *h, &bold)
            .map_err(x)?;
    }
    let mut total = [0i64; 9];
    let mut r = 3u32;
    let write = |ws: &mut rust_xlsxwriter::Worksheet, r: u32, name: &str, f: &[i64; 9]| {
        ws.write_string(r, 0, name).map_err(x)?;
        for (i, n) in f.iter().enumerate() {
            ws.write_number(r, (i + 1) as u16, *n as f64).map_err(x)?;
        }
        let rate = crate::domain::dashboard::rectification_rate(f[3], std::cmp::min(f[4], f[3]));
        ws.write_number_with_format(r, 10, rate, &pct).map_err(x)?;
        Ok::<(), AppError>(())
    };
    for row in rows {
        write(ws, r, &row.village, &row.figures)?;
        for (t, n) in total.iter_mut().zip(row.figures) {
            *t += n;
        }
        r += 1;
    }
    write(ws, r, "合计", &total)?;
    ws.write_string(r + 2, 0, "口径：房屋为月末已登记数；整改率 = 本月整改隐患 ÷ 本月发现隐患（上限 100%）；逾期隐患为月末已过整改期限、尚未报告整改的隐患。")
        .map_err(x)?;
    ws.set_column_width(0, 14).map_err(x)?;
    wb.save_to_buffer().map_err(x)
}
