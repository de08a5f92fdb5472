//! The dry run: every row of the 房屋 sheet checked with the forms' parsers, matched against the
//! register by its natural keys, and classed create / update / unchanged / error. The only write
//! is the checked import itself, kept so that it can be committed later.
use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::sheet::{SheetRow, house_rows};
use super::template::HOUSES;
use crate::domain::import::{CellError, HouseRow, ImportStatus, RowAction};
use crate::domain::role::Role;
use crate::entities::{grid, import, import_row, property, user, village};
use crate::error::AppError;
use crate::services::Actor;

/// Errors listed in an answer; the rest are in `errors.xlsx`.
pub const ERRORS_SHOWN: usize = 200;

/// A house row that passed, with what committing it would do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedHouse {
    pub row: u32,
    pub action: RowAction,
    pub property_id: Option<i32>,
    pub village_id: i32,
    pub grid_id: i32,
    pub address: String,
    pub floors: i32,
    pub structure: String,
    pub landlord_name: String,
    pub landlord_phone: String,
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

/// What the register already holds for the villages a file names.
struct Register {
    villages: HashMap<String, i32>,
    grids: HashMap<(i32, String), i32>,
    houses: HashMap<(i32, String), property::Model>,
    users: HashMap<String, user::Model>,
}

async fn load(db: &DatabaseConnection, rows: &[&HouseRow]) -> Result<Register, AppError> {
    let villages: HashMap<String, i32> = village::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.name, v.id))
        .collect();
    let named: Vec<i32> = rows
        .iter()
        .filter_map(|r| villages.get(&r.village).copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let grids = grid::Entity::find()
        .filter(grid::Column::VillageId.is_in(named.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|g| ((g.village_id, g.name), g.id))
        .collect();
    let houses = property::Entity::find()
        .filter(property::Column::VillageId.is_in(named))
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            (
                (p.village_id, crate::domain::import::address_key(&p.address)),
                p,
            )
        })
        .collect();
    let phones: Vec<String> = rows
        .iter()
        .map(|r| r.landlord_phone.as_str().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut users = HashMap::new();
    for chunk in phones.chunks(500) {
        for u in user::Entity::find()
            .filter(user::Column::Phone.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            users.insert(u.phone.clone(), u);
        }
    }
    Ok(Register {
        villages,
        grids,
        houses,
        users,
    })
}

fn cell_error(column: &str, message: impl Into<String>) -> CellError {
    let column = HOUSES
        .1
        .iter()
        .find(|c| **c == column)
        .copied()
        .unwrap_or("");
    CellError {
        column,
        message: message.into(),
    }
}

/// Places a parsed row in the register, or says which cell stops it.
fn plan(
    actor: &Actor,
    reg: &Register,
    h: &HouseRow,
    row: u32,
    seen: &mut HashMap<(i32, String), u32>,
) -> Result<PlannedHouse, Vec<CellError>> {
    let village_id = *reg
        .villages
        .get(&h.village)
        .ok_or_else(|| vec![cell_error("村", format!("系统中没有「{}」", h.village))])?;
    if actor.role == Role::VillageOfficial && actor.village_id != Some(village_id) {
        return Err(vec![cell_error("村", "村干部只能导入本村的房屋")]);
    }
    let grid_id = *reg
        .grids
        .get(&(village_id, h.grid.clone()))
        .ok_or_else(|| {
            vec![cell_error(
                "网格",
                format!("{}没有「{}」", h.village, h.grid),
            )]
        })?;
    let key = (village_id, h.address_key.clone());
    if let Some(first) = seen.insert(key.clone(), row) {
        return Err(vec![cell_error(
            "地址",
            format!("与第 {first} 行是同一房屋"),
        )]);
    }
    let owner = reg.users.get(h.landlord_phone.as_str());
    if owner.is_some_and(|u| Role::parse(&u.role) != Some(Role::Landlord)) {
        return Err(vec![cell_error(
            "房东手机",
            "该手机号属于工作人员账号，不能作为房东",
        )]);
    }
    let existing = reg.houses.get(&key);
    let action = match existing {
        None => RowAction::Create,
        Some(p) if owner.map(|u| u.id) != Some(p.landlord_id) => {
            return Err(vec![cell_error(
                "房东手机",
                "该房屋登记在另一位房东名下；更换房东请在房屋页办理过户",
            )]);
        }
        Some(p)
            if p.grid_id == grid_id
                && p.floors == h.floors
                && p.structure == h.structure.as_str() =>
        {
            RowAction::Unchanged
        }
        Some(_) => RowAction::Update,
    };
    Ok(PlannedHouse {
        row,
        action,
        property_id: existing.map(|p| p.id),
        village_id,
        grid_id,
        address: existing
            .map(|p| p.address.clone())
            .unwrap_or_else(|| h.address.clone()),
        floors: h.floors,
        structure: h.structure.as_str().to_string(),
        landlord_name: h.landlord_name.as_str().to_string(),
        landlord_phone: h.landlord_phone.as_str().to_string(),
    })
}

/// Checks an uploaded file and keeps the result as a `checked` import. Writes nothing else.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, bytes = bytes.len()))]
pub async fn dry_run(
    db: &DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
    actor: &Actor,
    bytes: &[u8],
) -> Result<Checked, AppError> {
    if !matches!(actor.role, Role::VillageOfficial | Role::TownAdmin) {
        return Err(AppError::forbidden());
    }
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let rows: Vec<SheetRow> = house_rows(bytes)?;
    let parsed: Vec<Result<HouseRow, Vec<CellError>>> =
        rows.iter().map(|r| HouseRow::parse(&r.cells)).collect();
    let good: Vec<&HouseRow> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let reg = load(db, &good).await?;
    drop(good);
    let mut seen = HashMap::new();
    let mut planned = Vec::new();
    let mut refused = Vec::new();
    let mut counts = Counts::default();
    for (r, p) in rows.iter().zip(parsed) {
        match p.and_then(|h| plan(actor, &reg, &h, r.row, &mut seen)) {
            Ok(h) => {
                match h.action {
                    RowAction::Create => counts.create += 1,
                    RowAction::Update => counts.update += 1,
                    RowAction::Unchanged => counts.unchanged += 1,
                }
                planned.push(h);
            }
            Err(errs) => {
                counts.error += 1;
                let mut cells = r.cells.clone();
                cells.resize(HOUSES.1.len(), String::new());
                refused.push(RefusedRow {
                    sheet: HOUSES.0.to_string(),
                    row: r.row,
                    cells,
                    errors: errs
                        .into_iter()
                        .map(|e| (e.column.to_string(), e.message))
                        .collect(),
                });
            }
        }
    }
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
    planned.retain(|p| p.action != RowAction::Unchanged);
    let total = planned.len() as i32;
    let tx = crate::db::begin_write(db).await?;
    let saved = import::ActiveModel {
        created_by: Set(actor.id),
        file_sha256: Set(sha),
        status: Set(ImportStatus::Checked.as_str().to_string()),
        refused: Set(serde_json::to_string(&refused).map_err(AppError::internal)?),
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
