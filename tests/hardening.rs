//! Issue 8, inputs: what an unsigned verification shows, and control characters (NUL above
//! all, which PostgreSQL refuses) in every kind of text input, on the pages and the JSON API.
//! Resources (images, files at rest, exports, settings) are in `hardening_resources.rs`.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

#[rocket::async_test]
async fn an_unsigned_verification_hides_occupancy_and_grade_but_a_signed_one_shows_them() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 6).await;
    let anon = app.browser().await;

    let (s, body) = anon.get_text(&format!("/api/v1/verify/{number}")).await;
    assert_eq!(s, Status::Ok);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["authentic"], false);
    assert_eq!(v["status"], "active");
    assert_eq!(v["village"], "锦绣村");
    assert!(v["valid_until"].is_string());
    for hidden in ["occupants", "max_occupants", "grade"] {
        assert!(
            v[hidden].is_null(),
            "{hidden} must be null without a signature: {v}"
        );
    }
    let (s, body) = anon
        .get_text(&format!("/api/v1/verify/{number}?sig=k1.forged"))
        .await;
    assert_eq!(s, Status::Ok);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["occupants"].is_null() && v["grade"].is_null(), "{v}");

    let (s, html) = anon.get_text(&format!("/p/{number}")).await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("锦绣村"));
    for hidden in ["现住人数", "核定人数", "风险等级", "最多 6 人"] {
        assert!(
            !html.contains(hidden),
            "unsigned page must not show {hidden}"
        );
    }

    let signed = format!("/api/v1/verify/{number}?sig={}", urlencode(&sig));
    let (_, body) = anon.get_text(&signed).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["authentic"], true);
    assert_eq!(
        (v["occupants"].clone(), v["max_occupants"].clone()),
        (json!(0), json!(6))
    );
    assert_eq!(v["grade"], "green");
    let (_, html) = anon
        .get_text(&format!("/p/{number}?sig={}", urlencode(&sig)))
        .await;
    assert!(html.contains("现住人数") && html.contains("最多 6 人"));
}

const NUL: &str = "\u{0}";

fn refused(s: Status) -> bool {
    (400..500).contains(&s.code)
}

