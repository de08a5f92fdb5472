//! Houses changing hands and duplicate landlord accounts: the village official transfers a house
//! with its open application and permit, the old landlord loses it at once; the town admin merges
//! two accounts of one person and everything moves.
mod common;

use anju::entities::{audit_entry, permit, property, user};
use common::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

const NEW_OWNER: &str = "13800009999";

async fn account(app: &TestApp, phone: &str) -> Option<user::Model> {
    user::Entity::find()
        .filter(user::Column::Phone.eq(phone))
        .one(&app.db)
        .await
        .unwrap()
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<audit_entry::Model> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap()
}

async fn permit_of(app: &TestApp, number: &str) -> permit::Model {
    permit::Entity::find()
        .filter(permit::Column::Number.eq(number))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the permit")
}

/// The new owner claims the account the transfer made, with the official's claim code.
async fn claim(app: &TestApp, house: i32, phone: &str) -> Api {
    let official = app.api(OFFICIAL_JX).await;
    let (s, issued) = official
        .post(&format!("/properties/{house}/claim-code"), json!({}))
        .await;
    assert_eq!(s, Status::Created, "{issued}");
    let b = app.browser().await;
    let r = b
        .client
        .post("/api/v1/landlords")
        .header(rocket::http::ContentType::JSON)
        .body(
            json!({"name": "新房东", "phone": phone, "password": DEMO_PASSWORD,
                "sms_code": issued["claim_code"]})
            .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    app.api(phone).await
}

#[rocket::async_test]
async fn a_transferred_house_takes_its_permit_and_the_old_landlord_loses_it_at_once() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let before = permit_of(&app, &number).await;
    let house = before.property_id;
    let old = app.api(LANDLORD).await;
    let old_page = app.signed_in(LANDLORD).await;
    assert_eq!(old.get(&format!("/properties/{house}")).await.0, Status::Ok);

    // Another village's official, the landlord and a staff phone are refused; nothing moves.
    let nz = app.api(OFFICIAL_NZ).await;
    let path = format!("/properties/{house}/transfer");
    assert_eq!(
        nz.post(&path, json!({"to_phone": NEW_OWNER})).await.0,
        Status::Forbidden
    );
    assert_eq!(
        old.post(&path, json!({"to_phone": NEW_OWNER})).await.0,
        Status::Forbidden
    );
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(&path, json!({"to_phone": INSPECTOR_JX}))
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(v["fields"]["to_phone"].is_array(), "{v}");
    let (s, v) = official.post(&path, json!({"to_phone": "12345"})).await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert!(account(&app, NEW_OWNER).await.is_none());

    // The official's house page asks for confirmation before anything moves.
    let page = app.signed_in(OFFICIAL_JX).await;
    let (s, html) = page.get_text(&format!("/official/houses/{house}")).await;
    assert_eq!(s, Status::Ok);
    assert!(
        html.contains("转移房屋") && html.contains(&number),
        "{html}"
    );
    let r = page
        .post_form(
            &format!("/official/houses/{house}/transfer"),
            &[("to_phone", NEW_OWNER), ("to_name", "")],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let confirm = r.into_string().await.unwrap();
    assert!(
        confirm.contains("确认转移") && confirm.contains("138****9999"),
        "{confirm}"
    );
    assert!(
        account(&app, NEW_OWNER).await.is_none(),
        "nothing moved before confirming"
    );
    let r = page
        .post_form(
            &format!("/official/houses/{house}/transfer"),
            &[("to_phone", NEW_OWNER), ("to_name", ""), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);

    // The old landlord lost the house and its permit at once, on the API and on the pages.
    assert_eq!(
        old.get(&format!("/properties/{house}")).await.0,
        Status::Forbidden
    );
    let (s, _) = old.get(&format!("/permits/{number}")).await;
    assert!(matches!(s, Status::Forbidden | Status::NotFound), "{s}");
    let (_, list) = old.get("/permits").await;
    assert!(!list.to_string().contains(&number), "{list}");
    let s = old_page
        .get(&format!("/landlord/houses/{house}"))
        .await
        .status();
    assert!(matches!(s, Status::Forbidden | Status::NotFound), "{s}");
    let s = old_page
        .get(&format!("/landlord/permits/{number}"))
        .await
        .status();
    assert!(matches!(s, Status::Forbidden | Status::NotFound), "{s}");

    // The new owner's account was made unclaimed; once claimed it holds the house and the permit,
    // whose number and signature did not change (the landlord's name is not signed).
    let made = account(&app, NEW_OWNER)
        .await
        .expect("an account for the new phone");
    // The house page offers a claim code for the new, unclaimed owner and shows it once.
    let r = page
        .post_form(&format!("/official/houses/{house}/claim-code"), &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    let shown = r.into_string().await.unwrap();
    let at = shown.find("id=\"claim_code\">").expect("the code") + 16;
    let code: String = shown[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(code.len(), 8, "{shown}");
    assert_eq!(made.password_hash, anju::domain::account::UNCLAIMED);
    let new = claim(&app, house, NEW_OWNER).await;
    let (s, h) = new.get(&format!("/properties/{house}")).await;
    assert_eq!(s, Status::Ok, "{h}");
    let (s, p) = new.get(&format!("/permits/{number}")).await;
    assert_eq!(s, Status::Ok, "{p}");
    assert_eq!(p["number"], number.as_str());
    let after = permit_of(&app, &number).await;
    assert_eq!(
        (after.signature.as_str(), after.landlord_id),
        (sig.as_str(), made.id)
    );
    let b = app.browser().await;
    let (s, verify) = b
        .get_text(&format!("/p/{number}?sig={}", urlencode(&sig)))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(
        verify.contains("verdict ok"),
        "the printed QR still verifies"
    );

    let audit = audit_rows(&app, "property.transfer").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].entity_id, house.to_string());
    assert!(
        audit[0]
            .detail
            .contains(&format!("\"to_landlord_id\":{}", made.id))
            && audit[0].detail.contains("\"permits_moved\":1"),
        "{}",
        audit[0].detail
    );
}

#[rocket::async_test]
async fn a_transfer_moves_the_open_application_to_an_existing_landlord() {
    let app = TestApp::new().await;
    let old = app.api(LANDLORD).await;
    let application =
        submitted_application_with(&app, &old, "锦绣村北区 5 号", design_example_rooms()).await;
    let (_, a) = old.get(&format!("/applications/{application}")).await;
    let house = a["property"]["id"].as_i64().unwrap() as i32;
    // The receiving landlord registered on their own.
    let b = app.browser().await;
    let r = b
        .client
        .post("/api/v1/landlords")
        .header(rocket::http::ContentType::JSON)
        .body(json!({"name": "李新", "phone": NEW_OWNER, "password": DEMO_PASSWORD}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(
            &format!("/properties/{house}/transfer"),
            json!({"to_phone": NEW_OWNER}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(
        (
            v["account_created"].as_bool(),
            v["applications_moved"].as_u64()
        ),
        (Some(false), Some(1))
    );
    // To the same landlord again: refused beside the field.
    let (s, _) = official
        .post(
            &format!("/properties/{house}/transfer"),
            json!({"to_phone": NEW_OWNER}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);

    let new = app.api(NEW_OWNER).await;
    assert_eq!(
        new.get(&format!("/applications/{application}")).await.0,
        Status::Ok
    );
    let (_, mine) = new.get("/applications").await;
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(
        old.get(&format!("/applications/{application}")).await.0,
        Status::Forbidden
    );
    let old_page = app.signed_in(LANDLORD).await;
    let s = old_page
        .get(&format!("/landlord/applications/{application}"))
        .await
        .status();
    assert!(matches!(s, Status::Forbidden | Status::NotFound), "{s}");
}

#[rocket::async_test]
async fn the_admin_merges_a_duplicate_landlord_and_everything_moves() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 2).await;
    let old = app.api(LANDLORD).await;
    let application =
        submitted_application_with(&app, &old, "锦绣村北区 6 号", design_example_rooms()).await;
    let from = account(&app, LANDLORD).await.unwrap();
    let houses = app.count("properties").await;
    let b = app.browser().await;
    let r = b
        .client
        .post("/api/v1/landlords")
        .header(rocket::http::ContentType::JSON)
        .body(json!({"name": "王建国", "phone": NEW_OWNER, "password": DEMO_PASSWORD}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    let into = account(&app, NEW_OWNER).await.unwrap();
    // A notice of the old account, so that notices have something to move.
    {
        use anju::entities::notification;
        use sea_orm::{ActiveModelTrait, Set};
        notification::ActiveModel {
            user_id: Set(from.id),
            kind: Set("permit.approved".into()),
            title: Set("准入证核发".into()),
            body: Set("您的准入证已核发".into()),
            link: Set(None),
            created_at: Set(chrono::Utc::now()),
            read_at: Set(None),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let notices_before = anju::entities::notification::Entity::find()
        .filter(anju::entities::notification::Column::UserId.eq(from.id))
        .all(&app.db)
        .await
        .unwrap()
        .len();
    let owned_before = property::Entity::find()
        .filter(property::Column::LandlordId.eq(from.id))
        .all(&app.db)
        .await
        .unwrap()
        .len() as u64;
    assert!(owned_before >= 2);

    // Officials cannot merge; staff accounts cannot be merged.
    let official = app.api(OFFICIAL_JX).await;
    let path = format!("/landlords/{}/merge", from.id);
    assert_eq!(
        official.post(&path, json!({"into_id": into.id})).await.0,
        Status::Forbidden
    );
    let admin = app.api(ADMIN).await;
    let inspector = account(&app, INSPECTOR_JX).await.unwrap();
    let (s, _) = admin
        .post(
            &format!("/landlords/{}/merge", inspector.id),
            json!({"into_id": into.id}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);

    // The admin's page shows what would move, then merges on confirmation.
    let page = app.signed_in(ADMIN).await;
    assert_eq!(
        page.get("/admin/landlords/merge").await.status(),
        Status::Ok
    );
    let fields = [("from_phone", LANDLORD), ("into_phone", NEW_OWNER)];
    let r = page.post_form("/admin/landlords/merge", &fields).await;
    assert_eq!(r.status(), Status::Ok);
    let confirm = r.into_string().await.unwrap();
    assert!(
        confirm.contains("确认合并") && confirm.contains(&format!("房屋 {owned_before} 处")),
        "{confirm}"
    );
    assert!(
        account(&app, LANDLORD).await.unwrap().active,
        "nothing changed before confirming"
    );
    let r = page
        .post_form(
            "/admin/landlords/merge",
            &[fields[0], fields[1], ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);

    // Everything moved; the merged account is disabled and its token no longer works.
    assert!(!account(&app, LANDLORD).await.unwrap().active);
    assert_eq!(old.get("/properties").await.0, Status::Unauthorized);
    let new = app.api(NEW_OWNER).await;
    let (_, list) = new.get("/properties").await;
    assert_eq!(list["total"].as_u64(), Some(owned_before), "{list}");
    assert_eq!(new.get(&format!("/permits/{number}")).await.0, Status::Ok);
    assert_eq!(
        new.get(&format!("/applications/{application}")).await.0,
        Status::Ok
    );
    assert_eq!(
        app.count("properties").await,
        houses,
        "houses moved, none copied"
    );
    let notices_left = anju::entities::notification::Entity::find()
        .filter(anju::entities::notification::Column::UserId.eq(from.id))
        .all(&app.db)
        .await
        .unwrap();
    assert!(notices_left.is_empty());
    let (_, notices) = new.get("/notifications").await;
    assert!(
        notices.to_string().contains("您的准入证已核发"),
        "{notices}"
    );
    let audit = audit_rows(&app, "user.merge").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].entity_id, from.id.to_string());
    assert!(
        audit[0]
            .detail
            .contains(&format!("\"into_user_id\":{}", into.id))
            && audit[0]
                .detail
                .contains(&format!("\"houses\":{owned_before}"))
            && audit[0]
                .detail
                .contains(&format!("\"notifications\":{notices_before}"))
            && audit[0].detail.contains("\"disabled\":true"),
        "{}",
        audit[0].detail
    );
    // Merging an account into itself, or into the disabled one, is refused.
    let (s, _) = admin
        .post(
            &format!("/landlords/{}/merge", into.id),
            json!({"into_id": into.id}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    let (s, _) = admin
        .post(
            &format!("/landlords/{}/merge", into.id),
            json!({"into_id": from.id}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
}

async fn events_of(app: &TestApp, kind: &str) -> Vec<anju::entities::event::Model> {
    anju::entities::event::Entity::find()
        .filter(anju::entities::event::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
}

#[rocket::async_test]
async fn a_transfer_and_a_merge_each_record_one_outbox_event_for_the_new_holder() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let house = permit_of(&app, &number).await.property_id;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(
            &format!("/properties/{house}/transfer"),
            json!({"to_phone": NEW_OWNER}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let to = account(&app, NEW_OWNER).await.expect("the new holder");
    let ev = events_of(&app, "property.transferred").await;
    assert_eq!(ev.len(), 1, "one event, in the transfer's transaction");
    assert_eq!(ev[0].landlord_id, Some(to.id));
    let data: serde_json::Value = serde_json::from_str(&ev[0].payload).unwrap();
    assert_eq!(data["property_id"], house);
    assert_eq!(data["permits_moved"], 1);
    assert!(
        !ev[0].payload.contains(NEW_OWNER),
        "ids and counts, no phone"
    );

    let from = account(&app, LANDLORD).await.unwrap();
    let admin = app.api(ADMIN).await;
    let (s, v) = admin
        .post(
            &format!("/landlords/{}/merge", from.id),
            json!({"into_id": to.id}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    let ev = events_of(&app, "landlord.merged").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].landlord_id, Some(to.id));
    let data: serde_json::Value = serde_json::from_str(&ev[0].payload).unwrap();
    assert_eq!(data["from_user_id"], from.id);
}
