//! The API describes itself: the derived OpenAPI document covers every mounted route and every
//! enumerated field, Swagger UI is served from vendored files, request bodies must be JSON (415
//! otherwise) and stated field limits answer field errors.
mod common;

use anju::domain::application::ApplicationStatus;
use anju::domain::checklist::{AnswerResult, ItemKind, Severity};
use anju::domain::grade::Grade;
use anju::domain::identity::DocType;
use anju::domain::inspection::{TaskKind, TaskStatus};
use anju::domain::occupancy::RoomKind;
use anju::domain::permit::PermitStatus;
use anju::domain::property::Structure;
use anju::domain::role::Role;
use anju::domain::stay::StayStatus;
use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

async fn document(app: &TestApp) -> Value {
    let b = app.browser().await;
    let r = b.get("/api/v1/openapi.json").await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::JSON));
    let text = r.into_string().await.unwrap();
    let _: utoipa::openapi::OpenApi =
        serde_json::from_str(&text).expect("a valid OpenAPI document");
    serde_json::from_str(&text).unwrap()
}

/// The schema a `$ref` names, or the schema itself; `Option<T>` fields come as `oneOf [null, T]`.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s[key].as_array()
            && let Some(inner) = list.iter().find(|x| x["type"] != "null")
        {
            return resolve(doc, inner);
        }
    }
    s
}

fn enum_of(doc: &Value, schema: &str, field: &str) -> Vec<String> {
    let s = &doc["components"]["schemas"][schema];
    assert!(s.is_object(), "schema {schema} is in the document");
    let props = if s["properties"].is_object() {
        &s["properties"]
    } else {
        // A flattened struct is an allOf of its parts.
        s["allOf"]
            .as_array()
            .and_then(|parts| {
                parts
                    .iter()
                    .map(|p| &resolve(doc, p)["properties"])
                    .find(|p| p[field].is_object())
            })
            .unwrap_or(&Value::Null)
    };
    let f = resolve(doc, &props[field]);
    f["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema}.{field} is an enum: {f}"))
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

fn same(mut got: Vec<String>, want: impl IntoIterator<Item = &'static str>) -> bool {
    let mut want: Vec<String> = want.into_iter().map(String::from).collect();
    got.sort();
    want.sort();
    got == want
}

#[rocket::async_test]
async fn every_mounted_api_route_is_in_the_document_with_its_method() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let b = app.browser().await;
    let mut seen = 0;
    for route in b.client.rocket().routes() {
        let path = route.uri.path().to_string();
        let Some(rest) = path.strip_prefix("/api/v1") else {
            continue;
        };
        // The Swagger UI page and its files are not part of the API.
        if rest.starts_with("/docs") {
            continue;
        }
        seen += 1;
        let rest = rest.replace('<', "{").replace('>', "}");
        let method = route.method.as_str().to_lowercase();
        let item = &doc["paths"][&rest];
        assert!(item.is_object(), "{rest} is documented");
        assert!(item[&method].is_object(), "{method} {rest} is documented");
        for seg in rest.split('/').filter(|s| s.starts_with('{')) {
            let name = seg.trim_matches(|c| c == '{' || c == '}');
            let params = item[&method]["parameters"].as_array().cloned();
            assert!(
                params
                    .unwrap_or_default()
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path"),
                "{method} {rest} documents its path parameter {name}"
            );
        }
    }
    assert!(seen >= 33, "{seen} API routes");
    for p in [
        "/auth/login",
        "/tasks",
        "/tasks/{id}/inspection",
        "/findings/{id}/fix",
        "/checklists/{key}",
        "/photos",
        "/applications/{id}/submit",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }
}

