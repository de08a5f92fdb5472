//! The permit application lifecycle: its states, their Chinese names and the legal transitions.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    Inspecting,
    Rectifying,
    Passed,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 7] = [
        Self::Draft,
        Self::Submitted,
        Self::Inspecting,
        Self::Rectifying,
        Self::Passed,
        Self::Approved,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Inspecting => "inspecting",
            Self::Rectifying => "rectifying",
            Self::Passed => "passed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Draft => "草稿",
            Self::Submitted => "已提交",
            Self::Inspecting => "检查中",
            Self::Rectifying => "待整改",
            Self::Passed => "检查通过",
            Self::Approved => "已发证",
            Self::Rejected => "未通过",
        }
    }

    /// The badge colour class used by the stylesheet.
    pub fn badge(self) -> &'static str {
        match self {
            Self::Draft => "grey",
            Self::Submitted | Self::Inspecting => "blue",
            Self::Rectifying => "yellow",
            Self::Passed | Self::Approved => "green",
            Self::Rejected => "red",
        }
    }

    /// Whether the lifecycle of DESIGN.md §3 allows going from `self` to `to`.
    pub fn can_move_to(self, to: Self) -> bool {
        use ApplicationStatus::*;
        matches!(
            (self, to),
            (Draft, Submitted)
                | (Submitted, Inspecting)
                | (Submitted, Passed)
                | (Submitted, Rectifying)
                | (Inspecting, Passed)
                | (Inspecting, Rectifying)
                | (Rectifying, Inspecting)
                | (Rectifying, Passed)
                | (Passed, Approved)
                | (Passed, Rejected)
        )
    }

    /// The statuses of an application still in progress: a house has at most one of these
    /// (a partial unique index in migration `m005_one_open_application` holds the same list).
    pub const OPEN: [ApplicationStatus; 5] = [
        Self::Draft,
        Self::Submitted,
        Self::Inspecting,
        Self::Rectifying,
        Self::Passed,
    ];

    /// Still in progress: neither approved nor rejected.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Approved | Self::Rejected)
    }

    /// A landlord may still change the house, documents and declaration.
    pub fn is_editable(self) -> bool {
        self == Self::Draft
    }
}

/// Every label shown for a status, looked up from its stored name (unknown names show as is).
pub fn status_label(s: &str) -> &str {
    ApplicationStatus::parse(s)
        .map(|x| x.label_zh())
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::ApplicationStatus::*;

    #[test]
    fn a_draft_can_only_be_submitted() {
        for to in super::ApplicationStatus::ALL {
            assert_eq!(Draft.can_move_to(to), to == Submitted, "{to:?}");
        }
    }

    #[test]
    fn only_a_passed_application_can_be_approved_or_rejected() {
        assert!(Passed.can_move_to(Approved));
        assert!(Passed.can_move_to(Rejected));
        assert!(!Submitted.can_move_to(Approved));
        assert!(!Rectifying.can_move_to(Approved));
        assert!(!Approved.can_move_to(Draft));
    }

    #[test]
    fn labels_are_the_chinese_badges_of_the_design() {
        assert_eq!(Submitted.label_zh(), "已提交");
        assert_eq!(Rectifying.label_zh(), "待整改");
        assert_eq!(super::status_label("passed"), "检查通过");
    }
}
