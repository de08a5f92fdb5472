//! Importing existing registers: the template, and the dry run of the 房屋 sheet.
mod common;
#[path = "support/imports.rs"]
mod imports_support;

use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::RoomKind;
use anju::domain::property::{AreaM2, Structure};
use anju::services::imports::template::{HOUSES, NOTES_SHEET, RESIDENTS, ROOMS};
use calamine::Reader;
use common::*;
use imports_support::*;
use rocket::http::Status;
use sea_orm::EntityTrait;
use serde_json::Value;

#[rocket::async_test]
async fn an_official_downloads_a_template_with_the_three_sheets_their_headers_and_notes() {
    let app = TestApp::new().await;
    let bytes = template_bytes(&app, OFFICIAL_JX).await;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a valid workbook");
    assert_eq!(wb.sheet_names(), vec!["房屋", "房间", "住户", "说明"]);
    let houses = sheet(&mut wb, HOUSES.0);
    assert_eq!(
        houses[0],
        ["村", "网格", "地址", "层数", "结构", "房东姓名", "房东手机"]
    );
    assert_eq!(houses.len(), 2, "a header and one example row");
    let rooms = sheet(&mut wb, ROOMS.0);
    assert_eq!(rooms[0], ["地址", "房间号", "楼层", "面积", "类型"]);
    assert_eq!(rooms.len(), 2);
    let residents = sheet(&mut wb, RESIDENTS.0);
    assert_eq!(
        residents[0],
        [
            "地址",
            "房间号",
            "姓名",
            "证件类型",
            "证件号码",
            "手机",
            "入住日期"
        ]
    );
    assert_eq!(residents.len(), 2);
    // The rooms and residents of the example belong to the example house.
    assert_eq!(rooms[1][0], houses[1][2]);
    assert_eq!(residents[1][0], houses[1][2]);
    assert_eq!(residents[1][1], rooms[1][1]);
    let notes = sheet(&mut wb, NOTES_SHEET);
    assert!(notes.len() >= 10, "{notes:?}");
    let text = notes.concat().concat();
    assert!(text.contains("试导入") && text.contains("下拉列表") && text.contains("认领"));
}

#[rocket::async_test]
async fn the_example_row_passes_the_same_checks_as_the_forms() {
    let app = TestApp::new().await;
    let bytes = template_bytes(&app, ADMIN).await;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a valid workbook");
    let h = &sheet(&mut wb, HOUSES.0)[1];
    assert!(h[3].parse::<u32>().is_ok_and(|n| n >= 1), "层数 {}", h[3]);
    assert!(
        Structure::ALL.iter().any(|s| s.label_zh() == h[4]),
        "结构 {}",
        h[4]
    );
    assert!(Phone::parse(&h[6]).is_ok(), "房东手机 {}", h[6]);
    let r = &sheet(&mut wb, ROOMS.0)[1];
    assert!(AreaM2::parse(&r[3]).is_ok(), "面积 {}", r[3]);
    assert!(
        RoomKind::ALL.iter().any(|k| k.label_zh() == r[4]),
        "类型 {}",
        r[4]
    );
    let p = &sheet(&mut wb, RESIDENTS.0)[1];
    let doc = DocType::ALL
        .into_iter()
        .find(|d| d.label_zh() == p[3])
        .expect("证件类型 is a label");
    assert!(
        DocNumber::parse(doc, &p[4], today_cst()).is_ok(),
        "证件号码 {}",
        p[4]
    );
    assert!(Phone::parse(&p[5]).is_ok(), "手机 {}", p[5]);
    assert!(chrono::NaiveDate::parse_from_str(&p[6], "%Y-%m-%d").is_ok());
}