#[rocket::async_test]
async fn every_enumerated_field_lists_the_domain_values() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let cases: Vec<(&str, &str, Vec<&'static str>)> = vec![
        (
            "PropertyView",
            "structure",
            Structure::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "PropertyBody",
            "structure",
            Structure::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "RoomView",
            "kind",
            RoomKind::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "RoomBody",
            "kind",
            RoomKind::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "CheckInBody",
            "doc_type",
            DocType::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "Resident",
            "doc_type",
            DocType::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "Resident",
            "status",
            StayStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "StayState",
            "status",
            StayStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "CheckedIn",
            "status",
            StayStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        ("ItemDoc", "kind", ItemKind::NAMES.to_vec()),
        (
            "ItemDoc",
            "severity",
            Severity::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        ("AnswerBody", "result", ["pass", "fail", "na"].to_vec()),
        (
            "Task",
            "kind",
            TaskKind::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "Task",
            "status",
            TaskStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "PermitView",
            "status",
            PermitStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "PermitView",
            "grade",
            Grade::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "Verification",
            "status",
            PermitStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "Verification",
            "grade",
            Grade::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "ApplicationView",
            "status",
            ApplicationStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "ApplicationRow",
            "status",
            ApplicationStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "RejectedOut",
            "status",
            ApplicationStatus::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "InspectionResult",
            "grade",
            Grade::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "FindingView",
            "severity",
            Severity::ALL.iter().map(|s| s.as_str()).collect(),
        ),
        (
            "LoginOut",
            "role",
            Role::ALL.iter().map(|s| s.as_str()).collect(),
        ),
    ];
    for (schema, field, want) in cases {
        let got = enum_of(&doc, schema, field);
        assert!(
            same(got.clone(), want.clone()),
            "{schema}.{field}: {got:?} vs {want:?}"
        );
    }
    for r in [AnswerResult::Pass, AnswerResult::Fail, AnswerResult::Na] {
        assert!(enum_of(&doc, "AnswerBody", "result").contains(&r.as_str().to_string()));
    }
    // Filters are documented as enums too.
    let tasks = &doc["paths"]["/tasks"]["get"]["parameters"];
    let status = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .expect("status filter");
    let values = resolve(&doc, &status["schema"])["enum"].clone();
    assert_eq!(
        values.as_array().map(|v| v.len()),
        Some(TaskStatus::ALL.len())
    );
}

#[rocket::async_test]
async fn the_permit_schema_names_every_field_the_api_answers() {
    let app = TestApp::new().await;
    let (number, _sig) = active_permit(&app, 4).await;
    let doc = document(&app).await;
    let api = app.api(ADMIN).await;
    let (s, permit) = api.get(&format!("/permits/{number}")).await;
    assert_eq!(s, Status::Ok, "{permit}");
    let props = doc["components"]["schemas"]["PermitView"]["properties"]
        .as_object()
        .unwrap();
    for key in permit.as_object().unwrap().keys() {
        assert!(props.contains_key(key), "PermitView documents {key}");
    }
    assert!(props.len() >= 21, "{} permit fields", props.len());
    let list = &doc["paths"]["/permits"]["get"]["parameters"];
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "page" && p["in"] == "query"),
        "/permits documents its paging"
    );
}

#[rocket::async_test]
async fn swagger_ui_is_served_from_vendored_files() {
    let app = TestApp::new().await;
    let b = app.browser().await;
    let r = b.get("/api/v1/docs").await;
    assert_eq!(r.status(), Status::Ok);
    assert_eq!(r.content_type(), Some(ContentType::HTML));
    let html = r.into_string().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script (CSP)");
    assert!(!html.contains("https://"), "nothing from another origin");
    for (file, ct) in [
        ("swagger-ui-bundle.js", ContentType::JavaScript),
        ("swagger-ui.css", ContentType::CSS),
        ("init.js", ContentType::JavaScript),
    ] {
        assert!(
            html.contains(&format!("/api/v1/docs/{file}")),
            "{file} linked"
        );
        let r = b.get(&format!("/api/v1/docs/{file}?v=1")).await;
        assert_eq!(r.status(), Status::Ok, "{file}");
        assert_eq!(r.content_type(), Some(ct), "{file}");
        let cache = r
            .headers()
            .get_one("Cache-Control")
            .unwrap_or("")
            .to_string();
        assert!(cache.contains("max-age=31536000"), "{file}: {cache}");
        assert!(r.into_bytes().await.unwrap().len() > 100);
    }
    let r = b.get("/api/v1/docs/../../Cargo.toml").await;
    assert_ne!(r.status(), Status::Ok);
}

async fn post_raw(api: &Api, path: &str, ct: Option<ContentType>, body: &str) -> (Status, Value) {
    let mut req = api
        .client
        .post(format!("/api/v1{path}"))
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", api.token),
        ))
        .body(body);
    if let Some(ct) = ct {
        req = req.header(ct);
    }
    let r = req.dispatch().await;
    let s = r.status();
    let ct = r.content_type();
    let v = serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null);
    if s == Status::UnsupportedMediaType {
        assert_eq!(ct, Some(ContentType::JSON), "415 answers JSON");
    }
    (s, v)
}

