//! The 房间 sheet in the dry run: each row placed in its house (from the 房屋 sheet or the
//! register) and matched by 房间号 to a room the register holds: create, update or unchanged.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::index::HouseIndex;
use crate::domain::import::{CellError, RowAction};
use crate::domain::import_sheets::RoomRow;
use crate::services::Actor;

/// A room row that passed, with what committing it would do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedRoom {
    pub row: u32,
    pub action: RowAction,
    pub village_id: i32,
    /// The house's spelling the commit looks it up by.
    pub address: String,
    pub room_id: Option<i32>,
    pub label: String,
    pub floor: i32,
    pub area_m2: f64,
    pub kind: String,
}

fn err(column: &'static str, message: impl Into<String>) -> Vec<CellError> {
    vec![CellError {
        column,
        message: message.into(),
    }]
}

/// Places one parsed room row; `seen` holds the rooms earlier rows named, by house and label.
pub fn plan(
    actor: &Actor,
    ix: &HouseIndex,
    r: &RoomRow,
    row: u32,
    seen: &mut HashMap<((i32, String), String), u32>,
) -> Result<PlannedRoom, Vec<CellError>> {
    let house = ix.find(actor, &r.address).map_err(|e| vec![e])?;
    if r.room.floor > house.floors {
        return Err(err(
            "楼层",
            format!("楼层不能高于房屋层数（{} 层）", house.floors),
        ));
    }
    if let Some(first) = seen.insert((house.key(), r.label_key.clone()), row) {
        return Err(err("房间号", format!("与第 {first} 行是同一房间")));
    }
    let existing = house
        .property_id
        .and_then(|pid| ix.rooms.get(&(pid, r.label_key.clone())));
    let action = match existing {
        None => RowAction::Create,
        Some(m)
            if m.floor == r.room.floor
                && (m.area_m2 - r.room.area.value()).abs() < 0.005
                && m.kind == r.room.kind.as_str() =>
        {
            RowAction::Unchanged
        }
        Some(_) => RowAction::Update,
    };
    let locked = house.property_id.is_some_and(|p| ix.locked.contains(&p));
    if action != RowAction::Unchanged && locked {
        return Err(err(
            "房间号",
            "房屋已提交准入申请，房间不能再修改；如需变更请联系村干部",
        ));
    }
    Ok(PlannedRoom {
        row,
        action,
        village_id: house.village_id,
        address: house.address.clone(),
        room_id: existing.map(|m| m.id),
        label: existing
            .map(|m| m.label.clone())
            .unwrap_or_else(|| r.room.label.clone()),
        floor: r.room.floor,
        area_m2: r.room.area.value(),
        kind: r.room.kind.as_str().to_string(),
    })
}
