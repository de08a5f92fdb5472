//! Checklist data types: what a loaded, validated checklist file looks like in memory.

use serde::{Deserialize, Serialize};

use crate::domain::occupancy::{OccupancyRule, RoomKind};

/// How serious a failed item is; decides the rectification deadline and the grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the permit until fixed.
    Critical,
    /// Must be fixed by a deadline.
    Major,
    /// Advice.
    Minor,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Major, Severity::Minor];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Severity::Critical => "重大",
            Severity::Major => "一般",
            Severity::Minor => "轻微",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated, immutable checklist version.
///
/// A published version is never edited; inspections store `key`, `version` and
/// `content_hash` so the exact rules they were made with can be shown later.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checklist {
    pub key: String,
    pub version: u32,
    pub title_zh: String,
    pub title_en: String,
    pub sections: Vec<Section>,
    pub grading: GradingRule,
    pub deadlines: Deadlines,
    pub cadence: Cadence,
    pub occupancy: Occupancy,
    /// SHA-256 (lower-case hex) of the file bytes.
    pub content_hash: String,
    /// File the checklist was read from, as given to `parse`; used in error messages.
    pub source_file: String,
    /// Line of `version = …`, kept so a duplicate version found later can still point at it.
    #[serde(skip)]
    pub(crate) version_line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub key: String,
    pub title_zh: String,
    pub title_en: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    #[serde(flatten)]
    pub kind: ItemKind,
    pub severity: Severity,
    pub legal_basis: String,
    pub photo_on_fail: bool,
}

/// What the inspector records for an item. Serialized flat (`"kind": "number", "unit": …`),
/// the same shape as in the checklist file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemKind {
    PassFail,
    /// A measured value; at least one bound is always present after loading.
    Number {
        unit: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    Choice {
        options: Vec<ChoiceOption>,
    },
    Text,
}

impl ItemKind {
    pub const NAMES: [&'static str; 4] = ["pass_fail", "number", "choice", "text"];

    pub fn as_str(&self) -> &'static str {
        match self {
            ItemKind::PassFail => "pass_fail",
            ItemKind::Number { .. } => "number",
            ItemKind::Choice { .. } => "choice",
            ItemKind::Text => "text",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceOption {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// Choosing this option makes the item fail.
    pub fails: bool,
}

/// Grade rule: red when any open finding has a severity in `red_when_open`, else yellow when
/// any is in `yellow_when_open`, else green.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradingRule {
    pub red_when_open: Vec<Severity>,
    pub yellow_when_open: Vec<Severity>,
}

/// Rectification deadline in days per severity; 0 means blocking immediately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub critical: u32,
    pub major: u32,
    pub minor: u32,
}

/// Routine-patrol cadence in days per grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cadence {
    pub green: u32,
    pub yellow: u32,
    pub red: u32,
}

/// Parameters of the maximum-occupants rule (DESIGN §2), as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Occupancy {
    pub per_person_area_m2: f64,
    pub persons_per_room: u32,
    /// Room kinds that may be let; every other kind (kitchen, bathroom…) counts for nothing.
    /// Typed so a misspelt kind is refused at load instead of silently letting no room.
    pub letting_room_kinds: Vec<RoomKind>,
}

impl Occupancy {
    /// The rule `domain::occupancy::max_occupants` computes with.
    pub fn rule(&self) -> OccupancyRule {
        OccupancyRule {
            per_person_area_m2: self.per_person_area_m2,
            persons_per_room: self.persons_per_room,
            letting_kinds: self.letting_room_kinds.clone(),
        }
    }
}

impl Item {
    /// A recorded value as people read it: the option's label for a choice, the number with its
    /// unit for a measurement, text as written.
    pub fn value_label(&self, value: &str) -> String {
        match &self.kind {
            ItemKind::Choice { options } => options
                .iter()
                .find(|o| o.key == value)
                .map(|o| o.label_zh.clone())
                .unwrap_or_else(|| value.to_string()),
            ItemKind::Number { unit, .. } => format!("{value} {unit}"),
            ItemKind::PassFail | ItemKind::Text => value.to_string(),
        }
    }
}

impl Checklist {
    /// All items in checklist order, across sections.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items().find(|i| i.key == key)
    }

    pub fn item_count(&self) -> usize {
        self.sections.iter().map(|s| s.items.len()).sum()
    }
}
