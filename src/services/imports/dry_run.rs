//! The dry run: every row of the 房屋, 房间 and 住户 sheets checked with the forms' parsers, matched against the
//! register by its natural keys, and classed create / update / unchanged / error. The only write
//! is the checked import itself, kept so that it can be committed later.
use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use sha2::Digest;

pub use super::houses::PlannedHouse;
use super::houses::{load, plan};
use super::index::{HouseIndex, RoomSpec};
use super::residents::{PlannedResident, Residents};
use super::rooms::{self, PlannedRoom};
use super::sheet::{SheetRow, read};
use super::template::{HOUSES, RESIDENTS, ROOMS};
use crate::crypto::pii::PiiCipher;
use crate::domain::import::{CellError, HouseRow, ImportStatus, RowAction, address_key};
use crate::domain::import_sheets::{ResidentRow, RoomRow, label_key};
use crate::domain::occupancy::OccupancyRule;
use crate::domain::property::parse_address;
use crate::domain::role::Role;
use crate::entities::{import, import_row};
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

/// Counts one row's outcome.
fn count(counts: &mut Counts, action: RowAction) {
    match action {
        RowAction::Create => counts.create += 1,
        RowAction::Update => counts.update += 1,
        RowAction::Unchanged => counts.unchanged += 1,
    }
}

/// A refused row of `sheet`, its cells padded to the sheet's columns.
fn refuse(sheet: &str, width: usize, r: &SheetRow, errs: Vec<CellError>) -> RefusedRow {
    let mut cells = r.cells.clone();
    cells.resize(width, String::new());
    cells.truncate(width);
    RefusedRow {
        sheet: sheet.to_string(),
        row: r.row,
        cells,
        errors: errs
            .into_iter()
            .map(|e| (e.column.to_string(), e.message))
            .collect(),
    }
}

