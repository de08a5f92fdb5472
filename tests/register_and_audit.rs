//! The residents' register and the audit log (issue 13 item 8): cards at phone width with the
//! official's menu, "show" reveals the phone too (audited), and the log reads in Chinese with
//! filters by person, action and date, naming whose number was revealed.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

async fn active_stay(app: &TestApp) -> i32 {
    let (number, sig) = active_permit(app, 4).await;
    let room = permit_rooms(app, &number).await[0];
    let anon = app.browser().await;
    let r = anon
        .client
        .post(format!("/api/v1/permits/{number}/stays"))
        .header(rocket::http::ContentType::JSON)
        .body(
            json!({"sig": sig, "name": "赵租客", "doc_type": "resident_id",
                "doc_number": resident_id(55), "phone": "13755556666", "room_id": room,
                "move_in": today_cst().format("%Y-%m-%d").to_string()})
            .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Created);
    let v: Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    let id = v["stay_id"].as_i64().unwrap() as i32;
    let (s, _) = app
        .api(LANDLORD)
        .await
        .post(&format!("/stays/{id}/confirm"), json!({}))
        .await;
    assert_eq!(s, Status::Ok);
    id
}

#[rocket::async_test]
async fn the_register_shows_cards_with_the_officials_menu_and_reveals_the_phone_audited() {
    let app = TestApp::new().await;
    let stay = active_stay(&app).await;
    let official = app.signed_in(OFFICIAL_JX).await;
    let (s, page) = official.get_text("/residents").await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains("href=\"/official/queue\""),
        "the official's menu"
    );
    assert!(page.contains("class=\"stack\"") && page.contains("data-label=\"住址\""));
    assert!(
        page.contains("赵租客") && !page.contains("13755556666"),
        "phone masked in the list"
    );
    let r = official
        .post_form(&format!("/residents/stays/{stay}/reveal"), &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    let shown = r.into_string().await.unwrap();
    assert!(shown.contains(&resident_id(55)) && shown.contains("13755556666"));
    let admin = app.signed_in(ADMIN).await;
    let (_, page) = admin.get_text("/residents").await;
    assert!(
        page.contains("href=\"/admin/audit\""),
        "the admin's menu for the admin"
    );
    // The log names the revealed person and reads in Chinese.
    let (s, log) = admin.get_text("/admin/audit?action=stay.reveal_doc").await;
    assert_eq!(s, Status::Ok);
    assert!(
        log.contains("查看完整证件号码") && log.contains("被查看人：赵租客"),
        "{log}"
    );
    assert!(log.contains("共 1 条记录"), "{log}");
    assert!(!log.contains("stay.reveal_doc</td>"));
}

#[rocket::async_test]
async fn the_audit_log_filters_by_person_and_date() {
    let app = TestApp::new().await;
    active_stay(&app).await;
    let admin = app.signed_in(ADMIN).await;
    let (_, all) = admin.get_text("/admin/audit").await;
    assert!(
        all.contains("登录") && all.contains("核发准入证") || all.contains("确认入住"),
        "{all}"
    );
    let (_, mine) = admin
        .get_text(&format!("/admin/audit?person={LANDLORD}"))
        .await;
    assert!(mine.contains("确认入住"), "{mine}");
    assert!(
        !mine.contains("（13900000001）"),
        "only the landlord's entries"
    );
    let (_, by_name) = admin.get_text("/admin/audit?person=%E7%8E%8B").await;
    assert!(
        by_name.contains("（13900000004）"),
        "a name fragment finds 王房东"
    );
    let tomorrow = (today_cst() + chrono::Duration::days(1)).format("%Y-%m-%d");
    let (_, none) = admin
        .get_text(&format!("/admin/audit?from={tomorrow}"))
        .await;
    assert!(none.contains("没有符合条件的记录"), "{none}");
    let today = today_cst().format("%Y-%m-%d");
    let (_, today_only) = admin
        .get_text(&format!(
            "/admin/audit?from={today}&to={today}&action=stay.confirm"
        ))
        .await;
    assert!(today_only.contains("共 1 条记录"), "{today_only}");
}

/// Entries appended together (check-ins decided together) are chained in order by one insert on
/// the tail this process guesses it wrote, or to the real tail when another database's entry made
/// that guess stale: either way the log reads back in order and its chain holds.
#[rocket::async_test]
async fn entries_appended_together_chain_in_order_on_a_guessed_or_a_stale_tail() {
    use anju::entities::audit_entry as a;
    use anju::services::audit::{Entry, record_many, verify_chain};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let app = TestApp::new().await;
    let other = TestApp::new().await;
    let three = |action: &'static str| -> Vec<Entry> {
        (0..3)
            .map(|i| Entry {
                actor_id: None,
                action,
                entity: "test",
                entity_id: i.to_string(),
                detail: json!({ "i": i }),
            })
            .collect()
    };
    // The second batch guesses the first's last hash; the fourth follows the other database's.
    for (db, action) in [
        (&app.db, "test.first"),
        (&app.db, "test.guessed"),
        (&other.db, "test.elsewhere"),
        (&app.db, "test.stale"),
    ] {
        let tx = anju::db::begin_write(db).await.unwrap();
        record_many(&tx, three(action)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let read: Vec<String> = a::Entity::find()
        .filter(a::Column::Entity.eq("test"))
        .order_by_asc(a::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.entity_id))
        .collect();
    let expected: Vec<String> = ["test.first", "test.guessed", "test.stale"]
        .into_iter()
        .flat_map(|a| (0..3).map(move |i| format!("{a} {i}")))
        .collect();
    assert_eq!(read, expected);
    for db in [&app.db, &other.db] {
        assert_eq!(verify_chain(db).await.unwrap(), None, "the chain holds");
    }
}
