//! The lists behind the command room's numbers: their filters, read from links so that a value
//! nobody could have clicked is refused (400) rather than silently read as "all".
use crate::domain::application::ApplicationStatus;
use crate::domain::grade::Grade;
use crate::domain::permit::PermitStatus;

/// Which permits a list shows: a status as of today (`PermitStatus::effective`), or the active
/// ones ending within `dashboard::EXPIRING_DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermitFilter {
    Status(PermitStatus),
    Expiring,
    /// Issued within the last 24 hours (the command room's 较昨日 "新发").
    IssuedToday,
}

impl PermitFilter {
    pub const ALL: [PermitFilter; 6] = [
        PermitFilter::Status(PermitStatus::Active),
        PermitFilter::Expiring,
        PermitFilter::IssuedToday,
        PermitFilter::Status(PermitStatus::Suspended),
        PermitFilter::Status(PermitStatus::Expired),
        PermitFilter::Status(PermitStatus::Revoked),
    ];

    pub fn parse(s: &str) -> Option<PermitFilter> {
        match s {
            "expiring" => Some(PermitFilter::Expiring),
            "issued_1d" => Some(PermitFilter::IssuedToday),
            s => PermitStatus::parse(s).map(PermitFilter::Status),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PermitFilter::Status(s) => s.as_str(),
            PermitFilter::Expiring => "expiring",
            PermitFilter::IssuedToday => "issued_1d",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PermitFilter::Status(s) => s.label_zh(),
            PermitFilter::Expiring => "30天内到期",
            PermitFilter::IssuedToday => "24小时内新发",
        }
    }
}

/// A house's grade as the houses list filters it: one of the three, or not inspected yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeFilter {
    Is(Grade),
    Ungraded,
}

impl GradeFilter {
    pub const ALL: [GradeFilter; 4] = [
        GradeFilter::Is(Grade::Green),
        GradeFilter::Is(Grade::Yellow),
        GradeFilter::Is(Grade::Red),
        GradeFilter::Ungraded,
    ];

    pub fn parse(s: &str) -> Option<GradeFilter> {
        match s {
            "none" => Some(GradeFilter::Ungraded),
            s => Grade::parse(s).map(GradeFilter::Is),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GradeFilter::Is(g) => g.as_str(),
            GradeFilter::Ungraded => "none",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            GradeFilter::Is(g) => g.label_zh(),
            GradeFilter::Ungraded => "未评级",
        }
    }
}

/// Whether a house has a permit in force today (active and not past its date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HousePermit {
    Active,
    None,
}

impl HousePermit {
    pub const ALL: [HousePermit; 2] = [HousePermit::Active, HousePermit::None];

    pub fn parse(s: &str) -> Option<HousePermit> {
        match s {
            "active" => Some(HousePermit::Active),
            "none" => Some(HousePermit::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HousePermit::Active => "active",
            HousePermit::None => "none",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            HousePermit::Active => "有有效准入证",
            HousePermit::None => "无有效准入证",
        }
    }
}

/// Which hazards a list shows: the unfixed ones (all, or those past their deadline), or the
/// movement the command room counts: found or fixed within 24 hours (较昨日), found within the
/// 30-day window, and of those the ones fixed since (the rectification rate's two terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FindingState {
    Open,
    #[default]
    Overdue,
    FoundToday,
    FixedToday,
    FoundInWindow,
    FoundInWindowFixed,
}

impl FindingState {
    pub const ALL: [FindingState; 6] = [
        FindingState::Open,
        FindingState::Overdue,
        FindingState::FoundToday,
        FindingState::FixedToday,
        FindingState::FoundInWindow,
        FindingState::FoundInWindowFixed,
    ];

    pub fn parse(s: &str) -> Option<FindingState> {
        FindingState::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Overdue => "overdue",
            FindingState::FoundToday => "found_1d",
            FindingState::FixedToday => "fixed_1d",
            FindingState::FoundInWindow => "found_30d",
            FindingState::FoundInWindowFixed => "found_30d_fixed",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            FindingState::Open => "未整改的隐患",
            FindingState::Overdue => "逾期未整改的隐患",
            FindingState::FoundToday => "24小时内发现的隐患",
            FindingState::FixedToday => "24小时内整改完成的隐患",
            FindingState::FoundInWindow => "近30天发现的隐患",
            FindingState::FoundInWindowFixed => "近30天发现且已整改的隐患",
        }
    }
}

/// Movement on the residents' register within the last 24 hours (the command room's 较昨日).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Movement {
    /// Registered (checked in) within the day, whatever became of the stay since.
    #[serde(rename = "in_1d")]
    CheckedIn,
    /// Checked out within the day.
    #[serde(rename = "out_1d")]
    CheckedOut,
}

