//! Loading and validating checklist files: every refusal names its file and line.

use super::*;
use crate::domain::occupancy::{RoomKind, max_occupants};

#[test]
fn default_file_loads_and_has_at_least_25_items_and_all_six_sections() {
    let c = default_checklist();
    assert_eq!((c.key.as_str(), c.version), ("rental-safety", 1));
    assert!(c.item_count() >= 25, "only {} items", c.item_count());
    let titles: Vec<&str> = c.sections.iter().map(|s| s.title_zh.as_str()).collect();
    assert_eq!(
        titles,
        [
            "电气线路",
            "堆物",
            "消防设施",
            "电动车",
            "空间与人数",
            "燃气"
        ]
    );
    assert!(
        c.items()
            .all(|i| !i.label_en.is_empty() && !i.legal_basis.is_empty())
    );
    for kind in ItemKind::NAMES {
        assert!(c.items().any(|i| i.kind.as_str() == kind), "no {kind} item");
    }
}

#[test]
fn default_file_holds_thresholds_grade_rule_deadlines_cadence_and_occupancy() {
    let c = default_checklist();
    let bounds = |key: &str| match &c.item(key).unwrap().kind {
        ItemKind::Number { min, max, .. } => (*min, *max),
        other => panic!("{key} is {other:?}"),
    };
    assert_eq!(bounds("fire.extinguishers"), (Some(1.0), None));
    assert_eq!(bounds("space.per_person_area"), (Some(6.0), None));
    assert_eq!(bounds("space.persons_per_room"), (None, Some(2.0)));
    assert_eq!(c.grading.red_when_open, [Severity::Critical]);
    assert_eq!(
        c.grading.yellow_when_open,
        [Severity::Major, Severity::Minor]
    );
    assert_eq!(
        (
            deadline_days(&c, Severity::Critical),
            deadline_days(&c, Severity::Major)
        ),
        (0, 7)
    );
    assert_eq!(deadline_days(&c, Severity::Minor), 30);
    let cadence: Vec<u32> = Grade::ALL.iter().map(|g| cadence_days(&c, *g)).collect();
    assert_eq!(cadence, [90, 30, 7]);
    assert_eq!(c.occupancy.per_person_area_m2, 6.0);
    assert_eq!(c.occupancy.persons_per_room, 2);
    assert_eq!(
        c.occupancy.letting_room_kinds,
        [RoomKind::Bedroom, RoomKind::Living]
    );
}

#[test]
fn content_hash_is_the_sha256_of_the_file_bytes() {
    let c = parse("a.toml", MINI).unwrap();
    assert_eq!(c.content_hash.len(), 64);
    let edited = MINI.replace("小表", "小表 ");
    assert_ne!(
        parse("a.toml", &edited).unwrap().content_hash,
        c.content_hash
    );
    assert_eq!(parse("b.toml", MINI).unwrap().content_hash, c.content_hash);
}

#[test]
fn unknown_key_error_names_file_and_line() {
    let text = MINI.replace(
        "legal_basis = \"依据\"",
        "legal_basis = \"依据\"\ncolour = \"red\"",
    );
    let e = parse_err(&text);
    assert_eq!(e.line, Some(line_with(&text, "colour")));
    let shown = e.to_string();
    assert!(shown.starts_with(&format!(
        "forms/checklists/x.toml 第 {} 行: ",
        e.line.unwrap()
    )));
    assert!(shown.contains("未知字段 `colour`"), "{shown}");
}

#[test]
fn duplicate_item_key_names_the_line_of_the_second_occurrence() {
    let text = mini_with_item(
        "key = \"s.a\"  # again\nlabel_zh = \"乙\"\nkind = \"pass_fail\"\nseverity = \"minor\"\nlegal_basis = \"x\"",
    );
    let e = parse_err(&text);
    assert_eq!(e.problem, Problem::DuplicateItem("s.a".into()));
    assert_eq!(e.line, Some(line_with(&text, "# again")));
    assert!(e.to_string().ends_with("重复的检查项 s.a"));
}

