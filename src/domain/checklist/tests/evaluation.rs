//! Evaluating answers: derived verdicts, required photos, re-inspection scope, grades.

use super::*;

#[test]
fn all_items_passing_gives_passed_and_green() {
    let c = default_checklist();
    let ev = evaluate(&c, &all_passing(&c), None).unwrap();
    assert_eq!((ev.outcome, ev.grade), (Outcome::Passed, Grade::Green));
    assert!(ev.findings.is_empty());
}

#[test]
fn na_is_allowed_for_every_item() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    for a in &mut answers {
        a.result = AnswerResult::Na;
        a.value = None;
    }
    assert_eq!(
        evaluate(&c, &answers, None).unwrap().outcome,
        Outcome::Passed
    );
}

#[test]
fn number_below_threshold_fails_even_if_marked_pass() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    set(&mut answers, "space.per_person_area", |a| {
        a.value = Some("4.5".into())
    });
    set(&mut answers, "space.persons_per_room", |a| {
        a.value = Some("3".into())
    });
    let ev = evaluate(&c, &answers, None).unwrap();
    assert_eq!(ev.outcome, Outcome::Failed);
    let keys: Vec<&str> = ev.findings.iter().map(|f| f.item_key.as_str()).collect();
    assert_eq!(keys, ["space.per_person_area", "space.persons_per_room"]);
    assert_eq!(
        ev.findings[0].note.as_deref(),
        Some("实测 4.5 m²，要求不少于 6 m²")
    );
    assert_eq!(
        (ev.findings[0].severity, ev.findings[0].deadline_days),
        (Severity::Major, 7)
    );
    assert_eq!(ev.grade, Grade::Yellow);
}

#[test]
fn number_within_threshold_passes_even_if_marked_fail() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    set(&mut answers, "fire.extinguishers", |a| {
        a.result = AnswerResult::Fail;
        a.value = Some("2".into());
    });
    assert!(evaluate(&c, &answers, None).unwrap().findings.is_empty());
}

#[test]
fn choice_with_a_failing_option_is_a_finding_and_unknown_options_are_refused() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    set(&mut answers, "fire.smoke_alarms", |a| {
        a.value = Some("partial".into());
        a.photo_ids = vec!["p1".into()];
        a.note = Some("三楼两间".into());
    });
    let ev = evaluate(&c, &answers, None).unwrap();
    assert_eq!(
        ev.findings[0].note.as_deref(),
        Some("部分房间未安装；三楼两间")
    );

    set(&mut answers, "fire.smoke_alarms", |a| {
        a.value = Some("maybe".into())
    });
    let errs = evaluate(&c, &answers, None).unwrap_err();
    assert_eq!(
        errs,
        [FieldError {
            item: "fire.smoke_alarms".into(),
            message: "无效的选项".into()
        }]
    );
}

#[test]
fn photo_on_fail_without_photo_is_a_field_error() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    set(&mut answers, "wiring.conduit", |a| {
        a.result = AnswerResult::Fail
    });
    let errs = evaluate(&c, &answers, None).unwrap_err();
    assert_eq!(
        errs,
        [FieldError {
            item: "wiring.conduit".into(),
            message: "此项不合格，须拍照".into()
        }]
    );

    set(&mut answers, "wiring.conduit", |a| {
        a.photo_ids = vec!["photo-1".into()]
    });
    assert_eq!(evaluate(&c, &answers, None).unwrap().findings.len(), 1);
}

#[test]
fn missing_value_unanswered_duplicate_and_unknown_items_are_all_reported() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    set(&mut answers, "fire.extinguishers", |a| a.value = None);
    answers.retain(|a| a.item != "gas.detector");
    answers.push(passing_answer(c.item("wiring.rcd").unwrap()));
    answers.push(Answer {
        item: "wiring.magic".into(),
        ..passing_answer(c.item("wiring.rcd").unwrap())
    });
    let errs = evaluate(&c, &answers, None).unwrap_err();
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.item.as_str(), e.message.as_str()))
        .collect();
    assert!(
        got.contains(&("fire.extinguishers", "请填写数值")),
        "{got:?}"
    );
    assert!(got.contains(&("gas.detector", "此项未作答")));
    assert!(got.contains(&("wiring.rcd", "此项重复作答")));
    assert!(got.contains(&("wiring.magic", "未知检查项")));
    assert_eq!(got.len(), 4);
}

