//! Inspections: tasks routed to grid workers, the checklist walk and its outcome, findings and
//! the rectification loop, routine patrols.
pub mod findings;
pub mod previous;
pub mod progress;
pub mod resend;
pub mod routine;
pub mod submit;
pub mod tasks;
pub mod view;
pub mod walk;

use crate::AppState;

/// Checklist used when the registry has several and nothing says otherwise.
pub const DEFAULT_CHECKLIST: &str = "rental-safety";

/// What new tasks are made with: the due time and the checklist to walk.
#[derive(Debug, Clone)]
pub struct TaskPolicy {
    pub due_working_days: u32,
    pub checklist_key: String,
    /// The application's clock: tasks are dated and due by it.
    pub clock: crate::domain::clock::Clock,
}

impl TaskPolicy {
    pub fn of(st: &AppState) -> TaskPolicy {
        let key = if st.checklists.current(DEFAULT_CHECKLIST).is_some() {
            DEFAULT_CHECKLIST.to_string()
        } else {
            st.checklists
                .keys()
                .next()
                .unwrap_or(DEFAULT_CHECKLIST)
                .to_string()
        };
        TaskPolicy {
            due_working_days: st.config.inspection_due_working_days,
            checklist_key: key,
            clock: st.config.clock,
        }
    }
}

/// A JSON array of strings stored in a text column; anything unreadable reads as empty.
pub(crate) fn json_list(s: Option<&str>) -> Vec<String> {
    s.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}
