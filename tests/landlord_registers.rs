//! A landlord registers a tenant for them (issue 13 item 5): `POST /properties/{id}/stays` and
//! the form on the house page; the stay is active at once; caps and one open stay per person hold.
mod common;

use anju::entities::{permit, stay};
use common::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

async fn house_of(app: &TestApp, number: &str) -> i32 {
    permit::Entity::find()
        .filter(permit::Column::Number.eq(number))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .property_id
}

fn tenant(n: u32, room: i32) -> Value {
    json!({"name": format!("老人{n}"), "doc_type": "resident_id", "doc_number": resident_id(n),
        "phone": "13812345678", "room_id": room,
        "move_in": today_cst().format("%Y-%m-%d").to_string()})
}

#[rocket::async_test]
async fn the_landlords_registration_is_active_at_once_and_audited() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let house = house_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let landlord = app.api(LANDLORD).await;
    let (s, v) = landlord
        .post(&format!("/properties/{house}/stays"), tenant(1, room))
        .await;
    assert_eq!(s, Status::Created, "{v}");
    assert_eq!(v["status"], "active");
    assert_eq!(v["checkout_code"].as_str().unwrap().len(), 10);
    let id = v["stay_id"].as_i64().unwrap() as i32;
    let row = stay::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "active");
    assert!(row.confirmed_at.is_some());
    let audited = anju::entities::audit_entry::Entity::find()
        .filter(anju::entities::audit_entry::Column::Action.eq("stay.register_by_landlord"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert!(audited[0].actor_id.is_some());
    // The code works for the tenant like any other.
    let (s, _) = app
        .api(LANDLORD)
        .await
        .post(
            &format!("/stays/{id}/checkout"),
            json!({"checkout_code": v["checkout_code"]}),
        )
        .await;
    assert_eq!(s, Status::Ok);
}

#[rocket::async_test]
async fn caps_and_one_open_stay_per_person_hold_for_the_landlord_too() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 2).await;
    let house = house_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let landlord = app.api(LANDLORD).await;
    let path = format!("/properties/{house}/stays");
    for n in 1..=2 {
        let (s, v) = landlord.post(&path, tenant(n, room)).await;
        assert_eq!(s, Status::Created, "{v}");
    }
    let (s, v) = landlord.post(&path, tenant(3, room)).await;
    assert_eq!(s, Status::Conflict, "{v}");
    assert!(v["message"].as_str().unwrap().contains("已满"));
    // The same person cannot hold a second open stay, on this house or another.
    let (other, _) = active_permit(&app, 4).await;
    let other_house = house_of(&app, &other).await;
    let other_room = permit_rooms(&app, &other).await[0];
    let (s, v) = landlord
        .post(
            &format!("/properties/{other_house}/stays"),
            tenant(1, other_room),
        )
        .await;
    assert_eq!(s, Status::Conflict, "{v}");
    assert!(v["message"].as_str().unwrap().contains("未结束的居住登记"));
    // A room of another house is refused; bad input is refused beside its field.
    let (s, v) = landlord.post(&path, tenant(5, other_room)).await;
    assert!(
        s == Status::UnprocessableEntity || s == Status::Conflict,
        "{v}"
    );
    let mut bad = tenant(6, other_room);
    bad["doc_number"] = json!("123");
    let (s, v) = landlord
        .post(&format!("/properties/{other_house}/stays"), bad)
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(v["fields"]["doc_number"].is_array(), "{v}");
    assert_eq!(app.count("stays").await, 2);
}

#[rocket::async_test]
async fn only_the_houses_landlord_may_register_and_only_under_a_permit() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let house = house_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    for other in [OFFICIAL_JX, INSPECTOR_JX, ADMIN] {
        let (s, _) = app
            .api(other)
            .await
            .post(&format!("/properties/{house}/stays"), tenant(1, room))
            .await;
        assert_eq!(s, Status::Forbidden, "{other}");
    }
    // A house without a permit takes no tenants.
    let landlord = app.api(LANDLORD).await;
    let (_, g) = landlord.get("/villages").await;
    let village = g[0]["id"].clone();
    let grid = g[0]["grids"][0]["id"].clone();
    let (s, bare) = landlord
        .post(
            "/properties",
            json!({"village_id": village, "grid_id": grid, "address": "锦绣村西区 2 号",
                "floors": 1, "structure": "brick_concrete",
                "rooms": [{"label": "101", "floor": 1, "area_m2": 14.0, "kind": "bedroom"}]}),
        )
        .await;
    assert_eq!(s, Status::Created, "{bare}");
    let bare_room = bare["rooms"][0]["id"].as_i64().unwrap() as i32;
    let (s, v) = landlord
        .post(
            &format!("/properties/{}/stays", bare["id"]),
            tenant(2, bare_room),
        )
        .await;
    assert_eq!(s, Status::Conflict, "{v}");
    assert!(v["message"].as_str().unwrap().contains("还没有准入证"));
    // A suspended permit refuses as for tenants.
    let official = app.api(OFFICIAL_JX).await;
    let (s, _) = official
        .post(
            &format!("/permits/{number}/suspend"),
            json!({"reason": "消防通道堵塞"}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let (s, v) = landlord
        .post(&format!("/properties/{house}/stays"), tenant(3, room))
        .await;
    assert_eq!(s, Status::Conflict, "{v}");
    assert!(v["message"].as_str().unwrap().contains("暂停"));
    assert_eq!(app.count("stays").await, 0);
}

#[rocket::async_test]
async fn the_house_page_form_keeps_what_was_typed_and_shows_the_code_after() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let house = house_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0].to_string();
    let b = app.signed_in(LANDLORD).await;
    let (s, page) = b.get_text(&format!("/landlord/houses/{house}")).await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains(&format!("/landlord/houses/{house}/stays/new")));
    let (s, form) = b
        .get_text(&format!("/landlord/houses/{house}/stays/new"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(form.contains("为租客登记入住") && form.contains("最多 2 人"));
    let today = today_cst().format("%Y-%m-%d").to_string();
    let doc = resident_id(9);
    let mut fields = vec![
        ("name", "张阿婆"),
        ("doc_type", "resident_id"),
        ("doc_number", doc.as_str()),
        ("phone", "13812345678"),
        ("room_id", room.as_str()),
        ("move_in", today.as_str()),
    ];
    let path = format!("/landlord/houses/{house}/stays");
    let r = b.post_form(&path, &fields).await;
    assert_eq!(
        r.status(),
        Status::UnprocessableEntity,
        "consent is required"
    );
    let page = r.into_string().await.unwrap();
    assert!(page.contains("value=\"张阿婆\"") && page.contains(&doc));
    assert_eq!(app.count("stays").await, 0);
    fields.push(("consent", "yes"));
    let r = b.post_form(&path, &fields).await;
    assert_eq!(r.status(), Status::SeeOther);
    let to = r.headers().get_one("Location").unwrap().to_string();
    let (s, receipt) = b.get_text(&to).await;
    assert_eq!(s, Status::Ok);
    assert!(receipt.contains("在住") && receipt.contains("class=\"code\""));
    let (_, page) = b.get_text(&format!("/landlord/houses/{house}")).await;
    assert!(page.contains("张阿婆") && page.contains("在住 <b>1</b> 人"));
}
