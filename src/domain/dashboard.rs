//! The command room's figures: what each count of a village is, how a town's snapshot adds them
//! up, the rectification rate, ISO week labels and report months. Counting itself is the services'.
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::clock::week_start;

/// How far back the "recent" windows reach.
pub const WINDOW_DAYS: i64 = 30;
pub const WEEK_DAYS: i64 = 7;
/// A check-in waiting longer than this for the landlord is shown apart.
pub const PENDING_ALERT_HOURS: i64 = 24;
/// Permits ending within this many days count as expiring.
pub const EXPIRING_DAYS: i64 = 30;

/// Every count of one village. The town's snapshot is the sum over its villages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VillageCounts {
    pub houses: i64,
    pub grade_green: i64,
    pub grade_yellow: i64,
    pub grade_red: i64,
    pub permits_active: i64,
    pub permits_suspended: i64,
    pub permits_revoked: i64,
    pub permits_expired: i64,
    pub permits_expiring_30d: i64,
    pub apps_draft: i64,
    pub apps_submitted: i64,
    pub apps_inspecting: i64,
    pub apps_rectifying: i64,
    pub apps_passed: i64,
    pub apps_approved: i64,
    pub apps_rejected: i64,
    pub tasks_due_7d: i64,
    pub tasks_overdue: i64,
    pub inspections_done_30d: i64,
    pub hazards_open: i64,
    pub hazards_overdue: i64,
    pub hazards_fixed_30d: i64,
    pub hazards_found_30d: i64,
    /// Of the hazards found in the window, those closed since.
    pub hazards_found_30d_fixed: i64,
    pub residents_now: i64,
    pub residents_pending: i64,
    pub residents_pending_over_24h: i64,
    pub check_ins_7d: i64,
    pub check_outs_7d: i64,
    // Movement over the last 24 hours, shown as "change since yesterday".
    pub houses_1d: i64,
    pub permits_issued_1d: i64,
    pub check_ins_1d: i64,
    pub check_outs_1d: i64,
    pub hazards_found_1d: i64,
    pub hazards_fixed_1d: i64,
}

impl VillageCounts {
    pub fn add(&mut self, o: &VillageCounts) {
        macro_rules! sum { ($($f:ident),*) => { $( self.$f += o.$f; )* } }
        sum!(
            houses,
            grade_green,
            grade_yellow,
            grade_red,
            permits_active,
            permits_suspended,
            permits_revoked,
            permits_expired,
            permits_expiring_30d,
            apps_draft,
            apps_submitted,
            apps_inspecting,
            apps_rectifying,
            apps_passed,
            apps_approved,
            apps_rejected,
            tasks_due_7d,
            tasks_overdue,
            inspections_done_30d,
            hazards_open,
            hazards_overdue,
            hazards_fixed_30d,
            hazards_found_30d,
            hazards_found_30d_fixed,
            residents_now,
            residents_pending,
            residents_pending_over_24h,
            check_ins_7d,
            check_outs_7d,
            houses_1d,
            permits_issued_1d,
            check_ins_1d,
            check_outs_1d,
            hazards_found_1d,
            hazards_fixed_1d
        );
    }
}

/// Share of the hazards found in the window that have been fixed since: 0 when none were found,
/// so a quiet month reads 0 % found-and-fixed rather than dividing by zero.
pub fn rectification_rate(found: i64, found_and_fixed: i64) -> f64 {
    if found <= 0 {
        return 0.0;
    }
    (found_and_fixed.clamp(0, found) as f64 / found as f64 * 1000.0).round() / 1000.0
}

/// The instants the windows start from, all taken from one `now`.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    pub day_ago: DateTime<Utc>,
    pub week_ago: DateTime<Utc>,
    pub week_ahead: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
    pub pending_alert: DateTime<Utc>,
    pub expiring_until: NaiveDate,
}