#[rocket::async_test]
async fn a_nul_in_a_name_or_phone_is_refused_on_the_register_page_and_the_api() {
    let app = TestApp::new().await;
    let users = app.count("users").await;
    let anon = app.api(LANDLORD).await;
    let (s, v) = anon
        .post(
            "/landlords",
            json!({"name": format!("王{NUL}五"), "phone": "13512340000", "password": "a-good-pass"}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert_eq!(v["fields"]["name"][0], "不能包含控制字符");
    let (s, v) = anon
        .post(
            "/landlords",
            json!({"name": "王五", "phone": format!("135{NUL}12340000"), "password": "a-good-pass"}),
        )
        .await;
    assert!(refused(s) && v["fields"]["phone"].is_array(), "{s} {v}");

    let b = app.browser().await;
    let r = b
        .post_form(
            "/register",
            &[
                ("name", &format!("王{NUL}五")),
                ("phone", "13512340001"),
                ("password", "a-good-pass"),
                ("password2", "a-good-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(r.into_string().await.unwrap().contains("不能包含控制字符"));
    assert_eq!(app.count("users").await, users, "nothing written");

    // Signing in with a NUL in the phone is a refusal, not a database error.
    let r = b
        .client
        .post("/api/v1/auth/login")
        .header(rocket::http::ContentType::JSON)
        .body(json!({"phone": format!("1390000000{NUL}4"), "password": "x"}).to_string())
        .dispatch()
        .await;
    assert!(refused(r.status()), "{}", r.status());
    let r = b
        .post_form(
            "/login",
            &[("phone", &format!("{NUL}13900000004")), ("password", "x")],
        )
        .await;
    assert!(refused(r.status()), "{}", r.status());
}

#[rocket::async_test]
async fn a_nul_in_an_address_or_room_label_is_refused_on_the_house_form_and_the_api() {
    let app = TestApp::new().await;
    let houses = app.count("properties").await;
    let (village_id, grid_id) = village_and_grid(&app, "锦绣村第一网格").await;
    let landlord = app.api(LANDLORD).await;
    let room =
        |label: &str| json!([{"label": label, "floor": 1, "area_m2": 12.0, "kind": "bedroom"}]);
    let (s, v) = landlord
        .post(
            "/properties",
            json!({"village_id": village_id, "grid_id": grid_id, "address": format!("锦绣村东区{NUL} 12 号"),
                "floors": 2, "structure": "brick_concrete", "rooms": room("101")}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert_eq!(v["fields"]["address"][0], "不能包含控制字符");
    let (s, v) = landlord
        .post(
            "/properties",
            json!({"village_id": village_id, "grid_id": grid_id, "address": "锦绣村东区 12 号",
                "floors": 2, "structure": "brick_concrete", "rooms": room(&format!("1{NUL}01"))}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert_eq!(v["fields"]["rooms[0].label"][0], "不能包含控制字符");

    let page = app.signed_in(LANDLORD).await;
    let grid = grid_id.to_string();
    for (address, label) in [
        (format!("锦绣村东区{NUL} 12 号"), "101".to_string()),
        ("锦绣村东区 12 号".to_string(), format!("1{NUL}01")),
    ] {
        let r = page
            .post_form(
                "/landlord/houses",
                &[
                    ("grid_id", grid.as_str()),
                    ("address", address.as_str()),
                    ("floors", "2"),
                    ("structure", "brick_concrete"),
                    ("rooms[0].label", label.as_str()),
                    ("rooms[0].floor", "1"),
                    ("rooms[0].area_m2", "12"),
                    ("rooms[0].kind", "bedroom"),
                ],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
        assert!(r.into_string().await.unwrap().contains("不能包含控制字符"));
    }
    assert_eq!(app.count("properties").await, houses, "nothing written");
}

#[rocket::async_test]
async fn a_nul_in_a_reject_reason_or_a_fix_note_changes_nothing() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let id =
        submitted_application_with(&app, &landlord, "锦绣村东区 30 号", design_example_rooms())
            .await;
    let official = app.api(OFFICIAL_JX).await;
    let (_, before) = official.get(&format!("/applications/{id}")).await;
    let (s, v) = official
        .post(
            &format!("/applications/{id}/reject"),
            json!({"reason": format!("材料不全{NUL}")}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert_eq!(v["fields"]["reason"][0], "不能包含控制字符");
    let page = app.signed_in(OFFICIAL_JX).await;
    let r = page
        .post_form(
            &format!("/official/applications/{id}/reject"),
            &[("reason", &format!("材料不全{NUL}"))],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let (_, a) = official.get(&format!("/applications/{id}")).await;
    assert_eq!(a["status"], before["status"], "{a}");
    assert!(a["reject_reason"].is_null(), "{a}");

    let (s, v) = landlord
        .post(
            "/findings/1/fix",
            json!({"note": format!("已整改{NUL}"), "photo_ids": ["00000000-0000-0000-0000-000000000000"]}),
        )
        .await;
    assert!(refused(s), "{s} {v}");
    assert_eq!(v["fields"]["note"][0], "不能包含控制字符", "{v}");
}

#[rocket::async_test]
async fn a_nul_in_a_check_in_is_refused_on_the_page_and_the_api() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let room = permit_rooms(&app, &number).await[0].to_string();
    let today = today_cst().to_string();
    let stays = app.count("stays").await;
    let landlord = app.api(LANDLORD).await;
    for (field, value) in [
        ("name", format!("李{NUL}四")),
        ("phone", format!("1391234567{NUL}8")),
        ("employer", format!("电子厂{NUL}")),
    ] {
        let mut body = json!({"sig": sig, "name": "李四", "doc_type": "resident_id",
            "doc_number": resident_id(7), "phone": "13912345678", "room_id": room, "move_in": today});
        body[field] = json!(value);
        let (s, v) = landlord
            .post(&format!("/permits/{number}/stays"), body)
            .await;
        assert_eq!(s, Status::UnprocessableEntity, "{field}: {v}");
        assert!(v["fields"][field].is_array(), "{field}: {v}");
    }
    let b = app.browser().await;
    let r = b
        .post_form(
            &format!("/p/{number}/checkin?sig={}", urlencode(&sig)),
            &[
                ("name", &format!("李{NUL}四")),
                ("doc_type", "resident_id"),
                ("doc_number", &resident_id(7)),
                ("phone", "13912345678"),
                ("room_id", &room),
                ("move_in", &today),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(r.into_string().await.unwrap().contains("不能包含控制字符"));
    assert_eq!(app.count("stays").await, stays, "nothing written");
}

#[rocket::async_test]
async fn a_nul_in_a_path_segment_is_a_not_found_not_a_server_error() {
    let app = TestApp::new().await;
    let official = app.api(OFFICIAL_JX).await;
    for path in ["/permits/HJ-JX-2026-%00001", "/permits/%00"] {
        let (s, _) = official.get(path).await;
        assert_eq!(s, Status::NotFound, "{path}");
    }
    let page = app.signed_in(OFFICIAL_JX).await;
    for path in [
        "/official/permits/HJ-JX-2026-%00001",
        "/photos/%00",
        "/p/%00",
        "/p/HJ-JX-2026-000001%00/checkin?sig=a%00b",
    ] {
        let (s, _) = page.get_text(path).await;
        assert!(s.code < 500, "{path}: {s}");
    }
    let (s, _) = official.get("/verify/%00?sig=%00").await;
    assert!(s.code < 500, "{s}");
}
