//! Importing existing registers: a file is read, checked and kept a chunk of rows at a time, and
//! the answer is the same as if it had been read whole.
mod common;
#[path = "support/imports.rs"]
mod imports_support;

use anju::services::imports::sheet::CHUNK_ROWS;
use anju::services::imports::template::{HOUSES, ROOMS};
use common::*;
use imports_support::*;
use rocket::http::Status;

fn message_at(v: &serde_json::Value, sheet: &str, row: u64) -> String {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|e| e["sheet"] == sheet && e["row"] == row)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no error at {sheet} row {row}: {v}"))
}

#[rocket::async_test]
async fn a_register_longer_than_one_chunk_is_checked_as_a_whole() {
    let app = TestApp::new().await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let n = CHUNK_ROWS + 100;
    let address = |i: usize| format!("导入路{i}号");
    let mut houses: Vec<Vec<String>> = (1..=n).map(house).collect();
    // Sheet row n + 2, in the second chunk, names the house of row 2 (the first chunk).
    let mut again = house(1);
    again[6] = "13799999999".into();
    houses.push(again);
    // Rooms and residents of houses from both chunks of the 房屋 sheet (not house 1, whose
    // address a refused row names), with a repeat of the first room and of the first person
    // after the first chunk of their own sheets.
    let mut rooms: Vec<Vec<String>> = (2..=n)
        .map(|i| {
            vec![
                address(i),
                "101".into(),
                "1".into(),
                "14".into(),
                "卧室".into(),
            ]
        })
        .collect();
    rooms.push(rooms[0].clone());
    let mut people: Vec<Vec<String>> = (2..=n)
        .map(|i| resident(&address(i), "101", i as u32))
        .collect();
    let mut same_person = resident(&address(n), "101", 2);
    same_person[2] = "同一人".into();
    people.push(same_person);

    let (s, v) = dry_run(&official, &register_xlsx(&houses, &rooms, &people)).await;
    assert_eq!(s, Status::Ok, "{v}");
    let last = (n + 1) as u64;
    assert!(
        message_at(&v, HOUSES.0, last + 1).contains("与第 2 行是同一房屋"),
        "{v}"
    );
    assert!(
        message_at(&v, ROOMS.0, last).contains("与第 2 行是同一房间"),
        "{v}"
    );
    assert!(
        message_at(&v, "住户", last).contains("与第 2 行是同一人"),
        "{v}"
    );
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(3), "{v}");
    let n = n as i64;
    assert_eq!(v["rows"]["create"].as_i64(), Some(3 * n - 2), "{v}");
    assert_eq!(v["rows"]["error"].as_i64(), Some(3), "{v}");
    assert_eq!(app.count("import_rows").await, 3 * n - 2);

    // Committed, every house has its room and its (waiting) resident.
    commit_and_run(&app, &official, &v).await;
    let far = stays_of(&app, &address(n as usize)).await;
    assert_eq!(far.len(), 1, "the last house's resident");
}

#[rocket::async_test]
async fn a_wrong_header_on_a_later_sheet_refuses_the_file_and_keeps_nothing() {
    let app = TestApp::new().await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(HOUSES.0).unwrap();
    for (c, h) in HOUSES.1.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in house(1).iter().enumerate() {
        ws.write_string(1, c as u16, v).unwrap();
    }
    let ws = wb.add_worksheet();
    ws.set_name(ROOMS.0).unwrap();
    ws.write_string(0, 0, "门牌").unwrap();
    ws.write_string(1, 0, "导入路1号").unwrap();
    let (s, v) = dry_run(&official, &wb.save_to_buffer().unwrap()).await;
    assert_eq!(s, Status::BadRequest, "{v}");
    assert!(v.to_string().contains("「房间」表第 1 行应为表头"), "{v}");
    assert_eq!(app.count("imports").await, 0, "no import is kept");
    assert_eq!(app.count("import_rows").await, 0, "nor any of its rows");
}
