//! Test harness: a real, migrated database per test (SQLite file, or a fresh PostgreSQL database
//! when `ANJU_TEST_DATABASE_URL` is set), the demo town seeded, and signed-in browser sessions.
#![allow(dead_code)]

pub mod checklist;
#[allow(unused_imports)]
pub use checklist::*;

use std::path::PathBuf;

use anju::{Config, db};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;

pub const DEMO_PASSWORD: &str = "anju-demo";

/// A clock that starts at the given town-local (China) wall time and then runs at the normal pace.
pub fn clock_at_cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> anju::domain::clock::Clock {
    anju::domain::clock::Clock::starting_at(
        anju::domain::clock::town_time(y, m, d, h, min).expect("a real town time"),
    )
}

/// Wednesday 2026-11-25 10:00 in the town: a working day, far from midnight and the weekend,
/// for tests whose assertions hold only when counted from the middle of a week.
pub fn a_wednesday_morning() -> anju::domain::clock::Clock {
    clock_at_cst(2026, 11, 25, 10, 0)
}

/// Today in the town by the real clock, for tests whose app runs on the system clock.
pub fn today_cst() -> chrono::NaiveDate {
    anju::domain::clock::Clock::system().today()
}
pub const ADMIN: &str = "13900000001";
pub const OFFICIAL_JX: &str = "13900000002";
pub const INSPECTOR_JX: &str = "13900000003";
pub const LANDLORD: &str = "13900000004";
pub const OFFICIAL_NZ: &str = "13900000005";
pub const INSPECTOR_NZ: &str = "13900000006";

/// The master key every PostgreSQL test installation runs with, so the whole suite on PostgreSQL
/// uses the database's key ring (SQLite keeps its key files).
pub const TEST_MASTER_KEY: &str =
    "0001020304050607080910111213141516171819202122232425262728293031";

pub struct TestApp {
    pub config: Config,
    pub db: DatabaseConnection,
    _dir: tempfile::TempDir,
}

pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("ANJU_TEST_DATABASE_URL") {
        Ok(admin) if admin.starts_with("postgres") => {
            let name = format!("anju_t_{}", uuid::Uuid::new_v4().simple());
            let conn = Database::connect(admin.as_str())
                .await
                .expect("connect to ANJU_TEST_DATABASE_URL");
            conn.execute_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create test database");
            conn.close().await.ok();
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin.clone());
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}?mode=rwc", dir.join("anju.db").display()),
    }
}

