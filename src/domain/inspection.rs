//! Inspection tasks: kinds, states and their legal moves, due dates in working days, findings' states.
use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::clock::in_town;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Initial,
    Reinspection,
    Routine,
    Complaint,
}

impl TaskKind {
    pub const ALL: [TaskKind; 4] = [
        TaskKind::Initial,
        TaskKind::Reinspection,
        TaskKind::Routine,
        TaskKind::Complaint,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Initial => "initial",
            TaskKind::Reinspection => "reinspection",
            TaskKind::Routine => "routine",
            TaskKind::Complaint => "complaint",
        }
    }
    pub fn parse(s: &str) -> Option<TaskKind> {
        TaskKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskKind::Initial => "准入检查",
            TaskKind::Reinspection => "整改复查",
            TaskKind::Routine => "日常巡查",
            TaskKind::Complaint => "投诉核查",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Open,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Cancelled,
    ];
    /// States that still need work; they count towards an inspector's load.
    pub const ACTIVE: [&'static str; 2] = ["open", "in_progress"];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskStatus::Open => "待检查",
            TaskStatus::InProgress => "检查中",
            TaskStatus::Done => "已完成",
            TaskStatus::Cancelled => "已取消",
        }
    }
    pub fn badge(self) -> &'static str {
        match self {
            TaskStatus::Open | TaskStatus::InProgress => "blue",
            TaskStatus::Done => "green",
            TaskStatus::Cancelled => "grey",
        }
    }
    pub fn is_active(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::InProgress)
    }
    /// `open → in_progress → done | cancelled`; an open task may also be cancelled or finished
    /// in one go (a submission without an explicit start).
    pub fn can_move_to(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (self, to),
            (Open, InProgress)
                | (Open, Done)
                | (Open, Cancelled)
                | (InProgress, Done)
                | (InProgress, Cancelled)
        )
    }
}

/// A task is overdue when it still needs work and its due time has passed.
pub fn is_overdue(status: TaskStatus, due_at: &DateTime<Utc>, now: &DateTime<Utc>) -> bool {
    status.is_active() && due_at < now
}

/// A finding is overdue when its deadline has passed and no fix has been reported yet (a reported
/// fix waits for the re-inspection, which is the inspectors' delay, not the landlord's).
pub fn finding_is_overdue(
    status: &str,
    deadline_at: Option<&DateTime<Utc>>,
    now: &DateTime<Utc>,
) -> bool {
    status == finding_status::OPEN && deadline_at.is_some_and(|d| d < now)
}

/// `from` plus `days` working days (Saturdays and Sundays skipped), keeping the time of day.
/// Days are counted on the town's calendar (China time), not UTC's: 03:45 on Monday in the town
/// is a Monday even though UTC still says Sunday.
/// Public holidays are not known here; a town that needs them would move the due date by hand.
pub fn add_working_days(from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let mut d = in_town(from);
    let mut left = days;
    while left > 0 {
        d += Duration::days(1);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    d.with_timezone(&Utc)
}

/// Finding states: `open → fix_reported → closed`, or closed by a later full inspection.
pub mod finding_status {
    pub const OPEN: &str = "open";
    pub const FIX_REPORTED: &str = "fix_reported";
    pub const CLOSED: &str = "closed";
    /// Every state before closed: an index range finds them, where `<> closed` reads the table.
    pub const UNFIXED: [&str; 2] = [OPEN, FIX_REPORTED];

    pub fn label_zh(s: &str) -> &'static str {
        match s {
            OPEN => "待整改",
            FIX_REPORTED => "已报整改，待复查",
            CLOSED => "已整改",
            _ => "未知",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        crate::domain::clock::town_time(y, m, d, h, min).unwrap()
    }

    #[test]
    fn three_working_days_from_a_thursday_end_on_tuesday() {
        // 2026-11-26 is a Thursday.
        assert_eq!(
            add_working_days(at("2026-11-26T09:00:00Z"), 3),
            at("2026-12-01T09:00:00Z")
        );
    }

    #[test]
    fn working_days_from_a_weekend_start_counting_on_monday() {
        // 2026-11-28 is a Saturday: Monday is the first working day.
        assert_eq!(
            add_working_days(at("2026-11-28T10:00:00Z"), 1),
            at("2026-11-30T10:00:00Z")
        );
        assert_eq!(
            add_working_days(at("2026-11-28T10:00:00Z"), 0),
            at("2026-11-28T10:00:00Z")
        );
    }

    #[test]
    fn a_quarter_to_four_on_monday_china_time_counts_as_monday() {
        // Monday 2026-11-30 03:45 CST is Sunday 19:45 UTC; three working days on is Thursday.
        let from = cst(2026, 11, 30, 3, 45);
        assert_eq!(from, at("2026-11-29T19:45:00Z"));
        assert_eq!(add_working_days(from, 3), cst(2026, 12, 3, 3, 45));
        assert_eq!(add_working_days(from, 1), cst(2026, 12, 1, 3, 45));
    }

    #[test]
    fn half_past_eleven_on_friday_night_china_time_is_still_friday() {
        // Friday 2026-11-27 23:30 CST is Friday 15:30 UTC; and Saturday 00:30 CST is Friday in UTC.
        assert_eq!(
            add_working_days(cst(2026, 11, 27, 23, 30), 1),
            cst(2026, 11, 30, 23, 30)
        );
        assert_eq!(
            add_working_days(cst(2026, 11, 28, 0, 30), 1),
            cst(2026, 11, 30, 0, 30)
        );
    }

    #[test]
    fn saturday_and_sunday_starts_count_from_monday_in_town_time() {
        // Monday is the first working day, Wednesday the third.
        assert_eq!(
            add_working_days(cst(2026, 11, 28, 10, 0), 3),
            cst(2026, 12, 2, 10, 0)
        );
        assert_eq!(
            add_working_days(cst(2026, 11, 29, 23, 30), 3),
            cst(2026, 12, 2, 23, 30)
        );
        assert_eq!(
            add_working_days(cst(2026, 11, 29, 23, 30), 10),
            cst(2026, 12, 11, 23, 30)
        );
    }

    #[test]
    fn tasks_move_forward_only() {
        use TaskStatus::*;
        assert!(Open.can_move_to(InProgress));
        assert!(InProgress.can_move_to(Done));
        assert!(!Done.can_move_to(Open));
        assert!(!Cancelled.can_move_to(InProgress));
        assert!(!InProgress.can_move_to(Open));
    }

    #[test]
    fn only_unfinished_tasks_are_overdue() {
        let due = at("2026-11-26T09:00:00Z");
        let now = at("2026-11-27T09:00:00Z");
        assert!(is_overdue(TaskStatus::Open, &due, &now));
        assert!(is_overdue(TaskStatus::InProgress, &due, &now));
        assert!(!is_overdue(TaskStatus::Done, &due, &now));
        assert!(!is_overdue(TaskStatus::Open, &now, &due));
    }

    #[test]
    fn kinds_and_states_round_trip() {
        for k in TaskKind::ALL {
            assert_eq!(TaskKind::parse(k.as_str()), Some(k));
        }
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
    }
}
