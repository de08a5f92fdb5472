//! Importing existing registers: the 房间 and 住户 sheets, checked like the house form and the
//! check-in, placed in their houses, committed as rooms and stays under a check-in's rules.
mod common;
#[path = "support/imports.rs"]
mod imports_support;

use anju::services::imports::template::{RESIDENTS, ROOMS};
use common::*;
use imports_support::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

/// The address of the house [`active_permit`] makes (rooms 101, 102, … of 14 m²).
const PERMIT_HOUSE: &str = "锦绣村东区 8 号";

fn cells(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn room(address: &str, label: &str) -> Vec<String> {
    cells(&[address, label, "1", "14", "卧室"])
}

/// Every cell of the sheet's rows in a refused-cells list: (sheet, row, column).
fn refused(v: &Value) -> Vec<(String, u64, String)> {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap_or("").is_empty(), "{e}");
            (
                e["sheet"].as_str().unwrap().to_string(),
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn message_of(v: &Value, sheet: &str, row: u64) -> String {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sheet"] == sheet && e["row"] == row)
        .map(|e| e["message"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no error at {sheet} row {row}: {v}"))
}

fn counts(v: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| v["rows"][k].as_i64().unwrap();
    (n("create"), n("update"), n("unchanged"), n("error"))
}

#[rocket::async_test]
async fn every_bad_room_and_resident_cell_is_refused_naming_its_sheet_row_and_column() {
    let app = TestApp::new().await;
    active_permit(&app, 4).await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let h = PERMIT_HOUSE;
    let bad_rooms: Vec<(Vec<String>, &str)> = vec![
        (cells(&["", "201", "1", "14", "卧室"]), "地址"),
        (cells(&["东区", "201", "1", "14", "卧室"]), "地址"),
        (cells(&[h, "", "1", "14", "卧室"]), "房间号"),
        (cells(&[h, "201", "0", "14", "卧室"]), "楼层"),
        (cells(&[h, "201", "二楼", "14", "卧室"]), "楼层"),
        (cells(&[h, "201", "9", "14", "卧室"]), "楼层"),
        (cells(&[h, "201", "1", "", "卧室"]), "面积"),
        (cells(&[h, "201", "1", "0.5", "卧室"]), "面积"),
        (cells(&[h, "201", "1", "14.125", "卧室"]), "面积"),
        (cells(&[h, "201", "1", "14", "客房"]), "类型"),
        (cells(&[h, "201", "1", "14", ""]), "类型"),
        (
            cells(&["锦绣村没有的路 1 号", "201", "1", "14", "卧室"]),
            "地址",
        ),
    ];
    let good = resident(h, "101", 1);
    let bad_people: Vec<(usize, &str, &str)> = vec![
        (2, "", "姓名"),
        (3, "身份证件", "证件类型"),
        (4, "", "证件号码"),
        (4, "330106199001010011", "证件号码"),
        (5, "12345", "手机"),
        (6, "", "入住日期"),
        (6, "2026/13/01", "入住日期"),
        (6, "2099-01-01", "入住日期"),
        (1, "909", "房间号"),
    ];
    let people: Vec<Vec<String>> = bad_people
        .iter()
        .map(|(i, v, _)| {
            let mut r = good.clone();
            r[*i] = v.to_string();
            r
        })
        .collect();
    let rooms: Vec<Vec<String>> = bad_rooms.iter().map(|(r, _)| r.clone()).collect();
    let rooms_before = app.count("rooms").await;
    let (s, v) = dry_run(&official, &register_xlsx(&[], &rooms, &people)).await;
    assert_eq!(s, Status::Ok, "{v}");
    let mut want: Vec<(String, u64, String)> = bad_rooms
        .iter()
        .enumerate()
        .map(|(i, (_, c))| (ROOMS.0.to_string(), i as u64 + 2, c.to_string()))
        .collect();
    want.extend(
        bad_people
            .iter()
            .enumerate()
            .map(|(i, (_, _, c))| (RESIDENTS.0.to_string(), i as u64 + 2, c.to_string())),
    );
    assert_eq!(refused(&v), want);
    assert_eq!(
        counts(&v),
        (0, 0, 0, (bad_rooms.len() + bad_people.len()) as i64)
    );
    assert!(message_of(&v, ROOMS.0, 7).contains("层数"), "{v}");
    assert_eq!(
        app.count("rooms").await,
        rooms_before,
        "a dry run writes nothing"
    );
    assert_eq!(app.count("stays").await, 0);
}

#[rocket::async_test]
async fn rooms_and_residents_are_written_once_and_the_same_file_again_changes_nothing() {
    let app = TestApp::new().await;
    active_permit(&app, 4).await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let new_house = house(1);
    let rooms = vec![
        room("导入路1号", "201"),
        // Another spelling of the same new house's address, and of the permit house's rooms.
        cells(&["导入路 1 #", "202", "1", "12.5", "bedroom"]),
        room(PERMIT_HOUSE, "101"),
        room(PERMIT_HOUSE, "１０２"),
    ];
    let people = vec![
        resident(PERMIT_HOUSE, "101", 1),
        resident(PERMIT_HOUSE, "102", 2),
    ];
    let file = register_xlsx(&[new_house], &rooms, &people);
    let (_, v) = dry_run(&official, &file).await;
    // House and its two rooms created, the permit house's rooms unchanged, two stays created.
    assert_eq!(counts(&v), (5, 0, 2, 0), "{v}");
    commit_and_run(&app, &official, &v).await;
    // A bulk load refreshes PostgreSQL's statistics: the register's export is planned by them.
    {
        use sea_orm::ConnectionTrait;
        if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            let q = "SELECT last_analyze IS NOT NULL AS done FROM pg_stat_user_tables \
                     WHERE relname = 'stays'";
            let row = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    q,
                ))
                .await
                .unwrap()
                .expect("the stays table's statistics");
            assert!(
                row.try_get::<bool>("", "done").unwrap(),
                "stays analysed after the import"
            );
        }
    }
    let mut imported = stays_of(&app, PERMIT_HOUSE).await;
    imported.sort_by_key(|s| s.id);
    assert_eq!(imported.len(), 2);
    for s in &imported {
        assert_eq!(s.status, "active", "a house with a permit: active at once");
        assert!(s.confirmed_at.is_some());
        assert_eq!(s.move_in.to_string(), "2025-06-01");
        let enc = s.doc_number_enc.as_deref().expect("encrypted");
        assert!(!enc.contains("330106"), "the ID number is stored encrypted");
        assert_eq!(s.open_doc_hash, s.doc_hash, "the person's one open stay");
    }
    // Encrypted as at check-in: the application's key opens it, and the keyed hash finds it.
    let keys = app.keys().await;
    let doc = keys
        .pii
        .decrypt(imported[0].doc_number_enc.as_deref().unwrap())
        .unwrap();
    assert_eq!(doc, resident_id(1));
    let n = anju::domain::identity::DocNumber::parse(
        anju::domain::identity::DocType::ResidentId,
        &doc,
        today_cst(),
    )
    .unwrap();
    assert_eq!(
        imported[0].doc_hash.as_deref(),
        Some(keys.pii.doc_lookup_hash(&n).as_str())
    );
    assert_eq!(imported[0].doc_masked.as_deref(), Some(n.masked().as_str()));
    let new_rooms = app.count("rooms").await;
    assert_eq!(audits(&app, "import.room_create").await.len(), 2);
    assert_eq!(audits(&app, "import.stay_create").await.len(), 2);

    let (_, again) = dry_run(&official, &file).await;
    assert_eq!(counts(&again), (0, 0, 7, 0), "{again}");
    commit_and_run(&app, &official, &again).await;
    assert_eq!(app.count("rooms").await, new_rooms);
    assert_eq!(app.count("stays").await, 2);
    assert_eq!(audits(&app, "import.stay_create").await.len(), 2);

    // A changed room of the new house is an update; the permit house's rooms are locked.
    let changed = vec![
        cells(&["导入路1号", "201", "1", "20", "卧室"]),
        cells(&[PERMIT_HOUSE, "101", "1", "20", "卧室"]),
    ];
    let (_, v) = dry_run(&official, &register_xlsx(&[], &changed, &[])).await;
    assert_eq!(counts(&v), (0, 1, 0, 1), "{v}");
    assert!(message_of(&v, ROOMS.0, 3).contains("已提交"), "{v}");
    commit_and_run(&app, &official, &v).await;
    let r = anju::entities::room::Entity::find()
        .filter(anju::entities::room::Column::Label.eq("201"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.area_m2, 20.0);
}

#[rocket::async_test]
async fn residents_of_a_house_without_a_permit_wait_as_pending_stays_that_do_not_lapse() {
    let app = TestApp::new().await;
    let official = app.signed_in(OFFICIAL_JX).await;
    // A new house with one room of 14 m² (2 places): the third resident there is an error row.
    let file = register_xlsx(
        &[house(1)],
        &[room("导入路1号", "201")],
        &[
            resident("导入路1号", "201", 1),
            resident("导入路1号", "201", 2),
            resident("导入路1号", "201", 3),
        ],
    );
    let (_, v) = dry_run(&official, &file).await;
    assert_eq!(counts(&v), (4, 0, 0, 1), "{v}");
    assert_eq!(
        refused(&v),
        vec![(RESIDENTS.0.to_string(), 4, "房间号".to_string())]
    );
    assert!(message_of(&v, RESIDENTS.0, 4).contains("已住满"), "{v}");
    commit_and_run(&app, &official, &v).await;
    let waiting = stays_of(&app, "导入路1号").await;
    assert_eq!(waiting.len(), 2);
    for s in &waiting {
        assert_eq!(s.status, "pending", "no permit yet: the stay waits for one");
        assert_eq!(s.permit_id, None);
        assert!(s.confirmed_at.is_none());
        assert_eq!(
            s.open_doc_hash, s.doc_hash,
            "the person's one open stay is held"
        );
        assert!(!s.doc_number_enc.as_deref().unwrap().contains("330106"));
    }
    assert_eq!(audits(&app, "import.stay_create").await.len(), 2);
    // Waiting for a permit is not waiting for a landlord: the 72-hour lapse leaves them.
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let lapsed = anju::services::stays::lapse_pending(&app.db, 72, later)
        .await
        .unwrap();
    assert_eq!(lapsed, 0);
    // Nor does the command room count them as check-ins a landlord has left unconfirmed.
    let snap = anju::services::dashboard::compute(
        &app.db,
        anju::services::dashboard::Scope { village_id: None },
        later,
    )
    .await
    .unwrap();
    assert_eq!(snap.residents.pending, 2, "they are pending residents");
    assert_eq!(
        snap.residents.pending_over_24h, 0,
        "but not an unconfirmed check-in"
    );
    assert!(
        stays_of(&app, "导入路1号")
            .await
            .iter()
            .all(|s| s.status == "pending")
    );
    // The same person moving in again is refused: the waiting stay is their open stay.
    let mut later_move = resident("导入路 1 号", "201", 1);
    later_move[6] = "2025-07-01".into();
    let (_, again) = dry_run(&official, &register_xlsx(&[], &[], &[later_move])).await;
    assert_eq!(counts(&again), (0, 0, 0, 1), "{again}");
    assert!(
        message_of(&again, RESIDENTS.0, 2).contains("未结束"),
        "{again}"
    );
    // The same file again changes nothing.
    let (_, same) = dry_run(&official, &file).await;
    assert_eq!(counts(&same), (0, 0, 4, 1), "{same}");
}

#[rocket::async_test]
async fn the_permit_issued_to_a_house_makes_its_waiting_residents_active_up_to_its_cap() {
    let app = TestApp::new().await;
    // The landlord's application (rooms 101 and 102 of 14 and 12.5 m², a living room, a kitchen)
    // has passed its inspection; the village imports the people already living there.
    let id = passed_application(&app).await;
    let h = "锦绣村东区 12 号";
    let official = app.signed_in(OFFICIAL_JX).await;
    let people = vec![
        resident(h, "101", 1),
        resident(h, "101", 2),
        resident(h, "102", 3),
        resident(h, "厨房", 4), // row 5: a kitchen is not let
    ];
    let (_, v) = dry_run(&official, &register_xlsx(&[], &[], &people)).await;
    assert_eq!(counts(&v), (3, 0, 0, 1), "{v}");
    commit_and_run(&app, &official, &v).await;
    let mut waiting = stays_of(&app, h).await;
    waiting.sort_by_key(|s| s.id);
    assert!(
        waiting
            .iter()
            .all(|s| s.status == "pending" && s.permit_id.is_none())
    );
    // The landlord cannot confirm a stay that has no permit to count on.
    let landlord = app.api(LANDLORD).await;
    let (s, _) = landlord
        .post(
            &format!("/stays/{}/confirm", waiting[0].id),
            serde_json::json!({}),
        )
        .await;
    assert_ne!(s, Status::Ok);
    // The official caps the permit at 2: the first two imported join it, the third is refused.
    let api = app.api(OFFICIAL_JX).await;
    let (s, p) = api
        .post(
            &format!("/applications/{id}/approve"),
            serde_json::json!({"max_occupants": 2}),
        )
        .await;
    assert_eq!(s, Status::Created, "{p}");
    let mut after = stays_of(&app, h).await;
    after.sort_by_key(|s| s.id);
    let permit_id = anju::entities::permit::Entity::find()
        .filter(anju::entities::permit::Column::Number.eq(p["permit_number"].as_str().unwrap()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let status: Vec<(&str, Option<i32>)> = after
        .iter()
        .map(|s| (s.status.as_str(), s.permit_id))
        .collect();
    assert_eq!(
        status,
        vec![
            ("active", Some(permit_id)),
            ("active", Some(permit_id)),
            ("rejected", None),
        ]
    );
    assert!(after[0].confirmed_at.is_some());
    assert_eq!(
        after[2].open_doc_hash, None,
        "the refused person is free again"
    );
    let joined = audits(&app, "stay.join_permit").await;
    assert_eq!(joined.len(), 1);
    assert!(
        joined[0].detail.contains(&after[2].id.to_string()),
        "{}",
        joined[0].detail
    );
}

#[rocket::async_test]
async fn a_full_room_a_full_house_and_a_person_with_an_open_stay_are_error_rows() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let rooms = permit_rooms(&app, &number).await;
    // Someone the landlord registered through the check-in lives in room 102 already.
    let landlord = app.api(LANDLORD).await;
    let house = anju::entities::permit::Entity::find()
        .filter(anju::entities::permit::Column::Number.eq(number.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .property_id;
    let (s, c) = landlord
        .post(
            &format!("/properties/{house}/stays"),
            serde_json::json!({"name": "先住者", "doc_type": "resident_id",
                "doc_number": resident_id(9), "phone": "15900000009",
                "room_id": rooms[1].to_string(), "move_in": today_cst().to_string()}),
        )
        .await;
    assert_eq!(s, Status::Created, "{c}");
    let h = PERMIT_HOUSE;
    let people = vec![
        resident(h, "101", 1),
        resident(h, "101", 2),
        resident(h, "101", 3),           // row 4: room 101 holds 2
        resident(h, "102", 4),           // the house's 4th place
        resident(h, "102", 5),           // row 6: the permit allows 4
        resident("导入路9号", "101", 9), // row 7: no such house
        resident(h, "102", 1),           // row 8: the same person as row 2
    ];
    let mut elsewhere = resident(h, "102", 9); // row 9: lives in 102 since today
    elsewhere[6] = "2025-01-01".into();
    let mut people = people;
    people.push(elsewhere);
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &register_xlsx(&[], &[], &people)).await;
    assert_eq!(
        refused(&v),
        vec![
            (RESIDENTS.0.to_string(), 4, "房间号".to_string()),
            (RESIDENTS.0.to_string(), 6, "地址".to_string()),
            (RESIDENTS.0.to_string(), 7, "地址".to_string()),
            (RESIDENTS.0.to_string(), 8, "证件号码".to_string()),
            (RESIDENTS.0.to_string(), 9, "证件号码".to_string()),
        ],
        "{v}"
    );
    assert!(message_of(&v, RESIDENTS.0, 4).contains("已住满"));
    assert!(message_of(&v, RESIDENTS.0, 6).contains("最多 4 人"));
    assert!(message_of(&v, RESIDENTS.0, 8).contains("第 2 行"));
    assert!(message_of(&v, RESIDENTS.0, 9).contains("未结束的居住登记"));
    assert_eq!(counts(&v), (3, 0, 0, 5));
    commit_and_run(&app, &official, &v).await;
    let open = stays_of(&app, h).await;
    assert_eq!(open.len(), 4, "the earlier tenant and three imported");
    assert_eq!(open.iter().filter(|s| s.status == "active").count(), 4);
}

#[rocket::async_test]
async fn an_official_places_rooms_and_residents_only_in_their_own_village() {
    let app = TestApp::new().await;
    active_permit(&app, 4).await;
    let file = register_xlsx(
        &[],
        &[room(PERMIT_HOUSE, "103")],
        &[resident(PERMIT_HOUSE, "101", 1)],
    );
    let other = app.signed_in(OFFICIAL_NZ).await;
    let (_, v) = dry_run(&other, &file).await;
    assert_eq!(
        refused(&v),
        vec![
            (ROOMS.0.to_string(), 2, "地址".to_string()),
            (RESIDENTS.0.to_string(), 2, "地址".to_string()),
        ]
    );
    assert!(message_of(&v, ROOMS.0, 2).contains("本村"), "{v}");
    let admin = app.signed_in(ADMIN).await;
    let (_, v) = dry_run(&admin, &file).await;
    // The admin reaches every village; room 103 is refused only because the house is locked.
    assert_eq!(counts(&v), (1, 0, 0, 1), "{v}");
    assert!(message_of(&v, ROOMS.0, 2).contains("已提交"));
}

#[rocket::async_test]
async fn errors_xlsx_has_a_sheet_per_kind_with_the_refused_rooms_and_residents_and_uploads_again() {
    let app = TestApp::new().await;
    active_permit(&app, 4).await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let mut bad_person = resident(PERMIT_HOUSE, "101", 1);
    bad_person[4] = "330106199001010011".into();
    let file = register_xlsx(
        &[house(1)],
        &[
            room("导入路1号", "201"),
            cells(&["导入路1号", "202", "1", "14", "客房"]),
        ],
        &[resident(PERMIT_HOUSE, "101", 2), bad_person],
    );
    let (_, v) = dry_run(&official, &file).await;
    assert_eq!(counts(&v), (3, 0, 0, 2), "{v}");
    let id = v["id"].as_i64().unwrap();
    let r = official.get(&format!("/imports/{id}/errors.xlsx")).await;
    assert_eq!(r.status(), Status::Ok);
    let bytes = r.into_bytes().await.unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let houses = sheet(&mut wb, "房屋");
    assert_eq!(houses.len(), 1, "the header only: no house was refused");
    let rooms = sheet(&mut wb, ROOMS.0);
    assert_eq!(rooms.len(), 2);
    assert_eq!(rooms[0][..5], ROOMS.1);
    assert_eq!(rooms[0][5], "错误说明");
    assert_eq!(rooms[1][..2], ["导入路1号".to_string(), "202".into()]);
    assert!(
        rooms[1][5].contains("第 3 行") && rooms[1][5].contains("类型"),
        "{}",
        rooms[1][5]
    );
    let people = sheet(&mut wb, RESIDENTS.0);
    assert_eq!(people.len(), 2);
    assert_eq!(people[0][..7], RESIDENTS.1);
    assert_eq!(people[1][4], "330106199001010011");
    assert!(people[1][7].contains("第 3 行") && people[1][7].contains("证件号码"));

    // Uploaded as it is, the same rows are refused again, now at row 2 of each sheet.
    let (_, again) = dry_run(&official, &bytes).await;
    assert_eq!(
        refused(&again),
        vec![
            (ROOMS.0.to_string(), 2, "类型".to_string()),
            (RESIDENTS.0.to_string(), 2, "证件号码".to_string()),
        ]
    );
}