/// Checks an uploaded file and keeps the result as a `checked` import. Writes nothing else.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, bytes = bytes.len()))]
pub async fn dry_run(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    now: chrono::DateTime<chrono::Utc>,
    actor: &Actor,
    bytes: &[u8],
) -> Result<Checked, AppError> {
    if !matches!(actor.role, Role::VillageOfficial | Role::TownAdmin) {
        return Err(AppError::forbidden());
    }
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let sheets = read(bytes)?;
    let today = crate::domain::clock::town_date(now);
    let parsed: Vec<Result<HouseRow, Vec<CellError>>> = sheets
        .houses
        .iter()
        .map(|r| HouseRow::parse(&r.cells))
        .collect();
    let good: Vec<&HouseRow> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let placing = !sheets.rooms.is_empty() || !sheets.residents.is_empty();
    let mut reg = load(db, actor, &good, placing).await?;
    drop(good);
    let mut seen = HashMap::new();
    let mut houses = Vec::new();
    let mut refused = Vec::new();
    let mut refused_keys = Vec::new();
    let mut counts = Counts::default();
    for (r, p) in sheets.houses.iter().zip(parsed) {
        match p.and_then(|h| plan(actor, &reg, &h, r.row, &mut seen)) {
            Ok(h) => {
                count(&mut counts, h.action);
                houses.push(h);
            }
            Err(errs) => {
                counts.error += 1;
                if let Ok(a) = parse_address(r.cells.get(2).map(String::as_str).unwrap_or("")) {
                    refused_keys.push((address_key(&a), r.row));
                }
                refused.push(refuse(HOUSES.0, HOUSES.1.len(), r, errs));
            }
        }
    }
    let mut planned: Vec<Planned> = Vec::new();
    if placing {
        let register = std::mem::take(&mut reg.houses).into_values();
        let mut ix = HouseIndex::build(register, &houses, refused_keys.into_iter());
        let rooms: Vec<Result<RoomRow, Vec<CellError>>> = sheets
            .rooms
            .iter()
            .map(|r| RoomRow::parse(&r.cells))
            .collect();
        let people: Vec<Result<ResidentRow, Vec<CellError>>> = sheets
            .residents
            .iter()
            .map(|r| ResidentRow::parse(&r.cells, today))
            .collect();
        // The register's details of the houses rows name, whichever sheet names them.
        let ids: std::collections::BTreeSet<i32> = rooms
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.address.as_str()))
            .chain(
                people
                    .iter()
                    .filter_map(|r| r.as_ref().ok().map(|r| r.address.as_str())),
            )
            .filter_map(|a| ix.find(actor, a).ok()?.property_id)
            .collect();
        let ids: Vec<i32> = ids.into_iter().collect();
        ix.load_details(db, &ids, today).await?;
        let mut seen_rooms = HashMap::new();
        for (r, p) in sheets.rooms.iter().zip(rooms) {
            match p.and_then(|m| rooms::plan(actor, &ix, &m, r.row, &mut seen_rooms)) {
                Ok(m) => {
                    count(&mut counts, m.action);
                    ix.file_rooms.insert(
                        ((m.village_id, address_key(&m.address)), label_key(&m.label)),
                        RoomSpec {
                            id: m.room_id,
                            label: m.label.clone(),
                            kind: m.kind.clone(),
                            area_m2: m.area_m2,
                        },
                    );
                    planned.push(Planned::Room(m));
                }
                Err(errs) => {
                    counts.error += 1;
                    refused.push(refuse(ROOMS.0, ROOMS.1.len(), r, errs));
                }
            }
        }
        let hashes: Vec<String> = people
            .iter()
            .filter_map(|p| Some(pii.doc_lookup_hash(&p.as_ref().ok()?.check_in.doc)))
            .collect();
        let mut res = Residents::load(db, &hashes, &ix).await?;
        drop(hashes);
        for (r, p) in sheets.residents.iter().zip(people) {
            match p.and_then(|m| res.plan(actor, &ix, pii, rule, &m, r.row)) {
                Ok((action, m)) => {
                    count(&mut counts, action);
                    planned.extend(m.map(Planned::Resident));
                }
                Err(errs) => {
                    counts.error += 1;
                    refused.push(refuse(RESIDENTS.0, RESIDENTS.1.len(), r, errs));
                }
            }
        }
    }
    drop(sheets);
    let errors = refused
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
    // Houses first, so that the rooms and residents of new houses find them.
    let planned: Vec<Planned> = houses
        .into_iter()
        .filter(|h| h.action != RowAction::Unchanged)
        .map(Planned::House)
        .chain(planned.into_iter().filter(|p| match p {
            Planned::Room(m) => m.action != RowAction::Unchanged,
            _ => true,
        }))
        .collect();
    let total = planned.len() as i32;
    let tx = crate::db::begin_write(db).await?;
    let saved = import::ActiveModel {
        created_by: Set(actor.id),
        file_sha256: Set(sha),
        status: Set(ImportStatus::Checked.as_str().to_string()),
        refused: Set(pii
            .encrypt(&serde_json::to_string(&refused).map_err(AppError::internal)?)
            .map_err(AppError::internal)?),
        count_create: Set(counts.create),
        count_update: Set(counts.update),
        count_unchanged: Set(counts.unchanged),
        count_error: Set(counts.error),
        done: Set(0),
        total: Set(total),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    for (n, chunk) in planned.chunks(500).enumerate() {
        let rows = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(import_row::ActiveModel {
                    import_id: Set(saved.id),
                    seq: Set((n * 500 + i) as i32),
                    data: Set(serde_json::to_string(p).map_err(AppError::internal)?),
                    ..Default::default()
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        import_row::Entity::insert_many(rows).exec(&tx).await?;
    }
    tx.commit().await?;
    Ok(Checked {
        id: saved.id,
        status: ImportStatus::Checked.as_str(),
        rows: counts,
        errors,
    })
}
