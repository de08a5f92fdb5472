//! Personal data and the residents' register: masking per role, the audited whole view, nothing in
//! clear text in the database, CSV/XLSX exports, retention, abuse limits, and the whole story.
mod common;

use anju::crypto::pii::PiiCipher;
use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::OccupancyRule;
use anju::domain::role::Role;
use anju::domain::stay::{CheckIn, Lang};
use anju::entities::{audit_entry, notification, permit, stay, user};
use anju::error::AppError;
use anju::services::{Actor, stays};
use common::*;
use rocket::http::Status;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement,
};

const TENANT_PHONE: &str = "13812349876";

async fn permit_of(app: &TestApp, number: &str) -> permit::Model {
    permit::Entity::find()
        .filter(permit::Column::Number.eq(number))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// The instance's personal-data cipher, from wherever its keys live (files or the database).
async fn pii(app: &TestApp) -> PiiCipher {
    app.keys().await.pii
}

fn landlord_actor(p: &permit::Model) -> Actor {
    Actor {
        id: p.landlord_id,
        role: Role::Landlord,
        name: "房东".into(),
        village_id: None,
    }
}

/// A confirmed stay of tenant `n` on a new permit; returns (permit, stay id, document number, code).
async fn active_stay(app: &TestApp, n: u32) -> (permit::Model, i32, String, String) {
    let (number, _) = active_permit(app, 2).await;
    let p = permit_of(app, &number).await;
    let room = permit_rooms(app, &number).await[0];
    let doc = resident_id(n);
    let c = stays::check_in(
        &app.db,
        &pii(app).await,
        &OccupancyRule::default(),
        p.id,
        CheckIn {
            name: format!("孙租客{n}"),
            doc: DocNumber::parse(DocType::ResidentId, &doc, today_cst()).unwrap(),
            phone: Phone::parse(TENANT_PHONE).unwrap(),
            room_id: room,
            move_in: today_cst(),
            move_out_expected: None,
            employer: Some("花街电子厂".into()),
        },
        Lang::Zh,
    )
    .await
    .unwrap();
    stays::landlord_transition(
        &app.db,
        &landlord_actor(&p),
        c.stay_id,
        stays::Transition::Confirm,
    )
    .await
    .unwrap();
    (p, c.stay_id, doc, c.checkout_code)
}

/// A police system's account with a bearer token.
async fn police(app: &TestApp) -> Api {
    let u = user::ActiveModel {
        role: Set("api_client".into()),
        phone: Set("13900000099".into()),
        name: Set("公安接口".into()),
        password_hash: Set("!".into()),
        village_id: Set(None),
        active: Set(true),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let actor = Actor {
        id: u.id,
        role: Role::ApiClient,
        name: u.name,
        village_id: None,
    };
    let token = anju::services::auth::issue_token(&app.db, &actor, "police")
        .await
        .unwrap();
    Api {
        client: app.browser().await.client,
        token,
    }
}

async fn audits(app: &TestApp, action: &str) -> Vec<audit_entry::Model> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap()
}

#[rocket::async_test]
async fn numbers_are_masked_per_role_and_the_whole_view_is_an_audited_post() {
    let app = TestApp::new().await;
    let (p, stay_id, doc, _) = active_stay(&app, 11).await;
    let masked = anju::domain::identity::mask_doc_number(&doc);
    // The landlord sees name, masked number and the phone of their own tenant.
    let landlord = app.signed_in(LANDLORD).await;
    let (s, house) = landlord
        .get_text(&format!("/landlord/houses/{}", p.property_id))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(house.contains("孙租客11") && house.contains(&masked) && house.contains(TENANT_PHONE));
    assert!(!house.contains(&doc));
    assert!(house.contains("在住 <b>1</b> 人"), "occupancy shown");
    // The official of the village sees the masked number and may reveal it by an explicit POST.
    let official = app.signed_in(OFFICIAL_JX).await;
    let (s, list) = official.get_text("/residents").await;
    assert_eq!(s, Status::Ok);
    assert!(list.contains("孙租客11") && list.contains(&masked) && !list.contains(&doc));
    let (s, _) = official
        .get_text(&format!("/residents/stays/{stay_id}/reveal"))
        .await;
    assert_eq!(s, Status::NotFound, "no GET reveal");
    let r = official
        .post_form_with_token(&format!("/residents/stays/{stay_id}/reveal"), &[], None)
        .await;
    assert_eq!(r.status(), Status::Forbidden, "CSRF is required");
    let r = official
        .post_form(&format!("/residents/stays/{stay_id}/reveal"), &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert!(r.into_string().await.unwrap().contains(&doc));
    let seen = audits(&app, "stay.reveal_doc").await;
    assert_eq!(seen.len(), 1);
    let official_id = user::Entity::find()
        .filter(user::Column::Phone.eq(OFFICIAL_JX))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(seen[0].actor_id, Some(official_id), "who");
    assert_eq!(seen[0].entity_id, stay_id.to_string(), "whom");
    // Another village's official sees nothing of it and may not reveal it; landlords never may.
    let other = app.signed_in(OFFICIAL_NZ).await;
    let (_, list) = other.get_text("/residents").await;
    assert!(!list.contains("孙租客11"));
    let (s, _) = other
        .get_text(&format!("/residents?village_id={}", p.village_id))
        .await;
    assert_eq!(s, Status::Forbidden);
    let r = other
        .post_form(&format!("/residents/stays/{stay_id}/reveal"), &[])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    let r = landlord
        .post_form(&format!("/residents/stays/{stay_id}/reveal"), &[])
        .await;
    assert_eq!(r.status(), Status::Forbidden);
    assert_eq!(audits(&app, "stay.reveal_doc").await.len(), 1);
    // The admin may reveal too.
    let admin = app.signed_in(ADMIN).await;
    let r = admin
        .post_form(&format!("/residents/stays/{stay_id}/reveal"), &[])
        .await;
    assert_eq!(r.status(), Status::Ok);
    // The public check-in page shows no people.
    let (s, public) = app
        .browser()
        .await
        .get_text(&format!("/p/{}/checkin?sig={}", p.number, p.signature))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(!public.contains("孙租客11"));
}

#[rocket::async_test]
async fn police_pull_the_register_masked_by_default_whole_on_request_and_audited() {
    let app = TestApp::new().await;
    let (p, _, doc, _) = active_stay(&app, 12).await;
    let api = police(&app).await;
    let (s, v) = api
        .get(&format!("/residents?village_id={}", p.village_id))
        .await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["total"], 1);
    assert_eq!(
        v["items"][0]["doc_number"],
        anju::domain::identity::mask_doc_number(&doc)
    );
    let (_, v) = api.get("/residents?full=true").await;
    assert_eq!(v["items"][0]["doc_number"], doc.as_str());
    assert_eq!(v["items"][0]["phone"], TENANT_PHONE);
    assert_eq!(audits(&app, "residents.api").await.len(), 2);
    let (s, _) = api.get("/residents?active_on=yesterday").await;
    assert_eq!(s, Status::BadRequest);
    let inspector = app.api(INSPECTOR_JX).await;
    let (s, _) = inspector.get("/residents").await;
    assert_eq!(s, Status::Forbidden);
    let landlord = app.api(LANDLORD).await;
    let (s, _) = landlord.get("/residents").await;
    assert_eq!(s, Status::Forbidden);
}

#[rocket::async_test]
async fn the_database_holds_no_document_number_or_phone_in_clear_text() {
    let app = TestApp::new().await;
    let (_, _, doc, _) = active_stay(&app, 13).await;
    let backend = app.db.get_database_backend();
    if app.config.is_sqlite() {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let path = app.config.data_dir.join(format!("anju.db{suffix}"));
            if let Ok(b) = std::fs::read(&path) {
                bytes.extend(b);
            }
        }
        assert!(bytes.len() > 10_000, "read the database files");
        for needle in [
            doc.as_bytes(),
            TENANT_PHONE.as_bytes(),
            &doc.as_bytes()[6..14],
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "found {} in the raw database",
                String::from_utf8_lossy(needle)
            );
        }
    } else {
        for table in ["stays", "audit_log"] {
            let rows = app
                .db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT t::text AS row FROM {table} t"),
                ))
                .await
                .unwrap();
            assert!(!rows.is_empty());
            for r in rows {
                let text: String = r.try_get("", "row").unwrap();
                assert!(
                    !text.contains(&doc) && !text.contains(TENANT_PHONE),
                    "{text}"
                );
            }
        }
    }
}

