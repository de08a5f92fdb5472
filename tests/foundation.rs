//! Foundation: accounts and roles, CSRF, houses and applications through pages and API, uploads, audit.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::json;

async fn grid_of(app: &TestApp, name: &str) -> (i32, i32) {
    use anju::entities::grid;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let g = grid::Entity::find()
        .filter(grid::Column::Name.eq(name))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    (g.village_id, g.id)
}

/// Records a house as the given browser and returns its id.
async fn record_house(app: &TestApp, b: &Browser) -> i32 {
    let (v, g) = grid_of(app, "锦绣村第一网格").await;
    let (v, g) = (v.to_string(), g.to_string());
    let r = b
        .post_form(
            "/landlord/houses",
            &[
                ("village_id", &v),
                ("grid_id", &g),
                ("address", "锦绣村东区 12 号"),
                ("floors", "3"),
                ("structure", "brick_concrete"),
                ("rooms[0].label", "101"),
                ("rooms[0].floor", "1"),
                ("rooms[0].area_m2", "14"),
                ("rooms[0].kind", "bedroom"),
                ("rooms[1].label", "102"),
                ("rooms[1].floor", "1"),
                ("rooms[1].area_m2", "12.5"),
                ("rooms[1].kind", "bedroom"),
                ("rooms[2].label", "厨房"),
                ("rooms[2].floor", "1"),
                ("rooms[2].area_m2", "8"),
                ("rooms[2].kind", "kitchen"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let loc = r.headers().get_one("Location").unwrap().to_string();
    loc.rsplit('/').next().unwrap().parse().unwrap()
}

async fn start_application(b: &Browser, house: i32) -> i32 {
    let r = b
        .post_form(&format!("/landlord/houses/{house}/apply"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let loc = r.headers().get_one("Location").unwrap().to_string();
    loc.rsplit('/').next().unwrap().parse().unwrap()
}

#[rocket::async_test]
async fn each_role_lands_on_its_own_home() {
    let app = TestApp::new().await;
    for (phone, path, text) in [
        (LANDLORD, "/landlord", "我的房屋"),
        (INSPECTOR_JX, "/inspector", "锦绣村第一网格"),
        (OFFICIAL_JX, "/official", "锦绣村"),
        (ADMIN, "/admin", "镇综合信息指挥室"),
    ] {
        let b = app.signed_in(phone).await;
        let r = b.get("/").await;
        assert_eq!(r.headers().get_one("Location"), Some(path), "{phone}");
        let (s, html) = b.get_text(path).await;
        assert_eq!(s, Status::Ok, "{phone}");
        assert!(html.contains(text), "{phone} home shows {text}");
    }
}

#[rocket::async_test]
async fn a_landlord_cannot_open_another_role_area() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    assert_eq!(b.get("/admin").await.status(), Status::Forbidden);
    assert_eq!(b.get("/official").await.status(), Status::Forbidden);
    let anon = app.browser().await;
    let r = anon.get("/landlord").await;
    assert_eq!(
        r.headers().get_one("Location"),
        Some("/login"),
        "anonymous visitors are sent to sign in"
    );
}

#[rocket::async_test]
async fn a_landlord_records_a_house_and_submits_an_application_that_reads_submitted() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let house = record_house(&app, &b).await;
    let (_, html) = b.get_text(&format!("/landlord/houses/{house}")).await;
    assert!(html.contains("锦绣村东区 12 号") && html.contains("12.5 m²"));
    let id = start_application(&b, house).await;
    let r = b
        .post_form(
            &format!("/landlord/applications/{id}/declaration"),
            &[
                ("owner_name", "王房东"),
                ("ownership_doc_no", "浙(2020)花街镇不动产权第0001234号"),
                ("intended_use", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    for kind in ["ownership_proof", "house_photo"] {
        let r = b
            .post_multipart(
                &format!("/landlord/applications/{id}/documents"),
                &[("kind", kind)],
                &png(80, 60),
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther, "{kind} upload");
    }
    let r = b
        .post_form(
            &format!("/landlord/applications/{id}/submit"),
            &[("pledge_accepted", "true")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = b.get_text(&format!("/landlord/applications/{id}")).await;
    assert!(html.contains("已提交"), "status badge");
    assert!(
        html.contains("已签署安全责任承诺书并提交申请"),
        "timeline entry"
    );
    assert!(app.count("audit_log").await > 6, "every change is audited");
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        None,
        "the audit chain holds"
    );
}

#[rocket::async_test]
async fn submitting_without_the_pledge_or_documents_is_refused_field_by_field() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let house = record_house(&app, &b).await;
    let id = start_application(&b, house).await;
    let r = b
        .post_form(&format!("/landlord/applications/{id}/submit"), &[])
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let html = r.into_string().await.unwrap();
    for msg in [
        "请阅读并同意《安全责任承诺书》",
        "请上传产权证明",
        "请至少上传一张房屋照片",
        "请先填写并保存申报信息",
    ] {
        assert!(html.contains(msg), "{msg}");
    }
    let (_, html) = b.get_text(&format!("/landlord/applications/{id}")).await;
    assert!(html.contains("草稿"), "still a draft");
}

#[rocket::async_test]
async fn a_house_form_with_bad_values_is_refused_beside_each_field_and_stores_nothing() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let before = app.count("properties").await;
    let r = b
        .post_form(
            "/landlord/houses",
            &[
                ("village_id", ""),
                ("grid_id", "x"),
                ("address", "短"),
                ("floors", "0"),
                ("structure", "cardboard"),
                ("rooms[0].label", "101"),
                ("rooms[0].floor", "1"),
                ("rooms[0].area_m2", "-5"),
                ("rooms[0].kind", "garage"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let html = r.into_string().await.unwrap();
    for msg in [
        "请选择所属网格",
        "至少 5 个字",
        "层数须在 1 至 50 之间",
        "请选择房屋结构",
        "面积须大于 0",
        "请选择房间用途",
    ] {
        assert!(html.contains(msg), "message {msg}");
    }
    assert!(html.contains("value=\"短\""), "what was typed is kept");
    assert_eq!(app.count("properties").await, before);
    assert_eq!(app.count("rooms").await, 0);
}

#[rocket::async_test]
async fn a_grid_of_another_village_is_refused() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let (jx, _) = grid_of(&app, "锦绣村第一网格").await;
    let (_, nz_grid) = grid_of(&app, "倪宅村第一网格").await;
    let r = b
        .post_form(
            "/landlord/houses",
            &[
                ("village_id", &jx.to_string()),
                ("grid_id", &nz_grid.to_string()),
                ("address", "锦绣村东区 12 号"),
                ("floors", "2"),
                ("structure", "frame"),
                ("rooms[0].label", "101"),
                ("rooms[0].floor", "1"),
                ("rooms[0].area_m2", "14"),
                ("rooms[0].kind", "bedroom"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(
        r.into_string()
            .await
            .unwrap()
            .contains("所选网格不属于该村")
    );
}

#[rocket::async_test]
async fn a_post_without_a_valid_csrf_token_is_refused() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let before = app.count("properties").await;
    let fields = [("address", "锦绣村东区 12 号")];
    let r = b
        .post_form_with_token("/landlord/houses", &fields, None)
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = b
        .post_form_with_token("/landlord/houses", &fields, Some("forged-token"))
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert!(r.into_string().await.unwrap().contains("页面已过期"));
    let anon = app.browser().await;
    let r = anon
        .post_form_with_token(
            "/login",
            &[("phone", LANDLORD), ("password", DEMO_PASSWORD)],
            None,
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden, "sign-in needs the token too");
    assert_eq!(app.count("properties").await, before);
}

#[rocket::async_test]
async fn a_landlord_cannot_see_or_change_another_landlords_house_or_application() {
    let app = TestApp::new().await;
    let owner = app.signed_in(LANDLORD).await;
    let house = record_house(&app, &owner).await;
    let id = start_application(&owner, house).await;

    let other = app.browser().await;
    let r = other
        .post_form(
            "/register",
            &[
                ("name", "李四"),
                ("phone", "13800001111"),
                ("password", "secret-pass"),
                ("password2", "secret-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        other
            .get(&format!("/landlord/houses/{house}"))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        other
            .get(&format!("/landlord/houses/{house}/edit"))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        other
            .get(&format!("/landlord/applications/{id}"))
            .await
            .status(),
        Status::Forbidden
    );
    let r = other
        .post_form(
            &format!("/landlord/applications/{id}/submit"),
            &[("pledge_accepted", "true")],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = other
        .post_form(&format!("/landlord/houses/{house}/apply"), &[])
        .await;
    assert_eq!(
        r.status(),
        Status::SeeOther,
        "refused with a message on the house page"
    );
    assert_eq!(app.count("applications").await, 1);

    let api_other = {
        let b = app.browser().await;
        let v: serde_json::Value = {
            let r = b
                .client
                .post("/api/v1/auth/login")
                .header(rocket::http::ContentType::JSON)
                .body(json!({"phone": "13800001111", "password": "secret-pass"}).to_string())
                .dispatch()
                .await;
            serde_json::from_str(&r.into_string().await.unwrap()).unwrap()
        };
        Api {
            client: b.client,
            token: v["token"].as_str().unwrap().to_string(),
        }
    };
    assert_eq!(
        api_other.get(&format!("/properties/{house}")).await.0,
        Status::Forbidden
    );
    assert_eq!(
        api_other.get(&format!("/applications/{id}")).await.0,
        Status::Forbidden
    );
    assert_eq!(
        api_other
            .post(
                &format!("/applications/{id}/submit"),
                json!({"pledge_accepted": true})
            )
            .await
            .0,
        Status::Forbidden
    );
    let (s, v) = api_other.get("/properties").await;
    assert_eq!(s, Status::Ok);
    assert_eq!(v["total"], 0, "only their own houses are listed");
}

#[rocket::async_test]
async fn an_official_sees_only_applications_of_their_village() {
    let app = TestApp::new().await;
    let owner = app.signed_in(LANDLORD).await;
    let house = record_house(&app, &owner).await;
    let id = start_application(&owner, house).await;
    let jx = app.signed_in(OFFICIAL_JX).await;
    assert_eq!(
        jx.get(&format!("/official/applications/{id}"))
            .await
            .status(),
        Status::Ok
    );
    let nz = app.signed_in(OFFICIAL_NZ).await;
    assert_eq!(
        nz.get(&format!("/official/applications/{id}"))
            .await
            .status(),
        Status::Forbidden
    );
    let nz_api = app.api(OFFICIAL_NZ).await;
    assert_eq!(
        nz_api.get(&format!("/applications/{id}")).await.0,
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn a_file_that_is_not_an_image_or_claims_a_huge_canvas_is_refused() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    let before = app.count("uploads").await;
    let (s, v) = api.upload(b"%PDF-1.4 not a photo at all").await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        v["fields"]["file"][0].as_str().unwrap().contains("JPEG"),
        "{v}"
    );
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&20000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20000u32.to_be_bytes());
    let (s, _) = api.upload(&bomb).await;
    assert!(s.code >= 400 && s.code < 500, "{s}");
    assert_eq!(app.count("uploads").await, before);
}

#[rocket::async_test]
async fn an_uploaded_photo_is_stored_without_exif() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    let original = jpeg_with_exif();
    assert!(original.windows(4).any(|w| w == b"Exif"));
    let (s, v) = api.upload(&original).await;
    assert_eq!(s, Status::Created, "{v}");
    let sha = v["sha256"].as_str().unwrap();
    let path = app
        .config
        .uploads_dir()
        .join(&sha[..2])
        .join(format!("{sha}.jpg"));
    let stored = std::fs::read(path).unwrap();
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "no EXIF block");
    assert!(!stored.windows(11).any(|w| w == b"GPSLatitude"), "no GPS");
    assert_eq!(v["width"], 64);
}

#[rocket::async_test]
async fn the_sixth_wrong_password_within_the_window_is_refused_even_when_right() {
    let app = TestApp::new().await;
    let b = app.browser().await;
    for _ in 0..5 {
        let r = b
            .post_form(
                "/login",
                &[("phone", LANDLORD), ("password", "wrong-password")],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity);
    }
    let r = b
        .post_form(
            "/login",
            &[("phone", LANDLORD), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), Status::TooManyRequests);
    assert!(r.into_string().await.unwrap().contains("分钟后再试"));
    // Another account from the same address is not locked out by one account's failures.
    let r = b
        .post_form("/login", &[("phone", ADMIN), ("password", DEMO_PASSWORD)])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
}

#[rocket::async_test]
async fn one_address_is_limited_across_accounts_at_a_higher_configurable_limit() {
    let app = TestApp::with(|c| c.login_ip_limit = 8).await;
    let b = app.browser().await;
    let phones = ["13800000001", "13800000002", "13800000003", "13800000004"];
    for i in 0..8 {
        let r = b
            .post_form(
                "/login",
                &[("phone", phones[i % 4]), ("password", "nope-nope")],
            )
            .await;
        assert_eq!(r.status(), Status::UnprocessableEntity, "attempt {i}");
    }
    let r = b
        .post_form("/login", &[("phone", ADMIN), ("password", DEMO_PASSWORD)])
        .await;
    assert_eq!(r.status(), Status::TooManyRequests);
}

#[rocket::async_test]
async fn the_api_rate_limits_sign_in_too() {
    let app = TestApp::new().await;
    let api = app.api(ADMIN).await;
    for _ in 0..5 {
        let (s, v) = api
            .post(
                "/auth/login",
                json!({"phone": LANDLORD, "password": "bad-password"}),
            )
            .await;
        assert_eq!(s, Status::UnprocessableEntity);
        assert_eq!(v["error"], "validation_failed");
    }
    let (s, v) = api
        .post(
            "/auth/login",
            json!({"phone": LANDLORD, "password": DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(s, Status::TooManyRequests);
    assert_eq!(v["error"], "too_many_requests");
}

#[rocket::async_test]
async fn the_demo_seed_is_idempotent() {
    let app = TestApp::new().await;
    let users = app.count("users").await;
    let grids = app.count("grids").await;
    assert_eq!((users, grids, app.count("villages").await), (6, 6, 3));
    assert!(!anju::services::seed::seed_demo(&app.db).await.unwrap());
    assert_eq!(app.count("users").await, users);
    assert_eq!(app.count("grids").await, grids);
}

#[rocket::async_test]
async fn the_api_covers_registration_houses_applications_and_submission() {
    let app = TestApp::new().await;
    let anon = app.browser().await;
    let r = anon
        .client
        .post("/api/v1/landlords")
        .header(rocket::http::ContentType::JSON)
        .body(json!({"name": "赵六", "phone": "13700007777", "password": "short"}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    assert!(v["fields"]["password"].is_array());
    assert_eq!(app.count("users").await, 6, "nothing stored");

    let api = app.api(LANDLORD).await;
    let (_, villages) = api.get("/villages").await;
    let jx = villages
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "JX")
        .unwrap();
    let (s, house) = api.post("/properties", json!({
        "village_id": jx["id"], "grid_id": jx["grids"][0]["id"], "address": "锦绣村西区 3 号", "floors": 2, "structure": "frame",
        "rooms": [{"label": "201", "floor": 2, "area_m2": 15.5, "kind": "bedroom"}, {"label": "厨房", "floor": 1, "area_m2": 6, "kind": "kitchen"}]
    })).await;
    assert_eq!(s, Status::Created, "{house}");
    assert_eq!(house["rooms"].as_array().unwrap().len(), 2);
    assert!(house["rooms"][0]["id"].is_number());
    let (s, bad) = api.post("/properties", json!({"village_id": jx["id"], "grid_id": jx["grids"][0]["id"], "address": "x", "floors": 2, "structure": "frame", "rooms": [{"label": "1", "floor": 1, "area_m2": "abc", "kind": "bedroom"}]})).await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(
        bad["fields"]["address"].is_array() && bad["fields"]["rooms[0].area_m2"].is_array(),
        "{bad}"
    );

    let (s, draft) = api
        .post("/applications", json!({"property_id": house["id"]}))
        .await;
    assert_eq!(s, Status::Created);
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    let (s, refused) = api
        .post(
            &format!("/applications/{id}/submit"),
            json!({"pledge_accepted": false}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(refused["fields"]["pledge_accepted"].is_array());
    for kind in ["ownership_proof", "house_photo"] {
        let (_, photo) = api.upload(&png(30, 30)).await;
        let (s, _) = api
            .post(
                &format!("/applications/{id}/documents"),
                json!({"kind": kind, "photo_id": photo["id"]}),
            )
            .await;
        assert_eq!(s, Status::Created);
    }
    let (s, done) = api
        .post(
            &format!("/applications/{id}/submit"),
            json!({"pledge_accepted": true, "owner_name": "王房东", "ownership_doc_no": "X-001"}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{done}");
    assert_eq!(done["status"], "submitted");
    assert_eq!(
        done["history"].as_array().unwrap().last().unwrap()["status"],
        "submitted"
    );
    let (s, _) = api
        .post(
            &format!("/applications/{id}/submit"),
            json!({"pledge_accepted": true}),
        )
        .await;
    assert_eq!(
        s,
        Status::Conflict,
        "a submitted application cannot be submitted again"
    );
}

#[rocket::async_test]
async fn api_errors_are_json_with_the_right_status() {
    let app = TestApp::new().await;
    let anon = app.browser().await;
    let r = anon.client.get("/api/v1/villages").dispatch().await;
    assert_eq!(r.status(), Status::Unauthorized);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    assert_eq!(v["error"], "unauthorized");
    let api = app.api(LANDLORD).await;
    let (s, v) = api.get("/properties/999999").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (Status::NotFound, Some("not_found"))
    );
    let r = api
        .client
        .post("/api/v1/properties")
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {}", api.token),
        ))
        .header(rocket::http::ContentType::JSON)
        .body("{not json")
        .dispatch()
        .await;
    assert!(r.status().code == 400 || r.status().code == 422);
    let v: serde_json::Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    assert!(v["error"].is_string());
}

#[rocket::async_test]
async fn a_revoked_token_no_longer_works() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    assert_eq!(api.get("/villages").await.0, Status::Ok);
    assert_eq!(api.post("/auth/logout", json!({})).await.0, Status::Ok);
    assert_eq!(api.get("/villages").await.0, Status::Unauthorized);
}

#[rocket::async_test]
async fn every_response_carries_security_headers() {
    let app = TestApp::new().await;
    let b = app.browser().await;
    let r = b.get("/login").await;
    let csp = r.headers().get_one("Content-Security-Policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        r.headers().get_one("X-Content-Type-Options"),
        Some("nosniff")
    );
    let cookies: Vec<_> = r.headers().get("Set-Cookie").collect();
    assert!(
        cookies
            .iter()
            .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
}

#[rocket::async_test]
async fn the_admin_makes_villages_grids_and_an_inspector() {
    let app = TestApp::new().await;
    let b = app.signed_in(ADMIN).await;
    let r = b
        .post_form("/admin/villages", &[("code", "LS"), ("name", "溪口村")])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let r = b
        .post_form("/admin/villages", &[("code", "ls"), ("name", "重复村")])
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity, "codes are unique");
    let vid = {
        use anju::entities::village;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        village::Entity::find()
            .filter(village::Column::Code.eq("LS"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let r = b
        .post_form(
            "/admin/grids",
            &[("village_id", &vid.to_string()), ("name", "溪口村第一网格")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (gv, gid) = grid_of(&app, "溪口村第一网格").await;
    assert_eq!(gv, vid);
    let r = b
        .post_form(
            "/admin/users",
            &[
                ("role", "inspector"),
                ("name", "新网格员"),
                ("phone", "13611112222"),
                ("password", "grid-worker-1"),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        Status::UnprocessableEntity,
        "an inspector needs a grid"
    );
    assert!(
        r.into_string()
            .await
            .unwrap()
            .contains("网格员须至少分配一个网格")
    );
    let r = b
        .post_form(
            "/admin/users",
            &[
                ("role", "inspector"),
                ("name", "新网格员"),
                ("phone", "13611112222"),
                ("password", "grid-worker-1"),
                ("grid_ids", &gid.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = b.get_text("/admin/users").await;
    assert!(html.contains("13611112222") && html.contains("溪口村第一网格"));
    let new_id = {
        use anju::entities::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        user::Entity::find()
            .filter(user::Column::Phone.eq("13611112222"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let (_, other_grid) = grid_of(&app, "倪宅村第一网格").await;
    let r = b
        .post_form(
            &format!("/admin/users/{new_id}/grids"),
            &[("grid_ids", &other_grid.to_string())],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        anju::services::town::inspector_grid_ids(&app.db, new_id)
            .await
            .unwrap(),
        vec![other_grid]
    );
    let r = b
        .post_form(&format!("/admin/users/{new_id}/grids"), &[])
        .await;
    assert_eq!(
        r.status(),
        Status::UnprocessableEntity,
        "an inspector keeps at least one grid"
    );
    let landlord = app.signed_in(LANDLORD).await;
    let r = landlord
        .post_form("/admin/villages", &[("code", "ZZ"), ("name", "冒充村")])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn an_edited_audit_entry_breaks_the_chain_where_it_was_edited() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    record_house(&app, &b).await;
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        None
    );
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE audit_log SET detail = '{\"forged\":true}' WHERE id = 3",
        ))
        .await
        .unwrap();
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        Some(3)
    );
}

/// This process remembers the hash it appended last and lets the insert check it; an entry
/// appended meanwhile by another instance (or another database altogether) must not fork the
/// chain: the next entry chains to the real tail.
#[rocket::async_test]
async fn an_entry_appended_by_another_instance_is_chained_to_not_forked() {
    let app = TestApp::new().await;
    let other = TestApp::new().await;
    for (i, db) in [&app.db, &other.db, &app.db, &app.db, &other.db]
        .into_iter()
        .enumerate()
    {
        let tx = anju::db::begin_write(db).await.unwrap();
        anju::services::audit::record(&tx, None, "test.entry", "test", i, json!({"i": i}))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // Another instance's entry, written straight after this process's last one.
    let tx = anju::db::begin_write(&app.db).await.unwrap();
    anju::services::audit::record_many(
        &tx,
        vec![anju::services::audit::Entry {
            actor_id: None,
            action: "test.other_instance",
            entity: "test",
            entity_id: "x".into(),
            detail: json!({}),
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // ... and one written by an instance that appended without this process knowing.
    use anju::entities::audit_entry as a;
    use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
    let tail = a::Entity::find()
        .order_by_desc(a::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let foreign = anju::services::audit::chain_hash(
        &tail.hash,
        &at.to_rfc3339(),
        None,
        "test.foreign",
        "test",
        "y",
        "{}",
    );
    a::ActiveModel {
        at: Set(at),
        actor_id: Set(None),
        action: Set("test.foreign".into()),
        entity: Set("test".into()),
        entity_id: Set("y".into()),
        detail: Set("{}".into()),
        prev_hash: Set(tail.hash.clone()),
        hash: Set(foreign.clone()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let tx = anju::db::begin_write(&app.db).await.unwrap();
    anju::services::audit::record(&tx, None, "test.after", "test", 9, json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let last = a::Entity::find()
        .order_by_desc(a::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.action, "test.after");
    assert_eq!(
        last.prev_hash, foreign,
        "chained to the foreign entry, not to this process's last"
    );
    for db in [&app.db, &other.db] {
        let entries = a::Entity::find().all(db).await.unwrap();
        let forks = entries
            .iter()
            .filter(|e| {
                entries
                    .iter()
                    .filter(|o| o.prev_hash == e.prev_hash)
                    .count()
                    > 1
            })
            .count();
        assert_eq!(forks, 0, "no two entries chain to the same one");
        assert_eq!(anju::services::audit::verify_chain(db).await.unwrap(), None);
    }
}

#[rocket::async_test]
async fn the_admin_reads_the_audit_log_and_checks_its_chain_on_request() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    record_house(&app, &b).await;
    let admin = app.signed_in(ADMIN).await;
    let (s, html) = admin.get_text("/admin/audit").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("property.create") && html.contains("校验哈希链"));
    let (_, html) = admin.get_text("/admin/audit?verify=true").await;
    assert!(html.contains("哈希链校验完整"));
    assert_eq!(b.get("/admin/audit").await.status(), Status::Forbidden);
}
