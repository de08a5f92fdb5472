//! The permit lifecycle (DESIGN §3): `active → (suspended ↔ active) | revoked | expired`, validity and labels.
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PermitStatus {
    Active,
    Suspended,
    Revoked,
    Expired,
}

/// What an official (or the scheduler) does to a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermitAction {
    Suspend,
    Reinstate,
    Revoke,
    Expire,
}

impl PermitAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PermitAction::Suspend => "suspend",
            PermitAction::Reinstate => "reinstate",
            PermitAction::Revoke => "revoke",
            PermitAction::Expire => "expire",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PermitAction::Suspend => "暂停",
            PermitAction::Reinstate => "恢复",
            PermitAction::Revoke => "吊销",
            PermitAction::Expire => "到期",
        }
    }

    /// Suspending and revoking take effect on tenants, so the official must say why.
    pub fn needs_reason(self) -> bool {
        matches!(self, PermitAction::Suspend | PermitAction::Revoke)
    }
}

impl PermitStatus {
    pub const ALL: [PermitStatus; 4] = [
        PermitStatus::Active,
        PermitStatus::Suspended,
        PermitStatus::Revoked,
        PermitStatus::Expired,
    ];

    /// Permits still in force or only paused: they go with the house when it changes hands, while
    /// revoked and expired ones stay in the record of the landlord who held them.
    pub const CURRENT: [PermitStatus; 2] = [PermitStatus::Active, PermitStatus::Suspended];

    pub fn as_str(self) -> &'static str {
        match self {
            PermitStatus::Active => "active",
            PermitStatus::Suspended => "suspended",
            PermitStatus::Revoked => "revoked",
            PermitStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<PermitStatus> {
        PermitStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Wording on the verification page and the certificate pages.
    pub fn label_zh(self) -> &'static str {
        match self {
            PermitStatus::Active => "有效",
            PermitStatus::Suspended => "已暂停",
            PermitStatus::Revoked => "已吊销",
            PermitStatus::Expired => "已过期",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            PermitStatus::Active => "green",
            PermitStatus::Suspended => "yellow",
            PermitStatus::Revoked => "red",
            PermitStatus::Expired => "grey",
        }
    }

    /// The status an action leads to, or `None` when the lifecycle does not allow it.
    /// Revoked and expired are final: a lapsed house goes through renewal, not reinstatement.
    pub fn after(self, action: PermitAction) -> Option<PermitStatus> {
        use PermitAction as A;
        use PermitStatus as S;
        match (self, action) {
            (S::Active, A::Suspend) => Some(S::Suspended),
            (S::Suspended, A::Reinstate) => Some(S::Active),
            (S::Active | S::Suspended, A::Revoke) => Some(S::Revoked),
            (S::Active | S::Suspended, A::Expire) => Some(S::Expired),
            _ => None,
        }
    }

    /// The status as of `today`: a permit past its last valid day reads expired even before the
    /// scheduler has written it, so a verification never shows a lapsed permit as valid.
    pub fn effective(self, valid_until: NaiveDate, today: NaiveDate) -> PermitStatus {
        match self {
            PermitStatus::Active | PermitStatus::Suspended if today > valid_until => {
                PermitStatus::Expired
            }
            s => s,
        }
    }

    /// Only an active permit admits new check-ins.
    pub fn admits_check_ins(self) -> bool {
        self == PermitStatus::Active
    }
}

/// The validity an official may choose: 1 to 60 months, default 12.
pub const DEFAULT_VALID_MONTHS: u32 = 12;
pub const MAX_VALID_MONTHS: u32 = 60;

/// Parses the "validity in months" field; empty means the town's default.
pub fn parse_valid_months(s: &str, default: u32) -> Result<u32, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(default);
    }
    match s.parse::<u32>() {
        Ok(n) if (1..=MAX_VALID_MONTHS).contains(&n) => Ok(n),
        _ => Err("有效期须为 1 至 60 个月的整数"),
    }
}

/// Parses the official's optional cap on occupants; empty means no cap.
pub fn parse_official_cap(s: &str) -> Result<Option<u32>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(n) if (1..=500).contains(&n) => Ok(Some(n)),
        _ => Err("核定人数须为 1 至 500 的整数"),
    }
}