impl TestApp {
    /// A migrated database with the demo town.
    pub async fn new() -> TestApp {
        Self::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            database_url: fresh_database_url(dir.path()).await,
            forms_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/forms")),
            // Jobs run when a test calls them, never behind its back.
            scheduler: false,
            ..Config::default()
        };
        if !config.database_url.starts_with("sqlite:") {
            config.master_key = anju::crypto::master::MasterKeyText(TEST_MASTER_KEY.into());
        }
        tweak(&mut config);
        let config = config.validated().expect("valid test config");
        let db = db::connect(&config).await.expect("connect");
        db::migrate(&db).await.expect("migrate");
        anju::services::seed::ensure_town(&db, "HJ", "花街镇")
            .await
            .expect("town");
        anju::services::seed::seed_demo(&db).await.expect("seed");
        TestApp {
            config,
            db,
            _dir: dir,
        }
    }

    /// The shared state of an instance built on this database, for calling jobs and services.
    pub async fn state(&self) -> anju::AppRef {
        let b = self.browser().await;
        b.client
            .rocket()
            .state::<anju::AppRef>()
            .expect("managed state")
            .clone()
    }

    /// The shared state of another instance on this database whose clock reads `clock`: a job
    /// run "three days later" without waiting three days.
    pub async fn state_at(&self, clock: anju::domain::clock::Clock) -> anju::AppRef {
        let mut config = self.config.clone();
        config.clock = clock;
        let rocket = anju::build(config, self.db.clone()).await.expect("build");
        let client = Client::tracked(rocket).await.expect("client");
        client
            .rocket()
            .state::<anju::AppRef>()
            .expect("managed state")
            .clone()
    }

    /// A second instance of this installation: the same database (through its own connections)
    /// and settings, but its own empty data directory, as on another machine.
    pub async fn other_instance(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..self.config.clone()
        };
        let db = db::connect(&config).await.expect("connect");
        TestApp {
            config,
            db,
            _dir: dir,
        }
    }

    /// This installation's keys as an instance loads them (key files, or the database's key ring).
    pub async fn keys(&self) -> anju::crypto::shared::Keys {
        anju::crypto::shared::open(&self.config, &self.db)
            .await
            .expect("keys")
    }

    /// A browser with its own cookie jar, not signed in.
    pub async fn browser(&self) -> Browser {
        let rocket = anju::build(self.config.clone(), self.db.clone())
            .await
            .expect("build");
        Browser {
            client: Client::tracked(rocket).await.expect("client"),
        }
    }

    /// A browser signed in as the given demo phone number.
    pub async fn signed_in(&self, phone: &str) -> Browser {
        let b = self.browser().await;
        let status = b
            .post_form("/login", &[("phone", phone), ("password", DEMO_PASSWORD)])
            .await
            .status();
        assert_eq!(status, Status::SeeOther, "sign-in as {phone} failed");
        b
    }

    /// An API client holding a bearer token for the given demo phone number.
    pub async fn api(&self, phone: &str) -> Api {
        let b = self.browser().await;
        let v: Value = {
            let r = b
                .client
                .post("/api/v1/auth/login")
                .header(ContentType::JSON)
                .body(serde_json::json!({"phone": phone, "password": DEMO_PASSWORD}).to_string())
                .dispatch()
                .await;
            assert_eq!(r.status(), Status::Ok, "API sign-in as {phone}");
            serde_json::from_str(&r.into_string().await.unwrap_or_default()).expect("json")
        };
        Api {
            client: b.client,
            token: v["token"].as_str().expect("token").to_string(),
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }

    /// The database's index definitions (`CREATE [UNIQUE] INDEX …`), as it lists them.
    pub async fn index_definitions(&self) -> Vec<String> {
        let sql = match self.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "SELECT indexdef AS d FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
            }
            _ => {
                "SELECT sql AS d FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1"
            }
        };
        self.db
            .query_all_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("index list")
            .iter()
            .map(|r| r.try_get::<String>("", "d").expect("a definition"))
            .collect()
    }
}

pub struct Browser {
    pub client: Client,
}

impl Browser {
    /// The CSRF token this browser's forms carry.
    pub async fn csrf(&self) -> String {
        let html = self
            .client
            .get("/login")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default();
        let html = if html.contains("_csrf=") {
            html
        } else {
            self.client
                .get("/register")
                .dispatch()
                .await
                .into_string()
                .await
                .unwrap_or_default()
        };
        let start = html.find("_csrf=").expect("a form with a CSRF token") + 6;
        html[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    pub async fn get(&self, path: &str) -> LocalResponse<'_> {
        self.client.get(path.to_string()).dispatch().await
    }

    pub async fn get_text(&self, path: &str) -> (Status, String) {
        let r = self.get(path).await;
        let s = r.status();
        (s, r.into_string().await.unwrap_or_default())
    }

    /// Posts a urlencoded form with this browser's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> LocalResponse<'_> {
        let token = self.csrf().await;
        self.post_form_with_token(path, fields, Some(&token)).await
    }

    pub async fn post_form_with_token(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        token: Option<&str>,
    ) -> LocalResponse<'_> {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match token {
            Some(t) => format!("{path}{sep}_csrf={t}"),
            None => path.to_string(),
        };
        self.client
            .post(url)
            .header(ContentType::Form)
            .body(body)
            .dispatch()
            .await
    }

    /// Posts a multipart form with one file field `file` and text fields.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: &[u8],
    ) -> LocalResponse<'_> {
        let token = self.csrf().await;
        let (ct, body) = multipart(fields, file);
        let sep = if path.contains('?') { '&' } else { '?' };
        self.client
            .post(format!("{path}{sep}_csrf={token}"))
            .header(ct)
            .body(body)
            .dispatch()
            .await
    }
}