#[rocket::async_test]
async fn exports_are_csv_with_bom_and_a_valid_xlsx_each_audited() {
    use calamine::Reader;
    let app = TestApp::new().await;
    let (p, _, doc, _) = active_stay(&app, 14).await;
    let admin = app.signed_in(ADMIN).await;
    let r = admin
        .get(&format!(
            "/residents/export.csv?village_id={}",
            p.village_id
        ))
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(
        r.content_type().map(|c| c.to_string()).unwrap_or_default(),
        "text/csv; charset=utf-8"
    );
    let csv = r.into_bytes().await.unwrap();
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("登记编号,姓名,证件类型,证件号码")
    );
    let line = lines.next().unwrap();
    assert!(line.contains("孙租客14") && line.contains("居民身份证") && line.contains("锦绣村"));
    assert!(!text.contains(&doc));
    let r = admin.get("/residents/export.xlsx").await;
    assert_eq!(r.status(), Status::Ok);
    let bytes = r.into_bytes().await.unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a valid workbook");
    let range = wb.worksheet_range("实有人口").unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][1], "姓名");
    assert_eq!(rows[1][1], "孙租客14");
    assert_eq!(rows[1][3], anju::domain::identity::mask_doc_number(&doc));
    assert_eq!(audits(&app, "residents.export").await.len(), 2);
    // An export keeps no temporary file behind.
    let left = std::fs::read_dir(app.config.data_dir.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0);
}

