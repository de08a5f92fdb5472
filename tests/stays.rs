//! Tenant stays: check-in from the QR, caps under concurrency, one open stay per person, check-out,
//! masking and the audited whole view, the residents' register and its exports, lapse and retention.
mod common;

use std::sync::Arc;

use anju::crypto::pii::PiiCipher;
use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::OccupancyRule;
use anju::domain::stay::{CheckIn, Lang};
use anju::entities::{permit, stay};
use anju::error::AppError;
use anju::services::stays;
use common::*;
use rocket::http::Status;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::json;

fn today() -> String {
    today_cst().format("%Y-%m-%d").to_string()
}

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

fn input(n: u32, room_id: i32) -> CheckIn {
    CheckIn {
        name: format!("租客{n}"),
        doc: DocNumber::parse(DocType::ResidentId, &resident_id(n), today_cst()).unwrap(),
        phone: Phone::parse("13812345678").unwrap(),
        room_id,
        move_in: today_cst(),
        move_out_expected: None,
        employer: None,
    }
}

/// Posts the check-in form; returns the status and the page.
async fn form_checkin(
    b: &Browser,
    number: &str,
    sig: &str,
    doc_type: &str,
    doc: &str,
    room: i32,
    lang: &str,
) -> (Status, String) {
    let room = room.to_string();
    let today = today();
    let r = b
        .post_form(
            &format!("/p/{number}/checkin?sig={sig}&lang={lang}"),
            &[
                ("name", "李四"),
                ("doc_type", doc_type),
                ("doc_number", doc),
                ("phone", "13912345678"),
                ("room_id", &room),
                ("move_in", &today),
                ("consent", "yes"),
            ],
        )
        .await;
    let s = r.status();
    // A check-in answers 303 to its reloadable receipt; the caller sees the page it lands on.
    if s == Status::SeeOther {
        let to = r
            .headers()
            .get_one("Location")
            .unwrap_or_default()
            .to_string();
        assert!(to.contains("/receipt?t="), "redirects to the receipt: {to}");
        return b.get_text(&to).await;
    }
    (s, r.into_string().await.unwrap_or_default())
}

fn code_in(html: &str) -> String {
    let start = html.find("class=\"code\">").expect("a check-out code") + 13;
    html[start..].chars().take_while(|c| *c != '<').collect()
}

fn stay_id_in(html: &str) -> i32 {
    let start = html.find("/stays/checkout?stay=").expect("stay link") + 21;
    html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[rocket::async_test]
async fn the_form_validates_id_numbers_beside_the_field_in_the_chosen_language() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 6).await;
    let room = permit_rooms(&app, &number).await[0];
    let b = app.browser().await;
    let (s, page) = b.get_text(&format!("/p/{number}/checkin?sig={sig}")).await;
    assert_eq!(s, Status::Ok);
    assert!(
        page.contains("居民身份证") && page.contains("港澳台居民居住证") && page.contains("护照")
    );
    let impossible = with_check_digit("11010519490230002");
    let future = with_check_digit("11010520990101002");
    let province = with_check_digit("99010519491231002");
    let cases = [
        ("11010519491231002Y", "zh", "身份证号码前17位应为数字"),
        ("110105194912310021", "zh", "身份证号码校验位错误"),
        (impossible.as_str(), "zh", "身份证号码中的出生日期不存在"),
        (future.as_str(), "zh", "身份证号码中的出生日期晚于今天"),
        (province.as_str(), "zh", "前两位不是有效的省级行政区划代码"),
        ("110105491231002", "zh", "旧版15位身份证号码已停用"),
        (
            "110105491231002",
            "en",
            "Old 15-digit ID card numbers are no longer in use",
        ),
        ("110105194912310021", "en", "Check digit is wrong"),
        (
            impossible.as_str(),
            "en",
            "date of birth in the number does not exist",
        ),
    ];
    for (doc, lang, msg) in cases {
        let (s, html) = form_checkin(&b, &number, &sig, "resident_id", doc, room, lang).await;
        assert_eq!(s, Status::UnprocessableEntity, "{doc}");
        assert!(html.contains(msg), "{doc} {lang}: expected {msg}");
        assert!(html.contains("field-error"), "message beside the field");
    }
    assert_eq!(app.count("stays").await, 0, "refused input stores nothing");
    // A lowercase x is the same number as X and is accepted.
    let (s, html) = form_checkin(
        &b,
        &number,
        &sig,
        "resident_id",
        "11010519491231002x",
        room,
        "zh",
    )
    .await;
    assert_eq!(s, Status::Ok, "{html}");
    assert!(html.contains("待房东确认"));
    assert_eq!(code_in(&html).len(), 10);
    let st = stay::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(st.doc_masked.as_deref(), Some("110105********002X"));
}