pub struct Api {
    pub client: Client,
    pub token: String,
}

impl Api {
    fn auth(&self) -> Header<'static> {
        Header::new("Authorization", format!("Bearer {}", self.token))
    }

    pub async fn get(&self, path: &str) -> (Status, Value) {
        let r = self
            .client
            .get(format!("/api/v1{path}"))
            .header(self.auth())
            .dispatch()
            .await;
        let s = r.status();
        (
            s,
            serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (Status, Value) {
        let r = self
            .client
            .post(format!("/api/v1{path}"))
            .header(self.auth())
            .header(ContentType::JSON)
            .body(body.to_string())
            .dispatch()
            .await;
        let s = r.status();
        (
            s,
            serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
        )
    }

    pub async fn upload(&self, file: &[u8]) -> (Status, Value) {
        let (ct, body) = multipart(&[], file);
        let r = self
            .client
            .post("/api/v1/photos")
            .header(self.auth())
            .header(ct)
            .body(body)
            .dispatch()
            .await;
        let s = r.status();
        (
            s,
            serde_json::from_str(&r.into_string().await.unwrap_or_default()).unwrap_or(Value::Null),
        )
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn multipart(fields: &[(&str, &str)], file: &[u8]) -> (ContentType, Vec<u8>) {
    let boundary = "anjutestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", boundary));
    (ct, body)
}

/// A small PNG photo.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 255) as u8, (y % 255) as u8, 120])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// A JPEG carrying an EXIF block with a GPS marker, as phones make them.
pub fn jpeg_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 30, 30]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
    // APP1 "Exif\0\0" + a minimal TIFF header with a recognisable marker string.
    let mut payload = b"Exif\0\0MM\0*\0\0\0\x08\0\0GPSLatitude-30.2741N".to_vec();
    payload.extend_from_slice(&[0u8; 8]);
    let len = (payload.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A multipart body with text fields and any number of files, each under its own field name.
pub fn multipart_files(
    fields: &[(&str, &str)],
    files: &[(&str, Vec<u8>)],
) -> (ContentType, Vec<u8>) {
    let boundary = "anjutestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    // Browsers send parts in document order; Rocket groups `a[3].x` fields only when adjacent,
    // so a file goes right after the last text field of its group.
    let group = |name: &str| name.split_once("].").map(|(g, _)| g.to_string());
    let mut placed = vec![false; files.len()];
    for (i, (k, v)) in fields.iter().enumerate() {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
        let g = group(k);
        let last_of_group = g.is_some() && fields[i + 1..].iter().all(|(k2, _)| group(k2) != g);
        if last_of_group {
            for (j, (name, bytes)) in files.iter().enumerate() {
                if !placed[j] && group(name) == g {
                    placed[j] = true;
                    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
                    body.extend_from_slice(bytes);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
    }
    for (name, bytes) in files
        .iter()
        .enumerate()
        .filter(|(j, _)| !placed[*j])
        .map(|(_, f)| f)
    {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let ct = ContentType::new("multipart", "form-data").with_params(("boundary", boundary));
    (ct, body)
}

impl Browser {
    /// Posts a multipart form with several files, with this browser's CSRF token.
    pub async fn post_multipart_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
    ) -> LocalResponse<'_> {
        let token = self.csrf().await;
        let (ct, body) = multipart_files(fields, files);
        let sep = if path.contains('?') { '&' } else { '?' };
        self.client
            .post(format!("{path}{sep}_csrf={token}"))
            .header(ct)
            .body(body)
            .dispatch()
            .await
    }
}

/// The ids of the village and grid with this grid name.
pub async fn village_and_grid(app: &TestApp, grid_name: &str) -> (i32, i32) {
    use anju::entities::grid;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let g = grid::Entity::find()
        .filter(grid::Column::Name.eq(grid_name))
        .one(&app.db)
        .await
        .expect("grid query")
        .expect("grid exists");
    (g.village_id, g.id)
}

/// The rooms of DESIGN §2's example: 14, 12.5 and 20 m² plus a kitchen (6 occupants by default).
pub fn design_example_rooms() -> Value {
    serde_json::json!([
        {"label": "101", "floor": 1, "area_m2": 14, "kind": "bedroom"},
        {"label": "102", "floor": 1, "area_m2": 12.5, "kind": "bedroom"},
        {"label": "客厅", "floor": 1, "area_m2": 20, "kind": "living"},
        {"label": "厨房", "floor": 1, "area_m2": 9, "kind": "kitchen"},
    ])
}

/// A submitted application made through the API as `landlord` for a new house in 锦绣村 with
/// these rooms and this address. Returns the application id.
pub async fn submitted_application_with(
    app: &TestApp,
    landlord: &Api,
    address: &str,
    rooms: Value,
) -> i32 {
    let (village_id, grid_id) = village_and_grid(app, "锦绣村第一网格").await;
    let (s, house) = landlord
        .post(
            "/properties",
            serde_json::json!({"village_id": village_id, "grid_id": grid_id, "address": address,
                "floors": 3, "structure": "brick_concrete", "rooms": rooms}),
        )
        .await;
    assert_eq!(s, Status::Created, "house: {house}");
    let (s, draft) = landlord
        .post(
            "/applications",
            serde_json::json!({"property_id": house["id"]}),
        )
        .await;
    assert_eq!(s, Status::Created, "draft: {draft}");
    let id = draft["id"].as_i64().expect("application id") as i32;
    for kind in ["ownership_proof", "house_photo"] {
        let (s, photo) = landlord.upload(&png(40, 30)).await;
        assert_eq!(s, Status::Created, "photo: {photo}");
        let (s, v) = landlord
            .post(
                &format!("/applications/{id}/documents"),
                serde_json::json!({"kind": kind, "photo_id": photo["id"]}),
            )
            .await;
        assert_eq!(s, Status::Created, "{kind}: {v}");
    }
    let (s, v) = landlord
        .post(
            &format!("/applications/{id}/submit"),
            serde_json::json!({"pledge_accepted": true, "owner_name": "王房东",
                "ownership_doc_no": "浙(2020)花街镇不动产权第0001234号"}),
        )
        .await;
    assert_eq!(s, Status::Ok, "submit: {v}");
    id
}

/// Stands in for issue 3's inspection: marks the application `passed` and the house green.
pub async fn mark_passed(app: &TestApp, application_id: i32, grade: &str) {
    use anju::entities::{application, property};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let a = application::Entity::find_by_id(application_id)
        .one(&app.db)
        .await
        .expect("application query")
        .expect("application");
    let house = a.property_id;
    let mut am: application::ActiveModel = a.into();
    am.status = Set("passed".into());
    am.updated_at = Set(chrono::Utc::now());
    am.update(&app.db).await.expect("mark passed");
    let p = property::Entity::find_by_id(house)
        .one(&app.db)
        .await
        .expect("property query")
        .expect("property");
    let mut pm: property::ActiveModel = p.into();
    pm.grade = Set(Some(grade.into()));
    pm.update(&app.db).await.expect("grade");
}

/// A passed application of 锦绣村 (house of DESIGN §2's example rooms, grade green), made
/// through the foundation flow by the demo landlord.
pub async fn passed_application(app: &TestApp) -> i32 {
    let landlord = app.api(LANDLORD).await;
    passed_application_as(app, &landlord, "锦绣村东区 12 号", design_example_rooms()).await
}

/// Like [`passed_application`], for a given landlord client, address and rooms.
pub async fn passed_application_as(
    app: &TestApp,
    landlord: &Api,
    address: &str,
    rooms: Value,
) -> i32 {
    let id = submitted_application_with(app, landlord, address, rooms).await;
    mark_passed(app, id, "green").await;
    id
}

/// An active permit on a fresh house of the demo landlord in 锦绣村第一网格, signed with the
/// application's own keyring, as issue #4's approval would leave it. The house has
/// ⌈max_occupants ÷ 2⌉ bedrooms of 14 m² (2 persons each under the default rule).
pub async fn active_permit(app: &TestApp, max_occupants: i32) -> (String, String) {
    use anju::crypto::signing::PermitSigningFields;
    use anju::entities::{application, grid, permit, user};
    use chrono::Datelike;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

    let g = grid::Entity::find()
        .filter(grid::Column::Name.eq("锦绣村第一网格"))
        .one(&app.db)
        .await
        .expect("grid query")
        .expect("demo grid");
    let rooms: Vec<Value> = (0..(max_occupants.max(1) + 1) / 2)
        .map(|i| serde_json::json!({"label": format!("{}", 101 + i), "floor": 1, "area_m2": 14.0, "kind": "bedroom"}))
        .collect();
    let api = app.api(LANDLORD).await;
    let (s, house) = api
        .post(
            "/properties",
            serde_json::json!({"village_id": g.village_id, "grid_id": g.id, "address": "锦绣村东区 8 号",
                "floors": 2, "structure": "brick_concrete", "rooms": rooms}),
        )
        .await;
    assert_eq!(s, Status::Created, "{house}");
    let house_id = house["id"].as_i64().expect("house id") as i32;
    let landlord_id = house["landlord_id"].as_i64().expect("landlord id") as i32;
    let official = user::Entity::find()
        .filter(user::Column::Phone.eq(OFFICIAL_JX))
        .one(&app.db)
        .await
        .expect("user query")
        .expect("official");
    let now = app.config.clock.now();
    let a = application::ActiveModel {
        property_id: Set(house_id),
        landlord_id: Set(landlord_id),
        village_id: Set(g.village_id),
        status: Set("approved".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("application");
    let today = app.config.clock.today();
    let seq = permit::Entity::find().count(&app.db).await.expect("count") as u32 + 1;
    let number = anju::domain::permit_number::format_permit_number("HJ", "JX", today.year(), seq);
    let valid_until = today + chrono::Duration::days(365);
    let keys = app.keys().await;
    let sig = keys
        .keyring
        .read()
        .expect("keyring")
        .sign(&PermitSigningFields {
            number: number.clone(),
            valid_until,
            max_occupants: max_occupants as u32,
        });
    permit::ActiveModel {
        number: Set(number.clone()),
        application_id: Set(a.id),
        property_id: Set(house_id),
        village_id: Set(g.village_id),
        landlord_id: Set(landlord_id),
        status: Set("active".into()),
        valid_from: Set(today),
        valid_until: Set(valid_until),
        max_occupants: Set(max_occupants),
        official_cap: Set(None),
        grade: Set("green".into()),
        signature: Set(sig.clone()),
        issued_at: Set(now),
        issued_by: Set(official.id),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("permit");
    (number, sig)
}

/// The permit with this number, which the test made.
pub async fn permit_by_number(app: &TestApp, number: &str) -> anju::entities::permit::Model {
    use anju::entities::permit;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    permit::Entity::find()
        .filter(permit::Column::Number.eq(number))
        .one(&app.db)
        .await
        .expect("permit query")
        .expect("permit")
}

/// Makes the permit's last day `last_day` behind the services' back (no event, no audit); the
/// permit as it was before.
pub async fn permit_ending_on(
    app: &TestApp,
    number: &str,
    last_day: chrono::NaiveDate,
) -> anju::entities::permit::Model {
    use anju::entities::permit;
    use sea_orm::{ActiveModelTrait, Set};
    let p = permit_by_number(app, number).await;
    let mut am: permit::ActiveModel = p.clone().into();
    am.valid_until = Set(last_day);
    am.update(&app.db).await.expect("permit update");
    p
}

/// The room ids of the house a permit covers, in order.
pub async fn permit_rooms(app: &TestApp, number: &str) -> Vec<i32> {
    use anju::entities::room;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let p = permit_by_number(app, number).await;
    room::Entity::find()
        .filter(room::Column::PropertyId.eq(p.property_id))
        .order_by_asc(room::Column::Id)
        .all(&app.db)
        .await
        .expect("rooms")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// A valid 18-digit 居民身份证 number (Hangzhou region, born 1990-01-01) for sequence `n` (0..999).
pub fn resident_id(n: u32) -> String {
    let body = format!("330106199001{:02}{:03}", 1 + (n / 1000) % 28, n % 1000);
    with_check_digit(&body)
}

/// Appends the GB 11643 check character to 17 digits.
pub fn with_check_digit(body: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", C[(sum % 11) as usize])
}

/// A landlord's house in the given grid with a submitted application, through the API.
pub async fn submitted_in_grid(app: &TestApp, landlord: &Api, grid_name: &str) -> (i32, i32) {
    let (v, g) = village_and_grid(app, grid_name).await;
    let (s, house) = landlord
        .post(
            "/properties",
            serde_json::json!({"village_id": v, "grid_id": g, "address": format!("{grid_name} 8 号"), "floors": 2, "structure": "brick_concrete",
                "rooms": [{"label": "101", "floor": 1, "area_m2": 14, "kind": "bedroom"}, {"label": "厨房", "floor": 1, "area_m2": 8, "kind": "kitchen"}]}),
        )
        .await;
    assert_eq!(s, Status::Created, "{house}");
    let house = house["id"].as_i64().expect("id") as i32;
    let (s, a) = landlord
        .post("/applications", serde_json::json!({"property_id": house}))
        .await;
    assert_eq!(s, Status::Created, "{a}");
    let id = a["id"].as_i64().expect("id") as i32;
    for kind in ["ownership_proof", "house_photo"] {
        let (_, p) = landlord.upload(&png(40, 30)).await;
        let (s, _) = landlord
            .post(
                &format!("/applications/{id}/documents"),
                serde_json::json!({"kind": kind, "photo_id": p["id"]}),
            )
            .await;
        assert_eq!(s, Status::Created);
    }
    let (s, body) = landlord
        .post(
            &format!("/applications/{id}/submit"),
            serde_json::json!({"pledge_accepted": true, "owner_name": "王房东", "ownership_doc_no": "浙(2020)花街镇不动产权第0001234号"}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{body}");
    (house, id)
}

/// Every permit's and every room's open-stay counter (m021) equals its open stays counted, and
/// returns the sum of the permits' counters (so a caller can tell the check was not vacuous).
pub async fn open_stay_counters_hold(app: &TestApp) -> i64 {
    let backend = app.db.get_database_backend();
    for (table, col) in [("permits", "permit_id"), ("rooms", "room_id")] {
        let rows = app
            .db
            .query_all_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT t.id AS id, CAST(t.open_stays AS BIGINT) AS kept, (SELECT COUNT(*) \
                     FROM stays s WHERE s.{col} = t.id AND s.status IN ('pending', 'active')) AS n \
                     FROM {table} t"
                ),
            ))
            .await
            .expect("counter query");
        for r in rows {
            let (id, kept, n): (i32, i64, i64) = (
                r.try_get("", "id").expect("id"),
                r.try_get("", "kept").expect("kept"),
                r.try_get("", "n").expect("n"),
            );
            assert_eq!(
                kept, n,
                "{table} {id}: its counter says {kept} open stays, it has {n}"
            );
        }
    }
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT CAST(COALESCE(SUM(open_stays), 0) AS BIGINT) AS n FROM permits",
        ))
        .await
        .expect("sum query")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}