#[rocket::async_test]
async fn structure_room_kind_and_document_type_have_drop_down_lists_of_the_domain_labels() {
    let app = TestApp::new().await;
    let bytes = template_bytes(&app, OFFICIAL_NZ).await;
    let houses = sheet_xml(&bytes, 1);
    let labels: Vec<&str> = Structure::ALL.iter().map(|s| s.label_zh()).collect();
    assert!(houses.contains("<dataValidation "), "{houses}");
    assert!(houses.contains(&format!("\"{}\"", labels.join(","))));
    assert!(
        houses.contains("sqref=\"E2:E100001\""),
        "on the 结构 column"
    );
    let rooms = sheet_xml(&bytes, 2);
    let kinds: Vec<&str> = RoomKind::ALL.iter().map(|k| k.label_zh()).collect();
    assert!(
        rooms.contains(&format!("\"{}\"", kinds.join(","))),
        "{rooms}"
    );
    assert!(rooms.contains("sqref=\"E2:E100001\""), "on the 类型 column");
    let people = sheet_xml(&bytes, 3);
    let docs: Vec<&str> = DocType::ALL.iter().map(|d| d.label_zh()).collect();
    assert!(
        people.contains(&format!("\"{}\"", docs.join(","))),
        "{people}"
    );
    assert!(
        people.contains("sqref=\"D2:D100001\""),
        "on the 证件类型 column"
    );
    // Codes are accepted too, so Excel only warns about a value outside the list.
    assert!(houses.contains("errorStyle=\"warning\""));
}

#[rocket::async_test]
async fn the_official_and_admin_pages_link_the_template_and_others_may_not_download_it() {
    let app = TestApp::new().await;
    for (phone, home) in [(OFFICIAL_JX, "/official"), (ADMIN, "/admin")] {
        let (s, html) = app.signed_in(phone).await.get_text(home).await;
        assert_eq!(s, Status::Ok);
        assert!(
            html.contains("href=\"/imports\""),
            "{home} links the import page"
        );
        let (s, html) = app.signed_in(phone).await.get_text("/imports").await;
        assert_eq!(s, Status::Ok);
        assert!(
            html.contains("href=\"/imports/template.xlsx\""),
            "which links the template"
        );
        assert!(html.contains("enctype=\"multipart/form-data\""));
    }
    for phone in [LANDLORD, INSPECTOR_JX] {
        let b = app.signed_in(phone).await;
        assert_eq!(
            b.get("/imports/template.xlsx").await.status(),
            Status::Forbidden,
            "{phone}"
        );
    }
    let anonymous = app.browser().await;
    assert_ne!(
        anonymous.get("/imports/template.xlsx").await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn two_hundred_houses_with_a_few_mistakes_refuse_exactly_those_rows_and_write_nothing() {
    let app = TestApp::new().await;
    let mut rows: Vec<Vec<String>> = (1..=200).map(house).collect();
    rows[9][3] = "三".into(); // sheet row 11: 层数
    rows[49][4] = "土坯".into(); // row 51: 结构
    rows[99][6] = "1234".into(); // row 101: 房东手机
    rows[149][1] = "不存在的网格".into(); // row 151: 网格
    rows[179][2] = "导入路 1#".into(); // row 181: the same house as row 2
    rows[199][2] = "路".into(); // row 201: 地址
    let before = app.count("properties").await;
    let users_before = app.count("users").await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let (s, v) = dry_run(&official, &houses_xlsx(&rows)).await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["status"], "checked");
    assert_eq!(v["rows"]["create"], 194);
    assert_eq!(v["rows"]["update"], 0);
    assert_eq!(v["rows"]["unchanged"], 0);
    assert_eq!(v["rows"]["error"], 6);
    assert_eq!(
        error_cells(&v),
        vec![
            (11, "层数".to_string()),
            (51, "结构".into()),
            (101, "房东手机".into()),
            (151, "网格".into()),
            (181, "地址".into()),
            (201, "地址".into()),
        ]
    );
    assert!(
        v["errors"][4]["message"]
            .as_str()
            .unwrap()
            .contains("第 2 行")
    );
    assert_eq!(
        app.count("properties").await,
        before,
        "a dry run writes no house"
    );
    assert_eq!(app.count("users").await, users_before, "nor any landlord");
    let id = v["id"].as_i64().expect("an import id") as i32;
    let saved = anju::entities::import::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the checked import is kept");
    assert_eq!((saved.status.as_str(), saved.count_error), ("checked", 6));
    assert_eq!(saved.file_sha256.len(), 64);
}

#[rocket::async_test]
async fn a_known_house_is_unchanged_or_updated_and_another_spelling_of_its_address_still_matches() {
    let app = TestApp::new().await;
    let same = existing_row(&app).await;
    let mut taller = same.clone();
    taller[3] = (same[3].parse::<i32>().unwrap() % 50 + 1).to_string();
    let mut wide = same.clone();
    wide[2] = same[2]
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect();
    wide[2] = wide[2].replace(" 号", "#");
    wide[4] = anju::domain::import::structure(&same[4])
        .unwrap()
        .as_str()
        .into();
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &houses_xlsx(std::slice::from_ref(&same))).await;
    assert_eq!(v["rows"]["unchanged"], 1, "{v}");
    let (_, v) = dry_run(&official, &houses_xlsx(&[wide])).await;
    assert_eq!(
        v["rows"]["unchanged"], 1,
        "full-width digits, # and a code for 结构: {v}"
    );
    let (_, v) = dry_run(&official, &houses_xlsx(&[taller])).await;
    assert_eq!(v["rows"]["update"], 1, "{v}");
    // Another phone for a known house is a transfer, not an import.
    let mut other = same.clone();
    other[6] = "13711112222".into();
    let (_, v) = dry_run(&official, &houses_xlsx(&[other])).await;
    assert_eq!(error_cells(&v), vec![(2, "房东手机".to_string())]);
}

