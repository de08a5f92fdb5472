//! The conditions the command room counts with, shared with the lists its numbers open, so a
//! list's total is the number it was clicked from ("overdue" lives with the task and finding
//! services: `tasks::overdue_condition`, `findings::overdue_condition`).
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use crate::domain::dashboard::Windows;
use crate::domain::drilldown::{FindingState, GradeFilter, Movement, PermitFilter};
use crate::domain::inspection::finding_status;
use crate::domain::permit::PermitStatus;
use crate::domain::stay::StayStatus;
use crate::entities::{finding, inspection, permit, property};
use crate::services::inspections::findings;

/// Houses of this grade (or not graded yet).
pub fn grade_is(g: GradeFilter) -> Condition {
    match g {
        GradeFilter::Is(g) => Condition::all().add(property::Column::Grade.eq(g.as_str())),
        GradeFilter::Ungraded => Condition::all().add(property::Column::Grade.is_null()),
    }
}

/// Permits whose status as of `w.today` is the one asked for (`PermitStatus::effective`: an
/// active or suspended permit past its date reads expired), or active ones ending soon.
pub fn permit_in(f: PermitFilter, w: &Windows) -> Condition {
    let (st, until) = (permit::Column::Status, permit::Column::ValidUntil);
    let live = |s: PermitStatus| {
        Condition::all()
            .add(st.eq(s.as_str()))
            .add(until.gte(w.today))
    };
    match f {
        PermitFilter::Status(s @ (PermitStatus::Active | PermitStatus::Suspended)) => live(s),
        PermitFilter::Status(PermitStatus::Revoked) => {
            Condition::all().add(st.eq(PermitStatus::Revoked.as_str()))
        }
        PermitFilter::Status(PermitStatus::Expired) => Condition::any()
            .add(st.eq(PermitStatus::Expired.as_str()))
            .add(
                Condition::all()
                    .add(st.is_in([
                        PermitStatus::Active.as_str(),
                        PermitStatus::Suspended.as_str(),
                    ]))
                    .add(until.lt(w.today)),
            ),
        PermitFilter::Expiring => live(PermitStatus::Active).add(until.lte(w.expiring_until)),
        PermitFilter::IssuedToday => Condition::all().add(permit::Column::IssuedAt.gte(w.day_ago)),
    }
}

/// `SELECT property_id FROM permits WHERE <permit_in>`: the houses holding such a permit.
pub fn houses_with_permit(f: PermitFilter, w: &Windows) -> SelectStatement {
    Query::select()
        .column(permit::Column::PropertyId)
        .from(permit::Entity)
        .cond_where(permit_in(f, w))
        .to_owned()
}

/// `SELECT id FROM properties WHERE village_id = v`.
pub fn houses_of_village(v: i32) -> SelectStatement {
    Query::select()
        .column(property::Column::Id)
        .from(property::Entity)
        .and_where(property::Column::VillageId.eq(v))
        .to_owned()
}

/// An inspection done within the command room's window ("30天完成"): counted by the snapshot,
/// listed by the task lists' `done_30d` filter.
pub fn inspected_in_window(w: &Windows) -> Condition {
    Condition::all().add(inspection::Column::CreatedAt.gte(w.window_start))
}

/// `SELECT task_id FROM inspections WHERE <inspected_in_window>`: the tasks behind that number.
pub fn tasks_inspected_in_window(w: &Windows) -> SelectStatement {
    Query::select()
        .column(inspection::Column::TaskId)
        .from(inspection::Entity)
        .cond_where(inspected_in_window(w))
        .to_owned()
}

/// A hazard not yet fixed (open, or its fix reported and awaiting the re-inspection).
pub fn finding_open() -> Condition {
    Condition::all().add(finding::Column::Status.is_in(finding_status::UNFIXED))
}

/// Houses registered since `t` (the 较昨日 of the house count, with `w.day_ago`).
pub fn house_new_since(t: DateTime<Utc>) -> Condition {
    Condition::all().add(property::Column::CreatedAt.gte(t))
}

/// Hazards found since `t`.
pub fn finding_found_since(t: DateTime<Utc>) -> Condition {
    Condition::all().add(finding::Column::CreatedAt.gte(t))
}

/// Hazards fixed (closed by a re-inspection) since `t`.
pub fn finding_fixed_since(t: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(finding::Column::Status.eq(finding_status::CLOSED))
        .add(finding::Column::ClosedAt.gte(t))
}

/// Fixed, whenever: of the hazards found in the window, those counted as rectified.
pub fn finding_fixed() -> Condition {
    Condition::all().add(finding::Column::Status.eq(finding_status::CLOSED))
}

/// The hazards a list of `state` shows, which are the ones the snapshot counts for it.
pub fn finding_in(state: FindingState, w: &Windows) -> Condition {
    match state {
        FindingState::Open => finding_open(),
        FindingState::Overdue => findings::overdue_condition(w.now),
        FindingState::FoundToday => finding_found_since(w.day_ago),
        FindingState::FixedToday => finding_fixed_since(w.day_ago),
        FindingState::FoundInWindow => finding_found_since(w.window_start),
        FindingState::FoundInWindowFixed => {
            finding_found_since(w.window_start).add(finding_fixed())
        }
    }
}

/// Stays (of the table or alias `t`: the register names it `s`) that moved since `since`:
/// registered then, whatever became of them, or checked out then.
pub fn stay_moved_since<T: IntoIden + Clone>(t: T, m: Movement, since: DateTime<Utc>) -> Condition {
    let col = |c: &str| Expr::col((t.clone().into_iden(), Alias::new(c).into_iden()));
    match m {
        Movement::CheckedIn => Condition::all().add(col("created_at").gte(since)),
        Movement::CheckedOut => Condition::all()
            .add(col("status").eq(StayStatus::CheckedOut.as_str()))
            .add(col("ended_at").gte(since)),
    }
}
