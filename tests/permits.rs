//! Permits: approval by the village official, numbering under concurrency, occupancy, the
//! permit lifecycle, signatures and keys, expiry and renewal.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

async fn approve(official: &Api, id: i32, body: Value) -> (Status, Value) {
    official
        .post(&format!("/applications/{id}/approve"), body)
        .await
}

async fn approved_number(app: &TestApp) -> String {
    let id = passed_application(app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = approve(&official, id, json!({})).await;
    assert_eq!(s, Status::Created, "{v}");
    v["permit_number"].as_str().expect("number").to_string()
}

#[rocket::async_test]
async fn the_official_of_the_village_approves_and_a_permit_is_issued_with_number_grade_and_validity()
 {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = approve(&official, id, json!({"valid_months": 24})).await;
    assert_eq!(s, Status::Created, "{v}");
    let number = v["permit_number"].as_str().unwrap();
    let year = today_cst().format("%Y").to_string();
    assert_eq!(number, format!("HJ-JX-{year}-000001"));
    let (s, p) = official.get(&format!("/permits/{number}")).await;
    assert_eq!(s, Status::Ok, "{p}");
    assert_eq!(p["status"], "active");
    assert_eq!(
        p["max_occupants"], 6,
        "14 + 12.5 + 20 m² and a kitchen allow 6"
    );
    assert_eq!(p["grade"], "green");
    let from =
        chrono::NaiveDate::parse_from_str(p["valid_from"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let until =
        chrono::NaiveDate::parse_from_str(p["valid_until"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(
        until,
        anju::domain::permit::valid_until(from, 24),
        "24 months of validity"
    );
    assert!(
        p["qr_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://127.0.0.1:8000/p/{number}?sig="))
    );
    let landlord = app.api(LANDLORD).await;
    let (s, a) = landlord.get(&format!("/applications/{id}")).await;
    assert_eq!(s, Status::Ok);
    assert_eq!(a["status"], "approved");
    assert_eq!(a["permit_number"], number);
    let (s, _) = landlord.get(&format!("/permits/{number}")).await;
    assert_eq!(s, Status::Ok, "the landlord reads their own permit");
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        None
    );
}

#[rocket::async_test]
async fn only_the_official_of_that_village_may_approve_or_reject() {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    for phone in [OFFICIAL_NZ, LANDLORD, INSPECTOR_JX, ADMIN] {
        let other = app.api(phone).await;
        let (s, v) = approve(&other, id, json!({})).await;
        assert_eq!(s, Status::Forbidden, "{phone} approving: {v}");
        let (s, _) = other
            .post(
                &format!("/applications/{id}/reject"),
                json!({"reason": "x"}),
            )
            .await;
        assert_eq!(s, Status::Forbidden, "{phone} rejecting");
    }
    assert_eq!(app.count("permits").await, 0);
}

#[rocket::async_test]
async fn an_application_that_has_not_passed_cannot_be_approved() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let id =
        submitted_application_with(&app, &landlord, "锦绣村东区 12 号", design_example_rooms())
            .await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = approve(&official, id, json!({})).await;
    assert_eq!(s, Status::Conflict, "{v}");
    assert!(v["message"].as_str().unwrap().contains("检查通过"));
    assert_eq!(app.count("permits").await, 0);
}

#[rocket::async_test]
async fn approving_twice_issues_one_permit() {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    assert_eq!(approve(&official, id, json!({})).await.0, Status::Created);
    assert_eq!(approve(&official, id, json!({})).await.0, Status::Conflict);
    assert_eq!(app.count("permits").await, 1);
}

#[rocket::async_test]
async fn rejection_needs_a_reason_and_the_landlord_reads_it() {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = official
        .post(
            &format!("/applications/{id}/reject"),
            json!({"reason": "  "}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert_eq!(v["fields"]["reason"][0], "请填写原因");
    let (s, _) = official
        .post(
            &format!("/applications/{id}/reject"),
            json!({"reason": "产权证明与房屋地址不符"}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let landlord = app.api(LANDLORD).await;
    let (_, a) = landlord.get(&format!("/applications/{id}")).await;
    assert_eq!(a["status"], "rejected");
    assert_eq!(a["reject_reason"], "产权证明与房屋地址不符");
    assert_eq!(approve(&official, id, json!({})).await.0, Status::Conflict);
}

#[rocket::async_test]
async fn bad_approval_values_are_refused_field_by_field_and_change_nothing() {
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = approve(
        &official,
        id,
        json!({"valid_months": 0, "max_occupants": "many"}),
    )
    .await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    assert!(v["fields"]["valid_months"].is_array());
    assert!(v["fields"]["max_occupants"].is_array());
    assert_eq!(app.count("permits").await, 0);
}

#[rocket::async_test]
async fn twenty_concurrent_approvals_get_twenty_distinct_numbers() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            passed_application_as(
                &app,
                &landlord,
                &format!("锦绣村南区 {i} 号"),
                design_example_rooms(),
            )
            .await,
        );
    }
    let official = std::sync::Arc::new(app.api(OFFICIAL_JX).await);
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let official = official.clone();
            rocket::tokio::spawn(async move { approve(&official, id, json!({})).await })
        })
        .collect();
    let mut numbers = std::collections::BTreeSet::new();
    for t in tasks {
        let (s, v) = t.await.expect("task");
        assert_eq!(s, Status::Created, "{v}");
        numbers.insert(v["permit_number"].as_str().unwrap().to_string());
    }
    assert_eq!(numbers.len(), 20, "{numbers:?}");
    let seqs: std::collections::BTreeSet<u32> = numbers
        .iter()
        .map(|n| {
            anju::domain::permit_number::parse_permit_number(n)
                .unwrap()
                .seq
        })
        .collect();
    assert_eq!(seqs, (1..=20).collect(), "no gaps when nothing rolls back");
}

async fn max_for(app: &TestApp, rooms: Value, body: Value) -> Value {
    let landlord = app.api(LANDLORD).await;
    let id = passed_application_as(app, &landlord, "锦绣村西区 8 号", rooms).await;
    let official = app.api(OFFICIAL_JX).await;
    let (s, v) = approve(&official, id, body).await;
    if s != Status::Created {
        return v;
    }
    v["max_occupants"].clone()
}

#[rocket::async_test]
async fn kitchens_bathrooms_balconies_and_basements_never_count_toward_occupants() {
    let app = TestApp::new().await;
    let rooms = json!([
        {"label": "101", "floor": 1, "area_m2": 14, "kind": "bedroom"},
        {"label": "厨房", "floor": 1, "area_m2": 30, "kind": "kitchen"},
        {"label": "卫生间", "floor": 1, "area_m2": 30, "kind": "bathroom"},
        {"label": "阳台", "floor": 1, "area_m2": 30, "kind": "balcony"},
        {"label": "地下室", "floor": 1, "area_m2": 30, "kind": "basement"},
    ]);
    assert_eq!(max_for(&app, rooms, json!({})).await, 2);
}

#[rocket::async_test]
async fn per_person_area_and_the_per_room_cap_limit_occupants() {
    let app = TestApp::new().await;
    let rooms = json!([
        {"label": "小间", "floor": 1, "area_m2": 11.9, "kind": "bedroom"},
        {"label": "大间", "floor": 1, "area_m2": 40, "kind": "bedroom"},
        {"label": "储物", "floor": 1, "area_m2": 5, "kind": "living"},
    ]);
    // 11.9 m² ÷ 6 → 1; 40 m² → 6 by area but 2 by the room cap; 5 m² → 0.
    assert_eq!(max_for(&app, rooms, json!({})).await, 3);
}

#[rocket::async_test]
async fn the_officials_cap_lowers_but_never_raises_the_maximum() {
    let app = TestApp::new().await;
    assert_eq!(
        max_for(&app, design_example_rooms(), json!({"max_occupants": 4})).await,
        4
    );
    let app = TestApp::new().await;
    assert_eq!(
        max_for(&app, design_example_rooms(), json!({"max_occupants": 6})).await,
        6
    );
    // A cap above the formula is a mistake: refused with the formula's figure, not lowered.
    let app = TestApp::new().await;
    let v = max_for(&app, design_example_rooms(), json!({"max_occupants": 10})).await;
    assert_eq!(
        v["fields"]["max_occupants"][0], "不能超过按面积计算的 6 人",
        "{v}"
    );
    assert_eq!(app.count("permits").await, 0, "nothing issued");
}

#[rocket::async_test]
async fn a_house_with_no_lettable_room_gets_no_permit() {
    let app = TestApp::new().await;
    let rooms = json!([{"label": "厨房", "floor": 1, "area_m2": 12, "kind": "kitchen"}]);
    let v = max_for(&app, rooms, json!({})).await;
    assert!(v["fields"]["max_occupants"].is_array(), "{v}");
    assert_eq!(app.count("permits").await, 0);
}

async fn act(official: &Api, number: &str, action: &str, reason: &str) -> (Status, Value) {
    official
        .post(
            &format!("/permits/{number}/{action}"),
            json!({"reason": reason}),
        )
        .await
}

fn permit_model(
    app: &TestApp,
    number: &str,
) -> impl std::future::Future<Output = anju::entities::permit::Model> {
    let db = app.db.clone();
    let number = number.to_string();
    async move {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        anju::entities::permit::Entity::find()
            .filter(anju::entities::permit::Column::Number.eq(number))
            .one(&db)
            .await
            .unwrap()
            .unwrap()
    }
}

#[rocket::async_test]
async fn suspension_blocks_check_ins_until_reinstated_and_revocation_is_final() {
    let app = TestApp::new().await;
    let number = approved_number(&app).await;
    let official = app.api(OFFICIAL_JX).await;
    let admits = |m: &anju::entities::permit::Model| {
        anju::services::stays::ensure_takes_tenants(m, today_cst(), anju::domain::stay::Lang::Zh)
            .is_ok()
    };
    assert!(admits(&permit_model(&app, &number).await));

    let (s, v) = act(&official, &number, "suspend", "").await;
    assert_eq!(s, Status::UnprocessableEntity, "a reason is required: {v}");
    let (s, v) = act(&official, &number, "suspend", "消防通道堵塞").await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["status"], "suspended");
    assert!(!admits(&permit_model(&app, &number).await));
    assert_eq!(
        act(&official, &number, "suspend", "再次").await.0,
        Status::Conflict
    );

    let (s, v) = act(&official, &number, "reinstate", "").await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["status"], "active");
    assert!(admits(&permit_model(&app, &number).await));

    let (s, v) = act(&official, &number, "revoke", "").await;
    assert_eq!(s, Status::UnprocessableEntity, "{v}");
    let (s, v) = act(&official, &number, "revoke", "擅自改变房屋用途").await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["status"], "revoked");
    let m = permit_model(&app, &number).await;
    assert!(!admits(&m));
    let err =
        anju::services::stays::ensure_takes_tenants(&m, today_cst(), anju::domain::stay::Lang::Zh)
            .unwrap_err();
    assert!(err.to_string().contains("已吊销"), "{err}");
    for action in ["reinstate", "suspend", "revoke"] {
        assert_eq!(
            act(&official, &number, action, "试试").await.0,
            Status::Conflict,
            "{action} after revocation"
        );
    }
}

