//! Events that time makes: a finding due in two days, a finding overdue, a check-in waiting 24 hours
//! for its landlord. Each is recorded once per subject (the event's dedupe key).
pub const JOB: &str = "outbox_deadlines";

pub async fn run(
    _db: &sea_orm::DatabaseConnection,
    _now: chrono::DateTime<chrono::Utc>,
) -> Result<String, crate::error::AppError> {
    Ok(String::new())
}