#[rocket::async_test]
async fn fifty_concurrent_check_ins_on_a_permit_of_four_admit_exactly_four() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 4).await;
    let p = permit_of(&app, &number).await;
    let rooms = permit_rooms(&app, &number).await;
    let cipher = Arc::new(pii(&app).await);
    let mut tasks = Vec::new();
    for n in 0..50u32 {
        let (db, cipher, room) = (app.db.clone(), cipher.clone(), rooms[n as usize % 2]);
        tasks.push(rocket::tokio::spawn(async move {
            stays::check_in(
                &db,
                &cipher,
                &OccupancyRule::default(),
                p.id,
                input(n, room),
                Lang::Zh,
            )
            .await
        }));
    }
    let (mut ok, mut full) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::Conflict(m)) => {
                assert!(m.contains("满"), "a clear full message: {m}");
                full += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, full), (4, 46));
    assert_eq!(app.count("stays").await, 4);
    assert_eq!(
        open_stay_counters_hold(&app).await,
        4,
        "the permit's counter says four"
    );
}

#[rocket::async_test]
async fn a_room_cap_holds_even_when_the_permit_has_room() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let room = permit_rooms(&app, &number).await[0];
    let api = app.browser().await;
    for n in 0..3 {
        let r = api
            .client
            .post(format!("/api/v1/permits/{number}/stays"))
            .header(rocket::http::ContentType::JSON)
            .body(json!({"sig": sig, "name": "王五", "doc_type": "resident_id", "doc_number": resident_id(n),
                "phone": "13700000000", "room_id": room, "move_in": today()}).to_string())
            .dispatch()
            .await;
        let want = if n < 2 {
            Status::Created
        } else {
            Status::Conflict
        };
        assert_eq!(r.status(), want, "check-in {n}");
        let body = r.into_string().await.unwrap();
        if n == 2 {
            assert!(body.contains("该房间已住满"), "{body}");
        } else {
            assert!(body.contains("\"status\":\"pending\"") && body.contains("checkout_code"));
        }
    }
}

