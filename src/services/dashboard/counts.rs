//! The command room's counts: the standing ones from the counters the database keeps per village
//! (m012), the windows as grouped queries over indexes, each village's figures at once, so the
//! town's snapshot and every village row come from the same few queries. "Overdue" is the
//! lists' own condition (`tasks::overdue_condition`, `findings::overdue_condition`); open hazards
//! are the drill-down lists' condition (`filters`), and `tests/drilldown.rs` holds every count
//! equal to its list's total.
use std::collections::HashMap;

use sea_orm::sea_query::{Condition, Expr, ExprTrait, IntoCondition, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryResult};

use crate::domain::application::ApplicationStatus;
use crate::domain::dashboard::{VillageCounts, Windows};
use crate::domain::drilldown::{Movement, PermitFilter};
use crate::domain::grade::Grade;
use crate::domain::inspection::TaskStatus;
use crate::domain::permit::PermitStatus;
use crate::domain::stay::StayStatus;
use crate::entities::{
    dashboard_count, finding, grid, inspection, inspection_task as task, permit, property, stay,
};
use crate::error::AppError;
use crate::services::dashboard::filters::{
    finding_fixed, finding_fixed_since, finding_found_since, finding_open, house_new_since,
    permit_in, stay_moved_since,
};
use crate::services::inspections::{findings, tasks};

/// `SUM(CASE WHEN cond THEN 1 ELSE 0 END)`: a count of the rows meeting `cond`.
pub(super) fn count_if(cond: impl IntoCondition) -> Expr {
    let e: Expr = Expr::case(cond, 1i32).finally(0i32).into();
    e.sum()
}

fn n(row: &QueryResult, col: &str) -> Result<i64, AppError> {
    Ok(row.try_get::<Option<i64>>("", col)?.unwrap_or(0))
}

/// Adds the selected sums to `select`, named `c0`, `c1`, …
pub(super) fn sums(select: &mut SelectStatement, exprs: Vec<Expr>) {
    for (i, e) in exprs.into_iter().enumerate() {
        select.expr_as(e, format!("c{i}"));
    }
}

pub(super) async fn run<C: ConnectionTrait>(
    db: &C,
    q: &SelectStatement,
    width: usize,
) -> Result<Vec<(i32, Vec<i64>)>, AppError> {
    let rows = db.query_all(q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let v: i32 = row.try_get("", "village_id")?;
        let mut cs = Vec::with_capacity(width);
        for i in 0..width {
            cs.push(n(&row, &format!("c{i}"))?);
        }
        out.push((v, cs));
    }
    Ok(out)
}

