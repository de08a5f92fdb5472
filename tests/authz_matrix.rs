//! The authorization matrix: every mounted route × every role, the expected answer from one table.
//! A route added without a row here fails the test, so nobody forgets to decide who may call it.
mod common;

use std::collections::BTreeSet;

use common::*;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{Value, json};

/// The roles in the order of each row's expectation string.
const ROLES: [&str; 6] = [
    "anonymous",
    "landlord",
    "inspector",
    "official",
    "admin",
    "api_client",
];

/// One row per mounted route: method, Rocket's path template, the path actually requested (with
/// `{placeholders}` filled from the fixture), and what each role in `ROLES` gets:
/// `y` allowed (anything but 401/403 or a redirect to sign-in), `n` refused, `-` not judged (the
/// route ends the session, or its answer depends on what the body proves rather than who asks).
/// Every answer must also be below 500.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, &str, &str)] = &[
    // Public pages and sign-in.
    // The home page sends strangers to sign in and everyone else to their role's home.
    ("GET", "/", "/", "nyyyyy"),
    ("GET", "/static/app.css", "/static/app.css", "yyyyyy"),
    // The field worker's offline layer: static files, public like the stylesheet.
    ("GET", "/sw.js", "/sw.js", "yyyyyy"),
    ("GET", "/manifest.webmanifest", "/manifest.webmanifest", "yyyyyy"),
    ("GET", "/static/offline.js", "/static/offline.js", "yyyyyy"),
    ("GET", "/static/walk.js", "/static/walk.js", "yyyyyy"),
    ("GET", "/static/icon.svg", "/static/icon.svg", "yyyyyy"),
    ("GET", "/healthz", "/healthz", "yyyyyy"),
    ("GET", "/login", "/login", "yyyyyy"),
    ("POST", "/login", "/login", "yyyyyy"),
    ("POST", "/logout", "/logout", "------"),
    ("GET", "/register", "/register", "yyyyyy"),
    ("POST", "/register", "/register", "yyyyyy"),
    // Sends a code only to a phone with imported houses; the phone decides, not who asks.
    ("POST", "/register/sms-code", "/register/sms-code", "yyyyyy"),
    ("GET", "/p/<number>", "/p/{permit}?sig={sig}", "yyyyyy"),
    ("GET", "/p/<number>/checkin", "/p/{permit}/checkin?sig={sig}", "yyyyyy"),
    ("POST", "/p/<number>/checkin", "/p/{permit}/checkin?sig={sig}", "yyyyyy"),
    ("GET", "/stays/checkout", "/stays/checkout", "yyyyyy"),
    ("GET", "/p/<_number>/checkout", "/p/{permit}/checkout", "yyyyyy"),
    // The sealed token in the link decides; a wrong one is 404 for everyone (tests/tenant_flow.rs).
    ("GET", "/stays/<id>/receipt", "/stays/{stay}/receipt?t=x", "yyyyyy"),
    ("POST", "/stays/checkout", "/stays/checkout", "yyyyyy"),
    // Residence proofs: the page and verification are public; the PDF is authorised by the key in
    // its link, the issuing form by the record and the check-out code (tests/residence_proof.rs).
    ("GET", "/stays/proof", "/stays/proof", "yyyyyy"),
    ("POST", "/stays/proof", "/stays/proof", "------"),
    ("GET", "/verify-proof/<number>", "/verify-proof/JZ-2026-ABCDEFGHJK?sig=x", "yyyyyy"),
    ("GET", "/proofs/<number>/proof.pdf", "/proofs/JZ-2026-ABCDEFGHJK/proof.pdf?key=x", "------"),
    // Anyone signed in; the record decides.
    ("POST", "/notifications/<id>/read", "/notifications/999999/read", "nyyyyy"),
    ("GET", "/notifications", "/notifications", "nyyyyy"),
    ("POST", "/notifications/read-all", "/notifications/read-all", "nyyyyy"),
    ("GET", "/inspections/<id>", "/inspections/999999", "nyyyyy"),
    ("GET", "/account/password", "/account/password", "nyyyyy"),
    ("POST", "/account/password", "/account/password", "nyyyyy"),
    ("GET", "/photos/<id>", "/photos/{photo}", "nyyyyy"),
    ("GET", "/permits/<number>/certificate.pdf", "/permits/{permit}/certificate.pdf", "nynyyy"),
    // The landlord's pages.
    ("GET", "/landlord", "/landlord", "nynnnn"),
    ("GET", "/landlord/houses/new", "/landlord/houses/new", "nynnnn"),
    ("POST", "/landlord/houses", "/landlord/houses", "nynnnn"),
    ("GET", "/landlord/houses/<id>/edit", "/landlord/houses/{house}/edit", "nynnnn"),
    ("POST", "/landlord/houses/<id>", "/landlord/houses/{house}", "nynnnn"),
    ("GET", "/landlord/houses/<id>", "/landlord/houses/{house}", "nynnnn"),
    ("POST", "/landlord/houses/<id>/apply", "/landlord/houses/{house}/apply", "nynnnn"),
    ("GET", "/landlord/applications/<id>", "/landlord/applications/{app}", "nynnnn"),
    ("POST", "/landlord/applications/<id>/declaration", "/landlord/applications/{app}/declaration", "nynnnn"),
    ("POST", "/landlord/applications/<id>/documents", "/landlord/applications/{app}/documents", "nynnnn"),
    ("POST", "/landlord/applications/<id>/documents/<doc>/delete", "/landlord/applications/{app}/documents/999999/delete", "nynnnn"),
    ("POST", "/landlord/applications/<id>/delete", "/landlord/applications/999999/delete", "nynnnn"),
    ("POST", "/landlord/applications/<id>/submit", "/landlord/applications/{app}/submit", "nynnnn"),
    ("POST", "/landlord/findings/<id>/fix", "/landlord/findings/999999/fix", "nynnnn"),
    ("GET", "/landlord/permits/<number>", "/landlord/permits/{permit}", "nynnnn"),
    ("POST", "/landlord/permits/<number>/renew", "/landlord/permits/{permit}/renew", "nynnnn"),
    ("GET", "/landlord/houses/<id>/stays/new", "/landlord/houses/{house}/stays/new", "nynnnn"),
    ("POST", "/landlord/houses/<id>/stays", "/landlord/houses/{house}/stays", "nynnnn"),
    ("POST", "/landlord/stays/<id>/confirm", "/landlord/stays/{stay}/confirm", "nynnnn"),
    ("POST", "/landlord/stays/<id>/reject", "/landlord/stays/{stay}/reject", "nynnnn"),
    ("POST", "/landlord/stays/<id>/checkout", "/landlord/stays/{stay}/checkout", "nynnnn"),
    // The grid worker's pages.
    ("GET", "/inspector", "/inspector", "nnynnn"),
    ("GET", "/inspector/tasks/<id>", "/inspector/tasks/{task}", "nnynnn"),
    ("POST", "/inspector/tasks/<id>/start", "/inspector/tasks/{task}/start", "nnynnn"),
    ("GET", "/inspector/tasks/<id>/walk", "/inspector/tasks/{task}/walk", "nnynnn"),
    ("POST", "/inspector/tasks/<id>/walk", "/inspector/tasks/{task}/walk", "nnynnn"),
    ("GET", "/inspector/tasks/<id>/report", "/inspector/tasks/{task}/report", "nnynnn"),
    ("POST", "/inspector/tasks/<id>/report", "/inspector/tasks/{task}/report", "nnynnn"),
    // The village official's pages.
    ("GET", "/official", "/official", "nnnynn"),
    ("GET", "/official/applications/<id>", "/official/applications/{app}", "nnnynn"),
    ("GET", "/official/queue", "/official/queue", "nnnynn"),
    ("GET", "/official/applications/<id>/review", "/official/applications/{app}/review", "nnnynn"),
    ("POST", "/official/applications/<id>/approve", "/official/applications/{app}/approve", "nnnynn"),
    ("POST", "/official/applications/<id>/reject", "/official/applications/{app}/reject", "nnnynn"),
    ("GET", "/official/permits", "/official/permits", "nnnynn"),
    ("GET", "/official/permits/<number>", "/official/permits/{permit}", "nnnynn"),
    ("POST", "/official/permits/<number>/<action>", "/official/permits/{permit}/suspend", "nnnynn"),
    ("GET", "/official/houses/<id>", "/official/houses/{house}", "nnnynn"),
    ("POST", "/official/houses/<id>/claim-code", "/official/houses/{house}/claim-code", "nnnynn"),
    ("POST", "/official/houses/<id>/transfer", "/official/houses/{house}/transfer", "nnnynn"),
    ("GET", "/official/findings", "/official/findings?state=open", "nnnynn"),
    ("GET", "/official/tasks", "/official/tasks?overdue=true", "nnnynn"),
    // Staff: officials and the town admin.
    ("GET", "/residents", "/residents", "nnnyyn"),
    ("GET", "/houses", "/houses?grade=green", "nnnyyn"),
    ("POST", "/residents/stays/<id>/reveal", "/residents/stays/{stay}/reveal", "nnnyyn"),
    ("GET", "/residents/export.csv", "/residents/export.csv", "nnnyyn"),
    ("GET", "/residents/export.xlsx", "/residents/export.xlsx", "nnnyyn"),
    // Importing existing registers.
    ("GET", "/imports/template.xlsx", "/imports/template.xlsx", "nnnyyn"),
    ("GET", "/imports", "/imports", "nnnyyn"),
    ("POST", "/imports", "/imports", "nnnyyn"),
    // Whose import it is decides (tests/imports.rs); the role is judged here.
    ("GET", "/imports/<id>", "/imports/999999", "nnnyyn"),
    ("GET", "/imports/<id>/errors.xlsx", "/imports/999999/errors.xlsx", "nnnyyn"),
    ("POST", "/imports/<id>/commit", "/imports/999999/commit", "nnnyyn"),
    // The town admin.
    ("GET", "/admin", "/admin", "nnnnyn"),
    ("GET", "/admin/villages", "/admin/villages", "nnnnyn"),
    ("POST", "/admin/villages", "/admin/villages", "nnnnyn"),
    ("POST", "/admin/grids", "/admin/grids", "nnnnyn"),
    ("POST", "/admin/villages/<id>/rename", "/admin/villages/999999/rename", "nnnnyn"),
    ("POST", "/admin/grids/<id>/rename", "/admin/grids/999999/rename", "nnnnyn"),
    ("GET", "/admin/users", "/admin/users", "nnnnyn"),
    ("POST", "/admin/users", "/admin/users", "nnnnyn"),
    ("GET", "/admin/users/<id>/grids", "/admin/users/{spare}/grids", "nnnnyn"),
    ("POST", "/admin/users/<id>/grids", "/admin/users/{spare}/grids", "nnnnyn"),
    ("GET", "/admin/users/<id>/disable", "/admin/users/{spare}/disable", "nnnnyn"),
    ("POST", "/admin/users/<id>/disable", "/admin/users/{spare}/disable", "nnnnyn"),
    ("POST", "/admin/users/<id>/enable", "/admin/users/{spare}/enable", "nnnnyn"),
    ("GET", "/admin/users/<id>/reset-password", "/admin/users/{spare}/reset-password", "nnnnyn"),
    ("POST", "/admin/users/<id>/reset-password", "/admin/users/{spare}/reset-password", "nnnnyn"),
    ("GET", "/admin/landlords/merge", "/admin/landlords/merge", "nnnnyn"),
    ("POST", "/admin/landlords/merge", "/admin/landlords/merge", "nnnnyn"),
    ("GET", "/admin/audit", "/admin/audit", "nnnnyn"),
    ("GET", "/admin/webhooks", "/admin/webhooks", "nnnnyn"),
    ("POST", "/admin/webhooks", "/admin/webhooks", "nnnnyn"),
    ("GET", "/admin/webhooks/<id>", "/admin/webhooks/999999", "nnnnyn"),
    ("GET", "/admin/webhooks/<id>/delete", "/admin/webhooks/999999/delete", "nnnnyn"),
    ("POST", "/admin/webhooks/<id>/delete", "/admin/webhooks/999999/delete", "nnnnyn"),
    ("POST", "/admin/webhooks/<id>/deliveries/<delivery_id>/retry", "/admin/webhooks/999999/deliveries/1/retry", "nnnnyn"),
    ("GET", "/admin/tasks", "/admin/tasks", "nnnnyn"),
    ("POST", "/admin/tasks/<id>/reassign", "/admin/tasks/{task}/reassign", "nnnnyn"),
    ("GET", "/admin/findings", "/admin/findings", "nnnnyn"),
    // The town admin reads every village's applications and permits; deciding stays official-only.
    ("GET", "/admin/applications", "/admin/applications?status=submitted", "nnnnyn"),
    ("GET", "/admin/applications/<id>", "/admin/applications/{app}", "nnnnyn"),
    ("GET", "/admin/permits", "/admin/permits?status=active", "nnnnyn"),
    ("GET", "/admin/permits/<number>", "/admin/permits/{permit}", "nnnnyn"),
    ("GET", "/admin/keys", "/admin/keys", "nnnnyn"),
    ("POST", "/admin/keys/rotate", "/admin/keys/rotate", "nnnnyn"),
    // The JSON API.
    ("POST", "/api/v1/auth/login", "/api/v1/auth/login", "yyyyyy"),
    ("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", "nyyyyy"),
    ("POST", "/api/v1/landlords", "/api/v1/landlords", "yyyyyy"),
    ("POST", "/api/v1/landlords/<id>/merge", "/api/v1/landlords/{spare}/merge", "nnnnyn"),
    ("POST", "/api/v1/properties/<id>/claim-code", "/api/v1/properties/{house}/claim-code", "nnnynn"),
    ("POST", "/api/v1/properties/<id>/transfer", "/api/v1/properties/{house}/transfer", "nnnynn"),
    ("POST", "/api/v1/users/<id>/reset-password", "/api/v1/users/{spare}/reset-password", "nnnnyn"),
    ("POST", "/api/v1/webhooks", "/api/v1/webhooks", "nnnnyn"),
    ("GET", "/api/v1/webhooks", "/api/v1/webhooks", "nnnnyn"),
    ("DELETE", "/api/v1/webhooks/<id>", "/api/v1/webhooks/999999", "nnnnyn"),
    ("GET", "/api/v1/webhooks/<id>/deliveries", "/api/v1/webhooks/999999/deliveries", "nnnnyn"),
    ("POST", "/api/v1/webhooks/<id>/deliveries/<delivery_id>/retry", "/api/v1/webhooks/999999/deliveries/1/retry", "nnnnyn"),
    ("GET", "/api/v1/notifications", "/api/v1/notifications", "nyyyyy"),
    ("POST", "/api/v1/notifications/<id>/read", "/api/v1/notifications/999999/read", "nyyyyy"),
    ("POST", "/api/v1/tasks/<id>/events", "/api/v1/tasks/{task}/events", "nnynnn"),
    // Sends a code to any phone; the rate limits and the provider setting decide, not who asks.
    ("POST", "/api/v1/auth/sms-code", "/api/v1/auth/sms-code", "yyyyyy"),
    ("GET", "/api/v1/villages", "/api/v1/villages", "nyyyyy"),
    ("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", "yyyyyy"),
    ("GET", "/api/v1/docs", "/api/v1/docs", "yyyyyy"),
    ("GET", "/api/v1/docs/<file>", "/api/v1/docs/swagger-ui.css", "yyyyyy"),
    ("POST", "/api/v1/properties", "/api/v1/properties", "nynnnn"),
    ("GET", "/api/v1/properties", "/api/v1/properties", "nynyyy"),
    ("GET", "/api/v1/properties/<id>", "/api/v1/properties/{house}", "nynyyy"),
    ("POST", "/api/v1/applications", "/api/v1/applications", "nynnnn"),
    ("GET", "/api/v1/applications", "/api/v1/applications", "nynyyy"),
    ("GET", "/api/v1/applications/<id>", "/api/v1/applications/{app}", "nynyyy"),
    ("POST", "/api/v1/applications/<id>/submit", "/api/v1/applications/{app}/submit", "nynnnn"),
    ("POST", "/api/v1/applications/<id>/documents", "/api/v1/applications/{app}/documents", "nynnnn"),
    ("GET", "/api/v1/applications/<id>/findings", "/api/v1/applications/{app}/findings", "nynyyy"),
    ("POST", "/api/v1/applications/<id>/approve", "/api/v1/applications/{app}/approve", "nnnynn"),
    ("POST", "/api/v1/applications/<id>/reject", "/api/v1/applications/{app}/reject", "nnnynn"),
    ("POST", "/api/v1/photos", "/api/v1/photos", "nyyyyy"),
    ("GET", "/api/v1/tasks", "/api/v1/tasks", "nnyyyy"),
    ("GET", "/api/v1/checklists/<key>", "/api/v1/checklists/rental-safety", "nyyyyy"),
    ("POST", "/api/v1/tasks/<id>/inspection", "/api/v1/tasks/{task}/inspection", "nnynnn"),
    ("GET", "/api/v1/tasks/<id>/previous", "/api/v1/tasks/{task}/previous", "nnynnn"),
    ("POST", "/api/v1/findings/<id>/fix", "/api/v1/findings/999999/fix", "nynnnn"),
    ("GET", "/api/v1/permits", "/api/v1/permits", "nynyyy"),
    ("GET", "/api/v1/permits/<number>", "/api/v1/permits/{permit}", "nynyyy"),
    ("POST", "/api/v1/permits/<number>/suspend", "/api/v1/permits/{permit}/suspend", "nnnynn"),
    ("POST", "/api/v1/permits/<number>/reinstate", "/api/v1/permits/{permit}/reinstate", "nnnynn"),
    ("POST", "/api/v1/permits/<number>/revoke", "/api/v1/permits/{permit}/revoke", "nnnynn"),
    ("GET", "/api/v1/permits/<number>/certificate.pdf", "/api/v1/permits/{permit}/certificate.pdf", "nynyyy"),
    ("GET", "/api/v1/verify/<number>", "/api/v1/verify/{permit}?sig={sig}", "yyyyyy"),
    ("GET", "/api/v1/keys/permit-signing", "/api/v1/keys/permit-signing", "yyyyyy"),
    // Check-in is authorised by the QR signature in the body, whoever asks (tests/stays.rs).
    ("POST", "/api/v1/permits/<number>/stays", "/api/v1/permits/{permit}/stays", "------"),
    ("POST", "/api/v1/properties/<id>/stays", "/api/v1/properties/{house}/stays", "nynnnn"),
    ("POST", "/api/v1/stays/<id>/confirm", "/api/v1/stays/{stay}/confirm", "nynnnn"),
    ("POST", "/api/v1/stays/<id>/reject", "/api/v1/stays/{stay}/reject", "nynnnn"),
    ("POST", "/api/v1/stays/<id>/checkout", "/api/v1/stays/{stay}/checkout", "-y----"),
    ("GET", "/api/v1/residents", "/api/v1/residents", "nnnyyy"),
    // The command room: the town admin and village officials only.
    ("GET", "/api/v1/dashboard", "/api/v1/dashboard", "nnnyyn"),
    ("GET", "/api/v1/dashboard/stream", "/api/v1/dashboard/stream", "nnnyyn"),
    ("GET", "/api/v1/dashboard/trend", "/api/v1/dashboard/trend", "nnnyyn"),
    ("GET", "/api/v1/search", "/api/v1/search?q=%E9%94%A6%E7%BB%A3", "nnnyyn"),
    ("GET", "/command", "/command", "nnnyyn"),
    ("GET", "/command/stream", "/command/stream", "nnnyyn"),
    ("GET", "/command/snapshot.json", "/command/snapshot.json", "nnnyyn"),
    ("GET", "/command/search", "/command/search?q=%E9%94%A6%E7%BB%A3", "nnnyyn"),
    ("GET", "/command/report", "/command/report?month=2026-10", "nnnyyn"),
    ("GET", "/static/command.js", "/static/command.js", "yyyyyy"),
    // Without a check-out code the signed-in landlord of the house or the village's official.
    ("POST", "/api/v1/stays/<id>/proof", "/api/v1/stays/{stay}/proof", "-ynynn"),
    ("GET", "/api/v1/verify-proof/<number>", "/api/v1/verify-proof/JZ-2026-ABCDEFGHJK?sig=x", "yyyyyy"),
];