/// Gives a stay the name and employer a test needs in the register.
async fn rename_stay(app: &TestApp, id: i32, name: &str, employer: Option<&str>) -> stay::Model {
    let mut s: stay::ActiveModel = stay::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    s.name = sea_orm::Set(Some(name.into()));
    s.employer = sea_orm::Set(employer.map(Into::into));
    sea_orm::ActiveModelTrait::update(s, &app.db).await.unwrap()
}

/// The CSV lines come from the database (PostgreSQL's COPY, SQLite's JSON chunks); their quoting
/// and formula defusing must be exactly the reference's (`exports::csv_line`), on both databases.
#[rocket::async_test]
async fn the_csv_the_database_writes_quotes_and_defuses_exactly_like_the_reference() {
    let app = TestApp::new().await;
    let (_, stay_id, _, _) = active_stay(&app, 16).await;
    let name = "=HYPERLINK(\"x\")";
    let employer = "-a,b \"c\"\r\nd";
    let far = rename_stay(&app, stay_id, name, Some(employer)).await;
    // A stay whose id lies ranges away (SQLite is read 5 000 ids at a time, PostgreSQL 25 000).
    let far = stay::ActiveModel {
        id: sea_orm::Set(far.id + 60_000),
        name: sea_orm::Set(Some("远处的住户".into())),
        employer: sea_orm::Set(None),
        open_doc_hash: sea_orm::Set(None),
        ..sea_orm::IntoActiveModel::into_active_model(far)
    };
    sea_orm::ActiveModelTrait::insert(far, &app.db)
        .await
        .unwrap();
    let admin = app.signed_in(ADMIN).await;
    let r = admin.get("/residents/export.csv").await;
    assert_eq!(r.status(), Status::Ok);
    let csv = r.into_string().await.unwrap();
    let reference = |v: &str| {
        let mut out = String::new();
        anju::services::exports::csv_line(&mut out, [v]);
        out.trim_end_matches("\r\n").to_string()
    };
    assert_eq!(reference(name), "\"'=HYPERLINK(\"\"x\"\")\"");
    let line_start = csv
        .find(&format!("\r\n{stay_id},"))
        .expect("the stay's line")
        + 2;
    let expected_start = format!("{stay_id},{},居民身份证,", reference(name));
    assert!(
        csv[line_start..].starts_with(&expected_start),
        "{:?}",
        &csv[line_start..line_start + 80]
    );
    let expected_end = format!(",{}\r\n", reference(employer));
    assert_eq!(expected_end, ",\"'-a,b \"\"c\"\"\r\nd\"\r\n");
    assert!(csv[line_start..].contains(&expected_end), "{csv:?}");
    // Every line ends in CRLF, the file too: the header, the two stays' lines, and the CRLF
    // inside the quotes; the far stay comes after the near one.
    assert!(csv.ends_with("\r\n"));
    assert_eq!(csv.matches("\r\n").count(), 4, "{csv:?}");
    let far_line = csv
        .find(&format!("\r\n{},远处的住户,", stay_id + 60_000))
        .expect("the far stay's line");
    assert!(far_line > line_start, "in stay order");
}