/// Every village's counts (or only `village`'s), keyed by village id.
#[tracing::instrument(level = "debug", skip_all, fields(village = ?village))]
pub async fn by_village<C: ConnectionTrait>(
    db: &C,
    village: Option<i32>,
    w: &Windows,
) -> Result<HashMap<i32, VillageCounts>, AppError> {
    let only = |col: Expr| match village {
        Some(v) => col.eq(v).into_condition(),
        None => Condition::all(),
    };

    // Standing counts (houses by grade, permits, applications and open stays by status) are
    // kept per village by the database's triggers (m012); the rest are windows over indexes.
    let mut cq = dashboard_count::Entity::find();
    if let Some(v) = village {
        cq = cq.filter(dashboard_count::Column::VillageId.eq(v));
    }

    // Houses registered within a day.
    let pv = Expr::col((property::Entity, property::Column::VillageId));
    let mut q_new = Query::select();
    q_new
        .expr_as(pv.clone(), "village_id")
        .from(property::Entity)
        .cond_where(only(pv).add(house_new_since(w.day_ago)))
        .group_by_col((property::Entity, property::Column::VillageId));
    sums(&mut q_new, vec![Expr::val(1i32).sum()]);

    // Permits by their status as of today (`PermitStatus::effective`: past its date reads
    // expired): the stored counts, less those past their date, which count as expired.
    let (st, until) = (permit::Column::Status, permit::Column::ValidUntil);
    let pvc = Expr::col((permit::Entity, permit::Column::VillageId));
    let taking = [
        PermitStatus::Active.as_str(),
        PermitStatus::Suspended.as_str(),
    ];
    let mut q_dates = Query::select();
    q_dates
        .expr_as(pvc.clone(), "village_id")
        .from(permit::Entity)
        .cond_where(
            only(pvc.clone())
                .add(st.is_in(taking))
                .add(until.lte(w.expiring_until)),
        )
        .group_by_col((permit::Entity, permit::Column::VillageId));
    sums(
        &mut q_dates,
        vec![
            count_if(st.eq(PermitStatus::Active.as_str()).and(until.lt(w.today))),
            count_if(
                st.eq(PermitStatus::Suspended.as_str())
                    .and(until.lt(w.today)),
            ),
            count_if(st.eq(PermitStatus::Active.as_str()).and(until.gte(w.today))),
        ],
    );
    let mut q_issued = Query::select();
    q_issued
        .expr_as(pvc.clone(), "village_id")
        .from(permit::Entity)
        .cond_where(only(pvc.clone()).add(permit_in(PermitFilter::IssuedToday, w)))
        .group_by_col((permit::Entity, permit::Column::VillageId));
    sums(&mut q_issued, vec![Expr::val(1i32).sum()]);

    // Unfinished tasks: due within a week, overdue. A task's village is its grid's.
    let gv = Expr::col((grid::Entity, grid::Column::VillageId));
    let mut q_tasks = Query::select();
    q_tasks
        .expr_as(gv.clone(), "village_id")
        .from(task::Entity)
        .inner_join(
            grid::Entity,
            Expr::col((grid::Entity, grid::Column::Id))
                .equals((task::Entity, task::Column::GridId)),
        )
        .cond_where(only(gv.clone()).add(task::Column::Status.is_in(TaskStatus::ACTIVE)))
        .group_by_col((grid::Entity, grid::Column::VillageId));
    sums(
        &mut q_tasks,
        vec![
            count_if(tasks::due_soon_condition(w.now, w.week_ahead)),
            count_if(tasks::overdue_condition(w.now)),
        ],
    );

    // The windows below count rows that carry their house's village (m016), each over an index
    // that leads with the window's column and ends with the village: no row is joined to its house.
    // Inspections done in the window.
    let iv = Expr::col((inspection::Entity, inspection::Column::VillageId));
    let mut q_inspected = Query::select();
    q_inspected
        .expr_as(iv.clone(), "village_id")
        .from(inspection::Entity)
        .cond_where(only(iv.clone()).add(super::filters::inspected_in_window(w)))
        .group_by_col((inspection::Entity, inspection::Column::VillageId));
    sums(&mut q_inspected, vec![Expr::val(1i32).sum()]);

    // Hazards: open now and overdue; fixed in the window; found in the window. Three queries, as
    // for the stays below: each walks the one index over only the rows it counts.
    let fv = Expr::col((finding::Entity, finding::Column::VillageId));
    let findings_by_village = |cond: Condition, exprs: Vec<Expr>| {
        let mut q = Query::select();
        q.expr_as(fv.clone(), "village_id")
            .from(finding::Entity)
            .cond_where(only(fv.clone()).add(cond))
            .group_by_col((finding::Entity, finding::Column::VillageId));
        sums(&mut q, exprs);
        q
    };
    let q_open = findings_by_village(
        finding_open(),
        vec![
            Expr::val(1i32).sum(),
            count_if(findings::overdue_condition(w.now)),
        ],
    );
    let q_fixed = findings_by_village(
        finding_fixed_since(w.window_start),
        vec![
            Expr::val(1i32).sum(),
            count_if(finding_fixed_since(w.day_ago)),
        ],
    );
    let q_found = findings_by_village(
        finding_found_since(w.window_start),
        vec![
            Expr::val(1i32).sum(),
            count_if(finding_fixed()),
            count_if(finding_found_since(w.day_ago)),
        ],
    );

    // Residents: open stays, and the week's movement.
    let (ss, s_created) = (stay::Column::Status, stay::Column::CreatedAt);
    let moved = |m, since| stay_moved_since(stay::Entity, m, since);
    // Three queries rather than one with OR: each walks one index (status and check-in time;
    // check-in time; end time) over only the rows it counts, which SQLite's OR optimisation did
    // not manage.
    let sv = Expr::col((stay::Entity, stay::Column::VillageId));
    let stays_by_village = |cond: Condition, exprs: Vec<Expr>| {
        let mut q = Query::select();
        q.expr_as(sv.clone(), "village_id")
            .from(stay::Entity)
            .cond_where(only(sv.clone()).add(cond))
            .group_by_col((stay::Entity, stay::Column::VillageId));
        sums(&mut q, exprs);
        q
    };
    // Pending registrations waiting past the alert: few, found through (status, created_at).
    // Imported residents waiting for their house's permit (no permit yet) wait for the village,
    // not for a landlord's confirmation: the same rule as the 24-hour event (`events::timed`).
    let q_pending = stays_by_village(
        Condition::all()
            .add(ss.eq(StayStatus::Pending.as_str()))
            .add(s_created.lt(w.pending_alert))
            .add(stay::Column::PermitId.is_not_null()),
        vec![Expr::val(1i32).sum()],
    );
    let q_in = stays_by_village(
        moved(Movement::CheckedIn, w.week_ago),
        vec![
            Expr::val(1i32).sum(),
            count_if(moved(Movement::CheckedIn, w.day_ago)),
        ],
    );
    let q_out = stays_by_village(
        moved(Movement::CheckedOut, w.week_ago),
        vec![
            Expr::val(1i32).sum(),
            count_if(moved(Movement::CheckedOut, w.day_ago)),
        ],
    );

    // Independent reads, asked together: on a pool each runs on its own connection, and the
    // snapshot waits for the slowest rather than for their sum.
    let (standing, new, dates, issued, due, inspected, open, fixed, found, pending, ins, outs) = futures::try_join!(
        async { cq.all(db).await.map_err(AppError::from) },
        run(db, &q_new, 1),
        run(db, &q_dates, 3),
        run(db, &q_issued, 1),
        run(db, &q_tasks, 2),
        run(db, &q_inspected, 1),
        run(db, &q_open, 2),
        run(db, &q_fixed, 2),
        run(db, &q_found, 3),
        run(db, &q_pending, 1),
        run(db, &q_in, 2),
        run(db, &q_out, 2),
    )?;

    let mut m: HashMap<i32, VillageCounts> = HashMap::new();
    for c in standing {
        let e = m.entry(c.village_id).or_default();
        if let Some(slot) = standing_slot(e, &c.metric) {
            *slot = c.n;
        }
    }
    for (v, c) in new {
        m.entry(v).or_default().houses_1d = c[0];
    }
    for (v, c) in dates {
        let e = m.entry(v).or_default();
        e.permits_active -= c[0];
        e.permits_suspended -= c[1];
        e.permits_expired += c[0] + c[1];
        e.permits_expiring_30d = c[2];
    }
    for (v, c) in issued {
        m.entry(v).or_default().permits_issued_1d = c[0];
    }
    for (v, c) in due {
        let e = m.entry(v).or_default();
        (e.tasks_due_7d, e.tasks_overdue) = (c[0], c[1]);
    }
    for (v, c) in inspected {
        m.entry(v).or_default().inspections_done_30d = c[0];
    }
    for (v, c) in open {
        let e = m.entry(v).or_default();
        (e.hazards_open, e.hazards_overdue) = (c[0], c[1]);
    }
    for (v, c) in fixed {
        let e = m.entry(v).or_default();
        (e.hazards_fixed_30d, e.hazards_fixed_1d) = (c[0], c[1]);
    }
    for (v, c) in found {
        let e = m.entry(v).or_default();
        (e.hazards_found_30d, e.hazards_found_30d_fixed) = (c[0], c[1]);
        e.hazards_found_1d = c[2];
    }
    for (v, c) in pending {
        m.entry(v).or_default().residents_pending_over_24h = c[0];
    }
    for (v, c) in ins {
        let e = m.entry(v).or_default();
        (e.check_ins_7d, e.check_ins_1d) = (c[0], c[1]);
    }
    for (v, c) in outs {
        let e = m.entry(v).or_default();
        (e.check_outs_7d, e.check_outs_1d) = (c[0], c[1]);
    }
    Ok(m)
}

