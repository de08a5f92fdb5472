//! The dry run: every row of the 房屋, 房间 and 住户 sheets checked with the forms' parsers, matched against the
//! register by its natural keys, and classed create / update / unchanged / error. The only write
//! is the checked import itself, kept so that it can be committed later. The file is read, checked
//! and kept chunk by chunk (`sheet::stream`, `check::Check`, `sink::Sink`), so a register of
//! 100 000 houses is never held whole.
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::check::Check;
pub use super::houses::PlannedHouse;
use super::residents::PlannedResident;
use super::rooms::PlannedRoom;
use super::sink::Sink;
use crate::crypto::pii::PiiCipher;
use crate::domain::import::ImportStatus;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::services::Actor;

/// Errors listed in an answer; the rest are in `errors.xlsx`.
pub const ERRORS_SHOWN: usize = 200;

/// One row an import will write, in the order the commit writes them: houses, rooms, residents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Planned {
    House(PlannedHouse),
    Room(PlannedRoom),
    Resident(PlannedResident),
}

impl Planned {
    /// A stored row; imports checked before rooms and residents were read stored bare houses.
    pub fn from_json(s: &str) -> Result<Planned, AppError> {
        serde_json::from_str::<Planned>(s)
            .or_else(|_| serde_json::from_str::<PlannedHouse>(s).map(Planned::House))
            .map_err(AppError::internal)
    }
}

/// A refused row: its cells as uploaded (so the error sheet can be fixed and sent again) and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusedRow {
    pub sheet: String,
    pub row: u32,
    pub cells: Vec<String>,
    pub errors: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub create: i32,
    pub update: i32,
    pub unchanged: i32,
    pub error: i32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorOut {
    pub sheet: String,
    pub row: u32,
    pub column: String,
    pub message: String,
}

/// The answer to `POST /imports`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Checked {
    pub id: i32,
    pub status: &'static str,
    pub rows: Counts,
    pub errors: Vec<ErrorOut>,
}

/// Checks an uploaded file and keeps the result as a `checked` import. Writes nothing else.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, bytes = bytes.len()))]
pub async fn dry_run(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    now: chrono::DateTime<chrono::Utc>,
    actor: &Actor,
    bytes: Vec<u8>,
) -> Result<Checked, AppError> {
    if !matches!(actor.role, Role::VillageOfficial | Role::TownAdmin) {
        return Err(AppError::forbidden());
    }
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let mut chunks = super::sheet::stream(bytes);
    // A file that cannot be read, or whose first sheet has the wrong header, is refused before
    // anything is kept.
    let mut next = chunks.recv().await.transpose()?;
    let mut check = Check::new(db, pii, rule, now, actor).await?;
    let mut sink = Sink::open(db, actor, sha, now).await?;
    let checked = async {
        while let Some(chunk) = next {
            check.chunk(chunk, &mut sink).await?;
            next = chunks.recv().await.transpose()?;
        }
        sink.finish(db, pii, &check.counts, &check.refused).await
    }
    .await;
    let id = match checked {
        Ok(id) => id,
        Err(e) => {
            sink.discard(db).await;
            return Err(e);
        }
    };
    let errors = check
        .refused
        .iter()
        .flat_map(|r| {
            r.errors.iter().map(|(c, m)| ErrorOut {
                sheet: r.sheet.clone(),
                row: r.row,
                column: c.clone(),
                message: m.clone(),
            })
        })
        .take(ERRORS_SHOWN)
        .collect();
    Ok(Checked {
        id,
        status: ImportStatus::Checked.as_str(),
        rows: check.counts,
        errors,
    })
}
