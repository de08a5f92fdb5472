//! Importing existing registers: the template an official or the town admin downloads.
mod common;

use std::io::Read;

use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::RoomKind;
use anju::domain::property::{AreaM2, Structure};
use anju::services::imports::template::{HOUSES, NOTES_SHEET, RESIDENTS, ROOMS};
use calamine::Reader;
use common::*;
use rocket::http::Status;

fn sheet(wb: &mut calamine::Xlsx<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<String>> {
    wb.worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// The XML of one worksheet inside the XLSX zip, where Excel keeps its drop-down lists.
fn sheet_xml(bytes: &[u8], n: usize) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an XLSX is a zip");
    let mut f = zip
        .by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .expect("worksheet part");
    let mut s = String::new();
    f.read_to_string(&mut s).expect("UTF-8 XML");
    s
}

async fn template_bytes(app: &TestApp, phone: &str) -> Vec<u8> {
    let b = app.signed_in(phone).await;
    let r = b.get("/imports/template.xlsx").await;
    assert_eq!(r.status(), Status::Ok, "template for {phone}");
    assert_eq!(
        r.content_type().map(|c| c.to_string()).unwrap_or_default(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let cd = r
        .headers()
        .get_one("Content-Disposition")
        .unwrap_or_default();
    assert!(cd.starts_with("attachment;"), "{cd}");
    r.into_bytes().await.expect("a body")
}

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
        assert!(html.contains("href=\"/imports/template.xlsx\""), "{home}");
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