/// The field a kept counter (m012's `metric`, e.g. `grade_red`, `permit_active`) fills.
fn standing_slot<'a>(e: &'a mut VillageCounts, metric: &str) -> Option<&'a mut i64> {
    Some(match metric.split_once('_') {
        Some(("grade", g)) => match Grade::parse(g)? {
            Grade::Green => &mut e.grade_green,
            Grade::Yellow => &mut e.grade_yellow,
            Grade::Red => &mut e.grade_red,
        },
        Some(("permit", s)) => match PermitStatus::parse(s)? {
            PermitStatus::Active => &mut e.permits_active,
            PermitStatus::Suspended => &mut e.permits_suspended,
            PermitStatus::Revoked => &mut e.permits_revoked,
            PermitStatus::Expired => &mut e.permits_expired,
        },
        Some(("app", s)) => match ApplicationStatus::parse(s)? {
            ApplicationStatus::Draft => &mut e.apps_draft,
            ApplicationStatus::Submitted => &mut e.apps_submitted,
            ApplicationStatus::Inspecting => &mut e.apps_inspecting,
            ApplicationStatus::Rectifying => &mut e.apps_rectifying,
            ApplicationStatus::Passed => &mut e.apps_passed,
            ApplicationStatus::Approved => &mut e.apps_approved,
            ApplicationStatus::Rejected => &mut e.apps_rejected,
        },
        Some(("stay", s)) => match StayStatus::parse(s)? {
            StayStatus::Active => &mut e.residents_now,
            StayStatus::Pending => &mut e.residents_pending,
            _ => return None,
        },
        _ if metric == "houses" => &mut e.houses,
        _ => return None,
    })
}