#[rocket::async_test]
async fn a_person_holds_one_open_stay_across_houses_enforced_by_the_database() {
    let app = TestApp::new().await;
    let (a, _) = active_permit(&app, 2).await;
    let (b_num, b_sig) = active_permit(&app, 2).await;
    let cipher = pii(&app).await;
    let rule = OccupancyRule::default();
    let pa = permit_of(&app, &a).await;
    let first = stays::check_in(
        &app.db,
        &cipher,
        &rule,
        pa.id,
        input(7, permit_rooms(&app, &a).await[0]),
        Lang::Zh,
    )
    .await
    .unwrap();
    let b = app.browser().await;
    let room_b = permit_rooms(&app, &b_num).await[0];
    let (s, html) = form_checkin(
        &b,
        &b_num,
        &b_sig,
        "resident_id",
        &resident_id(7),
        room_b,
        "zh",
    )
    .await;
    assert_eq!(s, Status::Conflict);
    assert!(html.contains("请先在原住处办理退租"), "{html}");
    // The unique index refuses a second open row even when code is bypassed.
    let open_hash = stay::Entity::find_by_id(first.stay_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .open_doc_hash
        .unwrap();
    let backend = app.db.get_database_backend();
    let raw = app
        .db
        .execute_raw(Statement::from_string(
            backend,
            format!(
                "INSERT INTO stays (permit_id, property_id, village_id, room_id, status, doc_type, open_doc_hash, move_in, checkout_code_hash, created_at) \
                 SELECT permit_id, property_id, village_id, room_id, 'pending', doc_type, '{open_hash}', move_in, 'x', created_at FROM stays WHERE id = {}",
                first.stay_id
            ),
        ))
        .await;
    assert!(
        raw.is_err(),
        "the database itself refuses a second open stay"
    );
    // After checking out with the code the person may check in elsewhere.
    let r = b
        .post_form(
            "/stays/checkout",
            &[
                ("stay_id", &first.stay_id.to_string()),
                ("checkout_code", &first.checkout_code.to_lowercase()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert!(r.into_string().await.unwrap().contains("退租已办理"));
    let (s, _) = form_checkin(
        &b,
        &b_num,
        &b_sig,
        "resident_id",
        &resident_id(7),
        room_b,
        "zh",
    )
    .await;
    assert_eq!(s, Status::Ok);
}

#[rocket::async_test]
async fn pending_stays_lapse_after_the_configured_hours_and_free_their_slot() {
    let app = TestApp::new().await;
    let (number, _) = active_permit(&app, 1).await;
    let p = permit_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[0];
    let cipher = pii(&app).await;
    let rule = OccupancyRule::default();
    let s = stays::check_in(&app.db, &cipher, &rule, p.id, input(1, room), Lang::Zh)
        .await
        .unwrap();
    assert_eq!(
        stays::lapse_pending(&app.db, 72, chrono::Utc::now())
            .await
            .unwrap(),
        0,
        "fresh stays stay pending"
    );
    let old = chrono::Utc::now() - chrono::Duration::hours(73);
    stay::Entity::update_many()
        .col_expr(stay::Column::CreatedAt, old.into())
        .filter(stay::Column::Id.eq(s.stay_id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        stays::lapse_pending(&app.db, 72, chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    let row = stay::Entity::find_by_id(s.stay_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "lapsed");
    assert!(row.open_doc_hash.is_none());
    assert_eq!(
        open_stay_counters_hold(&app).await,
        0,
        "a lapsed stay holds no place"
    );
    stays::check_in(&app.db, &cipher, &rule, p.id, input(1, room), Lang::Zh)
        .await
        .expect("the slot and the person are free again");
    assert_eq!(open_stay_counters_hold(&app).await, 1);
}

#[rocket::async_test]
async fn check_out_works_by_code_through_the_api_and_by_the_landlord() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let rooms = permit_rooms(&app, &number).await;
    let landlord = app.api(LANDLORD).await;
    let anon = app.browser().await;
    let mut ids = Vec::new();
    for n in 0..2u32 {
        let (s, v) = landlord
            .post(
                &format!("/permits/{number}/stays"),
                json!({"sig": sig, "name": "赵六", "doc_type": "resident_id", "doc_number": resident_id(n),
                    "phone": "13600000000", "room_id": rooms[0], "move_in": today(), "employer": "花街电子厂"}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
        ids.push((
            v["stay_id"].as_i64().unwrap() as i32,
            v["checkout_code"].as_str().unwrap().to_string(),
        ));
    }
    for (id, _) in &ids {
        let (s, v) = landlord
            .post(&format!("/stays/{id}/confirm"), json!({}))
            .await;
        assert_eq!((s, v["status"].as_str()), (Status::Ok, Some("active")));
    }
    assert_eq!(
        open_stay_counters_hold(&app).await,
        2,
        "confirming keeps the place"
    );
    // A wrong code changes nothing.
    let r = anon
        .client
        .post(format!("/api/v1/stays/{}/checkout", ids[0].0))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"checkout_code": "WRONGCODE2"}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::UnprocessableEntity);
    let r = anon
        .client
        .post(format!("/api/v1/stays/{}/checkout", ids[0].0))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"checkout_code": ids[0].1}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    let (s, v) = landlord
        .post(&format!("/stays/{}/checkout", ids[1].0), json!({}))
        .await;
    assert_eq!((s, v["status"].as_str()), (Status::Ok, Some("checked_out")));
    let (s, _) = landlord
        .post(&format!("/stays/{}/checkout", ids[1].0), json!({}))
        .await;
    assert_eq!(s, Status::Conflict, "a stay ends once");
    assert_eq!(
        open_stay_counters_hold(&app).await,
        0,
        "checked-out stays hold no place"
    );
    // History is kept.
    assert_eq!(app.count("stays").await, 2);
    // Another landlord's token cannot touch the stay; an official cannot confirm.
    let official = app.api(OFFICIAL_JX).await;
    let (s, _) = official
        .post(&format!("/stays/{}/confirm", ids[0].0), json!({}))
        .await;
    assert_eq!(s, Status::Forbidden);
}

#[rocket::async_test]
async fn a_missing_or_wrong_signature_is_refused() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 2).await;
    let room = permit_rooms(&app, &number).await[0];
    let b = app.browser().await;
    for bad in ["", "deadbeef.AAAA", &sig[..sig.len() - 2]] {
        let r = b
            .client
            .post(format!("/api/v1/permits/{number}/stays"))
            .header(rocket::http::ContentType::JSON)
            .body(json!({"sig": bad, "name": "王五", "doc_type": "resident_id", "doc_number": resident_id(1),
                "phone": "13700000000", "room_id": room, "move_in": today()}).to_string())
            .dispatch()
            .await;
        assert_eq!(r.status(), Status::Forbidden, "sig {bad:?}");
    }
    let (s, _) = b.get_text(&format!("/p/{number}/checkin")).await;
    assert_eq!(s, Status::Forbidden);
    assert_eq!(app.count("stays").await, 0);
}

#[rocket::async_test]
async fn no_check_in_on_a_suspended_revoked_or_expired_permit() {
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 2).await;
    let room = permit_rooms(&app, &number).await[0];
    let b = app.browser().await;
    let yesterday = today_cst() - chrono::Duration::days(1);
    for (status, until, msg) in [
        ("suspended", None, "已暂停"),
        ("revoked", None, "已吊销"),
        ("expired", None, "已过期"),
        ("active", Some(yesterday), "已过期"),
    ] {
        let p = permit_of(&app, &number).await;
        let mut am: permit::ActiveModel = p.clone().into();
        am.status = sea_orm::Set(status.into());
        if let Some(u) = until {
            am.valid_until = sea_orm::Set(u);
        }
        sea_orm::ActiveModelTrait::update(am, &app.db)
            .await
            .unwrap();
        let (s, html) = b.get_text(&format!("/p/{number}/checkin?sig={sig}")).await;
        // A changed valid_until also breaks the signature, which is refused as well.
        assert!(
            s == Status::Conflict || (until.is_some() && s == Status::Forbidden),
            "{status}: {s}"
        );
        if until.is_none() {
            assert!(html.contains(msg), "{status}");
        }
        let (s, _) = form_checkin(
            &b,
            &number,
            &sig,
            "resident_id",
            &resident_id(3),
            room,
            "zh",
        )
        .await;
        assert!(s == Status::Conflict || s == Status::Forbidden);
        // The service refuses too, whatever the caller checked before.
        let res = stays::check_in(
            &app.db,
            &pii(&app).await,
            &OccupancyRule::default(),
            p.id,
            input(3, room),
            Lang::Zh,
        )
        .await;
        assert!(
            matches!(res, Err(AppError::Conflict(ref m)) if m.contains(msg)),
            "{status}"
        );
        let mut back: permit::ActiveModel = p.into();
        back.status = sea_orm::Set("active".into());
        sea_orm::ActiveModelTrait::update(back, &app.db)
            .await
            .unwrap();
    }
    assert_eq!(app.count("stays").await, 0);
}

/// The story of the issue, end to end through the pages a tenant, a landlord and an official use.
#[rocket::async_test]
async fn a_tenant_registers_the_landlord_confirms_the_official_exports_and_the_tenant_checks_out() {
    use calamine::Reader;
    let app = TestApp::new().await;
    let (number, sig) = active_permit(&app, 4).await;
    let p = permit_of(&app, &number).await;
    let room = permit_rooms(&app, &number).await[1];
    let doc = resident_id(42);
    // The tenant opens the QR link on a phone and registers.
    let tenant = app.browser().await;
    let (s, form) = tenant
        .get_text(&format!("/p/{number}/checkin?sig={sig}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(form.contains("width=device-width") && form.contains("入住登记"));
    let (s, done) = form_checkin(&tenant, &number, &sig, "resident_id", &doc, room, "zh").await;
    assert_eq!(s, Status::Ok, "{done}");
    let code = code_in(&done);
    let stay_id = stay_id_in(&done);
    // The landlord sees the pending check-in on their home page and confirms it.
    let landlord = app.signed_in(LANDLORD).await;
    let (_, home) = landlord.get_text("/landlord").await;
    assert!(home.contains("待确认的入住登记") && home.contains("李四"));
    let house = format!("/landlord/houses/{}", p.property_id);
    let (_, before) = landlord.get_text(&house).await;
    assert!(before.contains("在住 <b>0</b> 人"));
    let r = landlord
        .post_form(&format!("/landlord/stays/{stay_id}/confirm"), &[])
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    let (_, after) = landlord.get_text(&house).await;
    assert!(after.contains("在住 <b>1</b> 人"), "one more occupant");
    // The official finds the tenant in the register, masked, and exports it to XLSX.
    let official = app.signed_in(OFFICIAL_JX).await;
    let masked = anju::domain::identity::mask_doc_number(&doc);
    let (_, reg) = official.get_text("/residents").await;
    assert!(reg.contains("李四") && reg.contains(&masked) && !reg.contains(&doc));
    let r = official.get("/residents/export.xlsx").await;
    assert_eq!(r.status(), Status::Ok);
    let bytes = r.into_bytes().await.unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range("实有人口").unwrap();
    let row: Vec<String> = range
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        (row[1].as_str(), row[3].as_str()),
        ("李四", masked.as_str())
    );
    // The tenant checks out with the code; the count drops.
    let (s, _) = tenant
        .get_text(&format!("/stays/checkout?stay={stay_id}"))
        .await;
    assert_eq!(s, Status::Ok);
    let r = tenant
        .post_form(
            "/stays/checkout",
            &[
                ("stay_id", &stay_id.to_string()),
                ("checkout_code", &code),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), Status::Ok);
    let (_, last) = landlord.get_text(&house).await;
    assert!(last.contains("在住 <b>0</b> 人"), "the count drops");
    let (_, reg) = official.get_text("/residents").await;
    assert!(!reg.contains("李四"));
}
