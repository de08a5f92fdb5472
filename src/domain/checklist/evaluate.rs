//! Pure evaluation of an inspector's answers against a checklist: findings, outcome, grade.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::model::{Checklist, Item, ItemKind, Severity};
use crate::domain::grade::Grade;

/// What the inspector ticked. For `number` and `choice` items only `Na` is taken at face value;
/// pass or fail is derived from the recorded value (see [`evaluate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnswerResult {
    Pass,
    Fail,
    /// Not applicable in this house (e.g. no shared kitchen).
    Na,
}

impl AnswerResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerResult::Pass => "pass",
            AnswerResult::Fail => "fail",
            AnswerResult::Na => "na",
        }
    }

    pub fn parse(s: &str) -> Option<AnswerResult> {
        match s {
            "pass" => Some(AnswerResult::Pass),
            "fail" => Some(AnswerResult::Fail),
            "na" => Some(AnswerResult::Na),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub item: String,
    pub result: AnswerResult,
    /// The measured number (`number`), the chosen option key (`choice`) or free text (`text`).
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub photo_ids: Vec<String>,
}

/// A failed item, before it is persisted as a finding with a due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingDraft {
    pub item_key: String,
    pub severity: Severity,
    pub deadline_days: u32,
    /// What was found (measured value, chosen option, text) followed by the inspector's note.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub outcome: Outcome,
    /// In checklist order.
    pub findings: Vec<FindingDraft>,
    /// Grade over these findings only. For a re-inspection the caller must combine them with
    /// the house's other still-open findings (via [`grade_for`]) to get the house's grade.
    pub grade: Grade,
}

/// A refused answer, with a Chinese message to show beside the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub item: String,
    pub message: String,
}

/// Evaluates answers against `c`.
///
/// Scope is every item, or only `only_items` for a re-inspection (which checks only the items
/// that failed). Each item in scope must be answered exactly once; answers to unknown or
/// out-of-scope items are refused. `Na` is allowed for every item.
///
/// The verdict of `number` and `choice` items is **derived**, not taken from the client: a
/// value below `min` or above `max`, or a chosen option with `fails = true`, is a failure even
/// if the answer says `Pass` (and a value within bounds passes even if it says `Fail`), so a
/// mis-tap on a phone cannot let an overcrowded house through. `pass_fail` and `text` items
/// take the inspector's verdict. A failed item with `photo_on_fail` needs at least one photo.
///
/// All problems are reported together so the form can show every message at once.
pub fn evaluate(
    c: &Checklist,
    answers: &[Answer],
    only_items: Option<&[String]>,
) -> Result<Evaluation, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut error = |item: &str, message: &str| {
        errors.push(FieldError {
            item: item.to_string(),
            message: message.to_string(),
        })
    };

    let scope: Vec<&Item> = match only_items {
        None => c.items().collect(),
        Some(keys) => {
            let mut scope: Vec<&Item> = Vec::with_capacity(keys.len());
            for k in keys {
                match c.item(k) {
                    None => error(k, "未知检查项"),
                    Some(item) if scope.iter().any(|s| s.key == item.key) => {}
                    Some(item) => scope.push(item),
                }
            }
            scope
        }
    };

    let mut by_item: HashMap<&str, &Answer> = HashMap::with_capacity(answers.len());
    for a in answers {
        if c.item(&a.item).is_none() {
            error(&a.item, "未知检查项");
        } else if !scope.iter().any(|s| s.key == a.item) {
            error(&a.item, "本次复查不包含此项");
        } else if by_item.insert(&a.item, a).is_some() {
            error(&a.item, "此项重复作答");
        }
    }

    let mut findings = Vec::new();
    for item in &scope {
        let Some(answer) = by_item.get(item.key.as_str()) else {
            error(&item.key, "此项未作答");
            continue;
        };
        match judge(item, answer) {
            Err(message) => error(&item.key, message),
            Ok(None) => {}
            Ok(Some(detail)) => findings.push(FindingDraft {
                item_key: item.key.clone(),
                severity: item.severity,
                deadline_days: deadline_days(c, item.severity),
                note: join_notes(detail, answer.note.as_deref()),
            }),
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let open: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
    Ok(Evaluation {
        outcome: if findings.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        grade: grade_for(c, &open),
        findings,
    })
}

/// Whether a recorded value fails a `number` or `choice` item; `None` for other kinds or a value
/// that is not a valid answer (missing, not a number, negative, no such option). The walk page
/// shows this verdict and [`evaluate`] judges by it, so the two never disagree.
pub fn value_fails(item: &Item, value: &str) -> Option<bool> {
    let value = value.trim();
    match &item.kind {
        ItemKind::Number { min, max, .. } => {
            let v: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
            Some(min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m))
        }
        ItemKind::Choice { options } => options.iter().find(|o| o.key == value).map(|o| o.fails),
        ItemKind::PassFail | ItemKind::Text => None,
    }
}

