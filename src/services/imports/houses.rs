//! The 房屋 sheet in the dry run: each row placed in its village and grid, matched to a house
//! of the register by village and normalised address, its landlord by phone.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

use super::template::HOUSES;
use crate::domain::import::{CellError, HouseRow, RowAction};
use crate::domain::role::Role;
use crate::entities::{grid, property, user, village};
use crate::error::AppError;
use crate::services::Actor;

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

/// What the register holds for the villages the actor may import into, and the landlords of the
/// rows checked so far.
pub struct Register {
    villages: HashMap<String, i32>,
    grids: HashMap<(i32, String), i32>,
    pub houses: HashMap<(i32, String), property::Model>,
    /// Accounts by phone: id and role.
    users: HashMap<String, (i32, Option<Role>)>,
}

impl Register {
    /// The villages, grids and houses of every village the actor may import into (an official's
    /// own, or all for the town admin); the landlords come chunk by chunk ([`Register::add_users`]).
    pub async fn load(db: &DatabaseConnection, actor: &Actor) -> Result<Register, AppError> {
        let villages: HashMap<String, i32> = village::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|v| (v.name, v.id))
            .collect();
        let reach: Vec<i32> = match actor.village_id {
            Some(v) if actor.role == Role::VillageOfficial => vec![v],
            _ => villages.values().copied().collect(),
        };
        let grids = grid::Entity::find()
            .filter(grid::Column::VillageId.is_in(reach.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|g| ((g.village_id, g.name), g.id))
            .collect();
        let houses = property::Entity::find()
            .filter(property::Column::VillageId.is_in(reach))
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
        Ok(Register {
            villages,
            grids,
            houses,
            users: HashMap::new(),
        })
    }

    /// Looks up the accounts of these rows' landlord phones that are not known yet.
    pub async fn add_users(
        &mut self,
        db: &DatabaseConnection,
        rows: &[&HouseRow],
    ) -> Result<(), AppError> {
        let phones: Vec<String> = rows
            .iter()
            .map(|r| r.landlord_phone.as_str())
            .filter(|p| !self.users.contains_key(*p))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(str::to_string)
            .collect();
        for chunk in phones.chunks(500) {
            let found: Vec<(i32, String, String)> = user::Entity::find()
                .select_only()
                .columns([user::Column::Id, user::Column::Phone, user::Column::Role])
                .filter(user::Column::Phone.is_in(chunk.to_vec()))
                .into_tuple()
                .all(db)
                .await?;
            for (id, phone, role) in found {
                self.users.insert(phone, (id, Role::parse(&role)));
            }
        }
        Ok(())
    }
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
pub fn plan(
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
    if owner.is_some_and(|(_, role)| *role != Some(Role::Landlord)) {
        return Err(vec![cell_error(
            "房东手机",
            "该手机号属于工作人员账号，不能作为房东",
        )]);
    }
    let existing = reg.houses.get(&key);
    let action = match existing {
        None => RowAction::Create,
        Some(p) if owner.map(|(id, _)| *id) != Some(p.landlord_id) => {
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