#[rocket::async_test]
async fn another_villages_official_cannot_change_or_read_a_permit() {
    let app = TestApp::new().await;
    let number = approved_number(&app).await;
    let other = app.api(OFFICIAL_NZ).await;
    assert_eq!(
        act(&other, &number, "suspend", "x").await.0,
        Status::Forbidden
    );
    assert_eq!(
        act(&other, &number, "revoke", "x").await.0,
        Status::Forbidden
    );
    assert_eq!(
        other.get(&format!("/permits/{number}")).await.0,
        Status::Forbidden
    );
    let landlord = app.api(LANDLORD).await;
    assert_eq!(
        act(&landlord, &number, "suspend", "x").await.0,
        Status::Forbidden
    );
    assert_eq!(
        other.get("/permits/HJ-JX-2026-999999").await.0,
        Status::NotFound
    );
}

#[rocket::async_test]
async fn the_scheduler_expires_lapsed_permits_and_reminds_landlords_thirty_days_ahead() {
    let app = TestApp::new().await;
    let number = approved_number(&app).await;
    let until = permit_model(&app, &number).await.valid_until;
    let notes_before = app.count("notifications").await;
    let run = |d: chrono::NaiveDate| anju::services::permit_expiry::run(&app.db, d);

    run(until - chrono::Days::new(31)).await.unwrap();
    assert_eq!(app.count("notifications").await, notes_before, "too early");
    run(until - chrono::Days::new(30)).await.unwrap();
    assert_eq!(
        app.count("notifications").await,
        notes_before + 1,
        "reminded"
    );
    run(until - chrono::Days::new(29)).await.unwrap();
    assert_eq!(app.count("notifications").await, notes_before + 1, "once");
    let b = app.signed_in(LANDLORD).await;
    let (_, html) = b.get_text("/landlord").await;
    assert!(
        html.contains("将于") && html.contains("到期"),
        "reminder on the home page"
    );

    run(until).await.unwrap();
    assert_eq!(
        permit_model(&app, &number).await.status,
        "active",
        "valid on its last day"
    );
    let msg = run(until + chrono::Days::new(1)).await.unwrap();
    assert!(msg.starts_with("1 "), "{msg}");
    let m = permit_model(&app, &number).await;
    assert_eq!(m.status, "expired");
    assert!(
        anju::services::stays::ensure_takes_tenants(&m, today_cst(), anju::domain::stay::Lang::Zh)
            .is_err()
    );
    let official = app.api(OFFICIAL_JX).await;
    assert_eq!(
        act(&official, &number, "reinstate", "").await.0,
        Status::Conflict
    );
}

