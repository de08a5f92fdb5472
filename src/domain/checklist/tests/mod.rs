//! Tests for checklists, against the shipped default file and the v2 fixture; helpers here.

mod evaluation;
mod loading;

use std::path::PathBuf;

use super::*;
use crate::domain::grade::Grade;

fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

const V1: &str = "forms/checklists/rental-safety.v1.toml";
const V2: &str = "tests/fixtures/checklists/rental-safety.v2.toml";

fn load_file(rel: &str) -> Checklist {
    let text = std::fs::read_to_string(repo_path(rel)).unwrap();
    parse(rel, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn default_checklist() -> Checklist {
    load_file(V1)
}

/// 1-based line of the only line containing `needle`, so tests do not hard-code line numbers.
fn line_with(text: &str, needle: &str) -> usize {
    let hits: Vec<usize> = (1..)
        .zip(text.lines())
        .filter(|(_, l)| l.contains(needle))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} must occur on exactly one line");
    hits[0]
}

const MINI: &str = r#"key = "mini"
version = 1
title_zh = "小表"

[grading]
red_when_open = ["critical"]
yellow_when_open = ["major", "minor"]

[deadlines]
critical = 0
major = 7
minor = 30

[cadence]
green = 90
yellow = 30
red = 7

[occupancy]
per_person_area_m2 = 6.0
persons_per_room = 2
letting_room_kinds = ["bedroom"]

[[sections]]
key = "s"
title_zh = "分区"

[[sections.items]]
key = "s.a"
label_zh = "甲"
kind = "pass_fail"
severity = "major"
legal_basis = "依据"
"#;

fn mini_with_item(item_body: &str) -> String {
    format!("{MINI}\n[[sections.items]]\n{item_body}\n")
}

fn parse_err(text: &str) -> ChecklistError {
    parse("forms/checklists/x.toml", text).expect_err("must be refused")
}

fn passing_answer(item: &Item) -> Answer {
    let (result, value) = match &item.kind {
        ItemKind::PassFail => (AnswerResult::Pass, None),
        ItemKind::Text => (AnswerResult::Pass, Some("某某燃气公司".to_string())),
        ItemKind::Number { min, max, .. } => {
            let v = min.or(*max).unwrap();
            (AnswerResult::Pass, Some(v.to_string()))
        }
        ItemKind::Choice { options } => {
            let ok = options.iter().find(|o| !o.fails).unwrap();
            (AnswerResult::Pass, Some(ok.key.clone()))
        }
    };
    Answer {
        item: item.key.clone(),
        result,
        value,
        note: None,
        photo_ids: vec![],
    }
}

fn all_passing(c: &Checklist) -> Vec<Answer> {
    c.items().map(passing_answer).collect()
}

fn set(answers: &mut [Answer], key: &str, f: impl FnOnce(&mut Answer)) {
    f(answers.iter_mut().find(|a| a.item == key).unwrap());
}