#[rocket::async_test]
async fn a_body_that_is_not_json_is_refused_with_415_in_the_problem_shape() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    let before = app.count("applications").await;
    let (v, g) = village_and_grid(&app, "锦绣村第一网格").await;
    let body = json!({"village_id": v, "grid_id": g, "address": "锦绣村东区 8 号", "floors": 2,
        "structure": "brick_concrete",
        "rooms": [{"label": "101", "floor": 1, "area_m2": 14.0, "kind": "bedroom"}]})
    .to_string();
    let houses = app.count("properties").await;
    let (s, p) = post_raw(&api, "/properties", Some(ContentType::Plain), &body).await;
    assert_eq!(s, Status::UnsupportedMediaType, "{p}");
    assert_eq!(p["error"], "unsupported_media_type");
    assert!(p["message"].as_str().unwrap().contains("JSON"));
    let (s, p) = post_raw(&api, "/properties", None, &body).await;
    assert_eq!(s, Status::UnsupportedMediaType, "{p}");
    assert_eq!(app.count("properties").await, houses, "nothing written");
    let ct = ContentType::parse_flexible("application/json; charset=utf-8").unwrap();
    let (s, p) = post_raw(&api, "/properties", Some(ct), &body).await;
    assert_eq!(s, Status::Created, "{p}");
    // Optional bodies: none at all is fine, a form is not.
    let official = app.api(OFFICIAL_JX).await;
    let (s, p) = post_raw(
        &official,
        "/permits/NOPE/revoke",
        Some(ContentType::Form),
        "reason=x",
    )
    .await;
    assert_eq!(s, Status::UnsupportedMediaType, "{p}");
    assert_eq!(app.count("applications").await, before);
}

#[rocket::async_test]
async fn stated_limits_answer_field_errors_before_parsing_and_change_nothing() {
    let app = TestApp::new().await;
    let api = app.api(LANDLORD).await;
    let (v, g) = village_and_grid(&app, "锦绣村第一网格").await;
    let houses = app.count("properties").await;
    let (s, p) = api
        .post(
            "/properties",
            json!({"village_id": v, "grid_id": g, "address": "东".repeat(201), "floors": 80,
                "structure": "brick_concrete",
                "rooms": [{"label": "1".repeat(40), "floor": 1, "area_m2": 14.0, "kind": "bedroom"},
                          {"label": "102", "floor": 1, "area_m2": "abc", "kind": "bedroom"}]}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{p}");
    assert_eq!(p["error"], "validation_failed");
    let f = &p["fields"];
    assert_eq!(f["address"][0], "不能超过 200 个字符", "{p}");
    assert_eq!(f["floors"][0], "应在 1 到 50 之间", "{p}");
    assert_eq!(f["rooms[0].label"][0], "不能超过 32 个字符", "{p}");
    // A value the limits cannot judge is left to the domain parser, which still answers beside it.
    assert!(f["rooms[1].area_m2"].is_array(), "{p}");
    assert_eq!(app.count("properties").await, houses);
    let (s, p) = api
        .post(
            "/landlords",
            json!({"name": "名".repeat(40), "phone": "13700007777", "password": "long-enough-1"}),
        )
        .await;
    assert_eq!(s, Status::UnprocessableEntity, "{p}");
    assert!(p["fields"]["name"].is_array(), "{p}");
}

/// The checklist as the inspector's app reads it (moved from the domain's unit test of the
/// hand-built JSON that this endpoint used to serve).
#[rocket::async_test]
async fn the_checklist_api_has_zh_titles_labels_and_kind_details() {
    let app = TestApp::new().await;
    let api = app.api(INSPECTOR_JX).await;
    let (s, v) = api.get("/checklists/rental-safety").await;
    assert_eq!(s, Status::Ok, "{v}");
    assert_eq!(v["key"], "rental-safety");
    assert_eq!(v["version"], 1);
    assert_eq!(v["sections"][0]["title"], "电气线路");
    let item = &v["sections"][0]["items"][0];
    assert_eq!(item["key"], "wiring.conduit");
    assert_eq!(item["kind"], "pass_fail");
    assert_eq!(item["severity"], "major");
    assert_eq!(item["photo_on_fail"], true);
    assert!(item["label"].as_str().unwrap().contains("穿管"));
    let fire = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "fire")
        .unwrap();
    let ext = &fire["items"][0];
    assert_eq!(
        (ext["unit"].as_str(), ext["min"].as_f64()),
        (Some("具"), Some(1.0))
    );
    assert!(ext["max"].is_null());
    assert_eq!(fire["items"][1]["options"][1]["fails"], true);
}