#[rocket::async_test]
async fn the_register_on_a_past_date_shows_who_lived_there_then() {
    let app = TestApp::new().await;
    let (p, stay_id, _, _) = active_stay(&app, 15).await;
    let ten_days_ago = today_cst() - chrono::Duration::days(10);
    let mut s: stay::ActiveModel = stay::Entity::find_by_id(stay_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    s.move_in = Set(ten_days_ago);
    s.update(&app.db).await.unwrap();
    stays::landlord_transition(
        &app.db,
        &landlord_actor(&p),
        stay_id,
        stays::Transition::CheckOut,
    )
    .await
    .unwrap();
    let official = app.api(OFFICIAL_JX).await;
    let (_, now) = official.get("/residents").await;
    assert_eq!(now["total"], 0, "gone now");
    let (_, then) = official
        .get(&format!(
            "/residents?active_on={}",
            today_cst() - chrono::Duration::days(5)
        ))
        .await;
    assert_eq!(then["total"], 1, "lived there five days ago");
    let (_, before) = official
        .get(&format!(
            "/residents?active_on={}",
            today_cst() - chrono::Duration::days(11)
        ))
        .await;
    assert_eq!(before["total"], 0, "not yet moved in");
}

#[rocket::async_test]
async fn retention_wipes_personal_fields_of_old_stays_and_keeps_the_counts() {
    let app = TestApp::new().await;
    let (p, old_id, _, _) = active_stay(&app, 16).await;
    let (_, current_id, _, _) = active_stay(&app, 17).await;
    stays::landlord_transition(
        &app.db,
        &landlord_actor(&p),
        old_id,
        stays::Transition::CheckOut,
    )
    .await
    .unwrap();
    assert_eq!(
        stays::retention_wipe(&app.db, 24, chrono::Utc::now())
            .await
            .unwrap(),
        0,
        "recent check-outs are kept"
    );
    let long_ago = chrono::Utc::now() - chrono::Duration::days(25 * 31);
    stay::Entity::update_many()
        .col_expr(stay::Column::EndedAt, long_ago.into())
        .filter(stay::Column::Id.eq(old_id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        stays::retention_wipe(&app.db, 24, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    let old = stay::Entity::find_by_id(old_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(old.name.is_none() && old.doc_number_enc.is_none() && old.doc_hash.is_none());
    assert!(old.phone_enc.is_none() && old.doc_masked.is_none() && old.employer.is_none());
    assert!(old.wiped_at.is_some());
    assert_eq!(
        old.status, "checked_out",
        "the anonymous row remains for counts"
    );
    let cur = stay::Entity::find_by_id(current_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(cur.name.is_some() && cur.doc_number_enc.is_some());
    assert_eq!(app.count("stays").await, 2);
}

#[rocket::async_test]
async fn a_permit_flooded_with_registrations_stops_and_alerts_landlord_and_official() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 2).await;
    let p = permit_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let cipher = pii(&app).await;
    let rule = OccupancyRule::default();
    let one = |n: u32| CheckIn {
        name: "某人".into(),
        doc: DocNumber::parse(DocType::ResidentId, &resident_id(n), today_cst()).unwrap(),
        phone: Phone::parse("13800000000").unwrap(),
        room_id: room,
        move_in: today_cst(),
        move_out_expected: None,
        employer: None,
    };
    for n in 0..20 {
        let c = stays::check_in(&app.db, &cipher, &rule, p.id, one(n), Lang::Zh)
            .await
            .unwrap();
        stays::landlord_transition(
            &app.db,
            &landlord_actor(&p),
            c.stay_id,
            stays::Transition::Reject,
        )
        .await
        .unwrap();
    }
    let r = stays::check_in(&app.db, &cipher, &rule, p.id, one(20), Lang::Zh).await;
    assert!(matches!(r, Err(AppError::TooMany(_))), "{r:?}");
    let _ = stays::check_in(&app.db, &cipher, &rule, p.id, one(21), Lang::Zh).await;
    let notes = notification::Entity::find()
        .filter(notification::Column::Kind.eq("stay.flood"))
        .all(&app.db)
        .await
        .unwrap();
    let official = user::Entity::find()
        .filter(user::Column::Phone.eq(OFFICIAL_JX))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notes.len(), 2, "one alert each, not one per attempt");
    assert!(notes.iter().any(|n| n.user_id == p.landlord_id));
    assert!(notes.iter().any(|n| n.user_id == official.id));
    assert_eq!(stay::Entity::find().count(&app.db).await.unwrap(), 20);
}

#[rocket::async_test]
async fn the_public_check_in_is_rate_limited_per_address() {
    let app = TestApp::with(|c| c.public_rate_per_minute = 3).await;
    let (number, sig) = active_permit(&app, 2).await;
    let b = app.browser().await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = b
            .post_form(&format!("/p/{number}/checkin?sig={sig}"), &[("name", "")])
            .await;
        statuses.push(r.status());
    }
    assert_eq!(statuses[..3], [Status::UnprocessableEntity; 3]);
    assert_eq!(statuses[3], Status::TooManyRequests);
}

/// PostgreSQL hands the XLSX writer COPY's text format: tabs, backslashes and line breaks in a
/// value come back as they were, a formula-looking value stays text, and an absent one blank.
#[rocket::async_test]
async fn the_xlsx_holds_each_value_exactly_escapes_and_blanks_included() {
    let app = TestApp::new().await;
    let (_, stay_id, _, _) = active_stay(&app, 17).await;
    let name = "=A\tB\\C\r\nD \\N";
    rename_stay(&app, stay_id, name, None).await;
    let admin = app.signed_in(ADMIN).await;
    let r = admin.get("/residents/export.xlsx").await;
    assert_eq!(r.status(), Status::Ok);
    let bytes = r.into_bytes().await.unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a valid workbook");
    let range = calamine::Reader::worksheet_range(&mut wb, "实有人口").unwrap();
    let row = range
        .rows()
        .find(|r| r[0] == calamine::Data::Float(f64::from(stay_id)))
        .expect("the stay's row, its number a number");
    assert_eq!(row[1], calamine::Data::String(name.into()));
    assert_eq!(row[2], calamine::Data::String("居民身份证".into()));
    assert_eq!(row[12], calamine::Data::Empty, "no employer, a blank cell");
}
