//! Helpers shared by the import tests: spreadsheets made and read back, and the import calls.
#![allow(dead_code, unused_imports)]

use super::common::*;
use std::io::Read;

use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::RoomKind;
use anju::domain::property::{AreaM2, Structure};
use anju::services::imports::template::{HOUSES, NOTES_SHEET, RESIDENTS, ROOMS};
use calamine::Reader;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

pub fn sheet(wb: &mut calamine::Xlsx<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<String>> {
    wb.worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// The XML of one worksheet inside the XLSX zip, where Excel keeps its drop-down lists.
pub fn sheet_xml(bytes: &[u8], n: usize) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an XLSX is a zip");
    let mut f = zip
        .by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .expect("worksheet part");
    let mut s = String::new();
    f.read_to_string(&mut s).expect("UTF-8 XML");
    s
}

pub async fn template_bytes(app: &TestApp, phone: &str) -> Vec<u8> {
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

/// A 房屋 sheet as XLSX, with the template's header and the given rows.
pub fn houses_xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(HOUSES.0).unwrap();
    for (c, h) in HOUSES.1.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // Numbers typed as numbers, as Excel stores 层数 and 手机.
            match v.parse::<f64>() {
                Ok(n) if !v.is_empty() && !v.contains(' ') => {
                    ws.write_number(r as u32 + 1, c as u16, n).unwrap()
                }
                _ => ws.write_string(r as u32 + 1, c as u16, v).unwrap(),
            };
        }
    }
    wb.save_to_buffer().unwrap()
}

pub fn house(i: usize) -> Vec<String> {
    vec![
        "锦绣村".into(),
        "锦绣村第一网格".into(),
        format!("导入路{i}号"),
        "3".into(),
        "砖混结构".into(),
        format!("房东{i}"),
        format!("1370000{i:04}"),
    ]
}

pub async fn dry_run(b: &Browser, file: &[u8]) -> (Status, Value) {
    let r = b.post_multipart("/imports", &[], file).await;
    let s = r.status();
    let text = r.into_string().await.unwrap_or_default();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn error_cells(v: &Value) -> Vec<(u64, String)> {
    v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(e["sheet"], "房屋");
            assert!(!e["message"].as_str().unwrap_or("").is_empty());
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The demo landlord records a house in 锦绣村 through the form; it comes back as a 房屋 row,
/// exactly as the register holds it.
pub async fn existing_row(app: &TestApp) -> Vec<String> {
    use anju::entities::{grid, property, user};
    let g = grid::Entity::find()
        .filter(grid::Column::Name.eq("锦绣村第一网格"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the demo grid");
    let (v, gid) = (g.village_id.to_string(), g.id.to_string());
    let landlord = app.signed_in(LANDLORD).await;
    let r = landlord
        .post_form(
            "/landlord/houses",
            &[
                ("village_id", &v),
                ("grid_id", &gid),
                ("address", "锦绣村东区 12 号"),
                ("floors", "3"),
                ("structure", "brick_concrete"),
                ("rooms[0].label", "101"),
                ("rooms[0].floor", "1"),
                ("rooms[0].area_m2", "14"),
                ("rooms[0].kind", "bedroom"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther, "the house is recorded");
    let p = property::Entity::find()
        .filter(
            property::Column::VillageId.is_in(
                anju::entities::village::Entity::find()
                    .filter(anju::entities::village::Column::Name.eq("锦绣村"))
                    .all(&app.db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|v| v.id),
            ),
        )
        .one(&app.db)
        .await
        .unwrap()
        .expect("a demo house in 锦绣村");
    let g = grid::Entity::find_by_id(p.grid_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let u = user::Entity::find_by_id(p.landlord_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let s = Structure::parse(&p.structure).unwrap();
    vec![
        "锦绣村".into(),
        g.name,
        p.address,
        p.floors.to_string(),
        s.label_zh().into(),
        u.name,
        u.phone,
    ]
}

pub async fn commit(b: &Browser, id: i64) -> (Status, Value) {
    let token = b.csrf().await;
    let r = b
        .client
        .post(format!("/imports/{id}/commit?_csrf={token}"))
        .dispatch()
        .await;
    let s = r.status();
    (
        s,
        serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
    )
}

pub async fn progress(b: &Browser, id: i64) -> Value {
    let (_, text) = b.get_text(&format!("/imports/{id}")).await;
    serde_json::from_str(&text).expect("JSON progress")
}

pub async fn audits(app: &TestApp, action: &str) -> Vec<anju::entities::audit_entry::Model> {
    anju::entities::audit_entry::Entity::find()
        .filter(anju::entities::audit_entry::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap()
}

pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

pub async fn result_page(b: &Browser, id: i64) -> String {
    b.client
        .get(format!("/imports/{id}"))
        .header(rocket::http::Accept::HTML)
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap()
}

/// A workbook with the three sheets of the template, their headers and these rows (as text).
pub fn register_xlsx(
    houses: &[Vec<String>],
    rooms: &[Vec<String>],
    residents: &[Vec<String>],
) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for ((name, cols), rows) in [
        ((HOUSES.0, &HOUSES.1[..]), houses),
        ((ROOMS.0, &ROOMS.1[..]), rooms),
        ((RESIDENTS.0, &RESIDENTS.1[..]), residents),
    ] {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        for (c, h) in cols.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// A 住户 row: resident n of the test IDs in the house's room, moved in on 1 June 2025.
pub fn resident(address: &str, label: &str, n: u32) -> Vec<String> {
    vec![
        address.into(),
        label.into(),
        format!("住户{n}"),
        "居民身份证".into(),
        resident_id(n),
        format!("1590000{n:04}"),
        "2025-06-01".into(),
    ]
}

/// The stays of the house at this address, whatever their status.
pub async fn stays_of(app: &TestApp, address: &str) -> Vec<anju::entities::stay::Model> {
    let p = anju::entities::property::Entity::find()
        .filter(anju::entities::property::Column::Address.eq(address))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the house");
    anju::entities::stay::Entity::find()
        .filter(anju::entities::stay::Column::PropertyId.eq(p.id))
        .all(&app.db)
        .await
        .unwrap()
}

/// Commits a checked import and runs the job to its end.
pub async fn commit_and_run(app: &TestApp, b: &Browser, v: &Value) {
    let id = v["id"].as_i64().expect("an import id");
    assert_eq!(commit(b, id).await.0, Status::Accepted);
    let ran = anju::jobs::run_all(&*app.state().await, "t").await;
    assert_eq!(progress(b, id).await["status"], "done", "{ran:?}");
}
