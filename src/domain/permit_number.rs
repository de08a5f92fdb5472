//! Permit numbers: town code – village code – year – sequence, e.g. `HJ-JX-2026-000123`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PermitNumberParts {
    pub town: String,
    pub village: String,
    pub year: i32,
    pub seq: u32,
}

impl fmt::Display for PermitNumberParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}-{:06}",
            self.town, self.village, self.year, self.seq
        )
    }
}

pub fn format_permit_number(town: &str, village: &str, year: i32, seq: u32) -> String {
    format!("{town}-{village}-{year:04}-{seq:06}")
}

/// A town or village code: 1–8 upper-case ASCII letters or digits.
pub fn is_valid_code(code: &str) -> bool {
    (1..=8).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Parses a permit number as people type it (surrounding spaces and lower case are forgiven).
/// Only the canonical spelling of year and sequence is accepted, so that two different strings
/// never name the same permit.
pub fn parse_permit_number(s: &str) -> Option<PermitNumberParts> {
    let upper = s.trim().to_ascii_uppercase();
    let mut parts = upper.split('-');
    let (town, village, year, seq) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_valid_code(town) || !is_valid_code(village) {
        return None;
    }
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parsed = PermitNumberParts {
        town: town.to_string(),
        village: village.to_string(),
        year: year.parse().ok()?,
        seq: seq.parse().ok()?,
    };
    (format!("{:06}", parsed.seq) == seq).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_town_village_year_and_six_digit_sequence() {
        assert_eq!(
            format_permit_number("HJ", "JX", 2026, 123),
            "HJ-JX-2026-000123"
        );
        assert_eq!(
            format_permit_number("HJ", "XJL", 2027, 1_234_567),
            "HJ-XJL-2027-1234567"
        );
    }

    #[test]
    fn a_formatted_number_parses_back_to_its_parts() {
        let parts = parse_permit_number("HJ-JX-2026-000123");
        let want = PermitNumberParts {
            town: "HJ".into(),
            village: "JX".into(),
            year: 2026,
            seq: 123,
        };
        assert_eq!(parts.as_ref(), Some(&want));
        assert_eq!(want.to_string(), "HJ-JX-2026-000123");
        let big = format_permit_number("T1", "V2345678", 2030, 1_234_567);
        assert_eq!(parse_permit_number(&big).map(|p| p.to_string()), Some(big));
    }

    #[test]
    fn a_typed_number_in_lower_case_with_spaces_is_understood() {
        let parts = parse_permit_number("  hj-jx-2026-000123 ");
        assert_eq!(
            parts.map(|p| p.to_string()),
            Some("HJ-JX-2026-000123".into())
        );
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for s in [
            "",
            "HJ-JX-2026",
            "HJ-JX-2026-000123-1",
            "HJ--2026-000123",
            "HJ-JXVILLAGE-2026-000123",
            "H J-JX-2026-000123",
            "花街-JX-2026-000123",
            "HJ-JX-26-000123",
            "HJ-JX-2026-123",
            "HJ-JX-2026-0000123",
            "HJ-JX-2026-+00123",
            "HJ-JX-2026-99999999999",
            "HJ_JX_2026_000123",
        ] {
            assert_eq!(parse_permit_number(s), None, "{s}");
        }
    }
}