#[rocket::async_test]
async fn an_official_may_import_only_their_own_villages_rows_the_admin_any() {
    let app = TestApp::new().await;
    let mut nz = house(1);
    nz[0] = "倪宅村".into();
    nz[1] = "倪宅村第一网格".into();
    let rows = vec![house(2), nz];
    let (_, v) = dry_run(&app.signed_in(OFFICIAL_JX).await, &houses_xlsx(&rows)).await;
    assert_eq!(
        (v["rows"]["create"].as_i64(), v["rows"]["error"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(error_cells(&v), vec![(3, "村".to_string())]);
    let (_, v) = dry_run(&app.signed_in(ADMIN).await, &houses_xlsx(&rows)).await;
    assert_eq!(v["rows"]["create"], 2, "{v}");
}

#[rocket::async_test]
async fn csv_in_utf8_with_or_without_bom_and_in_gb18030_reads_like_the_workbook() {
    let app = TestApp::new().await;
    let mut rows: Vec<Vec<String>> = (1..=3).map(house).collect();
    rows[1][3] = "0".into();
    let mut text = HOUSES.1.join(",") + "\r\n";
    for r in &rows {
        text += &(r.join(",") + "\r\n");
    }
    let official = app.signed_in(OFFICIAL_JX).await;
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    for file in [
        text.as_bytes().to_vec(),
        [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        gb.into_owned(),
        houses_xlsx(&rows),
    ] {
        let (s, v) = dry_run(&official, &file).await;
        assert_eq!(s, Status::Ok, "{v}");
        assert_eq!(v["rows"]["create"], 2, "{v}");
        assert_eq!(error_cells(&v), vec![(3, "层数".to_string())]);
    }
}

#[rocket::async_test]
async fn a_file_without_the_houses_header_or_sheet_is_refused_with_a_message() {
    let app = TestApp::new().await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let (s, _) = dry_run(&official, "名称,地址\n甲,乙\n".as_bytes()).await;
    assert_eq!(s, Status::BadRequest);
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().set_name("Sheet1").unwrap();
    let (s, _) = dry_run(&official, &wb.save_to_buffer().unwrap()).await;
    assert_eq!(s, Status::BadRequest);
    let (s, _) = dry_run(&official, b"PK\x03\x04 not really a zip").await;
    assert_eq!(s, Status::BadRequest);
    assert_eq!(app.count("imports").await, 0);
}

#[rocket::async_test]
async fn the_refused_rows_download_with_a_message_column_and_upload_again_once_fixed() {
    let app = TestApp::new().await;
    let mut rows: Vec<Vec<String>> = (1..=5).map(house).collect();
    rows[1][3] = "99".into(); // row 3: 层数
    rows[3][6] = "12".into(); // row 5: 房东手机
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, v) = dry_run(&official, &houses_xlsx(&rows)).await;
    let id = v["id"].as_i64().unwrap();
    let (s, text) = official.get_text(&format!("/imports/{id}")).await;
    let p: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(s, Status::Ok);
    assert_eq!(p["status"], "checked");
    assert_eq!(
        (p["rows"]["create"].as_i64(), p["rows"]["error"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        (p["done"].as_i64(), p["total"].as_i64()),
        (Some(0), Some(3))
    );

    let r = official.get(&format!("/imports/{id}/errors.xlsx")).await;
    assert_eq!(r.status(), Status::Ok);
    let bytes = r.into_bytes().await.unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let sheet = sheet(&mut wb, HOUSES.0);
    assert_eq!(sheet.len(), 3, "the header and the two refused rows");
    assert_eq!(sheet[0][..7], HOUSES.1);
    assert_eq!(sheet[0][7], "错误说明");
    assert_eq!(sheet[1][2], "导入路2号");
    assert!(
        sheet[1][7].contains("第 3 行") && sheet[1][7].contains("层数"),
        "{}",
        sheet[1][7]
    );
    assert!(sheet[2][7].contains("第 5 行") && sheet[2][7].contains("房东手机"));

    // Uploaded as it is, the same two rows are refused, now at rows 2 and 3 of the error sheet.
    let (_, again) = dry_run(&official, &bytes).await;
    assert_eq!(
        error_cells(&again),
        vec![(2, "层数".to_string()), (3, "房东手机".into())]
    );
    // Fixed, they pass.
    let fixed = vec![house(2), house(4)];
    let (_, ok) = dry_run(&official, &houses_xlsx(&fixed)).await;
    assert_eq!(
        (ok["rows"]["create"].as_i64(), ok["rows"]["error"].as_i64()),
        (Some(2), Some(0))
    );

    // Another village's official may not look at it; the town admin may.
    let other = app.signed_in(OFFICIAL_NZ).await;
    assert_eq!(
        other.get(&format!("/imports/{id}")).await.status(),
        Status::Forbidden
    );
    assert_eq!(
        other
            .get(&format!("/imports/{id}/errors.xlsx"))
            .await
            .status(),
        Status::Forbidden
    );
    let admin = app.signed_in(ADMIN).await;
    assert_eq!(
        admin.get(&format!("/imports/{id}")).await.status(),
        Status::Ok
    );
    assert_eq!(
        official.get("/imports/999999").await.status(),
        Status::NotFound
    );
}

#[rocket::async_test]
async fn a_browser_uploading_the_form_sees_the_counts_the_first_errors_and_the_error_download() {
    use rocket::http::{Accept, Header};
    let app = TestApp::new().await;
    let mut rows: Vec<Vec<String>> = (1..=4).map(house).collect();
    rows[2][4] = "茅草".into(); // row 4: 结构
    let official = app.signed_in(OFFICIAL_JX).await;
    let token = official.csrf().await;
    let (ct, body) = multipart(&[], &houses_xlsx(&rows));
    let r = official
        .client
        .post(format!("/imports?_csrf={token}"))
        .header(ct)
        .header(Header::new(
            "Accept",
            "text/html,application/xhtml+xml,*/*;q=0.8",
        ))
        .body(body)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let to = r.headers().get_one("Location").unwrap().to_string();
    assert!(to.starts_with("/imports/"), "{to}");
    let r = official
        .client
        .get(to.clone())
        .header(Accept::HTML)
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    let html = r.into_string().await.unwrap();
    assert!(
        html.contains("新增</dt><dd>3 行") && html.contains("出错</dt><dd>1 行"),
        "{html}"
    );
    assert!(
        html.contains("<td>4</td><td>结构</td>"),
        "the first errors with their row and column"
    );
    assert!(html.contains(&format!("href=\"{to}/errors.xlsx\"")));
    // The same path answers a script with JSON.
    let (_, text) = official.get_text(&to).await;
    let v: Value = serde_json::from_str(&text).expect("JSON without an Accept header");
    assert_eq!(v["rows"]["error"], 1);
}
