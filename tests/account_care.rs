//! Account care (issue 13 item 9): the admin's temporary password signs in once and then must be
//! replaced; the admin renames villages and grids.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::json;

async fn reset(app: &TestApp, phone: &str) -> String {
    let id = {
        use anju::entities::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        user::Entity::find()
            .filter(user::Column::Phone.eq(phone))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let (s, v) = app
        .api(ADMIN)
        .await
        .post(&format!("/users/{id}/reset-password"), json!({}))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    v["temporary_password"].as_str().unwrap().to_string()
}

#[rocket::async_test]
async fn a_temporary_password_signs_in_once_and_leads_to_choosing_a_new_one() {
    let app = TestApp::new().await;
    let temp = reset(&app, LANDLORD).await;
    let b = app.browser().await;
    let r = b
        .post_form("/login", &[("phone", LANDLORD), ("password", &temp)])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let to = r.headers().get_one("Location").unwrap().to_string();
    assert!(to.starts_with("/account/password"), "{to}");
    let (s, page) = b.get_text(&to).await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains("只能使用这一次"));
    // A second sign-in with it, on another phone, is refused.
    let other = app.browser().await;
    let r = other
        .post_form("/login", &[("phone", LANDLORD), ("password", &temp)])
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(
        r.into_string()
            .await
            .unwrap()
            .contains("临时密码只能使用一次")
    );
    // The signed-in session chooses a new password, which then signs in as usual.
    let r = b
        .post_form(
            "/account/password",
            &[
                ("current_password", &temp),
                ("new_password", "my-own-pass-2026"),
                ("new_password2", "my-own-pass-2026"),
            ],
        )
        .await;
    assert!(
        r.status() == Status::SeeOther || r.status() == Status::Ok,
        "{}",
        r.status()
    );
    let again = app.browser().await;
    let r = again
        .post_form(
            "/login",
            &[("phone", LANDLORD), ("password", "my-own-pass-2026")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(r.headers().get_one("Location"), Some("/landlord"));
    let r = again
        .post_form("/login", &[("phone", LANDLORD), ("password", &temp)])
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
}

#[rocket::async_test]
async fn through_the_api_a_temporary_password_also_signs_in_only_once() {
    let app = TestApp::new().await;
    let temp = reset(&app, INSPECTOR_JX).await;
    let b = app.browser().await;
    let login = || {
        b.client
            .post("/api/v1/auth/login")
            .header(rocket::http::ContentType::JSON)
            .body(json!({"phone": INSPECTOR_JX, "password": temp}).to_string())
            .dispatch()
    };
    assert_eq!(login().await.status(), Status::Ok);
    let r = login().await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(
        r.into_string()
            .await
            .unwrap()
            .contains("临时密码只能使用一次")
    );
}

#[rocket::async_test]
async fn the_admin_renames_a_village_and_a_grid_and_nobody_else_may() {
    let app = TestApp::new().await;
    let (village, grid) = village_and_grid(&app, "锦绣村第一网格").await;
    let admin = app.signed_in(ADMIN).await;
    let (_, page) = admin.get_text("/admin/villages").await;
    assert!(page.contains(&format!("/admin/villages/{village}/rename")));
    let r = admin
        .post_form(
            &format!("/admin/villages/{village}/rename"),
            &[("name", "锦绣社区")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let r = admin
        .post_form(
            &format!("/admin/grids/{grid}/rename"),
            &[("name", "锦绣社区东片网格")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, villages) = app.api(LANDLORD).await.get("/villages").await;
    let v = villages
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == village)
        .unwrap();
    assert_eq!(v["name"], "锦绣社区");
    assert_eq!(v["code"], "JX", "the code in permit numbers stays");
    assert!(
        v["grids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "锦绣社区东片网格")
    );
    // A name another village already has is refused; an empty one too.
    let r = admin
        .post_form(
            &format!("/admin/villages/{village}/rename"),
            &[("name", "倪宅村")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, page) = admin.get_text("/admin/villages").await;
    let flash = page
        .split("class=\"flash")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect::<String>();
    assert!(page.contains("已有同名的村"), "{flash}");
    let r = admin
        .post_form(
            &format!("/admin/villages/{village}/rename"),
            &[("name", " ")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let official = app.signed_in(OFFICIAL_JX).await;
    let r = official
        .post_form(
            &format!("/admin/villages/{village}/rename"),
            &[("name", "别名村")],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let (_, villages) = app.api(LANDLORD).await.get("/villages").await;
    assert!(villages.to_string().contains("锦绣社区") && !villages.to_string().contains("别名村"));
    let (_, log) = admin.get_text("/admin/audit?action=village.rename").await;
    assert!(
        log.contains("修改村名称") && log.contains("共 1 条记录"),
        "{log}"
    );
}
