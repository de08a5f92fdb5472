//! Inspections: routing, grid scoping, the checklist walk, idempotent submission, the
//! rectification loop, grades, checklist versions, the patrol scheduler, the API and OpenAPI.
mod common;

use anju::domain::checklist::ChecklistRegistry;
use anju::entities::{finding, inspection_task, inspector_grid, property, user};
use common::*;
use rocket::http::Status;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

#[rocket::async_test]
async fn submitting_routes_the_initial_task_to_the_least_loaded_inspector_of_the_grid() {
    // Its due time is asserted off the weekend by the UTC weekday: count from a Wednesday morning.
    let app = TestApp::with(|c| c.clock = a_wednesday_morning()).await;
    let (_, g) = village_and_grid(&app, "锦绣村第一网格").await;
    // A second inspector on the same grid, with no tasks yet.
    let second = user::ActiveModel {
        role: Set("inspector".into()),
        phone: Set("13900000099".into()),
        name: Set("李网格".into()),
        password_hash: Set("x".into()),
        village_id: Set(None),
        active: Set(true),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    inspector_grid::ActiveModel {
        user_id: Set(second.id),
        grid_id: Set(g),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let demo = user::Entity::find()
        .filter(user::Column::Phone.eq(INSPECTOR_JX))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();

    let landlord = app.api(LANDLORD).await;
    // Demo inspector has the lower id, so the first (tie) goes to them; then the second is less loaded.
    let (_, a1) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let (_, a2) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let (_, a3) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t1 = task_for(&app, a1, "initial").await;
    let t2 = task_for(&app, a2, "initial").await;
    let t3 = task_for(&app, a3, "initial").await;
    assert_eq!(t1.assignee_id, Some(demo.id));
    assert_eq!(
        t2.assignee_id,
        Some(second.id),
        "the less loaded inspector gets the next task"
    );
    assert_eq!(t3.assignee_id, Some(demo.id), "load is balanced again");
    assert_eq!(t1.status, "open");
    assert_eq!(t1.grid_id, g);
    assert_eq!(t1.checklist_key, "rental-safety");
    // Due three working days later, never on a weekend.
    let due = anju::domain::inspection::add_working_days(t1.created_at, 3);
    assert_eq!(t1.due_at.timestamp(), due.timestamp());
    use chrono::Datelike;
    assert!(!matches!(
        t1.due_at.weekday(),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    ));
    assert!(t1.due_at - t1.created_at >= chrono::Duration::days(3));
}

#[rocket::async_test]
async fn the_due_time_of_a_task_follows_the_configured_working_days() {
    // Counted from a Wednesday morning: from a Saturday, 10 working days are only 12 calendar days.
    let app = TestApp::with(|c| {
        c.inspection_due_working_days = 10;
        c.clock = a_wednesday_morning();
    })
    .await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    assert_eq!(
        t.due_at.timestamp(),
        anju::domain::inspection::add_working_days(t.created_at, 10).timestamp()
    );
    assert!(t.due_at - t.created_at >= chrono::Duration::days(14));
}

#[rocket::async_test]
async fn an_inspector_cannot_see_or_submit_another_grids_task() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();

    let other = app.signed_in(INSPECTOR_NZ).await;
    assert_eq!(
        other
            .get(&format!("/inspector/tasks/{}", t.id))
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        other
            .get(&format!("/inspector/tasks/{}/walk", t.id))
            .await
            .status(),
        Status::Forbidden
    );
    let r = other
        .post_multipart_files(
            &format!("/inspector/tasks/{}/walk", t.id),
            &[("submission_id", &uuid()), ("action", "submit")],
            &[],
        )
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let (_, html) = other.get_text("/inspector").await;
    assert!(
        !html.contains(&format!("/inspector/tasks/{}", t.id)),
        "not in the other inspector's list"
    );

    let api = app.api(INSPECTOR_NZ).await;
    let (s, list) = api.get("/tasks").await;
    assert_eq!(s, Status::Ok);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|x| x["id"] != json!(t.id))
    );
    let (s, body) = api
        .post(&format!("/tasks/{}/inspection", t.id), json!({"submission_id": uuid(), "checklist": "rental-safety", "version": 1, "answers": passing(&c, None)}))
        .await;
    assert_eq!(s, Status::Forbidden, "{body}");
    assert_eq!(body["error"], "forbidden");
    assert_eq!(app.count("inspections").await, 0);

    // The grid's own inspector sees it.
    let own = app.api(INSPECTOR_JX).await;
    let (_, list) = own.get("/tasks").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == json!(t.id) && x["checklist"] == "rental-safety")
    );
}

