//! On PostgreSQL, wakes this instance's dispatcher when any instance commits an event
//! (`NOTIFY anju_outbox` is delivered only on commit).
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

/// Listens for the outbox channel for as long as the process runs, reconnecting after errors.
pub fn spawn(state: crate::AppRef) {
    rocket::tokio::spawn(async move {
        loop {
            let pool = state.db.get_postgres_connection_pool().clone();
            match PgListener::connect_with(&pool).await {
                Ok(mut l) => {
                    if let Err(e) = l.listen(super::PG_CHANNEL).await {
                        tracing::warn!(error = %e, "could not LISTEN for outbox events");
                    } else {
                        while l.recv().await.is_ok() {
                            super::WAKE.notify_one();
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not connect to LISTEN for outbox events")
                }
            }
            // The dispatcher still polls every second meanwhile; this only brings the wake-up back.
            rocket::tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
}
