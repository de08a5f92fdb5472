//! Load errors for checklist files, worded in Chinese for the town admin who edits them.

use std::fmt;

/// A checklist file that cannot be used, with the file and (when known) the 1-based line.
///
/// Displays as `forms/checklists/x.toml 第 12 行: 重复的检查项 wiring.conduit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistError {
    pub file: String,
    pub line: Option<usize>,
    pub problem: Problem,
}

impl fmt::Display for ChecklistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} 第 {} 行: {}", self.file, line, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for ChecklistError {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("无法读取文件：{0}")]
    Io(String),
    /// TOML syntax or shape error (unknown field, missing field, wrong type…), already translated.
    #[error("{0}")]
    Syntax(String),
    #[error("重复的分区 {0}")]
    DuplicateSection(String),
    #[error("重复的检查项 {0}")]
    DuplicateItem(String),
    #[error("检查项 {item} 的选项 {option} 重复")]
    DuplicateOption { item: String, option: String },
    #[error("检查项 {item} 的阈值无效：{reason}")]
    BadThreshold { item: String, reason: String },
    #[error("{owner} 缺少中文名称 {field}")]
    MissingLabel { owner: String, field: &'static str },
    #[error("未知的严重程度 {0}（可选：critical、major、minor）")]
    UnknownSeverity(String),
    #[error("未知的检查项类型 {0}（可选：pass_fail、number、choice、text）")]
    UnknownKind(String),
    /// Any other rule the file breaks; the text says which.
    #[error("{0}")]
    Invalid(String),
    #[error("检查表 {key} 第 {version} 版重复（已在 {first_file} 中定义）")]
    DuplicateVersion {
        key: String,
        version: u32,
        first_file: String,
    },
}

/// 1-based line of a byte offset; offsets past the end count as the last line.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// toml/serde messages are English; the people fixing these files read Chinese, so the common
/// shapes are translated and anything else is passed through behind a Chinese prefix.
/// `at` is the source text the error points at (toml's "duplicate key" does not name the key).
pub(crate) fn translate_toml_message(msg: &str, at: Option<&str>) -> String {
    let msg = msg.trim();
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        return match rest.split_once(", expected ") {
            Some((field, expected)) => {
                let expected = expected.strip_prefix("one of ").unwrap_or(expected);
                format!("未知字段 {field}（可用字段：{expected}）")
            }
            None => match rest.split_once(", there are no fields") {
                Some((field, _)) => format!("未知字段 {field}"),
                None => format!("未知字段 {rest}"),
            },
        };
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("缺少字段 {rest}");
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected ") {
            Some((value, expected)) => {
                let expected = expected.strip_prefix("one of ").unwrap_or(expected);
                format!("无效的取值 {value}（可选：{expected}）")
            }
            None => format!("无效的取值 {rest}"),
        };
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let rest = rest
            .replace("expected i64", "应为整数")
            .replace("expected f64", "应为数字")
            .replace("expected u32", "应为非负整数")
            .replace("expected a boolean", "应为 true 或 false")
            .replace("expected a string", "应为字符串");
        return format!("类型错误：{rest}");
    }
    if msg.starts_with("duplicate key") {
        return match at
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.chars().count() <= 40)
        {
            Some(key) => format!("重复的字段 `{key}`"),
            None => "重复的字段".to_string(),
        };
    }
    format!("TOML 格式错误：{msg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        let t = "a\nb\nc";
        assert_eq!(line_of(t, 0), 1);
        assert_eq!(line_of(t, 2), 2);
        assert_eq!(line_of(t, 4), 3);
        assert_eq!(line_of(t, 99), 3);
    }

    #[test]
    fn display_names_file_and_line() {
        let e = ChecklistError {
            file: "forms/checklists/x.toml".into(),
            line: Some(12),
            problem: Problem::DuplicateItem("wiring.conduit".into()),
        };
        assert_eq!(
            e.to_string(),
            "forms/checklists/x.toml 第 12 行: 重复的检查项 wiring.conduit"
        );
    }

    #[test]
    fn common_toml_messages_are_translated() {
        assert_eq!(
            translate_toml_message(
                "unknown field `colour`, expected one of `key`, `version`",
                None
            ),
            "未知字段 `colour`（可用字段：`key`, `version`）"
        );
        assert_eq!(
            translate_toml_message("missing field `key`", None),
            "缺少字段 `key`"
        );
        assert_eq!(
            translate_toml_message("duplicate key", Some("min")),
            "重复的字段 `min`"
        );
        assert!(translate_toml_message("weird", None).starts_with("TOML 格式错误"));
    }
}