#[rocket::async_test]
async fn a_submission_missing_a_required_photo_is_refused_field_by_field_and_changes_nothing() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();
    let api = app.api(INSPECTOR_JX).await;
    let answers = failing(
        passing(&c, None),
        &[
            "wiring.conduit",
            "clutter.exits_clear",
            "wiring.no_daisy_chain",
        ],
        None,
    );
    let (s, body) = api
        .post(&format!("/tasks/{}/inspection", t.id), json!({"submission_id": uuid(), "checklist": "rental-safety", "version": 1, "answers": answers}))
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{body}");
    let fields = body["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 2, "{body}");
    assert!(
        fields["wiring.conduit"][0]
            .as_str()
            .unwrap()
            .contains("须拍照")
    );
    assert!(
        fields["clutter.exits_clear"][0]
            .as_str()
            .unwrap()
            .contains("须拍照")
    );
    assert_eq!(app.count("inspections").await, 0);
    assert_eq!(app.count("findings").await, 0);
    let t = inspection_task::Entity::find_by_id(t.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status, "open");

    // Through the page: the message stands beside the item and the typed answers come back.
    let b = app.signed_in(INSPECTOR_JX).await;
    let (_, html) = b.get_text(&format!("/inspector/tasks/{}/walk", t.id)).await;
    let sid = hidden(&html, "submission_id");
    let mut fields: Vec<(String, String)> = vec![
        ("submission_id".into(), sid),
        ("action".into(), "submit".into()),
    ];
    fields.extend(form_answers(&c, &["wiring.conduit"]));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = b
        .post_multipart_files(&format!("/inspector/tasks/{}/walk", t.id), &refs, &[])
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let html = r.into_string().await.unwrap();
    assert!(html.contains("此项不合格，须拍照"));
    assert!(html.contains("现场发现问题"), "the typed note is kept");
    assert_eq!(app.count("inspections").await, 0);
}

#[rocket::async_test]
async fn a_repeated_submission_with_the_same_id_returns_the_first_result_and_creates_nothing() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();
    let api = app.api(INSPECTOR_JX).await;
    let (_, photo) = api.upload(&png(50, 40)).await;
    let body = json!({"submission_id": uuid(), "checklist": "rental-safety", "version": 1,
        "answers": failing(passing(&c, None), &["wiring.conduit"], photo["id"].as_str())});
    let (s, first) = api
        .post(&format!("/tasks/{}/inspection", t.id), body.clone())
        .await;
    assert_eq!(s, Status::Ok, "{first}");
    let counts = (
        app.count("inspections").await,
        app.count("findings").await,
        app.count("audit_log").await,
        app.count("application_events").await,
    );
    let (s, again) = api
        .post(&format!("/tasks/{}/inspection", t.id), body.clone())
        .await;
    assert_eq!(s, Status::Ok, "{again}");
    assert_eq!(first, again);
    assert_eq!(
        counts,
        (
            app.count("inspections").await,
            app.count("findings").await,
            app.count("audit_log").await,
            app.count("application_events").await
        )
    );
    assert_eq!(first["outcome"], "failed");
    assert_eq!(first["findings"].as_array().unwrap().len(), 1);
    // A fresh id on the finished task is a conflict, not a second inspection.
    let mut other = body.clone();
    other["submission_id"] = json!(uuid());
    let (s, _) = api
        .post(&format!("/tasks/{}/inspection", t.id), other)
        .await;
    assert_eq!(s, Status::Conflict);
    assert_eq!(app.count("inspections").await, 1);
}