/// Routes that end the caller's session run after every other row.
fn ends_session(path: &str) -> bool {
    path.ends_with("/logout")
}

/// Records the rows point at: a submitted application with its task, an active permit with a
/// pending stay, a photo, and a spare account for the admin's account routes.
struct Fixture {
    app: i32,
    house: i32,
    task: i32,
    permit: String,
    sig: String,
    stay: i32,
    photo: String,
    spare: i32,
}

impl Fixture {
    fn fill(&self, path: &str) -> String {
        path.replace("{app}", &self.app.to_string())
            .replace("{house}", &self.house.to_string())
            .replace("{task}", &self.task.to_string())
            .replace("{permit}", &self.permit)
            .replace("{sig}", &urlencode(&self.sig))
            .replace("{stay}", &self.stay.to_string())
            .replace("{photo}", &self.photo)
            .replace("{spare}", &self.spare.to_string())
    }
}

async fn fixture(app: &TestApp) -> Fixture {
    let landlord = app.api(LANDLORD).await;
    let application =
        submitted_application_with(app, &landlord, "锦绣村北区 3 号", design_example_rooms()).await;
    let (_, houses) = landlord.get("/properties").await;
    let house = houses["items"][0]["id"].as_i64().expect("the house's id") as i32;
    let inspector = app.api(INSPECTOR_JX).await;
    let (_, tasks) = inspector.get("/tasks").await;
    let task = tasks
        .as_array()
        .and_then(|t| t.first())
        .and_then(|t| t["id"].as_i64())
        .expect("the application's initial task") as i32;
    // The house photo of the application: its landlord, the grid's inspector, the village and
    // the town may see it.
    let (_, a) = landlord.get(&format!("/applications/{application}")).await;
    let photo = a["documents"][0]["upload_id"]
        .as_str()
        .expect("an attached photo")
        .to_string();
    let (permit, sig) = active_permit(app, 4).await;
    let rooms = permit_rooms(app, &permit).await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let (s, stay) = app
        .browser()
        .await
        .client
        .post(format!("/api/v1/permits/{permit}/stays"))
        .header(ContentType::JSON)
        .body(
            json!({"sig": sig, "name": "李租客", "doc_type": "resident_id",
                "doc_number": resident_id(7), "phone": "13700000007", "room_id": rooms[0],
                "move_in": today.format("%Y-%m-%d").to_string()})
            .to_string(),
        )
        .dispatch()
        .await
        .into_json_pair()
        .await;
    assert_eq!(s, Status::Created, "check-in: {stay}");
    let stay = stay["stay_id"].as_i64().expect("stay id") as i32;
    let spare = create_account(app, "landlord", "13900000099").await;
    Fixture {
        app: application,
        house,
        task,
        permit,
        sig,
        stay,
        photo,
        spare,
    }
}

