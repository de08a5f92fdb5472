//! The landlord's application page (issue 13 item 4): one form, so an upload or a submit keeps
//! the declaration typed before it; 续期 instead of a second application; drafts can be deleted;
//! a new draft starts from the house's last application.
mod common;

use anju::entities::application;
use common::*;
use rocket::http::Status;
use sea_orm::EntityTrait;
use serde_json::json;

async fn house_and_draft(app: &TestApp, b: &Browser) -> (i64, i32) {
    let landlord = app.api(LANDLORD).await;
    let (village, grid) = village_and_grid(app, "锦绣村第一网格").await;
    let (s, house) = landlord
        .post(
            "/properties",
            json!({"village_id": village, "grid_id": grid, "address": "锦绣村南区 5 号",
                "floors": 2, "structure": "brick_concrete", "rooms": design_example_rooms()}),
        )
        .await;
    assert_eq!(s, Status::Created);
    let house = house["id"].as_i64().unwrap();
    let r = b
        .post_form(&format!("/landlord/houses/{house}/apply"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let to = r.headers().get_one("Location").unwrap().to_string();
    let id = to.rsplit('/').next().unwrap().parse().unwrap();
    (house, id)
}

#[rocket::async_test]
async fn uploading_a_photo_keeps_the_declaration_typed_before_it() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let (_, id) = house_and_draft(&app, &b).await;
    let (s, page) = b.get_text(&format!("/landlord/applications/{id}")).await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains("id=\"app-form\"") && page.contains("name=\"file_house_photo\""));
    // Half a declaration, then the photo: the upload succeeds and the text comes back.
    let r = b
        .post_multipart_files(
            &format!("/landlord/applications/{id}/documents"),
            &[
                ("owner_name", "张三丰"),
                ("intended_use", "整栋出租"),
                ("kind", "house_photo"),
            ],
            &[("file_house_photo", png(40, 30))],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let page = r.into_string().await.unwrap();
    assert!(page.contains("材料已上传"), "{page}");
    assert!(page.contains("value=\"张三丰\"") && page.contains("整栋出租"));
    // A whole declaration with the photo is saved at once.
    let r = b
        .post_multipart_files(
            &format!("/landlord/applications/{id}/documents"),
            &[
                ("owner_name", "张三丰"),
                ("ownership_doc_no", "浙(2020)花街镇不动产权第0007654号"),
                ("kind", "ownership_proof"),
            ],
            &[("file_ownership_proof", png(40, 30))],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let a = application::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.owner_name.as_deref(), Some("张三丰"));
    assert_eq!(app.count("application_documents").await, 2);
    // Submitting from the same form saves a changed declaration first.
    let r = b
        .post_form(
            &format!("/landlord/applications/{id}/submit"),
            &[
                ("owner_name", "张三"),
                ("ownership_doc_no", "浙(2020)花街镇不动产权第0007654号"),
                ("pledge_accepted", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let a = application::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.owner_name.as_deref(), Some("张三"));
    assert_eq!(a.status, "submitted");
}

#[rocket::async_test]
async fn a_draft_can_be_deleted_but_a_submitted_application_cannot() {
    let app = TestApp::new().await;
    let b = app.signed_in(LANDLORD).await;
    let (house, id) = house_and_draft(&app, &b).await;
    let (_, page) = b.get_text(&format!("/landlord/applications/{id}")).await;
    assert!(page.contains("删除这份草稿"));
    let other = app.signed_in(OFFICIAL_JX).await;
    let r = other
        .post_form(&format!("/landlord/applications/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = b
        .post_form(&format!("/landlord/applications/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(
        application::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.count("application_events").await, 0);
    // The house can be applied for again.
    let r = b
        .post_form(&format!("/landlord/houses/{house}/apply"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let submitted = submitted_application_with(
        &app,
        &app.api(LANDLORD).await,
        "锦绣村南区 9 号",
        design_example_rooms(),
    )
    .await;
    let r = b
        .post_form(&format!("/landlord/applications/{submitted}/delete"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert!(
        application::Entity::find_by_id(submitted)
            .one(&app.db)
            .await
            .unwrap()
            .is_some(),
        "a submitted application stays on record"
    );
}

#[rocket::async_test]
async fn a_new_draft_starts_from_the_houses_last_application() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let first =
        submitted_application_with(&app, &landlord, "锦绣村南区 7 号", design_example_rooms())
            .await;
    mark_passed(&app, first, "green").await;
    let (s, _) = app
        .api(OFFICIAL_JX)
        .await
        .post(
            &format!("/applications/{first}/reject"),
            json!({"reason": "材料不清晰"}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let house = application::Entity::find_by_id(first)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .property_id;
    let (s, draft) = landlord
        .post("/applications", json!({"property_id": house}))
        .await;
    assert_eq!(s, Status::Created, "{draft}");
    let second = draft["id"].as_i64().unwrap() as i32;
    let a = application::Entity::find_by_id(second)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.owner_name.as_deref(), Some("王房东"));
    assert_eq!(
        a.ownership_doc_no.as_deref(),
        Some("浙(2020)花街镇不动产权第0001234号")
    );
    assert_eq!(
        draft["documents"].as_array().map(Vec::len),
        Some(2),
        "{draft}"
    );
    let b = app.signed_in(LANDLORD).await;
    let (_, page) = b
        .get_text(&format!("/landlord/applications/{second}"))
        .await;
    assert!(page.contains("value=\"王房东\""));
}

#[rocket::async_test]
async fn a_house_with_an_active_permit_offers_renewal_instead_of_a_second_application() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let house = anju::entities::permit::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.number == number)
        .unwrap()
        .property_id;
    let b = app.signed_in(LANDLORD).await;
    let (_, page) = b.get_text(&format!("/landlord/houses/{house}")).await;
    assert!(page.contains(&format!("/landlord/permits/{number}/renew")) && page.contains("续期"));
    assert!(
        !page.contains("申请准入证</button>"),
        "no second application button"
    );
    let r = b
        .post_form(&format!("/landlord/permits/{number}/renew"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
}