#[test]
fn re_inspection_evaluates_only_listed_items() {
    let c = default_checklist();
    let only = vec![
        "wiring.conduit".to_string(),
        "space.persons_per_room".to_string(),
    ];
    let mut answers: Vec<Answer> = only
        .iter()
        .map(|k| passing_answer(c.item(k).unwrap()))
        .collect();
    let ev = evaluate(&c, &answers, Some(&only)).unwrap();
    assert_eq!((ev.outcome, ev.grade), (Outcome::Passed, Grade::Green));

    set(&mut answers, "space.persons_per_room", |a| {
        a.value = Some("4".into())
    });
    let ev = evaluate(&c, &answers, Some(&only)).unwrap();
    assert_eq!(ev.findings.len(), 1);

    answers.push(passing_answer(c.item("gas.detector").unwrap()));
    let errs = evaluate(&c, &answers, Some(&only)).unwrap_err();
    assert_eq!(
        errs,
        [FieldError {
            item: "gas.detector".into(),
            message: "本次复查不包含此项".into()
        }]
    );

    let errs = evaluate(&c, &[], Some(&["nope".to_string()])).unwrap_err();
    assert_eq!(errs[0].message, "未知检查项");
}

#[test]
fn grade_is_red_with_an_open_critical_yellow_with_major_or_minor_and_green_with_none() {
    let c = default_checklist();
    assert_eq!(grade_for(&c, &[]), Grade::Green);
    assert_eq!(grade_for(&c, &[Severity::Minor]), Grade::Yellow);
    assert_eq!(
        grade_for(&c, &[Severity::Major, Severity::Minor]),
        Grade::Yellow
    );
    assert_eq!(
        grade_for(&c, &[Severity::Minor, Severity::Critical]),
        Grade::Red
    );

    let mut answers = all_passing(&c);
    set(&mut answers, "ebike.no_indoor_charging", |a| {
        a.result = AnswerResult::Fail;
        a.photo_ids = vec!["p".into()];
    });
    let ev = evaluate(&c, &answers, None).unwrap();
    assert_eq!((ev.grade, ev.findings[0].deadline_days), (Grade::Red, 0));
}

#[test]
fn a_nul_in_a_note_value_or_photo_id_is_a_field_error_but_a_line_break_in_a_note_is_not() {
    let c = default_checklist();
    let mut answers = all_passing(&c);
    set(&mut answers, "wiring.conduit", |a| {
        a.note = Some("第一行\n第二行".into())
    });
    assert!(evaluate(&c, &answers, None).is_ok());
    let bads: [fn(&mut Answer); 3] = [
        |a| a.note = Some("线路\u{0}".into()),
        |a| a.value = Some("\u{0}".into()),
        |a| a.photo_ids = vec!["p\u{0}".into()],
    ];
    for bad in bads {
        let mut answers = all_passing(&c);
        set(&mut answers, "wiring.conduit", bad);
        let errs = evaluate(&c, &answers, None).unwrap_err();
        assert_eq!(
            errs,
            [FieldError {
                item: "wiring.conduit".into(),
                message: crate::domain::fields::CONTROL_CHARACTER.into()
            }]
        );
    }
}

#[test]
fn the_verdict_of_number_and_choice_items_follows_from_the_value_whatever_was_ticked() {
    let c = default_checklist();
    let count = c.item("fire.extinguishers").unwrap();
    let kind = c.item("fire.extinguisher_type").unwrap();
    assert_eq!(value_fails(count, "0"), Some(true));
    assert_eq!(value_fails(count, "2"), Some(false));
    assert_eq!(
        value_fails(count, "-1"),
        None,
        "a negative count is no answer"
    );
    assert_eq!(value_fails(kind, "abc_2kg_plus"), Some(false));
    assert_eq!(value_fails(kind, "no_such_option"), None);
    let mut a = passing_answer(count);
    a.value = Some("0".into());
    assert_eq!(effective_result(count, &a), AnswerResult::Fail);
    a.result = AnswerResult::Fail;
    a.value = Some("3".into());
    assert_eq!(effective_result(count, &a), AnswerResult::Pass);
    a.result = AnswerResult::Na;
    assert_eq!(effective_result(count, &a), AnswerResult::Na);
}

#[test]
fn values_read_as_labels_with_units() {
    let c = default_checklist();
    assert_eq!(
        c.item("fire.extinguisher_type")
            .unwrap()
            .value_label("abc_2kg_plus"),
        "ABC 干粉，2 kg 及以上"
    );
    assert_eq!(
        c.item("fire.extinguishers").unwrap().value_label("2"),
        "2 具"
    );
}
