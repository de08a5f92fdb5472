//! Messages per form field, in the user's language: how a refused input explains itself.
use std::collections::BTreeMap;

use serde::Serialize;

/// Field name → messages, in the user's language. Shared by HTML forms and the JSON API.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: impl Into<String>, msg: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(msg.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The first message for a field, for showing beside it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .get(field)
            .and_then(|v| v.first())
            .map(|s| s.as_str())
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
    /// `Ok(())` when nothing was added, so a parser can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// What a field holding a control character says; one message for every field.
pub const CONTROL_CHARACTER: &str = "不能包含控制字符";

/// Whether `s` holds a character no stored text may hold: NUL (PostgreSQL refuses it outright),
/// the other C0/C1 controls, and Unicode's line and paragraph separators. A multi-line field
/// (notes, reasons) may keep its line breaks and tabs.
pub fn has_control(s: &str, multiline: bool) -> bool {
    s.chars().any(|c| {
        let allowed = multiline && matches!(c, '\n' | '\r' | '\t');
        !allowed && (c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
    })
}

/// The boundary check every text parser runs first: the input trimmed, or the field message.
pub fn clean_text(raw: &str, multiline: bool) -> Result<&str, &'static str> {
    if has_control(raw, multiline) {
        Err(CONTROL_CHARACTER)
    } else {
        Ok(raw.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_other_control_characters_are_refused_in_a_single_line_field() {
        for bad in [
            "a\u{0}b",
            "\u{0}",
            "x\ny",
            "tab\there",
            "esc\u{1b}",
            "c1\u{85}",
            "ls\u{2028}",
        ] {
            assert_eq!(clean_text(bad, false), Err(CONTROL_CHARACTER), "{bad:?}");
        }
        assert_eq!(clean_text("  王小明 ", false), Ok("王小明"));
    }

    #[test]
    fn a_multi_line_field_keeps_line_breaks_and_tabs_but_not_nul() {
        assert_eq!(
            clean_text("第一行\r\n\t第二行", true),
            Ok("第一行\r\n\t第二行")
        );
        assert_eq!(clean_text("note\u{0}", true), Err(CONTROL_CHARACTER));
        assert_eq!(clean_text("bell\u{7}", true), Err(CONTROL_CHARACTER));
    }
}