#[test]
fn bad_thresholds_are_refused_with_their_line() {
    let number = |bounds: &str| {
        mini_with_item(&format!(
            "key = \"s.n\"\nlabel_zh = \"数\"\nkind = \"number\"\nunit = \"m²\"\n{bounds}\nseverity = \"major\"\nlegal_basis = \"x\""
        ))
    };
    for (bounds, marker) in [
        ("min = 5 # lo\nmax = 2", "# lo"),
        ("min = -1 # neg", "# neg"),
        ("max = nan # nan", "# nan"),
        ("# none", "key = \"s.n\""),
    ] {
        let text = number(bounds);
        let e = parse_err(&text);
        assert!(
            matches!(&e.problem, Problem::BadThreshold { item, .. } if item == "s.n"),
            "{bounds}: {e}"
        );
        assert_eq!(e.line, Some(line_with(&text, marker)), "{bounds}");
    }
    let stray = mini_with_item(
        "key = \"s.p\"\nlabel_zh = \"甲\"\nkind = \"pass_fail\"\nmin = 1\nseverity = \"major\"\nlegal_basis = \"x\"",
    );
    assert!(parse_err(&stray).to_string().contains("不能设置 min / max"));
}

#[test]
fn missing_or_empty_zh_label_is_refused() {
    let missing = mini_with_item(
        "key = \"s.m\"\nkind = \"pass_fail\"\nseverity = \"major\"\nlegal_basis = \"x\"",
    );
    let e = parse_err(&missing);
    assert_eq!(e.line, Some(line_with(&missing, "key = \"s.m\"")));
    assert!(
        matches!(&e.problem, Problem::MissingLabel { owner, field: "label_zh" } if owner.contains("s.m"))
    );

    let empty = mini_with_item(
        "key = \"s.m\"\nlabel_zh = \"  \"\nkind = \"pass_fail\"\nseverity = \"major\"\nlegal_basis = \"x\"",
    );
    let e = parse_err(&empty);
    assert_eq!(e.line, Some(line_with(&empty, "label_zh = \"  \"")));
}

#[test]
fn unknown_severity_and_kind_are_named_with_their_line() {
    let text = MINI.replace("severity = \"major\"", "severity = \"blocker\"");
    let e = parse_err(&text);
    assert_eq!(e.problem, Problem::UnknownSeverity("blocker".into()));
    assert_eq!(e.line, Some(line_with(&text, "blocker")));

    let text = MINI.replace("kind = \"pass_fail\"", "kind = \"photo_only\"");
    let e = parse_err(&text);
    assert_eq!(e.problem, Problem::UnknownKind("photo_only".into()));
    assert_eq!(e.line, Some(line_with(&text, "photo_only")));
}

#[test]
fn choice_items_need_distinct_options_that_can_pass_and_fail() {
    let choice = |opts: &str| {
        mini_with_item(&format!(
            "key = \"s.c\"\nlabel_zh = \"选\"\nkind = \"choice\"\nseverity = \"major\"\nlegal_basis = \"x\"\n{opts}"
        ))
    };
    let opt = |k: &str, fails: bool| {
        format!("[[sections.items.options]]\nkey = \"{k}\"\nlabel_zh = \"{k}\"\nfails = {fails}\n")
    };
    assert!(parse("x.toml", &choice(&(opt("ok", false) + &opt("bad", true)))).is_ok());
    let never_fails = parse_err(&choice(&(opt("ok", false) + &opt("fine", false))));
    assert!(never_fails.to_string().contains("不合格选项"));
    let dup = parse_err(&choice(&(opt("ok", false) + &opt("ok", true))));
    assert!(matches!(dup.problem, Problem::DuplicateOption { .. }));
}

#[test]
fn bad_occupancy_and_cadence_values_are_refused() {
    let e = parse_err(&MINI.replace("per_person_area_m2 = 6.0", "per_person_area_m2 = 0.0"));
    assert!(e.to_string().contains("per_person_area_m2"));
    let e = parse_err(&MINI.replace("green = 90", "green = 0"));
    assert!(e.to_string().contains("cadence"));
    let e = parse_err(&MINI.replace(
        "yellow_when_open = [\"major\", \"minor\"]",
        "yellow_when_open = [\"critical\"]",
    ));
    assert!(e.to_string().contains("red_when_open"));
}

