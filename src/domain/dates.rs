//! How dates read in Chinese: 2026年11月27日, in China Standard Time (UTC+8).
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::clock::in_town;

/// An instant as the town reads it ("today" itself comes from `clock::Clock::today`).
pub fn zh_datetime(d: &DateTime<Utc>) -> String {
    in_town(*d).format("%Y年%m月%d日 %H:%M").to_string()
}

pub fn zh_date(d: &NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_chinese_in_china_time() {
        let d = DateTime::parse_from_rfc3339("2026-11-26T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(zh_datetime(&d), "2026年11月27日 01:30");
        assert_eq!(
            zh_date(&NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
            "2026年01月05日"
        );
    }
}