impl Windows {
    pub fn at(now: DateTime<Utc>, today: NaiveDate) -> Windows {
        Windows {
            now,
            today,
            day_ago: now - Duration::days(1),
            week_ago: now - Duration::days(WEEK_DAYS),
            week_ahead: now + Duration::days(WEEK_DAYS),
            window_start: now - Duration::days(WINDOW_DAYS),
            pending_alert: now - Duration::hours(PENDING_ALERT_HOURS),
            expiring_until: today + Duration::days(EXPIRING_DAYS),
        }
    }
}

/// `2026-W48`: the ISO week a town-local date falls in.
pub fn iso_week_label(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The Mondays of the last `weeks` town-local weeks, oldest first, ending with this week's.
pub fn week_starts(today: NaiveDate, weeks: u32) -> Vec<NaiveDate> {
    let this = week_start(today);
    (0..weeks as i64)
        .rev()
        .map(|k| this - Duration::days(7 * k))
        .collect()
}

/// Index of the week (from [`week_starts`]) a town-local date falls in, if any.
pub fn week_index(starts: &[NaiveDate], d: NaiveDate) -> Option<usize> {
    let first = *starts.first()?;
    if d < first {
        return None;
    }
    let k = ((d - first).num_days() / 7) as usize;
    (k < starts.len()).then_some(k)
}

/// How many weeks a trend may ask for.
pub fn clamp_weeks(w: Option<u32>) -> Result<u32, &'static str> {
    match w.unwrap_or(12) {
        n @ 1..=104 => Ok(n),
        _ => Err("周数应在 1 到 104 之间"),
    }
}

/// `YYYY-MM` → the first day of that month; anything else is refused.
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// The first day of the month after the one `first` begins.
pub fn next_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

/// A signed change as the wall shows it: `+3`, `−1`, `±0`.
pub fn signed(n: i64) -> String {
    match n {
        0 => "±0".into(),
        n if n > 0 => format!("+{n}"),
        n => format!("−{}", -n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_rate_is_the_share_of_found_hazards_fixed_and_zero_when_none_were_found() {
        assert_eq!(rectification_rate(0, 0), 0.0);
        assert_eq!(rectification_rate(4, 1), 0.25);
        assert_eq!(rectification_rate(3, 2), 0.667);
        assert_eq!(rectification_rate(2, 5), 1.0);
    }

    #[test]
    fn twelve_weeks_end_with_the_monday_of_this_week() {
        // 2026-11-29 is a Sunday; its week began on Monday 2026-11-23 (ISO week 48).
        let w = week_starts(d(2026, 11, 29), 12);
        assert_eq!(w.len(), 12);
        assert_eq!(*w.last().unwrap(), d(2026, 11, 23));
        assert_eq!(w[0], d(2026, 9, 7));
        assert_eq!(iso_week_label(d(2026, 11, 29)), "2026-W48");
        assert_eq!(week_index(&w, d(2026, 11, 23)), Some(11));
        assert_eq!(week_index(&w, d(2026, 9, 6)), None);
        assert_eq!(week_index(&w, d(2026, 12, 1)), None);
    }

    #[test]
    fn months_are_four_digit_years_and_two_digit_months() {
        assert_eq!(parse_month("2026-11"), Some(d(2026, 11, 1)));
        assert_eq!(next_month(d(2026, 12, 1)), d(2027, 1, 1));
        for bad in ["2026-13", "26-11", "2026-1", "november", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert!(clamp_weeks(Some(0)).is_err());
        assert_eq!(clamp_weeks(None), Ok(12));
    }

    #[test]
    fn a_town_sums_its_villages() {
        let a = VillageCounts {
            houses: 2,
            hazards_open: 1,
            ..Default::default()
        };
        let mut t = VillageCounts::default();
        t.add(&a);
        t.add(&a);
        assert_eq!(t.houses, 4);
        assert_eq!(t.hazards_open, 2);
        assert_eq!(signed(-2), "−2");
        assert_eq!(signed(3), "+3");
    }
}