async fn create_account(app: &TestApp, role: &str, phone: &str) -> i32 {
    use anju::domain::account::{NewPassword, PersonName};
    use anju::domain::identity::Phone;
    use anju::domain::role::Role;
    let u = anju::services::auth::create_user(
        &app.db,
        None,
        anju::services::auth::NewUser {
            role: Role::parse(role).expect("role"),
            phone: Phone::parse(phone).expect("phone"),
            name: PersonName::parse("测试账号").expect("name"),
            password: NewPassword::parse(DEMO_PASSWORD).expect("password"),
            village_id: None,
            grid_ids: vec![],
        },
    )
    .await
    .expect("account");
    u.id
}

trait JsonPair {
    async fn into_json_pair(self) -> (Status, Value);
}

impl JsonPair for LocalResponse<'_> {
    async fn into_json_pair(self) -> (Status, Value) {
        let s = self.status();
        let v = serde_json::from_str(&self.into_string().await.unwrap_or_default())
            .unwrap_or(Value::Null);
        (s, v)
    }
}

/// One role as the matrix sees it: a browser (cookie session, CSRF token) and, when signed in, a
/// bearer token for the API.
struct Caller {
    browser: Browser,
    csrf: String,
    token: Option<String>,
}

async fn caller(app: &TestApp, phone: Option<&str>) -> Caller {
    let browser = match phone {
        Some(p) => app.signed_in(p).await,
        None => app.browser().await,
    };
    let csrf = browser.csrf().await;
    let token = match phone {
        Some(p) => Some(app.api(p).await.token),
        None => None,
    };
    Caller {
        browser,
        csrf,
        token,
    }
}

