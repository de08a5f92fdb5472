//! Telling a resend from a different submission under the same id: phones on weak networks
//! resend, and the server must neither duplicate nor silently overwrite (Enketo's users got both).
use crate::domain::checklist::Answer;
use crate::entities::inspection;

use super::submit::Submission;

/// Whether a resend carries what was stored under its id: the same answers (in any order, blank
/// photo ids ignored) and no other checklist version.
pub fn same_submission(done: &inspection::Model, s: &Submission) -> bool {
    let canonical = |answers: &[Answer]| {
        let mut a: Vec<Answer> = answers
            .iter()
            .cloned()
            .map(|mut a| {
                a.photo_ids.retain(|p| !p.trim().is_empty());
                a
            })
            .collect();
        a.sort_by(|x, y| x.item.cmp(&y.item));
        a
    };
    let Ok(stored) = serde_json::from_str::<Vec<Answer>>(&done.answers) else {
        return false;
    };
    let version_ok = s.version.is_none_or(|v| v as i32 == done.checklist_version);
    let key_ok = s
        .checklist
        .as_deref()
        .is_none_or(|k| k == done.checklist_key);
    version_ok && key_ok && canonical(&stored) == canonical(&s.answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checklist::AnswerResult;

    fn answer(item: &str, result: AnswerResult, photos: &[&str]) -> Answer {
        Answer {
            item: item.into(),
            result,
            value: None,
            note: None,
            photo_ids: photos.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn stored(answers: &[Answer]) -> inspection::Model {
        inspection::Model {
            id: 1,
            task_id: 1,
            submission_id: "s".into(),
            inspector_id: 1,
            property_id: 1,
            village_id: 1,
            application_id: None,
            checklist_key: "rental-safety".into(),
            checklist_version: 1,
            checklist_hash: String::new(),
            outcome: "passed".into(),
            grade: "green".into(),
            answers: serde_json::to_string(answers).unwrap_or_default(),
            created_at: chrono::Utc::now(),
        }
    }

    fn sent(answers: Vec<Answer>, version: Option<u32>) -> Submission {
        Submission {
            submission_id: "s".into(),
            checklist: None,
            version,
            answers,
        }
    }

    #[test]
    fn a_resend_is_the_same_answers_in_any_order_and_anything_else_is_not() {
        let a = answer("a", AnswerResult::Pass, &[]);
        let b = answer("b", AnswerResult::Fail, &["p1"]);
        let done = stored(&[a.clone(), b.clone()]);
        assert!(same_submission(
            &done,
            &sent(vec![b.clone(), a.clone()], None)
        ));
        assert!(same_submission(
            &done,
            &sent(vec![a.clone(), b.clone()], Some(1))
        ));
        let blank_photo = answer("b", AnswerResult::Fail, &["p1", " "]);
        assert!(same_submission(
            &done,
            &sent(vec![a.clone(), blank_photo], None)
        ));
        assert!(!same_submission(
            &done,
            &sent(vec![a.clone(), b.clone()], Some(2))
        ));
        let passed = answer("b", AnswerResult::Pass, &["p1"]);
        assert!(!same_submission(
            &done,
            &sent(vec![a.clone(), passed], None)
        ));
        let other_photo = answer("b", AnswerResult::Fail, &["p2"]);
        assert!(!same_submission(&done, &sent(vec![a, other_photo], None)));
    }
}
