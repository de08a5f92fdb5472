//! Services hygiene: pages take a bounded number of queries, one open application per house
//! even under concurrency, and check-in follows a key rotation made elsewhere.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::json;

/// A browser on an instance whose database connection counts every statement it runs.
async fn counting_browser(app: &TestApp, phone: &str) -> (Client, Arc<AtomicUsize>) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut db = anju::db::connect(&app.config).await.expect("connect");
    let seen = counter.clone();
    // The instance's own housekeeping (shared rate-limit counts, the key ring's refresh on
    // PostgreSQL) runs on the same pool on timers; it is not the page's and is not counted.
    db.set_metric_callback(move |info| {
        let sql = &info.statement.sql;
        if !(sql.contains("rate_hits") || sql.contains("key_ring")) {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    let rocket = anju::build(app.config.clone(), db).await.expect("build");
    let client = Client::tracked(rocket).await.expect("client");
    let b = Browser { client };
    let status = b
        .post_form("/login", &[("phone", phone), ("password", DEMO_PASSWORD)])
        .await
        .status();
    assert_eq!(status, Status::SeeOther, "sign-in as {phone}");
    (b.client, counter)
}

/// Adds `n` houses to the demo landlord, each with a draft application and an active permit.
async fn add_houses_with_permits(app: &TestApp, landlord: &Api, n: usize) {
    use anju::entities::{application, permit, user};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let (village_id, grid_id) = village_and_grid(app, "锦绣村第一网格").await;
    let official = user::Entity::find()
        .filter(user::Column::Phone.eq(OFFICIAL_JX))
        .one(&app.db)
        .await
        .expect("user query")
        .expect("official");
    for _ in 0..n {
        let (s, house) = landlord
            .post(
                "/properties",
                json!({"village_id": village_id, "grid_id": grid_id, "address": "锦绣村东区 8 号",
                    "floors": 2, "structure": "brick_concrete", "rooms": design_example_rooms()}),
            )
            .await;
        assert_eq!(s, Status::Created, "{house}");
        let house_id = house["id"].as_i64().expect("house id") as i32;
        let (s, draft) = landlord
            .post("/applications", json!({"property_id": house_id}))
            .await;
        assert_eq!(s, Status::Created, "{draft}");
        let a = application::Entity::find_by_id(draft["id"].as_i64().expect("id") as i32)
            .one(&app.db)
            .await
            .expect("application query")
            .expect("application");
        let today = app.config.clock.today();
        permit::ActiveModel {
            number: Set(format!("HJ-JX-2026-{:06}", 900_000 + a.id)),
            application_id: Set(a.id),
            property_id: Set(house_id),
            village_id: Set(village_id),
            landlord_id: Set(a.landlord_id),
            status: Set("active".into()),
            valid_from: Set(today),
            valid_until: Set(today + chrono::Duration::days(365)),
            max_occupants: Set(6),
            official_cap: Set(None),
            grade: Set("green".into()),
            signature: Set("unsigned".into()),
            issued_at: Set(chrono::Utc::now()),
            issued_by: Set(official.id),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("permit");
    }
}

async fn queries_for(client: &Client, counter: &AtomicUsize, path: &str) -> usize {
    counter.store(0, Ordering::SeqCst);
    let r = client.get(path).dispatch().await;
    assert_eq!(r.status(), Status::Ok, "{path}");
    let _ = r.into_string().await;
    counter.load(Ordering::SeqCst)
}

#[rocket::async_test]
async fn the_landlord_home_page_takes_as_many_queries_for_twenty_houses_as_for_one() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (client, counter) = counting_browser(&app, LANDLORD).await;
    add_houses_with_permits(&app, &landlord, 1).await;
    let one = queries_for(&client, &counter, "/landlord").await;
    add_houses_with_permits(&app, &landlord, 19).await;
    let twenty = queries_for(&client, &counter, "/landlord").await;
    println!("landlord home page: {one} queries with 1 house, {twenty} with 20 houses");
    assert!(one > 0, "the counter sees the page's queries");
    assert_eq!(one, twenty, "the query count does not grow with the houses");
}

#[rocket::async_test]
async fn the_officials_approval_queue_takes_as_many_queries_for_ten_applications_as_for_one() {
    let app = TestApp::new().await;
    let landlord = app.api(LANDLORD).await;
    let (client, counter) = counting_browser(&app, OFFICIAL_JX).await;
    passed_application_as(&app, &landlord, "锦绣村东区 1 号", design_example_rooms()).await;
    let one = queries_for(&client, &counter, "/official/queue").await;
    for i in 2..=10 {
        let address = format!("锦绣村东区 {i} 号");
        passed_application_as(&app, &landlord, &address, design_example_rooms()).await;
    }
    let ten = queries_for(&client, &counter, "/official/queue").await;
    println!("approval queue: {one} queries with 1 application, {ten} with 10");
    assert_eq!(one, ten, "the query count does not grow with the queue");
}

#[rocket::async_test]
async fn ten_concurrent_drafts_for_one_house_leave_exactly_one_and_the_rest_get_409() {
    let app = TestApp::new().await;
    let (village_id, grid_id) = village_and_grid(&app, "锦绣村第一网格").await;
    let landlord = Arc::new(app.api(LANDLORD).await);
    let (s, house) = landlord
        .post(
            "/properties",
            json!({"village_id": village_id, "grid_id": grid_id, "address": "锦绣村东区 3 号",
                "floors": 2, "structure": "brick_concrete", "rooms": design_example_rooms()}),
        )
        .await;
    assert_eq!(s, Status::Created, "{house}");
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let landlord = landlord.clone();
            let body = json!({"property_id": house["id"]});
            rocket::tokio::spawn(async move { landlord.post("/applications", body).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let (s, v) = t.await.expect("task");
        match s {
            Status::Created => created += 1,
            Status::Conflict => assert!(
                v["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("办理中的申请"),
                "a Chinese reason: {v}"
            ),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(created, 1, "exactly one draft is created");
    assert_eq!(app.count("applications").await, 1);
}

#[rocket::async_test]
async fn the_database_itself_refuses_a_second_open_application_for_a_house() {
    use anju::entities::application;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let app = TestApp::new().await;
    let id = passed_application(&app).await;
    let first = application::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("application");
    let now = chrono::Utc::now();
    let second = application::ActiveModel {
        property_id: Set(first.property_id),
        landlord_id: Set(first.landlord_id),
        village_id: Set(first.village_id),
        status: Set("draft".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let err = second
        .clone()
        .insert(&app.db)
        .await
        .expect_err("a second open application is refused by the index");
    assert!(
        matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ),
        "{err}"
    );
    let mut done: application::ActiveModel = first.into();
    done.status = Set("rejected".into());
    done.update(&app.db).await.expect("reject the first");
    second
        .insert(&app.db)
        .await
        .expect("a new application once the first is closed");
}

#[rocket::async_test]
async fn a_check_in_instance_picks_up_a_key_rotated_elsewhere() {
    let app = TestApp::new().await;
    let anon = app.browser().await; // loaded its keyring before the rotation
    // Another instance (or the CLI) rotates: in the data directory or the database's key ring.
    app.keys().await.keyring.rotate().await.expect("rotate");
    let (number, sig) = active_permit(&app, 4).await;
    let (s, html) = anon
        .get_text(&format!("/p/{number}/checkin?sig={}", urlencode(&sig)))
        .await;
    assert_eq!(s, Status::Ok, "{html}");
}

/// An index definition as both databases list it: `CREATE [UNIQUE] INDEX name ON [public.]table
/// [USING method] (columns) [WHERE …]`, quotes dropped.
struct IndexDef {
    name: String,
    table: String,
    method: String,
    columns: Vec<String>,
    unique: bool,
    partial: bool,
}

fn index_def(definition: &str) -> Option<IndexDef> {
    let d = definition.replace('"', "");
    let (head, rest) = d.split_once(" ON ")?;
    let name = head.rsplit(' ').next()?.to_string();
    let (target, rest) = rest.split_once('(')?;
    let mut target = target.split_whitespace();
    let table = target.next()?.trim_start_matches("public.").to_string();
    let method = match (target.next(), target.next()) {
        (Some("USING"), Some(m)) => m.to_string(),
        _ => "btree".to_string(),
    };
    // The column list ends at the parenthesis that closes the first (expressions nest).
    let mut depth = 0usize;
    let end = rest.char_indices().find_map(|(i, c)| match c {
        '(' => {
            depth += 1;
            None
        }
        ')' if depth == 0 => Some(i),
        ')' => {
            depth -= 1;
            None
        }
        _ => None,
    })?;
    let (columns, tail) = (&rest[..end], &rest[end + 1..]);
    Some(IndexDef {
        name,
        table,
        method,
        columns: columns.split(',').map(|c| c.trim().to_string()).collect(),
        unique: head.contains("UNIQUE"),
        partial: tail.contains("WHERE"),
    })
}

#[test]
fn index_definitions_read_alike_from_either_database() {
    let pg = index_def("CREATE INDEX ix_a ON public.stays USING btree (status, id)").unwrap();
    let sqlite = index_def(r#"CREATE INDEX "ix_a" ON "stays" ("status", "id")"#).unwrap();
    for d in [&pg, &sqlite] {
        assert_eq!((d.name.as_str(), d.table.as_str()), ("ix_a", "stays"));
        assert_eq!(
            (d.method.as_str(), d.columns.join(",")),
            ("btree", "status,id".into())
        );
        assert!(!d.unique && !d.partial);
    }
    let partial = index_def("CREATE UNIQUE INDEX u ON t (a) WHERE status IN ('x')").unwrap();
    assert!(partial.unique && partial.partial);
}

/// Every insert keeps every index up to date: a plain index whose columns another index of the
/// table begins with (or repeats) costs writes and serves no query the other does not.
#[rocket::async_test]
async fn no_index_repeats_the_beginning_of_another() {
    let app = TestApp::new().await;
    let defs: Vec<IndexDef> = app
        .index_definitions()
        .await
        .iter()
        .map(|d| index_def(d).unwrap_or_else(|| panic!("unread definition {d}")))
        .collect();
    assert!(defs.len() > 30, "{} indexes", defs.len());
    let mut redundant = Vec::new();
    for a in defs.iter().filter(|a| !a.unique && !a.partial) {
        let covered = defs.iter().find(|b| {
            b.name != a.name
                && b.table == a.table
                && b.method == a.method
                && !b.partial
                && b.columns.starts_with(&a.columns)
        });
        if let Some(b) = covered {
            redundant.push(format!(
                "{} ({}) within {}",
                a.name,
                a.columns.join(", "),
                b.name
            ));
        }
    }
    assert!(redundant.is_empty(), "{redundant:#?}");
}