/// The last valid day: `months` after `from`, minus one day (a 12-month permit issued on
/// 2026-03-01 is valid through 2027-02-28). Month ends clamp (Jan 31 + 1 month → Feb 28).
pub fn valid_until(from: NaiveDate, months: u32) -> NaiveDate {
    let end = from
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX);
    end.pred_opt().unwrap_or(end)
}

/// A reason an official gives: required for some actions, at most 500 characters.
pub fn parse_reason(s: &str, required: bool) -> Result<Option<String>, &'static str> {
    let s = super::fields::clean_text(s, true)?;
    if s.is_empty() {
        return if required {
            Err("请填写原因")
        } else {
            Ok(None)
        };
    }
    if s.chars().count() > 500 {
        return Err("原因不能超过 500 个字");
    }
    Ok(Some(s.to_string()))
}

/// The year printed in a permit number: the year of issue in China time.
pub fn number_year(issued_on: NaiveDate) -> i32 {
    issued_on.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn suspension_can_be_lifted_but_revocation_and_expiry_are_final() {
        use PermitAction::*;
        use PermitStatus::*;
        assert_eq!(Active.after(Suspend), Some(Suspended));
        assert_eq!(Suspended.after(Reinstate), Some(Active));
        assert_eq!(Suspended.after(Revoke), Some(Revoked));
        assert_eq!(Active.after(Reinstate), None);
        assert_eq!(Suspended.after(Suspend), None);
        for action in [Suspend, Reinstate, Revoke, Expire] {
            assert_eq!(Revoked.after(action), None, "{action:?}");
            assert_eq!(Expired.after(action), None, "{action:?}");
        }
    }

    #[test]
    fn only_an_active_permit_admits_check_ins() {
        assert!(PermitStatus::Active.admits_check_ins());
        for s in [
            PermitStatus::Suspended,
            PermitStatus::Revoked,
            PermitStatus::Expired,
        ] {
            assert!(!s.admits_check_ins(), "{s:?}");
        }
    }

    #[test]
    fn a_permit_past_its_last_day_reads_expired() {
        let until = d(2026, 12, 31);
        let s = PermitStatus::Active;
        assert_eq!(s.effective(until, d(2026, 12, 31)), PermitStatus::Active);
        assert_eq!(s.effective(until, d(2027, 1, 1)), PermitStatus::Expired);
        assert_eq!(
            PermitStatus::Revoked.effective(until, d(2027, 1, 1)),
            PermitStatus::Revoked
        );
    }

    #[test]
    fn validity_runs_to_the_day_before_the_same_date_months_later() {
        assert_eq!(valid_until(d(2026, 3, 1), 12), d(2027, 2, 28));
        assert_eq!(valid_until(d(2026, 11, 27), 12), d(2027, 11, 26));
        assert_eq!(valid_until(d(2026, 1, 31), 1), d(2026, 2, 27));
    }

    #[test]
    fn months_and_caps_are_parsed_with_clear_messages() {
        assert_eq!(parse_valid_months("", 12), Ok(12));
        assert_eq!(parse_valid_months("", 36), Ok(36));
        assert_eq!(parse_valid_months(" 24 ", 12), Ok(24));
        for bad in ["0", "61", "-1", "1.5", "十二"] {
            assert!(parse_valid_months(bad, 12).is_err(), "{bad}");
        }
        assert_eq!(parse_official_cap(""), Ok(None));
        assert_eq!(parse_official_cap("4"), Ok(Some(4)));
        assert!(parse_official_cap("0").is_err());
        assert!(parse_official_cap("x").is_err());
    }

    #[test]
    fn reasons_are_required_for_suspension_and_revocation() {
        assert!(PermitAction::Suspend.needs_reason());
        assert!(PermitAction::Revoke.needs_reason());
        assert!(!PermitAction::Reinstate.needs_reason());
        assert_eq!(parse_reason("  ", true), Err("请填写原因"));
        assert_eq!(parse_reason("", false), Ok(None));
        assert_eq!(
            parse_reason(" 消防隐患 ", true),
            Ok(Some("消防隐患".into()))
        );
        assert!(parse_reason(&"长".repeat(501), true).is_err());
    }
}