impl Movement {
    pub fn parse(s: &str) -> Option<Movement> {
        match s {
            "in_1d" => Some(Movement::CheckedIn),
            "out_1d" => Some(Movement::CheckedOut),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Movement::CheckedIn => "in_1d",
            Movement::CheckedOut => "out_1d",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Movement::CheckedIn => "24小时内入住登记",
            Movement::CheckedOut => "24小时内退租",
        }
    }
}

/// The houses list's filter. Empty fields mean "any".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HouseFilter {
    pub village_id: Option<i32>,
    pub grade: Option<GradeFilter>,
    pub permit: Option<HousePermit>,
    /// Only houses registered within the last 24 hours (`new=1d`, the command room's 较昨日).
    pub new_1d: bool,
}

impl HouseFilter {
    /// The filter as a query string ending in `&` (empty when nothing is set), for pager links.
    pub fn query(&self) -> String {
        let mut q = String::new();
        if let Some(v) = self.village_id {
            q.push_str(&format!("village_id={v}&"));
        }
        if let Some(g) = self.grade {
            q.push_str(&format!("grade={}&", g.as_str()));
        }
        if let Some(p) = self.permit {
            q.push_str(&format!("permit={}&", p.as_str()));
        }
        if self.new_1d {
            q.push_str("new=1d&");
        }
        q
    }
}

fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// A village id from a link or a filter form; blank is "any".
pub fn parse_village(raw: Option<&str>) -> Result<Option<i32>, &'static str> {
    match present(raw) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| "村编号应为数字"),
    }
}

/// An optional value parsed by `parse`; blank is "any", anything unknown is `err`.
pub fn parse_opt<T>(
    raw: Option<&str>,
    parse: fn(&str) -> Option<T>,
    err: &'static str,
) -> Result<Option<T>, &'static str> {
    match present(raw) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or(err),
    }
}

/// The houses list's parameters as given in its link.
pub fn parse_house_filter(
    village_id: Option<&str>,
    grade: Option<&str>,
    permit: Option<&str>,
    new: Option<&str>,
) -> Result<HouseFilter, &'static str> {
    Ok(HouseFilter {
        village_id: parse_village(village_id)?,
        grade: parse_opt(grade, GradeFilter::parse, "未知的房屋等级")?,
        permit: parse_opt(permit, HousePermit::parse, "未知的准入证状态")?,
        new_1d: parse_opt(new, |s| (s == "1d").then_some(()), "未知的登记时间范围")?.is_some(),
    })
}

/// An application status from a link.
pub fn parse_application_status(
    raw: Option<&str>,
) -> Result<Option<ApplicationStatus>, &'static str> {
    parse_opt(raw, ApplicationStatus::parse, "未知的申请状态")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_reads_back_what_it_writes() {
        for f in PermitFilter::ALL {
            assert_eq!(PermitFilter::parse(f.as_str()), Some(f));
        }
        for g in GradeFilter::ALL {
            assert_eq!(GradeFilter::parse(g.as_str()), Some(g));
        }
        for p in HousePermit::ALL {
            assert_eq!(HousePermit::parse(p.as_str()), Some(p));
        }
        for s in [FindingState::Open, FindingState::Overdue] {
            assert_eq!(FindingState::parse(s.as_str()), Some(s));
        }
        for s in FindingState::ALL {
            assert_eq!(FindingState::parse(s.as_str()), Some(s));
        }
        for m in [Movement::CheckedIn, Movement::CheckedOut] {
            assert_eq!(Movement::parse(m.as_str()), Some(m));
        }
        let new = parse_house_filter(None, None, None, Some("1d")).unwrap();
        assert!(new.new_1d);
        assert_eq!(new.query(), "new=1d&");
    }

    #[test]
    fn a_blank_parameter_is_any_and_a_bad_one_is_refused() {
        let f = parse_house_filter(Some("3"), Some("red"), Some(""), None).unwrap();
        assert_eq!(f.village_id, Some(3));
        assert_eq!(f.grade, Some(GradeFilter::Is(Grade::Red)));
        assert_eq!(f.permit, None);
        assert_eq!(f.query(), "village_id=3&grade=red&");
        assert_eq!(HouseFilter::default().query(), "");
        assert!(parse_house_filter(Some("x"), None, None, None).is_err());
        assert!(parse_house_filter(None, Some("purple"), None, None).is_err());
        assert!(parse_house_filter(None, None, Some("maybe"), None).is_err());
        assert!(parse_house_filter(None, None, None, Some("1y")).is_err());
        assert!(FindingState::parse("lost").is_none() && Movement::parse("sideways").is_none());
        assert_eq!(parse_application_status(Some(" ")), Ok(None));
        assert!(parse_application_status(Some("lost")).is_err());
    }
}
