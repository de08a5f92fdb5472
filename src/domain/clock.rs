//! The one clock of the application and the town's time zone: every "now", "today", "this week"
//! and "this month" is read here, so tests can run the whole app at a chosen instant.
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// China Standard Time (UTC+8, no daylight saving): the town's zone, for the whole country.
pub const TOWN_OFFSET_SECS: i32 = 8 * 3600;

const TOWN_TZ: FixedOffset = match FixedOffset::east_opt(TOWN_OFFSET_SECS) {
    Some(tz) => tz,
    // Evaluated by the compiler: an out-of-range offset fails the build, never a request.
    None => panic!("town offset out of range"),
};

/// The town's time zone.
pub fn town_tz() -> FixedOffset {
    TOWN_TZ
}

/// An instant as the town's clocks show it.
pub fn in_town(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&town_tz())
}

/// The town-local calendar day of an instant (03:45 Monday CST is Monday, though UTC says Sunday).
pub fn town_date(t: DateTime<Utc>) -> NaiveDate {
    in_town(t).date_naive()
}

/// The instant a town-local day begins (00:00 CST).
pub fn town_day_start(d: NaiveDate) -> DateTime<Utc> {
    let local = d.and_time(NaiveTime::MIN) - Duration::seconds(i64::from(TOWN_OFFSET_SECS));
    Utc.from_utc_datetime(&local)
}

/// An instant given in town-local wall time; `None` for an impossible date or time.
pub fn town_time(y: i32, m: u32, d: u32, h: u32, min: u32) -> Option<DateTime<Utc>> {
    let local = NaiveDate::from_ymd_opt(y, m, d)?.and_hms_opt(h, min, 0)?;
    town_tz()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The Monday of the town-local week that holds `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// The first day of the month that holds `d`.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// Where "now" comes from: the system clock, or (tests, demos) a chosen instant that then
/// advances with real elapsed time, so ordering by time and short waits still behave.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    anchor: Option<(DateTime<Utc>, Instant)>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Clock {
        Clock { anchor: None }
    }

    /// A clock that reads `at` now and moves on from there at the normal pace.
    pub fn starting_at(at: DateTime<Utc>) -> Clock {
        Clock {
            anchor: Some((at, Instant::now())),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.anchor {
            None => Utc::now(),
            Some((at, since)) => {
                at + Duration::from_std(since.elapsed()).unwrap_or_else(|_| Duration::zero())
            }
        }
    }

    /// Today in the town.
    pub fn today(&self) -> NaiveDate {
        town_date(self.now())
    }

    /// The Monday that began this town-local week.
    pub fn week_start(&self) -> NaiveDate {
        week_start(self.today())
    }

    /// The first day of this town-local month.
    pub fn month_start(&self) -> NaiveDate {
        month_start(self.today())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_quarter_to_four_on_monday_in_china_is_monday_though_utc_says_sunday() {
        let t = utc("2026-11-29T19:45:00Z");
        assert_eq!(t.weekday(), Weekday::Sun);
        assert_eq!(town_date(t), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(town_date(t).weekday(), Weekday::Mon);
        assert_eq!(town_time(2026, 11, 30, 3, 45), Some(t));
    }

    #[test]
    fn a_town_day_begins_at_midnight_china_time() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(town_day_start(d), utc("2026-11-29T16:00:00Z"));
    }

    #[test]
    fn this_week_begins_on_monday_and_this_month_on_the_first_in_town_time() {
        // Sunday 2026-11-29 23:30 CST; in UTC it is still Sunday, 15:30.
        let c = Clock::starting_at(town_time(2026, 11, 29, 23, 30).unwrap());
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
        assert_eq!(
            c.week_start(),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            c.month_start(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        // 2026-11-30 20:00 UTC is already 1 December in the town: a new month, same week.
        let c = Clock::starting_at(utc("2026-11-30T20:00:00Z"));
        assert_eq!(
            c.month_start(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            c.week_start(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }

    #[test]
    fn a_fixed_clock_starts_at_the_chosen_instant_and_then_advances() {
        let at = utc("2026-11-28T02:00:00Z");
        let c = Clock::starting_at(at);
        let a = c.now();
        let b = c.now();
        assert!(a >= at && a - at < Duration::seconds(5));
        assert!(b >= a);
    }

    #[test]
    fn the_system_clock_reads_the_real_time() {
        let d = Clock::system().now() - Utc::now();
        assert!(d.num_seconds().abs() < 5);
    }
}
