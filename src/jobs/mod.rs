//! Background jobs: each named job is claimed through a row in `jobs`, so that when several
//! instances run, exactly one runs a given job at a time (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
//! SQLite: an IMMEDIATE transaction serialises the claim).
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    Set, Statement,
};

use crate::entities::job;
use crate::error::AppError;

/// Tries to take the lease on `name` for `lease`. Returns false when another instance holds it.
pub async fn claim(
    db: &DatabaseConnection,
    name: &str,
    instance: &str,
    lease: Duration,
) -> Result<bool, AppError> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let tx = crate::db::begin_write(db).await?;
    let backend = tx.get_database_backend();
    let row = if backend == DbBackend::Postgres {
        // Make sure the row exists, then lock it; a locked row means another instance is deciding right now.
        tx.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO jobs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            [name.into()],
        ))
        .await?;
        job::Model::find_by_statement(Statement::from_sql_and_values(
            backend,
            "SELECT name, locked_by, locked_until, last_run_at FROM jobs WHERE name = $1 FOR UPDATE SKIP LOCKED",
            [name.into()],
        ))
        .one(&tx)
        .await?
    } else {
        match job::Entity::find_by_id(name.to_string()).one(&tx).await? {
            Some(j) => Some(j),
            None => Some(
                job::ActiveModel {
                    name: Set(name.into()),
                    locked_by: Set(None),
                    locked_until: Set(None),
                    last_run_at: Set(None),
                }
                .insert(&tx)
                .await?,
            ),
        }
    };
    let Some(j) = row else {
        return Ok(false);
    };
    if j.locked_until.is_some_and(|t| t > now) && j.locked_by.as_deref() != Some(instance) {
        return Ok(false);
    }
    let mut am: job::ActiveModel = j.into();
    am.locked_by = Set(Some(instance.to_string()));
    am.locked_until = Set(Some(until));
    am.update(&tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Releases the lease and records the run.
pub async fn release(db: &DatabaseConnection, name: &str, instance: &str) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    if let Some(j) = job::Entity::find_by_id(name.to_string()).one(&tx).await?
        && j.locked_by.as_deref() == Some(instance)
    {
        let mut am: job::ActiveModel = j.into();
        am.locked_by = Set(None);
        am.locked_until = Set(None);
        am.last_run_at = Set(Some(Utc::now()));
        am.update(&tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An id for this process, so leases can tell instances apart.
pub fn instance_id() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

/// How often the scheduler wakes up. Each job decides for itself whether there is work.
pub const TICK: Duration = Duration::from_secs(60);

/// Runs every background job once, each under its own claim. Returns what each job reported.
/// Issues add their jobs here (routine patrols, overdue marks, permit expiry, lapsed stays, retention).
pub async fn run_all(
    state: &crate::AppState,
    instance: &str,
) -> Vec<(&'static str, Result<String, AppError>)> {
    let jobs: Vec<&'static str> = vec![
        crate::services::inspections::routine::JOB,
        "permit_expiry",
        "lapse_pending_stays",
        "retention_wipe",
        crate::services::events::timed::JOB,
        crate::services::imports::commit::JOB,
    ];
    let mut out = Vec::new();
    for name in jobs {
        match claim(&state.db, name, instance, Duration::from_secs(300)).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                // Skipped this tick; a database that keeps failing here must show in the log.
                tracing::error!(job = name, error = %e, "could not claim job");
                continue;
            }
        }
        let result = run_one(state, name).await;
        if let Err(e) = release(&state.db, name, instance).await {
            // The lease then runs out on its own, but until it does no instance runs this job.
            tracing::error!(job = name, error = %e, "could not release job lease");
        }
        out.push((name, result));
    }
    out
}

async fn run_one(state: &crate::AppState, name: &str) -> Result<String, AppError> {
    #[allow(clippy::match_single_binding)]
    match name {
        crate::services::inspections::routine::JOB => {
            crate::services::inspections::routine::run(state).await
        }
        "permit_expiry" => {
            crate::services::permit_expiry::run(&state.db, state.config.clock.today()).await
        }
        "lapse_pending_stays" => crate::services::stays::lapse_pending(
            &state.db,
            state.config.pending_stay_hours,
            state.config.clock.now(),
        )
        .await
        .map(|n| format!("{n} pending stays lapsed")),
        "retention_wipe" => crate::services::stays::retention_wipe(
            &state.db,
            state.config.retention_months,
            state.config.clock.now(),
        )
        .await
        .map(|n| format!("{n} stays wiped")),
        crate::services::events::timed::JOB => {
            crate::services::events::timed::run(&state.db, state.config.clock.now()).await
        }
        crate::services::imports::commit::JOB => {
            let rule = crate::services::permits::occupancy_rule(state);
            crate::services::imports::commit::run(
                &state.db,
                &state.pii,
                &rule,
                state.config.clock.now(),
            )
            .await
        }
        other => Err(AppError::internal(format!("unknown job {other}"))),
    }
}

/// Starts the scheduler loop when Rocket lifts off (not in `rocket::local` tests, which call
/// `run_all` directly when they need a job to run).
pub struct Scheduler(pub crate::AppRef);

#[rocket::async_trait]
impl rocket::fairing::Fairing for Scheduler {
    fn info(&self) -> rocket::fairing::Info {
        rocket::fairing::Info {
            name: "background jobs",
            kind: rocket::fairing::Kind::Liftoff,
        }
    }

    async fn on_liftoff(&self, _rocket: &rocket::Rocket<rocket::Orbit>) {
        if !self.0.config.scheduler {
            return;
        }
        crate::services::events::dispatch::spawn(self.0.clone());
        let state = self.0.clone();
        let instance = instance_id();
        rocket::tokio::spawn(async move {
            loop {
                for (name, result) in run_all(&state, &instance).await {
                    match result {
                        Ok(msg) => tracing::info!(job = name, "{msg}"),
                        Err(e) => tracing::error!(job = name, "job failed: {e}"),
                    }
                }
                rocket::tokio::time::sleep(TICK).await;
            }
        });
    }
}
