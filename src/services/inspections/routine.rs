//! The routine-patrol scheduler: a `routine` task for every permitted house whose patrol is
//! due, by the grade cadence of the checklist file. Safe with several instances running.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Set, Statement,
};

use super::TaskPolicy;
use crate::domain::checklist::{ChecklistRegistry, cadence_days};
use crate::domain::grade::Grade;
use crate::domain::inspection::TaskKind;
use crate::entities::property;
use crate::error::AppError;

/// Houses per transaction, so one run never holds the write lock for long.
const BATCH: u64 = 200;

/// The job's name in the `jobs` table.
pub const JOB: &str = "routine_patrols";

/// Creates the due routine tasks; returns how many. Each batch runs in one write transaction
/// that, on PostgreSQL, locks the chosen houses with `FOR UPDATE SKIP LOCKED` (a second
/// scheduler takes other houses or none), and on SQLite is IMMEDIATE (the second waits, then
/// finds the houses already moved on). A house with an unfinished routine task is never picked.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_due(
    db: &DatabaseConnection,
    reg: &ChecklistRegistry,
    policy: &TaskPolicy,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut made = 0;
    loop {
        let tx = crate::db::begin_write(db).await?;
        let backend = tx.get_database_backend();
        let (sql, lock) = match backend {
            DbBackend::Postgres => ("$1", " FOR UPDATE OF p SKIP LOCKED"),
            _ => ("?", ""),
        };
        let stmt = Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT p.id AS id FROM properties p \
                 WHERE p.next_patrol_at <= {sql} \
                 AND EXISTS (SELECT 1 FROM permits pm WHERE pm.property_id = p.id AND pm.status = 'active') \
                 AND NOT EXISTS (SELECT 1 FROM inspection_tasks t WHERE t.property_id = p.id \
                     AND t.kind = 'routine' AND t.status IN ('open', 'in_progress')) \
                 ORDER BY p.id LIMIT {BATCH}{lock}"
            ),
            [now.into()],
        );
        let ids: Vec<i32> = tx
            .query_all_raw(stmt)
            .await?
            .iter()
            .filter_map(|r| r.try_get::<i32>("", "id").ok())
            .collect();
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(made);
        }
        for id in ids {
            let Some(p) = property::Entity::find_by_id(id).one(&tx).await? else {
                continue;
            };
            super::tasks::create_task(&tx, TaskKind::Routine, &p, None, None, policy).await?;
            let grade = p
                .grade
                .as_deref()
                .and_then(Grade::parse)
                .unwrap_or(Grade::Green);
            let days = reg
                .current(&policy.checklist_key)
                .map(|c| cadence_days(c, grade))
                .unwrap_or(30);
            let mut am: property::ActiveModel = p.into();
            am.next_patrol_at = Set(Some(now + Duration::days(days.max(1) as i64)));
            am.update(&tx).await?;
            made += 1;
        }
        tx.commit().await?;
    }
}

/// The scheduler's entry point.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run(st: &crate::AppState) -> Result<String, AppError> {
    let n = create_due(
        &st.db,
        &st.checklists,
        &TaskPolicy::of(st),
        st.config.clock.now(),
    )
    .await?;
    Ok(format!("{n} routine patrol task(s) created"))
}
