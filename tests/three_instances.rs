//! Three instances on one database running the scheduler's jobs and the outbox dispatcher at the
//! same time, round after round, do each piece of work once: a permit expires once (one audit
//! entry, one notice), a deadline makes one event, and every event reaches each subscription
//! exactly once. On SQLite and PostgreSQL.
mod common;
#[path = "support/http_peer.rs"]
mod http_peer;

use anju::entities::{audit_entry, event, notification};
use anju::jobs::run_all;
use anju::services::events::dispatch::run_until_idle;
use common::*;
use http_peer::HttpPeer;
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[rocket::async_test]
async fn three_instances_running_jobs_together_do_each_job_once() {
    let app = TestApp::with(|c| {
        c.webhook_allow_private = true;
        c.webhook_retry_seconds = "1".into();
    })
    .await;
    let peer = HttpPeer::start().await;
    let admin = app.api(ADMIN).await;
    for path in ["", "/second"] {
        let (s, v) = admin
            .post(
                "/webhooks",
                json!({"url": format!("{}{path}", peer.url),
                    "events": ["application.submitted", "task.created", "permit.expiring"]}),
            )
            .await;
        assert_eq!(s, Status::Created, "{v}");
    }
    let landlord = app.api(LANDLORD).await;
    for grid in ["锦绣村第一网格", "锦绣村第二网格", "倪宅村第一网格"] {
        submitted_in_grid(&app, &landlord, grid).await;
    }
    // A permit that ended yesterday.
    let (number, _) = active_permit(&app, 2).await;
    let p = permit_ending_on(
        &app,
        &number,
        app.config.clock.today() - chrono::Duration::days(1),
    )
    .await;

    let (a, b, c) = (app.state().await, app.state().await, app.state().await);
    for _ in 0..3 {
        let (ra, rb, rc) =
            tokio::join!(run_all(&a, "one"), run_all(&b, "two"), run_all(&c, "three"));
        for (name, r) in ra.into_iter().chain(rb).chain(rc) {
            assert!(r.is_ok(), "{name}: {r:?}");
        }
        let (ra, rb, rc) = tokio::join!(run_until_idle(&a), run_until_idle(&b), run_until_idle(&c));
        assert!(ra.is_ok() && rb.is_ok() && rc.is_ok());
    }

    let expiries = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("permit.expire"))
        .filter(audit_entry::Column::EntityId.eq(p.id.to_string()))
        .count(&app.db)
        .await
        .expect("audit");
    assert_eq!(expiries, 1, "the permit expired once");
    let notices = notification::Entity::find()
        .filter(notification::Column::Kind.eq("permit.expired"))
        .count(&app.db)
        .await
        .expect("notices");
    assert_eq!(notices, 1, "the landlord heard of it once");

    let events = event::Entity::find()
        .filter(event::Column::Kind.is_in(["application.submitted", "task.created"]))
        .count(&app.db)
        .await
        .expect("events");
    assert_eq!(events, 6, "three submissions and their three tasks");
    let got = peer.wait_for((events * 2) as usize, 10).await;
    let mut pairs: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.header("webhook-id").unwrap_or("").to_string(),
            )
        })
        .collect();
    let received = pairs.len();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), received, "no event twice to one subscription");
    assert_eq!(
        received as u64,
        events * 2,
        "every event to both subscriptions"
    );
}
