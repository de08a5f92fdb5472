//! Risk grade (红黄绿) of a house, computed from its latest inspection.

use serde::{Deserialize, Serialize};

/// Risk grade; the rule that picks it lives in the checklist file (see
/// `checklist::grade_for`), so this type only names the grades.
///
/// Ordered by risk (`Green < Yellow < Red`) so callers can take the worst of several.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    Green,
    Yellow,
    Red,
}

impl Grade {
    pub const ALL: [Grade; 3] = [Grade::Green, Grade::Yellow, Grade::Red];

    /// Stable identifier used in the database, the API and CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Green => "green",
            Grade::Yellow => "yellow",
            Grade::Red => "red",
        }
    }

    /// Inverse of [`Grade::as_str`]; `None` for anything else so bad input is refused, not guessed.
    pub fn parse(s: &str) -> Option<Grade> {
        match s {
            "green" => Some(Grade::Green),
            "yellow" => Some(Grade::Yellow),
            "red" => Some(Grade::Red),
            _ => None,
        }
    }

    /// Wording shown on the certificate and the public verification page.
    pub fn label_zh(self) -> &'static str {
        match self {
            Grade::Green => "绿色·合格",
            Grade::Yellow => "黄色·整改中",
            Grade::Red => "红色·重大隐患",
        }
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_and_parse_round_trip() {
        for g in Grade::ALL {
            assert_eq!(Grade::parse(g.as_str()), Some(g));
        }
        assert_eq!(Grade::parse("Green"), None);
        assert_eq!(Grade::parse(""), None);
    }

    #[test]
    fn serde_uses_lowercase_names() {
        assert_eq!(serde_json::to_string(&Grade::Yellow).unwrap(), "\"yellow\"");
        let g: Grade = serde_json::from_str("\"red\"").unwrap();
        assert_eq!(g, Grade::Red);
    }

    #[test]
    fn chinese_labels_match_the_certificate_wording() {
        assert_eq!(Grade::Green.label_zh(), "绿色·合格");
        assert_eq!(Grade::Yellow.label_zh(), "黄色·整改中");
        assert_eq!(Grade::Red.label_zh(), "红色·重大隐患");
    }

    #[test]
    fn worse_grades_compare_greater() {
        assert_eq!(Grade::Green.max(Grade::Red).max(Grade::Yellow), Grade::Red);
    }
}
