//! The whole scheme end to end through the JSON API, with no shortcuts: a landlord applies, the
//! grid worker inspects, the official approves, a tenant checks in from the QR, and checks out.
mod common;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

/// Answers that pass every item of a checklist as the API serves it.
fn passing_answers(checklist: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for section in checklist["sections"].as_array().unwrap() {
        for item in section["items"].as_array().unwrap() {
            let key = item["key"].clone();
            out.push(match item["kind"].as_str().unwrap() {
                "number" => {
                    let v = if item["min"].is_number() {
                        item["min"].clone()
                    } else {
                        item["max"].clone()
                    };
                    json!({"item": key, "result": "pass", "value": v.to_string()})
                }
                "choice" => {
                    let ok = item["options"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|o| o["fails"] == false)
                        .unwrap();
                    json!({"item": key, "result": "pass", "value": ok["key"]})
                }
                "text" => json!({"item": key, "result": "pass", "value": "已核实"}),
                _ => json!({"item": key, "result": "pass"}),
            });
        }
    }
    out
}

#[rocket::async_test]
async fn a_house_goes_from_application_to_a_tenant_checking_in_and_out() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let id = submitted_application_with(&app, &landlord, "锦绣村南区 8 号", design_example_rooms())
        .await;

    // The grid worker of 锦绣村 finds the initial task and passes every item.
    let inspector = app.api(INSPECTOR_JX).await;
    let (s, tasks) = inspector.get("/tasks?status=open").await;
    assert_eq!(s, Status::Ok, "{tasks}");
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "initial")
        .expect("an initial task")
        .clone();
    let (_, checklist) = inspector
        .get(&format!(
            "/checklists/{}",
            task["checklist"].as_str().unwrap()
        ))
        .await;
    let body = json!({"submission_id": uuid::Uuid::new_v4().to_string(), "checklist": checklist["key"],
        "version": checklist["version"], "answers": passing_answers(&checklist)});
    let (s, outcome) = inspector
        .post(&format!("/tasks/{}/inspection", task["id"]), body)
        .await;
    assert_eq!(s, Status::Ok, "{outcome}");
    assert_eq!(outcome["outcome"], "passed");
    assert_eq!(outcome["grade"], "green");
    let (_, a) = landlord.get(&format!("/applications/{id}")).await;
    assert_eq!(a["status"], "passed");

    // The official of another village may not approve; the official of 锦绣村 does.
    let (s, _) = app
        .api(OFFICIAL_NZ)
        .await
        .post(&format!("/applications/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, Status::Forbidden);
    let official = app.api(OFFICIAL_JX).await;
    let (s, approved) = official
        .post(
            &format!("/applications/{id}/approve"),
            json!({"valid_months": 12}),
        )
        .await;
    assert_eq!(s, Status::Created, "{approved}");
    assert_eq!(
        approved["max_occupants"], 6,
        "14, 12.5 and 20 m² plus a kitchen"
    );
    let number = approved["permit_number"].as_str().unwrap().to_string();
    assert!(number.starts_with("HJ-JX-"), "{number}");
    let qr_url = approved["qr_url"].as_str().unwrap().to_string();
    let sig = qr_url.split("sig=").nth(1).unwrap().to_string();

    // The certificate downloads as a PDF.
    let r = landlord
        .client
        .get(format!("/api/v1/permits/{number}/certificate.pdf"))
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {}", landlord.token),
        ))
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert!(r.into_bytes().await.unwrap().starts_with(b"%PDF"));

    // A tenant scans the QR and checks in; the landlord confirms; the public count rises.
    let rooms = permit_rooms(&app, &number).await;
    let anon = app.browser().await;
    let r = anon.client.post(format!("/api/v1/permits/{number}/stays")).header(rocket::http::ContentType::JSON)
        .body(json!({"sig": sig, "name": "张三", "doc_type": "resident_id", "doc_number": resident_id(1),
            "phone": "13700001234", "room_id": rooms[0], "move_in": today_cst().to_string()}).to_string())
        .dispatch().await;
    assert_eq!(r.status(), Status::Created);
    let stay: Value = serde_json::from_str(&r.into_string().await.unwrap()).unwrap();
    let (s, _) = landlord
        .post(&format!("/stays/{}/confirm", stay["stay_id"]), json!({}))
        .await;
    assert_eq!(s, Status::Ok);
    let (_, v) = anon_get(&anon, &format!("/api/v1/verify/{number}?sig={sig}")).await;
    assert_eq!(
        (
            v["authentic"].clone(),
            v["status"].clone(),
            v["occupants"].clone()
        ),
        (json!(true), json!("active"), json!(1))
    );

    // The tenant leaves with the check-out code; the count drops.
    let r = anon
        .client
        .post(format!("/api/v1/stays/{}/checkout", stay["stay_id"]))
        .header(rocket::http::ContentType::JSON)
        .body(json!({"checkout_code": stay["checkout_code"]}).to_string())
        .dispatch()
        .await;
    assert_eq!(r.status(), Status::Ok);
    let (_, v) = anon_get(&anon, &format!("/api/v1/verify/{number}?sig={sig}")).await;
    assert_eq!(v["occupants"], 0);

    // Revoking the permit shows on the same QR, and refuses new check-ins.
    let (s, _) = official
        .post(
            &format!("/permits/{number}/revoke"),
            json!({"reason": "房屋拆除"}),
        )
        .await;
    assert_eq!(s, Status::Ok);
    let (_, v) = anon_get(&anon, &format!("/api/v1/verify/{number}?sig={sig}")).await;
    assert_eq!(v["status"], "revoked");
    assert_eq!(
        anju::services::audit::verify_chain(&app.db).await.unwrap(),
        None,
        "the audit chain holds"
    );
}

async fn anon_get(b: &Browser, path: &str) -> (Status, Value) {
    let r = b.client.get(path.to_string()).dispatch().await;
    let s = r.status();
    (
        s,
        serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
    )
}