/// What a role got: refused (401/403, or a page that sends it to sign in), and the status.
async fn call(c: &Caller, method: &str, path: &str) -> (bool, Status) {
    let client: &Client = &c.browser.client;
    let api = path.starts_with("/api/");
    let method = method.parse::<Method>().unwrap_or(Method::Get);
    let mut req = if api {
        let mut r = client.req(method, path.to_string());
        if let Some(t) = &c.token {
            r = r.header(Header::new("Authorization", format!("Bearer {t}")));
        }
        if method == Method::Post {
            r = r.header(ContentType::JSON).body("{}");
        }
        r
    } else if method == Method::Post {
        let sep = if path.contains('?') { '&' } else { '?' };
        client
            .req(method, format!("{path}{sep}_csrf={}", c.csrf))
            .header(ContentType::Form)
            .body("")
    } else {
        client.req(method, path.to_string())
    };
    req = req.remote("192.0.2.10:40000".parse().expect("address"));
    let r = req.dispatch().await;
    let status = r.status();
    let to_login = status.code / 100 == 3
        && r.headers()
            .get_one("Location")
            .is_some_and(|l| l.starts_with("/login"));
    let refused = matches!(status.code, 401 | 403) || to_login;
    (refused, status)
}

#[rocket::async_test]
async fn every_route_answers_every_role_as_the_matrix_says() {
    let app = TestApp::with(|c| {
        // The matrix signs in and calls public pages many times from one address.
        c.public_rate_per_minute = 10_000;
        c.login_ip_limit = 10_000;
    })
    .await;
    let fx = fixture(&app).await;
    create_account(&app, "api_client", "13900000098").await;
    let callers = [
        caller(&app, None).await,
        caller(&app, Some(LANDLORD)).await,
        caller(&app, Some(INSPECTOR_JX)).await,
        caller(&app, Some(OFFICIAL_JX)).await,
        caller(&app, Some(ADMIN)).await,
        caller(&app, Some("13900000098")).await,
    ];

    // Every mounted route has exactly one row, and every row names a mounted route.
    let mounted: BTreeSet<String> = callers[0]
        .browser
        .client
        .rocket()
        .routes()
        .map(|r| format!("{} {}", r.method, r.uri.path()))
        .collect();
    let listed: BTreeSet<String> = MATRIX
        .iter()
        .map(|(m, p, _, _)| format!("{m} {p}"))
        .collect();
    let missing: Vec<_> = mounted.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&mounted).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the matrix: {missing:#?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes that are not mounted: {stale:#?}"
    );
    assert_eq!(listed.len(), MATRIX.len(), "a route has two rows");

    let mut rows: Vec<_> = MATRIX.iter().collect();
    rows.sort_by_key(|(_, _, path, _)| ends_session(path));
    let mut wrong = Vec::new();
    for (method, template, path, expected) in rows {
        let path = fx.fill(path);
        for (i, want) in expected.chars().enumerate() {
            let (refused, status) = call(&callers[i], method, &path).await;
            if status.code >= 500 {
                wrong.push(format!("{method} {path} as {}: {status}", ROLES[i]));
                continue;
            }
            let ok = match want {
                'y' => !refused,
                'n' => refused,
                _ => true,
            };
            if !ok {
                wrong.push(format!(
                    "{method} {template} as {}: expected {}, got {status}",
                    ROLES[i],
                    if want == 'y' { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "answers that differ from the matrix:\n{}",
        wrong.join("\n")
    );
}
