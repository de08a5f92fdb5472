//! Field work on the server side: a resent walk arrives once and a changed one is refused, the
//! previous answers a walk starts from, bulk pass, verdicts and labels instead of codes, the
//! re-inspection's evidence, the task page's call and map links, and the offline layer's files.
mod common;

use anju::entities::{finding, inspection, upload};
use common::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

/// An initial inspection of a fresh application that fails `fail` (photographed), through the API.
async fn failed_initial(app: &TestApp, fail: &[&str]) -> (i32, i32, serde_json::Value) {
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(app, &landlord, "锦绣村第一网格").await;
    let t = task_for(app, a, "initial").await;
    let api = app.api(INSPECTOR_JX).await;
    let (_, photo) = api.upload(&png(60, 40)).await;
    let (s, r) = api
        .post(
            &format!("/tasks/{}/inspection", t.id),
            json!({"submission_id": uuid(), "answers": failing(passing(&checklist_v1(), None), fail, photo["id"].as_str())}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    (a, t.id, r)
}

#[rocket::async_test]
async fn a_changed_payload_under_a_used_submission_id_is_a_conflict_and_changes_nothing() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let api = app.api(INSPECTOR_JX).await;
    let c = checklist_v1();
    let sid = uuid();
    let body = json!({"submission_id": sid, "answers": passing(&c, None)});
    let (s, first) = api.post(&format!("/tasks/{}/inspection", t.id), body).await;
    assert_eq!(s, Status::Ok, "{first}");

    // The same answers in another order are the same submission.
    let mut reordered = passing(&c, None);
    reordered.reverse();
    let (s, again) = api
        .post(
            &format!("/tasks/{}/inspection", t.id),
            json!({"submission_id": sid, "answers": reordered}),
        )
        .await;
    assert_eq!((s, &again), (Status::Ok, &first));

    let before = (
        app.count("inspections").await,
        app.count("findings").await,
        app.count("audit_log").await,
    );
    let (_, photo) = api.upload(&png(30, 30)).await;
    let changed = failing(passing(&c, None), &["wiring.conduit"], photo["id"].as_str());
    let (s, err) = api
        .post(
            &format!("/tasks/{}/inspection", t.id),
            json!({"submission_id": sid, "answers": changed}),
        )
        .await;
    assert_eq!(s, Status::Conflict, "{err}");
    assert!(err["message"].as_str().unwrap().contains("内容不同"));
    let stored = inspection::Entity::find()
        .filter(inspection::Column::SubmissionId.eq(sid.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.outcome, "passed",
        "the first result is not overwritten"
    );
    // The photo upload wrote one row and its audit entry; the refused submission nothing.
    assert_eq!(
        (
            app.count("inspections").await,
            app.count("findings").await,
            app.count("audit_log").await
        ),
        (before.0, before.1, before.2 + 1)
    );
}

#[rocket::async_test]
async fn a_queued_walk_sent_three_times_arrives_once_with_its_photo_intact() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();
    let b = app.signed_in(INSPECTOR_JX).await;
    let (_, walk) = b.get_text(&format!("/inspector/tasks/{}/walk", t.id)).await;
    let sid = hidden(&walk, "submission_id");
    let answers = form_answers(&c, &["wiring.no_improvised"]);
    let mut fields: Vec<(&str, &str)> = answers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.extend([("action", "submit"), ("submission_id", sid.as_str())]);
    let idx = c
        .items()
        .position(|i| i.key == "wiring.no_improvised")
        .unwrap();
    let photo_field = format!("a[{idx}].photo");
    let jpeg = jpeg_with_exif();
    let files = [(photo_field.as_str(), jpeg.clone())];

    let mut landed = Vec::new();
    for _ in 0..3 {
        let r = b
            .post_multipart_files(&format!("/inspector/tasks/{}/walk", t.id), &fields, &files)
            .await;
        assert_eq!(r.status(), Status::SeeOther);
        landed.push(r.headers().get_one("Location").unwrap().to_string());
    }
    assert!(landed.iter().all(|l| *l == landed[0]), "{landed:?}");
    assert_eq!(app.count("inspections").await, 1);
    assert_eq!(app.count("findings").await, 1);

    // The finding's photo is the phone's photo as the server keeps it: re-encoded, EXIF gone.
    let f = finding::Entity::find().one(&app.db).await.unwrap().unwrap();
    let ids: Vec<String> = serde_json::from_str(&f.photo_ids).unwrap();
    assert_eq!(ids.len(), 1);
    let u = upload::Entity::find_by_id(ids[0].clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let expected = anju::media::intake(&jpeg).expect("the test photo decodes");
    assert_eq!(u.sha256, expected.sha256);
    let (s, served) = {
        let r = b.get(&format!("/photos/{}", u.id)).await;
        (r.status(), r.into_bytes().await.unwrap())
    };
    assert_eq!(s, Status::Ok);
    assert_eq!(
        served, expected.jpeg,
        "the stored bytes are the ones the hash names"
    );
}

#[rocket::async_test]
async fn a_reinspection_starts_from_the_previous_answers_marked_and_shows_each_finding_beside_its_fix()
 {
    let app = TestApp::new().await;
    let (a, first_task, first) = failed_initial(&app, &["wiring.no_improvised"]).await;
    let api = app.api(INSPECTOR_JX).await;
    let (s, none) = api.get(&format!("/tasks/{first_task}/previous")).await;
    assert_eq!(s, Status::Ok);
    assert!(none["inspection_id"].is_null() && none["answers"].as_array().unwrap().is_empty());

    // The landlord reports the fix with a note and a photo; a re-inspection task follows.
    let lb = app.signed_in(LANDLORD).await;
    let fid = first["findings"][0]["id"].as_i64().unwrap();
    let r = lb
        .post_multipart(
            &format!("/landlord/findings/{fid}/fix"),
            &[("note", "已换成穿管明线")],
            &png(80, 60),
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let re = task_for(&app, a, "reinspection").await;

    let (s, prev) = api.get(&format!("/tasks/{}/previous", re.id)).await;
    assert_eq!(s, Status::Ok, "{prev}");
    assert_eq!(prev["inspection_id"], first["inspection_id"]);
    assert_eq!(prev["checklist"], "rental-safety");
    let failed: Vec<_> = prev["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["result"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["item"], "wiring.no_improvised");
    // Only an inspector of the task's grid may read it.
    let (s, _) = app
        .api(INSPECTOR_NZ)
        .await
        .get(&format!("/tasks/{}/previous", re.id))
        .await;
    assert_eq!(s, Status::Forbidden);

    let ib = app.signed_in(INSPECTOR_JX).await;
    let (s, walk) = ib
        .get_text(&format!("/inspector/tasks/{}/walk", re.id))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(walk.contains("沿用上次") && walk.contains("name=\"a[0].carried\" value=\"1\""));
    assert!(
        walk.contains("name=\"a[0].result\" value=\"fail\" checked"),
        "the verdict comes over"
    );
    assert!(
        walk.contains("原隐患") && walk.contains("房东整改") && walk.contains("已换成穿管明线")
    );
    assert_eq!(walk.matches("alt=\"整改后照片\"").count(), 1);
    assert_eq!(walk.matches("alt=\"原隐患照片\"").count(), 1);
}

#[rocket::async_test]
async fn passing_a_section_in_bulk_marks_only_its_unanswered_tick_items_and_keeps_a_failure() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();
    let b = app.signed_in(INSPECTOR_JX).await;
    let (_, walk) = b.get_text(&format!("/inspector/tasks/{}/walk", t.id)).await;
    assert!(walk.contains("本节全部合格") && walk.contains("其余全部合格"));
    let wiring = &c.sections[0];
    let fire = c
        .sections
        .iter()
        .find(|s| s.items.iter().any(|i| i.key == "fire.extinguishers"))
        .unwrap();
    let sid = hidden(&walk, "submission_id");
    let action = format!("pass:{}", wiring.key);
    let r = b
        .post_multipart_files(
            &format!("/inspector/tasks/{}/walk", t.id),
            &[
                ("a[1].item", "wiring.no_improvised"),
                ("a[1].result", "fail"),
                ("a[1].note", "插线板串接"),
                ("submission_id", &sid),
                ("action", &action),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(
        r.headers().get_one("Location"),
        Some(format!("/inspector/tasks/{}/walk#s-{}", t.id, wiring.key).as_str())
    );
    let task = anju::entities::inspection_task::Entity::find_by_id(t.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let draft: Vec<serde_json::Value> =
        serde_json::from_str(task.draft_answers.as_deref().unwrap()).unwrap();
    let result_of = |k: &str| {
        draft
            .iter()
            .find(|d| d["item"] == k)
            .map(|d| d["result"].clone())
    };
    assert_eq!(
        result_of("wiring.no_improvised"),
        Some(json!("fail")),
        "the failure stays"
    );
    for i in wiring
        .items
        .iter()
        .filter(|i| i.key != "wiring.no_improvised")
    {
        assert_eq!(result_of(&i.key), Some(json!("pass")), "{}", i.key);
    }
    assert_eq!(
        draft.len(),
        wiring.items.len(),
        "other sections are untouched"
    );

    // "其余全部合格" reaches every section but leaves numbers and choices to be measured.
    let r = b
        .post_multipart_files(
            &format!("/inspector/tasks/{}/walk", t.id),
            &[
                ("a[1].item", "wiring.no_improvised"),
                ("a[1].result", "fail"),
                ("submission_id", &sid),
                ("action", "pass_rest"),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let task = anju::entities::inspection_task::Entity::find_by_id(t.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let draft: Vec<serde_json::Value> =
        serde_json::from_str(task.draft_answers.as_deref().unwrap()).unwrap();
    assert!(
        draft
            .iter()
            .all(|d| d["item"] != "fire.extinguishers" && d["item"] != "fire.extinguisher_type")
    );
    assert!(fire.items.iter().any(|i| {
        draft
            .iter()
            .any(|d| d["item"] == i.key.as_str() && d["result"] == "pass")
    }));
    let (_, walk) = b.get_text(&format!("/inspector/tasks/{}/walk", t.id)).await;
    assert!(!walk.contains("判定："), "no value yet, no verdict");
}

#[rocket::async_test]
async fn pages_show_labels_units_and_chinese_grades_never_codes() {
    let app = TestApp::new().await;
    let (a, task_id, r) = failed_initial(&app, &["wiring.no_improvised"]).await;
    let ib = app.signed_in(INSPECTOR_JX).await;
    let (_, record) = ib
        .get_text(&format!("/inspections/{}", r["inspection_id"]))
        .await;
    assert!(
        record.contains("ABC 干粉，2 kg 及以上") && !record.contains("abc_2kg_plus"),
        "option label, not key"
    );
    assert!(record.contains(" 具"), "numbers carry their unit");
    let (_, task) = ib.get_text(&format!("/inspector/tasks/{task_id}")).await;
    assert!(
        task.contains("href=\"tel:13900000004\""),
        "tap to call the landlord"
    );
    assert!(
        task.contains("href=\"https://uri.amap.com/search?keyword="),
        "a map link for the address"
    );
    assert!(
        task.contains("黄色") && !task.contains(">yellow<"),
        "{task}"
    );

    let ob = app.signed_in(OFFICIAL_JX).await;
    let (_, review) = ob
        .get_text(&format!("/official/applications/{a}/review"))
        .await;
    assert!(review.contains("无私拉乱接电线") && !review.contains("wiring.no_improvised"));
    assert!(
        review.contains("一般 · 待整改") || review.contains("一般 · "),
        "{review}"
    );
    assert!(!review.contains(" major") && !review.contains("· open"));
}

#[rocket::async_test]
async fn the_offline_layer_is_served_and_only_field_workers_get_it() {
    let app = TestApp::new().await;
    let b = app.browser().await;
    let r = b.get("/sw.js").await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(
        r.headers().get_one("Service-Worker-Allowed"),
        Some("/inspector")
    );
    assert!(r.content_type().unwrap().is_javascript());
    let (_, m) = b.get_text("/manifest.webmanifest").await;
    let m: serde_json::Value = serde_json::from_str(&m).unwrap();
    assert_eq!(
        (m["scope"].as_str(), m["start_url"].as_str()),
        (Some("/inspector"), Some("/inspector"))
    );
    for js in ["/static/offline.js", "/static/walk.js"] {
        let (s, body) = b.get_text(js).await;
        assert_eq!(s, Status::Ok);
        assert!(body.len() > 1000, "{js}");
    }
    let ib = app.signed_in(INSPECTOR_JX).await;
    let (_, home) = ib.get_text("/inspector").await;
    assert!(
        home.contains("rel=\"manifest\"")
            && home.contains("/static/offline.js")
            && home.contains("id=\"queue-bar\"")
    );
    let lb = app.signed_in(LANDLORD).await;
    let (_, home) = lb.get_text("/landlord").await;
    assert!(!home.contains("rel=\"manifest\"") && !home.contains("offline.js"));
}
