//! Who hears of which event and in which words: `forms/notifications.toml` parsed and checked at
//! start, and the `{field}` placeholders filled from an event's data.
use std::collections::HashMap;

use serde::Deserialize;

use super::event::EventKind;

/// Someone an event concerns, found from the event's own columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The landlord of the house.
    Landlord,
    /// The inspector the task is assigned to.
    Inspector,
    /// Every active village official of the house's village.
    Official,
}

/// A provider's approved text template and its parameters, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsTemplate {
    pub aliyun: String,
    pub tencent: String,
    #[serde(default)]
    pub params: Vec<String>,
}

/// One event type's notice.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRule {
    #[serde(default)]
    pub in_app: Vec<Recipient>,
    #[serde(default)]
    pub sms: Vec<Recipient>,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub template: Option<SmsTemplate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeFile {
    #[serde(default)]
    code: Option<SmsTemplate>,
    events: HashMap<String, NoticeRule>,
}

/// Every event type's rule; a type missing from the file has no notices (webhooks still carry it).
#[derive(Debug, Clone, Default)]
pub struct NoticeRules {
    rules: HashMap<EventKind, NoticeRule>,
    /// The template of one-time verification codes (one parameter: the code).
    pub code: Option<SmsTemplate>,
}

impl NoticeRules {
    /// Parses the file; an unknown event type, or texts to someone without a template, is an error.
    pub fn parse(text: &str) -> Result<NoticeRules, String> {
        let file: NoticeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = HashMap::new();
        for (name, rule) in file.events {
            let kind = EventKind::parse(&name).ok_or_else(|| format!("未知的事件类型 {name:?}"))?;
            if !rule.sms.is_empty() && rule.template.is_none() {
                return Err(format!("{name}: 发短信需要 [events.\"{name}\".template]"));
            }
            rules.insert(kind, rule);
        }
        Ok(NoticeRules {
            rules,
            code: file.code,
        })
    }

    pub fn rule(&self, kind: EventKind) -> Option<&NoticeRule> {
        self.rules.get(&kind)
    }
}

/// Fills `{field}` from `data` (strings as they are, numbers as digits); an unknown field stays empty.
pub fn fill(template: &str, data: &serde_json::Value) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push_str(&field(data, &after[..end]));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One field of the event's data as text.
pub fn field(data: &serde_json::Value, name: &str) -> String {
    match data.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_the_data_and_unknown_ones_stay_empty() {
        let data = serde_json::json!({"address": "锦绣路1号", "count": 2});
        assert_eq!(
            fill("{address} 有 {count} 项，{nope}。", &data),
            "锦绣路1号 有 2 项，。"
        );
        assert_eq!(fill("no braces {", &data), "no braces {");
    }

    #[test]
    fn the_shipped_rules_file_parses_and_names_only_known_events() {
        let text = include_str!("../../forms/notifications.toml");
        let rules = NoticeRules::parse(text).expect("forms/notifications.toml");
        let task = rules
            .rule(EventKind::TaskCreated)
            .expect("task.created rule");
        assert_eq!(task.in_app, vec![Recipient::Inspector]);
        assert!(task.template.is_some());
    }

    #[test]
    fn texts_without_a_template_and_unknown_events_are_refused() {
        let bad = "[events.\"task.created\"]\nsms = [\"inspector\"]\ntitle = \"t\"\nbody = \"b\"\n";
        assert!(NoticeRules::parse(bad).is_err());
        let unknown = "[events.\"task.deleted\"]\ntitle = \"t\"\nbody = \"b\"\n";
        assert!(
            NoticeRules::parse(unknown)
                .unwrap_err()
                .contains("task.deleted")
        );
    }
}