#[test]
fn a_v2_fixture_next_to_v1_becomes_current_and_v1_stays_reachable() {
    let v1 = default_checklist();
    let v2 = load_file(V2);
    assert_eq!(v2.item_count(), v1.item_count() + 1);
    let reg = ChecklistRegistry::from_checklists(vec![v2.clone(), v1.clone()]).unwrap();
    let current = reg.current("rental-safety").unwrap();
    assert_eq!(current.version, 2);
    assert!(current.item("ebike.charging_notice").is_some());
    let old = reg.get("rental-safety", 1).unwrap();
    assert!(old.item("ebike.charging_notice").is_none());
    assert_eq!(old.content_hash, v1.content_hash);
    assert_ne!(old.content_hash, current.content_hash);
    assert!(reg.get("rental-safety", 3).is_none());
    assert!(reg.current("nope").is_none());
    assert_eq!(
        reg.versions("rental-safety")
            .map(|c| c.version)
            .collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn duplicate_key_and_version_across_files_is_refused() {
    let a = parse("forms/checklists/a.toml", MINI).unwrap();
    let b = parse("forms/checklists/b.toml", MINI).unwrap();
    let e = ChecklistRegistry::from_checklists(vec![a, b]).unwrap_err();
    assert_eq!(e.file, "forms/checklists/b.toml");
    assert_eq!(e.line, Some(line_with(MINI, "version = 1")));
    assert!(
        e.to_string()
            .contains("已在 forms/checklists/a.toml 中定义"),
        "{e}"
    );
}

#[test]
fn load_dir_reads_toml_files_recursively() {
    let reg = ChecklistRegistry::load_dir(&repo_path("forms/checklists")).unwrap();
    assert_eq!(reg.current("rental-safety").unwrap().version, 1);

    let dir = std::env::temp_dir().join(format!("anju-checklists-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("old")).unwrap();
    std::fs::write(dir.join("old/mini.v1.toml"), MINI).unwrap();
    std::fs::write(
        dir.join("mini.v2.toml"),
        MINI.replace("version = 1", "version = 2"),
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "not a checklist").unwrap();
    let reg = ChecklistRegistry::load_dir(&dir);
    std::fs::write(dir.join("broken.toml"), "key = ").unwrap();
    let broken = ChecklistRegistry::load_dir(&dir);
    std::fs::remove_dir_all(&dir).unwrap();

    let reg = reg.unwrap();
    assert_eq!(reg.keys().collect::<Vec<_>>(), ["mini"]);
    assert_eq!(reg.current("mini").unwrap().version, 2);
    assert!(
        reg.get("mini", 1)
            .unwrap()
            .source_file
            .ends_with("old/mini.v1.toml")
    );
    let e = broken.unwrap_err();
    assert!(e.file.ends_with("broken.toml") && e.line == Some(1), "{e}");
}

#[test]
fn occupancy_rule_from_the_file_gives_the_designs_six_occupants() {
    let rule = default_checklist().occupancy.rule();
    let rooms = [
        (RoomKind::Bedroom, 14.0),
        (RoomKind::Bedroom, 12.5),
        (RoomKind::Living, 20.0),
        (RoomKind::Kitchen, 9.0),
    ];
    assert_eq!(max_occupants(&rule, &rooms, None), 6);
}

#[test]
fn a_misspelt_letting_room_kind_is_refused_with_its_line() {
    let text = MINI.replace(
        r#"letting_room_kinds = ["bedroom"]"#,
        r#"letting_room_kinds = ["bedrom"]"#,
    );
    let e = parse_err(&text);
    assert_eq!(e.line, Some(line_with(&text, "bedrom")));
    assert!(e.to_string().contains("无效的取值 `bedrom`"), "{e}");
}
