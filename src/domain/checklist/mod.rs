//! Inspection checklists: versioned TOML data under `forms/checklists/`, loaded, validated and
//! evaluated here without any I/O beyond reading the files.
//!
//! Thresholds, grade rule, deadlines, patrol cadence and occupancy parameters all live in the
//! file, never in code, because every town sets its own.

mod error;
mod evaluate;
mod load;
mod model;
mod registry;

#[cfg(test)]
mod tests;

pub use error::{ChecklistError, Problem};
pub use evaluate::{
    Answer, AnswerResult, Evaluation, FieldError, FindingDraft, Outcome, cadence_days,
    deadline_days, effective_result, evaluate, grade_for, value_fails,
};
pub use load::parse;
pub use model::{
    Cadence, Checklist, ChoiceOption, Deadlines, GradingRule, Item, ItemKind, Occupancy, Section,
    Severity,
};
pub use registry::ChecklistRegistry;
