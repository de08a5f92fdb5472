//! Weekly movement for the wall's charts: check-ins and check-outs, hazards found and fixed,
//! permits issued, per town-local ISO week. Check-ins and check-outs are summed from m018's
//! per-day counters (a county has some 20 000 stays a week); the rest are counted from the rows.
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait};
use serde::Serialize;
use utoipa::ToSchema;

use super::Scope;
use crate::domain::clock::{town_date, town_day_start};
use crate::domain::dashboard::{iso_week_label, week_index, week_starts};
use crate::domain::inspection::finding_status;
use crate::entities::{finding, permit};
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Trend {
    pub weeks: Vec<String>,
    pub check_ins: Vec<i64>,
    pub check_outs: Vec<i64>,
    pub hazards_found: Vec<i64>,
    pub hazards_fixed: Vec<i64>,
    pub permits_issued: Vec<i64>,
}

/// Counts of `E`'s rows whose `at` falls in each week, among those meeting `cond`.
async fn per_week<C: ConnectionTrait, E: EntityTrait>(
    db: &C,
    at: E::Column,
    cond: Condition,
    bounds: &[DateTime<Utc>],
) -> Result<Vec<i64>, AppError> {
    // One COUNT per week over an index range ((time, status, village) indexes of m016): SQLite
    // counts index entries without visiting rows, where one pass with a CASE per week did not.
    let mut out = Vec::with_capacity(bounds.len().saturating_sub(1));
    for pair in bounds.windows(2) {
        let q = Query::select()
            .expr_as(Expr::col(at).count(), "n")
            .from(E::default())
            .cond_where(cond.clone().add(at.gte(pair[0])).add(at.lt(pair[1])))
            .to_owned();
        let n = match db.query_one(&q).await? {
            Some(r) => r.try_get::<i64>("", "n")?,
            None => 0,
        };
        out.push(n);
    }
    Ok(out)
}

/// Sums of a series of `dashboard_days` (m018) over each week beginning at `starts`.
async fn per_week_from_days<C: ConnectionTrait>(
    db: &C,
    series: &str,
    scope: Scope,
    starts: &[NaiveDate],
) -> Result<Vec<i64>, AppError> {
    let mut out = vec![0i64; starts.len()];
    let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
        return Ok(out);
    };
    let (day, n) = (Expr::col("day"), Expr::col("n"));
    let mut cond = Condition::all()
        .add(Expr::col("series").eq(series))
        .add(day.clone().gte(*first))
        .add(day.clone().lt(*last + chrono::Duration::days(7)));
    if let Some(v) = scope.village_id {
        cond = cond.add(Expr::col("village_id").eq(v));
    }
    let q = Query::select()
        .expr_as(day.clone(), "day")
        .expr_as(n.sum().cast_as("BIGINT"), "n")
        .from("dashboard_days")
        .cond_where(cond)
        .group_by_col("day")
        .to_owned();
    for row in db.query_all(&q).await? {
        let d: NaiveDate = row.try_get("", "day")?;
        let n: i64 = row.try_get("", "n")?;
        if let Some(slot) = week_index(starts, d).and_then(|w| out.get_mut(w)) {
            *slot += n;
        }
    }
    Ok(out)
}

/// Rows of the scope's village (stays and findings carry their house's village, m016), or
/// everything for the town.
fn in_village(col: impl ColumnTrait, scope: Scope) -> Condition {
    match scope.village_id {
        None => Condition::all(),
        Some(v) => Condition::all().add(col.eq(v)),
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(village = ?scope.village_id, weeks))]
pub async fn weekly<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    now: DateTime<Utc>,
    weeks: u32,
) -> Result<Trend, AppError> {
    let starts = week_starts(town_date(now), weeks);
    let mut bounds: Vec<DateTime<Utc>> = starts.iter().map(|d| town_day_start(*d)).collect();
    if let Some(last) = starts.last() {
        bounds.push(town_day_start(*last + chrono::Duration::days(7)));
    }
    let found = in_village(finding::Column::VillageId, scope);
    let permits = in_village(permit::Column::VillageId, scope);
    // The five series are independent reads: asked together, each on its own pooled connection,
    // the wall waits for the slowest rather than for their sum.
    let (check_ins, check_outs, hazards_found, hazards_fixed, permits_issued) = futures::try_join!(
        per_week_from_days(db, "check_in", scope, &starts),
        per_week_from_days(db, "check_out", scope, &starts),
        per_week::<_, finding::Entity>(db, finding::Column::CreatedAt, found.clone(), &bounds),
        per_week::<_, finding::Entity>(
            db,
            finding::Column::ClosedAt,
            found.add(finding::Column::Status.eq(finding_status::CLOSED)),
            &bounds,
        ),
        per_week::<_, permit::Entity>(db, permit::Column::IssuedAt, permits, &bounds),
    )?;
    Ok(Trend {
        weeks: starts.iter().map(|d| iso_week_label(*d)).collect(),
        check_ins,
        check_outs,
        hazards_found,
        hazards_fixed,
        permits_issued,
    })
}