#[rocket::async_test]
async fn renewal_starts_a_new_application_linked_to_the_old_permit() {
    let app = TestApp::new().await;
    let number = approved_number(&app).await;
    let b = app.signed_in(LANDLORD).await;
    let r = b
        .post_form(&format!("/landlord/permits/{number}/renew"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let loc = r.headers().get_one("Location").unwrap().to_string();
    let new_id: i32 = loc.rsplit('/').next().unwrap().parse().unwrap();
    use sea_orm::EntityTrait;
    let a = anju::entities::application::Entity::find_by_id(new_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let old = permit_model(&app, &number).await;
    assert_eq!(a.renewal_of_permit_id, Some(old.id));
    assert_eq!(a.status, "draft");
    assert_eq!(old.renewed_by_application_id, Some(new_id));
    let r = b
        .post_form(&format!("/landlord/permits/{number}/renew"), &[])
        .await;
    assert_eq!(r.status(), Status::Conflict, "one renewal at a time");
}

#[rocket::async_test]
async fn the_towns_default_validity_applies_when_the_official_gives_none() {
    let app = TestApp::with(|c| c.permit_valid_months = 6).await;
    let number = approved_number(&app).await;
    let p = permit_model(&app, &number).await;
    assert_eq!(
        p.valid_until,
        anju::domain::permit::valid_until(p.valid_from, 6)
    );
}

#[rocket::async_test]
async fn officials_and_landlords_see_their_permit_pages_with_the_right_actions() {
    let app = TestApp::new().await;
    let number = approved_number(&app).await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let (s, html) = official.get_text("/official/permits").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains(&number));
    let (s, html) = official
        .get_text(&format!("/official/permits/{number}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("暂停准入证") && html.contains("吊销准入证"));
    assert!(
        !html.contains("恢复准入证"),
        "nothing to reinstate while active"
    );
    let r = official
        .post_form(
            &format!("/official/permits/{number}/suspend"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    assert!(r.into_string().await.unwrap().contains("请填写原因"));
    let r = official
        .post_form(
            &format!("/official/permits/{number}/suspend"),
            &[("reason", "楼道堆物")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, html) = official
        .get_text(&format!("/official/permits/{number}"))
        .await;
    assert!(html.contains("恢复准入证") && html.contains("楼道堆物"));
    let (_, queue) = official.get_text("/official/queue").await;
    assert!(queue.contains("暂无待审批的申请"), "empty state");

    let landlord = app.signed_in(LANDLORD).await;
    let (s, html) = landlord
        .get_text(&format!("/landlord/permits/{number}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("已暂停") && html.contains("申请续期") && html.contains("下载准入证"));
    let (_, home) = landlord.get_text("/landlord").await;
    assert!(
        home.contains(&format!("准入证 {number} 已暂停")),
        "notified of the suspension"
    );
    let start = home.find("/notifications/").unwrap() + "/notifications/".len();
    let id: String = home[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    // Someone else's notification is not found, whatever its id.
    let r = official
        .post_form(&format!("/notifications/{id}/read"), &[])
        .await;
    assert_eq!(r.status(), Status::NotFound);
    let r = landlord
        .post_form(&format!("/notifications/{id}/read"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, home) = landlord.get_text("/landlord").await;
    assert!(
        !home.contains(&format!("准入证 {number} 已暂停")),
        "read ones leave the list"
    );
    let other = app.signed_in(OFFICIAL_NZ).await;
    assert_eq!(
        other
            .get(&format!("/official/permits/{number}"))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        other
            .get(&format!("/permits/{number}/certificate.pdf"))
            .await
            .status(),
        Status::Forbidden
    );
}
