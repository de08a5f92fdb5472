//! Checklist helpers shared by the inspection and field-work tests: the shipped checklist, a
//! task of an application, and answers that pass or fail chosen items.
use anju::domain::checklist::{Checklist, ChecklistRegistry, ItemKind};
use anju::entities::inspection_task;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::TestApp;

pub fn checklist_v1() -> Checklist {
    let reg = ChecklistRegistry::load_dir(&std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/forms/checklists"
    )))
    .unwrap();
    reg.current("rental-safety").unwrap().clone()
}

pub async fn task_for(app: &TestApp, app_id: i32, kind: &str) -> inspection_task::Model {
    inspection_task::Entity::find()
        .filter(inspection_task::Column::ApplicationId.eq(app_id))
        .filter(inspection_task::Column::Kind.eq(kind))
        .order_by_desc(inspection_task::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("task")
}

/// A passing answer for every item (numbers at their bound, the first option that passes).
pub fn passing(c: &Checklist, only: Option<&[String]>) -> Vec<Value> {
    c.items()
        .filter(|i| only.is_none_or(|o| o.contains(&i.key)))
        .map(|i| match &i.kind {
            ItemKind::Number { min, max, .. } => {
                json!({"item": i.key, "result": "pass", "value": min.or(*max).unwrap().to_string()})
            }
            ItemKind::Choice { options } => {
                json!({"item": i.key, "result": "pass", "value": options.iter().find(|o| !o.fails).unwrap().key})
            }
            ItemKind::Text => json!({"item": i.key, "result": "pass", "value": "管道燃气"}),
            ItemKind::PassFail => json!({"item": i.key, "result": "pass"}),
        })
        .collect()
}

/// Marks `items` failed, with a photo each when `photo` is given.
pub fn failing(mut answers: Vec<Value>, items: &[&str], photo: Option<&str>) -> Vec<Value> {
    for a in answers.iter_mut() {
        if items.contains(&a["item"].as_str().unwrap()) {
            a["result"] = json!("fail");
            a["note"] = json!("现场发现问题");
            if let Some(p) = photo {
                a["photo_ids"] = json!([p]);
            }
        }
    }
    answers
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads a hidden field's value from a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).expect(name) + name.len() + 15;
    html[at..].chars().take_while(|c| *c != '"').collect()
}

/// The walk form's fields for a whole checklist: everything passes except `fail`.
pub fn form_answers(c: &Checklist, fail: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, a) in failing(passing(c, None), fail, None).iter().enumerate() {
        out.push((
            format!("a[{i}].item"),
            a["item"].as_str().unwrap().to_string(),
        ));
        out.push((
            format!("a[{i}].result"),
            a["result"].as_str().unwrap().to_string(),
        ));
        if let Some(v) = a["value"].as_str() {
            out.push((format!("a[{i}].value"), v.to_string()));
        }
        if let Some(n) = a["note"].as_str() {
            out.push((format!("a[{i}].note"), n.to_string()));
        }
    }
    out
}