/// The verdict an answer stands for: derived from the value for `number` and `choice` items
/// (unless not applicable), the inspector's own for the others.
pub fn effective_result(item: &Item, a: &Answer) -> AnswerResult {
    if a.result == AnswerResult::Na {
        return AnswerResult::Na;
    }
    match a.value.as_deref().and_then(|v| value_fails(item, v)) {
        Some(true) => AnswerResult::Fail,
        Some(false) => AnswerResult::Pass,
        None => a.result,
    }
}

/// `Ok(None)` = no finding; `Ok(Some(detail))` = failed, with what was found (may be empty).
fn judge(item: &Item, a: &Answer) -> Result<Option<Option<String>>, &'static str> {
    // Checked before anything else: these strings are stored and looked up as given.
    let control = |v: &Option<String>, multiline| {
        v.as_deref()
            .is_some_and(|v| crate::domain::fields::has_control(v, multiline))
    };
    if control(&a.value, true)
        || control(&a.note, true)
        || a.photo_ids
            .iter()
            .any(|p| crate::domain::fields::has_control(p, false))
    {
        return Err(crate::domain::fields::CONTROL_CHARACTER);
    }
    if a.result == AnswerResult::Na {
        return Ok(None);
    }
    let value = a.value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let (failed, detail) = match &item.kind {
        ItemKind::PassFail => (a.result == AnswerResult::Fail, None),
        ItemKind::Text => (a.result == AnswerResult::Fail, value.map(str::to_string)),
        ItemKind::Number { unit, min, max } => {
            let v: f64 = value
                .ok_or("请填写数值")?
                .parse()
                .map_err(|_| "请填写有效的数值")?;
            if !v.is_finite() {
                return Err("请填写有效的数值");
            }
            if v < 0.0 {
                return Err("数值不能为负数");
            }
            let failed = value_fails(item, &v.to_string()).unwrap_or(false);
            let detail = match (min.filter(|m| v < *m), max.filter(|m| v > *m)) {
                (Some(m), _) => Some(format!("实测 {v} {unit}，要求不少于 {m} {unit}")),
                (_, Some(m)) => Some(format!("实测 {v} {unit}，要求不超过 {m} {unit}")),
                _ => None,
            };
            (failed, detail)
        }
        ItemKind::Choice { options } => {
            let key = value.ok_or("请选择一项")?;
            let option = options.iter().find(|o| o.key == key).ok_or("无效的选项")?;
            (
                value_fails(item, key).unwrap_or(option.fails),
                Some(option.label_zh.clone()),
            )
        }
    };
    if !failed {
        return Ok(None);
    }
    if item.photo_on_fail && a.photo_ids.iter().all(|p| p.trim().is_empty()) {
        return Err("此项不合格，须拍照");
    }
    Ok(Some(detail))
}

fn join_notes(detail: Option<String>, note: Option<&str>) -> Option<String> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    match (detail, note) {
        (Some(d), Some(n)) => Some(format!("{d}；{n}")),
        (Some(d), None) => Some(d),
        (None, n) => n.map(str::to_string),
    }
}

/// Grade of a house from the severities of its open findings, by the checklist's rule.
pub fn grade_for(c: &Checklist, open: &[Severity]) -> Grade {
    let rule = &c.grading;
    if open.iter().any(|s| rule.red_when_open.contains(s)) {
        Grade::Red
    } else if open.iter().any(|s| rule.yellow_when_open.contains(s)) {
        Grade::Yellow
    } else {
        Grade::Green
    }
}

/// Rectification deadline in days; 0 means the finding blocks the permit immediately.
pub fn deadline_days(c: &Checklist, severity: Severity) -> u32 {
    match severity {
        Severity::Critical => c.deadlines.critical,
        Severity::Major => c.deadlines.major,
        Severity::Minor => c.deadlines.minor,
    }
}

/// Days between routine patrols for a house of this grade.
pub fn cadence_days(c: &Checklist, grade: Grade) -> u32 {
    match grade {
        Grade::Green => c.cadence.green,
        Grade::Yellow => c.cadence.yellow,
        Grade::Red => c.cadence.red,
    }
}