#[rocket::async_test]
async fn the_rectification_loop_runs_from_failure_through_fixes_to_a_passing_reinspection_of_only_the_failed_items()
 {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (house, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();
    let api = app.api(INSPECTOR_JX).await;
    let (_, photo) = api.upload(&png(50, 40)).await;
    let failed = ["wiring.conduit", "clutter.no_combustibles"];
    let (s, r) = api
        .post(
            &format!("/tasks/{}/inspection", t.id),
            json!({"submission_id": uuid(), "checklist": "rental-safety", "version": 1,
            "answers": failing(passing(&c, None), &failed, photo["id"].as_str())}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    assert_eq!(r["outcome"], "failed");
    assert_eq!(r["grade"], "yellow");
    let (_, view) = landlord.get(&format!("/applications/{a}")).await;
    assert_eq!(view["status"], "rectifying");
    assert_eq!(
        view["findings"].as_array().unwrap().len(),
        2,
        "the application lists its findings"
    );
    let (s, found) = landlord.get(&format!("/applications/{a}/findings")).await;
    assert_eq!(s, Status::Ok);
    let found = found.as_array().unwrap().clone();
    assert_eq!(found.len(), 2);
    assert!(
        found.iter().all(|f| f["deadline_at"].is_string()
            && f["note"].as_str().unwrap().contains("现场发现问题"))
    );

    // The landlord sees the inspector's photo.
    let lb = app.signed_in(LANDLORD).await;
    let pid = found[0]["photo_ids"][0].as_str().unwrap().to_string();
    assert_eq!(lb.get(&format!("/photos/{pid}")).await.status(), Status::Ok);
    let stranger = app.signed_in(INSPECTOR_NZ).await;
    assert_eq!(
        stranger.get(&format!("/photos/{pid}")).await.status(),
        Status::Forbidden
    );

    // A fix without a photo is refused; with one it is recorded.
    let f0 = found[0]["id"].as_i64().unwrap();
    let (s, body) = landlord
        .post(
            &format!("/findings/{f0}/fix"),
            json!({"note": "已整改", "photo_ids": []}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity);
    assert!(body["fields"]["photo"].is_array());
    let (_, fixp) = landlord.upload(&png(60, 40)).await;
    let (s, out) = landlord
        .post(
            &format!("/findings/{f0}/fix"),
            json!({"note": "已穿管", "photo_ids": [fixp["id"]]}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{out}");
    assert!(
        out["reinspection_task_id"].is_null(),
        "one finding is still open"
    );
    let f1 = found[1]["id"].as_i64().unwrap();
    let (_, fixp2) = landlord.upload(&png(60, 41)).await;
    let (s, out) = landlord
        .post(
            &format!("/findings/{f1}/fix"),
            json!({"note": "已清理", "photo_ids": [fixp2["id"]]}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let re_id = out["reinspection_task_id"]
        .as_i64()
        .expect("a re-inspection task") as i32;

    // The inspector sees the fix photo; the re-inspection lists only the failed items.
    let ib = app.signed_in(INSPECTOR_JX).await;
    assert_eq!(
        ib.get(&format!("/photos/{}", fixp["id"].as_str().unwrap()))
            .await
            .status(),
        Status::Ok
    );
    let (_, tasks) = api.get("/tasks?status=open").await;
    let re = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == json!(re_id))
        .expect("listed")
        .clone();
    assert_eq!(re["kind"], "reinspection");
    let mut items: Vec<String> = re["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    items.sort();
    assert_eq!(
        items,
        vec![
            "clutter.no_combustibles".to_string(),
            "wiring.conduit".to_string()
        ]
    );

    // Answering more than the failed items is refused; answering them passes.
    let (s, body) = api
        .post(
            &format!("/tasks/{re_id}/inspection"),
            json!({"submission_id": uuid(), "answers": passing(&c, None)}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{body}");
    let (s, r) = api
        .post(
            &format!("/tasks/{re_id}/inspection"),
            json!({"submission_id": uuid(), "answers": passing(&c, Some(&items))}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    assert_eq!(r["outcome"], "passed");
    assert_eq!(r["grade"], "green");
    let open = finding::Entity::find()
        .filter(finding::Column::PropertyId.eq(house))
        .filter(finding::Column::Status.ne("closed"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        open.is_empty(),
        "passing the re-inspection closes the findings"
    );
    let (_, view) = landlord.get(&format!("/applications/{a}")).await;
    assert_eq!(view["status"], "passed");
    let p = property::Entity::find_by_id(house)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.grade.as_deref(), Some("green"));
    assert!(p.next_patrol_at.unwrap() > chrono::Utc::now() + chrono::Duration::days(89));
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        None
    );
}

#[rocket::async_test]
async fn the_grade_follows_the_rule_of_the_checklist_file() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let c = checklist_v1();
    let api = app.api(INSPECTOR_JX).await;
    let (_, photo) = api.upload(&png(50, 40)).await;
    // critical → red (7-day patrol), major → yellow (30), minor → yellow, nothing → green (90).
    for (fail, grade, cadence) in [
        (vec!["ebike.no_indoor_charging"], "red", 7),
        (vec!["wiring.rcd"], "yellow", 30),
        (vec!["wiring.no_daisy_chain"], "yellow", 30),
        (vec![], "green", 90),
        (vec!["wiring.rcd", "space.no_basement"], "red", 7),
    ] {
        let (house, a) = submitted_in_grid(&app, &landlord, "锦绣村第二网格").await;
        let t = task_for(&app, a, "initial").await;
        let (s, r) = api
            .post(&format!("/tasks/{}/inspection", t.id), json!({"submission_id": uuid(), "answers": failing(passing(&c, None), &fail, photo["id"].as_str())}))
            .await;
        assert_eq!(s, Status::Ok, "{r}");
        assert_eq!(r["grade"], grade, "{fail:?}");
        let p = property::Entity::find_by_id(house)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.grade.as_deref(), Some(grade));
        let days = (p.next_patrol_at.unwrap() - chrono::Utc::now()).num_hours() as f64 / 24.0;
        assert!((days - cadence as f64).abs() < 0.1, "{grade}: {days}");
        let (_, view) = landlord.get(&format!("/applications/{a}")).await;
        assert_eq!(
            view["status"],
            if fail.is_empty() {
                "passed"
            } else {
                "rectifying"
            }
        );
    }
    // A measured number outside the threshold fails even when ticked as passing.
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第二网格").await;
    let t = task_for(&app, a, "initial").await;
    let mut answers = passing(&c, None);
    for x in answers.iter_mut() {
        if x["item"] == "space.per_person_area" {
            x["value"] = json!("4.5");
        }
    }
    let (_, r) = api
        .post(
            &format!("/tasks/{}/inspection", t.id),
            json!({"submission_id": uuid(), "answers": answers}),
        )
        .await;
    assert_eq!(r["findings"][0]["item"], "space.per_person_area");
    assert_eq!(r["grade"], "yellow");
}

/// Every `/prefix/(\d+)suffix` id in a page, in order.
fn ids_in(html: &str, prefix: &str, suffix: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with(suffix) {
            let id = digits.parse().unwrap();
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

#[rocket::async_test]
async fn the_demo_story_runs_through_the_pages_from_application_to_passed_reinspection() {
    let app = TestApp::new().await;
    let c = checklist_v1();
    // The demo landlord applies for a house in 锦绣村第一网格.
    let lb = app.signed_in(LANDLORD).await;
    let (v, g) = village_and_grid(&app, "锦绣村第一网格").await;
    let (v, g) = (v.to_string(), g.to_string());
    let r = lb
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
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let house: i32 = r
        .headers()
        .get_one("Location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let r = lb
        .post_form(&format!("/landlord/houses/{house}/apply"), &[])
        .await;
    let app_id: i32 = r
        .headers()
        .get_one("Location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let r = lb
        .post_form(
            &format!("/landlord/applications/{app_id}/declaration"),
            &[
                ("owner_name", "王房东"),
                ("ownership_doc_no", "浙(2020)花街镇不动产权第0001234号"),
                ("intended_use", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    for kind in ["ownership_proof", "house_photo"] {
        let r = lb
            .post_multipart(
                &format!("/landlord/applications/{app_id}/documents"),
                &[("kind", kind)],
                &png(80, 60),
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther);
    }
    let r = lb
        .post_form(
            &format!("/landlord/applications/{app_id}/submit"),
            &[("pledge_accepted", "true")],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);

    // The demo inspector finds the task on their phone.
    let ib = app.signed_in(INSPECTOR_JX).await;
    let (_, home) = ib.get_text("/inspector").await;
    assert!(home.contains("锦绣村东区 12 号") && home.contains("准入检查"));
    let task = ids_in(&home, "/inspector/tasks/", "\"")[0];
    let (s, page) = ib.get_text(&format!("/inspector/tasks/{task}")).await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains("锦绣村东区 12 号") && page.contains("王房东") && page.contains("14.0 m²")
    );
    let r = ib
        .post_form(&format!("/inspector/tasks/{task}/start"), &[])
        .await;
    assert_eq!(
        r.headers().get_one("Location"),
        Some(format!("/inspector/tasks/{task}/walk").as_str())
    );
    let (_, app_view) = lb
        .get_text(&format!("/landlord/applications/{app_id}"))
        .await;
    assert!(app_view.contains("检查中"));

    // The walk: a draft first (a reload keeps it), then the submission with two failures photographed.
    let (_, walk) = ib.get_text(&format!("/inspector/tasks/{task}/walk")).await;
    assert!(walk.contains("capture=\"environment\"") && walk.contains("accept=\"image/*\""));
    assert!(walk.contains("保存草稿") && walk.contains("提交检查结果"));
    let sid = hidden(&walk, "submission_id");
    let fail = ["wiring.no_improvised", "ebike.no_indoor_parking"];
    let answers = form_answers(&c, &fail);
    let draft: Vec<(&str, &str)> = answers
        .iter()
        .take(8)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("action", "draft"), ("submission_id", sid.as_str())])
        .collect();
    let r = ib
        .post_multipart_files(&format!("/inspector/tasks/{task}/walk"), &draft, &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, walk) = ib.get_text(&format!("/inspector/tasks/{task}/walk")).await;
    assert!(
        walk.contains("name=\"a[0].result\" value=\"pass\" checked"),
        "the draft is kept"
    );
    let idx = |key: &str| c.items().position(|i| i.key == key).unwrap();
    let files: Vec<(String, Vec<u8>)> = fail
        .iter()
        .map(|k| (format!("a[{}].photo", idx(k)), png(64, 48)))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut fields: Vec<(&str, &str)> = answers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.extend([
        ("action", "submit"),
        ("submission_id", sid.as_str()),
        ("checklist", "rental-safety"),
        ("version", "1"),
    ]);
    let r = ib
        .post_multipart_files(&format!("/inspector/tasks/{task}/walk"), &fields, &files)
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let record = r.headers().get_one("Location").unwrap().to_string();
    let (_, rec) = ib.get_text(&record).await;
    assert!(rec.contains("发现隐患") && rec.contains("无私拉乱接电线") && rec.contains("第 1 版"));
    // The phone resends the same form, photos and all: nothing new.
    let n = app.count("inspections").await;
    let r = ib
        .post_multipart_files(&format!("/inspector/tasks/{task}/walk"), &fields, &files)
        .await;
    assert_eq!(r.headers().get_one("Location"), Some(record.as_str()));
    assert_eq!(app.count("inspections").await, n);

    // The landlord sees the findings with notes and photos and reports each fix.
    let (_, view) = lb
        .get_text(&format!("/landlord/applications/{app_id}"))
        .await;
    assert!(
        view.contains("待整改")
            && view.contains("网格员意见：现场发现问题")
            && view.contains("/photos/")
    );
    let fids = ids_in(&view, "/landlord/findings/", "/fix");
    assert_eq!(fids.len(), 2);
    for f in &fids {
        let r = lb
            .post_multipart(
                &format!("/landlord/findings/{f}/fix"),
                &[("note", "已按要求整改")],
                &png(70, 50),
            )
            .await;
        assert_eq!(r.status(), Status::SeeOther);
    }
    let (_, view) = lb
        .get_text(&format!("/landlord/applications/{app_id}"))
        .await;
    assert!(view.contains("已报整改，待复查") && view.contains("整改后"));

    // The re-inspection shows only those two items and passes.
    let (_, home) = ib.get_text("/inspector").await;
    assert!(home.contains("整改复查"));
    let re = *ids_in(&home, "/inspector/tasks/", "\"")
        .iter()
        .find(|t| **t != task)
        .unwrap();
    let (_, page) = ib.get_text(&format!("/inspector/tasks/{re}")).await;
    assert!(page.contains("本次复查项目（2 项）"));
    ib.post_form(&format!("/inspector/tasks/{re}/start"), &[])
        .await;
    let (_, walk) = ib.get_text(&format!("/inspector/tasks/{re}/walk")).await;
    assert_eq!(walk.matches("].item\"").count(), 2);
    assert!(walk.contains("无私拉乱接电线") && !walk.contains("配电箱安装漏电保护"));
    let sid = hidden(&walk, "submission_id");
    let r = ib
        .post_multipart_files(
            &format!("/inspector/tasks/{re}/walk"),
            &[
                ("a[0].item", fail[0]),
                ("a[0].result", "pass"),
                ("a[1].item", fail[1]),
                ("a[1].result", "pass"),
                ("action", "submit"),
                ("submission_id", &sid),
            ],
            &[],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, view) = lb
        .get_text(&format!("/landlord/applications/{app_id}"))
        .await;
    assert!(view.contains("检查通过") && view.contains("已整改"));

    // Every step is in the audit log, and the chain holds.
    let actions: Vec<String> = anju::entities::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "application.submit",
        "task.create",
        "task.start",
        "task.draft",
        "upload.create",
        "inspection.submit",
        "application.status",
        "finding.fix",
    ] {
        assert!(actions.iter().any(|x| x == a), "audit has {a}");
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "inspection.submit").count(),
        2
    );
    assert_eq!(actions.iter().filter(|a| *a == "finding.fix").count(), 2);
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        None
    );
}

#[rocket::async_test]
async fn an_old_inspection_still_renders_with_its_version_after_v2_is_added() {
    let forms = tempfile::tempdir().unwrap();
    let dir = forms.path().join("checklists");
    std::fs::create_dir_all(&dir).unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        root.join("forms/checklists/rental-safety.v1.toml"),
        dir.join("rental-safety.v1.toml"),
    )
    .unwrap();
    // The build also reads who is notified of what (issue 9's outbox) from the forms folder.
    std::fs::copy(
        root.join("forms/notifications.toml"),
        forms.path().join("notifications.toml"),
    )
    .unwrap();
    let forms_dir = forms.path().to_path_buf();
    let mut app = TestApp::with(|c| c.forms_dir = forms_dir.clone()).await;
    let landlord = app.api(LANDLORD).await;
    let (_, a) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t = task_for(&app, a, "initial").await;
    let c = checklist_v1();
    let api = app.api(INSPECTOR_JX).await;
    let (s, r) = api
        .post(
            &format!("/tasks/{}/inspection", t.id),
            json!({"submission_id": uuid(), "answers": passing(&c, None)}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    let stored =
        anju::entities::inspection::Entity::find_by_id(r["inspection_id"].as_i64().unwrap() as i32)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (
            stored.checklist_key.as_str(),
            stored.checklist_version,
            stored.checklist_hash.as_str()
        ),
        ("rental-safety", 1, c.content_hash.as_str())
    );

    // The town publishes v2; the application restarts with both files.
    std::fs::copy(
        root.join("tests/fixtures/checklists/rental-safety.v2.toml"),
        dir.join("rental-safety.v2.toml"),
    )
    .unwrap();
    app.config.forms_dir = forms_dir.clone();
    let b = app.signed_in(INSPECTOR_JX).await;
    let (s, html) = b.get_text(&format!("/inspections/{}", stored.id)).await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("第 1 版") && html.contains(&c.content_hash));
    let v2 = ChecklistRegistry::load_dir(&dir)
        .unwrap()
        .get("rental-safety", 2)
        .unwrap()
        .clone();
    let only_v2 = v2
        .items()
        .find(|i| c.item(&i.key).is_none())
        .expect("v2 adds an item");
    assert!(
        !html.contains(&only_v2.label_zh),
        "v2's new item is not in the old record"
    );
    let api = app.api(INSPECTOR_JX).await;
    let (_, cur) = api.get("/checklists/rental-safety").await;
    assert_eq!(cur["version"], 2);
    let (_, old) = api.get("/checklists/rental-safety?version=1").await;
    assert_eq!(old["version"], 1);
    // New walks use v2.
    let (_, a2) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let t2 = task_for(&app, a2, "initial").await;
    let (_, walk) = b
        .get_text(&format!("/inspector/tasks/{}/walk", t2.id))
        .await;
    assert!(walk.contains("第 2 版") && walk.contains(&only_v2.label_zh));
}

#[rocket::async_test]
async fn a_bad_checklist_file_stops_the_build_with_the_file_and_line() {
    let forms = tempfile::tempdir().unwrap();
    let dir = forms.path().join("checklists");
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/forms/checklists/rental-safety.v1.toml"
    ))
    .unwrap();
    let bad = good.replacen("severity = \"major\"", "severity = \"huge\"", 1);
    let line = bad.lines().position(|l| l.contains("\"huge\"")).unwrap() + 1;
    std::fs::write(dir.join("rental-safety.v1.toml"), bad).unwrap();
    let forms_dir = forms.path().to_path_buf();
    let app = TestApp::with(|c| c.forms_dir = forms_dir).await;
    let err = match anju::build(app.config.clone(), app.db.clone()).await {
        Ok(_) => panic!("a bad checklist must stop the build"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("rental-safety.v1.toml"), "{err}");
    assert!(err.contains(&line.to_string()), "line {line} in: {err}");
}

#[rocket::async_test]
async fn the_admin_filters_tasks_reassigns_them_and_sees_overdue_ones_and_findings() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (_, a1) = submitted_in_grid(&app, &landlord, "锦绣村第一网格").await;
    let (_, a2) = submitted_in_grid(&app, &landlord, "倪宅村第一网格").await;
    let t1 = task_for(&app, a1, "initial").await;
    let t2 = task_for(&app, a2, "initial").await;
    // t1 is past due.
    let mut am: inspection_task::ActiveModel = t1.clone().into();
    am.due_at = Set(chrono::Utc::now() - chrono::Duration::days(2));
    am.update(&app.db).await.unwrap();

    let admin = app.signed_in(ADMIN).await;
    let (s, html) = admin.get_text("/admin/tasks").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains(&format!("#{} ", t1.id)) && html.contains(&format!("#{} ", t2.id)));
    let (_, html) = admin.get_text("/admin/tasks?overdue=true").await;
    assert!(
        html.contains(&format!("#{} ", t1.id))
            && !html.contains(&format!("#{} ", t2.id))
            && html.contains("已逾期")
    );
    let (nz, _) = village_and_grid(&app, "倪宅村第一网格").await;
    let (_, html) = admin
        .get_text(&format!("/admin/tasks?village_id={nz}"))
        .await;
    assert!(!html.contains(&format!("#{} ", t1.id)) && html.contains(&format!("#{} ", t2.id)));
    let (_, g1) = village_and_grid(&app, "锦绣村第一网格").await;
    let (_, html) = admin
        .get_text(&format!("/admin/tasks?grid_id={g1}&status=open"))
        .await;
    assert!(html.contains(&format!("#{} ", t1.id)) && !html.contains(&format!("#{} ", t2.id)));
    let (_, html) = admin.get_text("/admin/tasks?status=done").await;
    assert!(html.contains("没有符合条件的任务"));
    // The API client sees the same through the API.
    let api = app.api(ADMIN).await;
    let (_, list) = api.get("/tasks?overdue=true").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], json!(t1.id));
    let (s, _) = api.get("/tasks?status=bogus").await;
    assert_eq!(s, Status::UnprocessableEntity);

    // Reassign to an inspector of another grid: refused; to a new inspector of the grid: done.
    let nz_inspector = user::Entity::find()
        .filter(user::Column::Phone.eq(INSPECTOR_NZ))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let r = admin
        .post_form(
            &format!("/admin/tasks/{}/reassign", t1.id),
            &[("inspector_id", &nz_inspector.id.to_string())],
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let still = inspection_task::Entity::find_by_id(t1.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.assignee_id, t1.assignee_id,
        "refused: not an inspector of the grid"
    );
    inspector_grid::ActiveModel {
        user_id: Set(nz_inspector.id),
        grid_id: Set(g1),
    }
    .insert(&app.db)
    .await
    .unwrap();
    admin
        .post_form(
            &format!("/admin/tasks/{}/reassign", t1.id),
            &[("inspector_id", &nz_inspector.id.to_string())],
        )
        .await;
    let moved = inspection_task::Entity::find_by_id(t1.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.assignee_id, Some(nz_inspector.id));
    let insp = app.signed_in(INSPECTOR_JX).await;
    assert_eq!(
        insp.post_form(
            &format!("/admin/tasks/{}/reassign", t1.id),
            &[("inspector_id", "1")]
        )
        .await
        .status(),
        Status::Forbidden
    );

    // A finding past its deadline shows on the admin's overdue list.
    let c = checklist_v1();
    let ij = app.api(INSPECTOR_JX).await;
    let (_, photo) = ij.upload(&png(50, 40)).await;
    let (s, r) = ij
        .post(&format!("/tasks/{}/inspection", t1.id), json!({"submission_id": uuid(), "answers": failing(passing(&c, None), &["wiring.rcd"], photo["id"].as_str())}))
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    let (_, html) = admin.get_text("/admin/findings").await;
    assert!(html.contains("没有逾期未整改的隐患"));
    let f = finding::Entity::find().one(&app.db).await.unwrap().unwrap();
    let mut fm: finding::ActiveModel = f.into();
    fm.deadline_at = Set(Some(chrono::Utc::now() - chrono::Duration::days(1)));
    fm.update(&app.db).await.unwrap();
    let (_, html) = admin.get_text("/admin/findings").await;
    assert!(html.contains("配电箱安装漏电保护") && html.contains("已逾期"));
    let lb = app.signed_in(LANDLORD).await;
    let (_, html) = lb.get_text(&format!("/landlord/applications/{a1}")).await;
    assert!(html.contains("已逾期"), "the landlord sees it overdue too");
}

/// A permitted house whose patrol falls due at `due`, with the permit in `status`.
async fn permitted_house(
    app: &TestApp,
    n: usize,
    due: chrono::DateTime<chrono::Utc>,
    status: &str,
) -> i32 {
    use anju::entities::{application, permit};
    let (v, g) = village_and_grid(app, "锦绣村第一网格").await;
    let landlord = user::Entity::find()
        .filter(user::Column::Phone.eq(LANDLORD))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let admin = user::Entity::find()
        .filter(user::Column::Phone.eq(ADMIN))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let p = property::ActiveModel {
        landlord_id: Set(landlord.id),
        village_id: Set(v),
        grid_id: Set(g),
        address: Set(format!("巡查路 {n} 号")),
        floors: Set(2),
        structure: Set("brick_concrete".into()),
        created_at: Set(now),
        updated_at: Set(now),
        grade: Set(Some(
            if n.is_multiple_of(2) { "green" } else { "red" }.into(),
        )),
        next_patrol_at: Set(Some(due)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let a = application::ActiveModel {
        property_id: Set(p.id),
        landlord_id: Set(landlord.id),
        village_id: Set(v),
        status: Set("approved".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    permit::ActiveModel {
        number: Set(format!("HJ-JX-2026-{n:05}")),
        application_id: Set(a.id),
        property_id: Set(p.id),
        village_id: Set(v),
        landlord_id: Set(landlord.id),
        status: Set(status.into()),
        valid_from: Set(now.date_naive()),
        valid_until: Set(now.date_naive() + chrono::Duration::days(365)),
        max_occupants: Set(4),
        grade: Set("green".into()),
        signature: Set("sig".into()),
        issued_at: Set(now),
        issued_by: Set(admin.id),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    p.id
}

#[rocket::async_test]
async fn two_racing_schedulers_create_one_routine_task_per_due_house() {
    use anju::services::inspections::{TaskPolicy, routine};
    let app = TestApp::new().await;
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut due = Vec::new();
    for n in 0..12 {
        due.push(permitted_house(&app, n, past, "active").await);
    }
    let later = permitted_house(
        &app,
        100,
        chrono::Utc::now() + chrono::Duration::days(5),
        "active",
    )
    .await;
    let suspended = permitted_house(&app, 101, past, "suspended").await;
    let reg = ChecklistRegistry::load_dir(&app.config.forms_dir.join("checklists")).unwrap();
    let policy = TaskPolicy {
        due_working_days: 3,
        checklist_key: "rental-safety".into(),
        clock: app.config.clock,
    };
    let now = chrono::Utc::now();
    let (db1, db2) = (app.db.clone(), app.db.clone());
    let (reg1, reg2) = (reg.clone(), reg.clone());
    let (p1, p2) = (policy.clone(), policy.clone());
    let one = rocket::tokio::spawn(async move { routine::create_due(&db1, &reg1, &p1, now).await });
    let two = rocket::tokio::spawn(async move { routine::create_due(&db2, &reg2, &p2, now).await });
    let (n1, n2) = (one.await.unwrap().unwrap(), two.await.unwrap().unwrap());
    assert_eq!(n1 + n2, 12, "{n1} + {n2}");
    let tasks = inspection_task::Entity::find()
        .filter(inspection_task::Column::Kind.eq("routine"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 12);
    for h in &due {
        assert_eq!(
            tasks.iter().filter(|t| t.property_id == *h).count(),
            1,
            "house {h}"
        );
    }
    assert!(
        tasks
            .iter()
            .all(|t| t.property_id != later && t.property_id != suspended)
    );
    // The next patrol moves on by the grade's cadence (green 90 days, red 7).
    let green = property::Entity::find_by_id(due[0])
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let red = property::Entity::find_by_id(due[1])
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let days = |t: chrono::DateTime<chrono::Utc>| ((t - now).num_minutes() as f64 / 1440.0).round();
    assert_eq!(days(green.next_patrol_at.unwrap()), 90.0);
    assert_eq!(days(red.next_patrol_at.unwrap()), 7.0);
    // Running again when all are due again: only the house that had no task yet gets one;
    // houses with an unfinished routine task get no second.
    assert_eq!(
        routine::create_due(&app.db, &reg, &policy, now + chrono::Duration::days(100))
            .await
            .unwrap(),
        1
    );
    let tasks = inspection_task::Entity::find()
        .filter(inspection_task::Column::Kind.eq("routine"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(tasks.iter().filter(|t| t.property_id == later).count(), 1);
    assert_eq!(tasks.len(), 13);

    // Through the job runner: two instances at once, one claim wins.
    let b = app.browser().await;
    let state = b.client.rocket().state::<anju::AppRef>().unwrap().clone();
    let (s1, s2) = (state.clone(), state.clone());
    let (r1, r2) = rocket::tokio::join!(
        async move { anju::jobs::run_all(&s1, "instance-a").await.len() },
        async move { anju::jobs::run_all(&s2, "instance-b").await.len() }
    );
    // Tests build instances with the scheduler off, so exactly these two runners race: at least
    // one ran each job, whoever ran released the lease, and no house got a second routine task.
    assert!(r1 + r2 >= 1, "at least one instance ran the jobs");
    let job = anju::entities::job::Entity::find_by_id("routine_patrols".to_string())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the job row exists once claimed");
    assert!(
        !matches!(
            job.locked_by.as_deref(),
            Some("instance-a") | Some("instance-b")
        ),
        "lease released"
    );
    assert_eq!(
        inspection_task::Entity::find()
            .filter(inspection_task::Column::Kind.eq("routine"))
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        13
    );
}

#[rocket::async_test]
async fn a_routine_patrol_finding_is_fixed_from_the_house_page_and_rechecked() {
    use anju::services::inspections::{TaskPolicy, routine};
    let app = TestApp::new().await;
    let house = permitted_house(
        &app,
        7,
        chrono::Utc::now() - chrono::Duration::hours(1),
        "active",
    )
    .await;
    let reg = ChecklistRegistry::load_dir(&app.config.forms_dir.join("checklists")).unwrap();
    let policy = TaskPolicy {
        due_working_days: 3,
        checklist_key: "rental-safety".into(),
        clock: app.config.clock,
    };
    assert_eq!(
        routine::create_due(&app.db, &reg, &policy, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    let api = app.api(INSPECTOR_JX).await;
    let (_, list) = api.get("/tasks").await;
    let t = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "routine")
        .expect("routine task")
        .clone();
    assert_eq!(t["property_id"], json!(house));
    let c = checklist_v1();
    let (_, photo) = api.upload(&png(50, 40)).await;
    let (s, r) = api
        .post(&format!("/tasks/{}/inspection", t["id"]), json!({"submission_id": uuid(), "answers": failing(passing(&c, None), &["gas.no_lpg_outside_kitchen"], photo["id"].as_str())}))
        .await;
    assert_eq!(s, Status::Ok, "{r}");
    assert_eq!(r["grade"], "red");

    let lb = app.signed_in(LANDLORD).await;
    let (_, html) = lb.get_text(&format!("/landlord/houses/{house}")).await;
    assert!(html.contains("未整改完的隐患") && html.contains("立即整改"));
    let fid = ids_in(&html, "/landlord/findings/", "/fix")[0];
    // Reported twice (a double tap): the second report lands on the same house page.
    let _first = lb
        .post_multipart(
            &format!("/landlord/findings/{fid}/fix"),
            &[("note", "")],
            &png(60, 40),
        )
        .await;
    let r = lb
        .post_multipart(
            &format!("/landlord/findings/{fid}/fix"),
            &[("note", "")],
            &png(60, 40),
        )
        .await;
    assert_eq!(
        r.headers().get_one("Location"),
        Some(format!("/landlord/houses/{house}").as_str())
    );
    assert_eq!(
        app.count("inspection_tasks").await,
        1,
        "a refused fix creates nothing"
    );
    let (_, html) = lb.get_text(&format!("/landlord/houses/{house}")).await;
    assert!(html.contains("请说明整改情况"), "the house page says why");
    let r = lb
        .post_multipart(
            &format!("/landlord/findings/{fid}/fix"),
            &[("note", "钢瓶已移入厨房")],
            &png(60, 40),
        )
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let re = inspection_task::Entity::find()
        .filter(inspection_task::Column::Kind.eq("reinspection"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("re-inspection");
    assert_eq!(re.property_id, house);
    assert_eq!(
        re.items.as_deref(),
        Some("[\"gas.no_lpg_outside_kitchen\"]")
    );
}
