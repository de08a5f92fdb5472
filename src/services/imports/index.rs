//! Where the 房间 and 住户 rows land: the houses by village and normalised address, from the
//! file's 房屋 sheet and from the register, and what the register holds of their rooms, open
//! applications and permits. Read once per dry run, in chunked queries.
use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::dry_run::PlannedHouse;
use crate::domain::application::ApplicationStatus;
use crate::domain::import::{CellError, address_key};
use crate::domain::import_sheets::label_key;
use crate::domain::permit::PermitStatus;
use crate::domain::role::Role;
use crate::entities::{application, permit, property, room};
use crate::error::AppError;
use crate::services::Actor;

/// A house a room or resident row may name.
#[derive(Debug, Clone)]
pub struct HouseRef {
    pub village_id: i32,
    /// The spelling the commit looks the house up by (the register's, or the 房屋 row's).
    pub address: String,
    pub property_id: Option<i32>,
    pub floors: i32,
}

impl HouseRef {
    pub fn key(&self) -> (i32, String) {
        (self.village_id, address_key(&self.address))
    }
}

/// The houses by address key, and the keys whose 房屋 row was refused (by its row number).
#[derive(Default)]
pub struct HouseIndex {
    by_key: HashMap<String, Vec<HouseRef>>,
    refused: HashMap<String, u32>,
    /// Houses with an application past its draft: their rooms are no longer the landlord's to change.
    pub locked: HashSet<i32>,
    /// Each house's permit that takes tenants today.
    pub permits: HashMap<i32, permit::Model>,
    /// The register's rooms by house and label key.
    pub rooms: HashMap<(i32, String), room::Model>,
    /// The 房间 sheet's rooms that passed, by house key and label key: what the commit will
    /// have written before it places residents.
    pub file_rooms: HashMap<((i32, String), String), RoomSpec>,
}

/// A room a resident row may name, as it will stand once the import's rooms are written.
#[derive(Debug, Clone)]
pub struct RoomSpec {
    /// None for a room this import creates.
    pub id: Option<i32>,
    pub label: String,
    pub kind: String,
    pub area_m2: f64,
}

impl HouseIndex {
    /// The register's houses, overlaid with the 房屋 sheet's planned rows (a changed storey
    /// count counts) and marked where a 房屋 row was refused.
    pub fn build(
        register: impl Iterator<Item = property::Model>,
        planned: &[PlannedHouse],
        refused: impl Iterator<Item = (String, u32)>,
    ) -> HouseIndex {
        let mut ix = HouseIndex::default();
        for p in register {
            ix.by_key
                .entry(address_key(&p.address))
                .or_default()
                .push(HouseRef {
                    village_id: p.village_id,
                    address: p.address,
                    property_id: Some(p.id),
                    floors: p.floors,
                });
        }
        for h in planned {
            let list = ix.by_key.entry(address_key(&h.address)).or_default();
            match list.iter_mut().find(|r| r.village_id == h.village_id) {
                Some(r) => r.floors = h.floors,
                None => list.push(HouseRef {
                    village_id: h.village_id,
                    address: h.address.clone(),
                    property_id: h.property_id,
                    floors: h.floors,
                }),
            }
        }
        for (key, row) in refused {
            ix.refused.entry(key).or_insert(row);
        }
        ix
    }

    /// The one house an address names within the actor's reach, or the 地址 cell's error.
    pub fn find(&self, actor: &Actor, address: &str) -> Result<&HouseRef, CellError> {
        let key = address_key(address);
        let err = |m: String| CellError {
            column: "地址",
            message: m,
        };
        if let Some(row) = self.refused.get(&key) {
            return Err(err(format!(
                "该地址的房屋在「房屋」表第 {row} 行有误，请一并改正"
            )));
        }
        let mine: Vec<&HouseRef> = self
            .by_key
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|h| {
                actor.role != Role::VillageOfficial || actor.village_id == Some(h.village_id)
            })
            .collect();
        match mine.as_slice() {
            [one] => Ok(one),
            [] if actor.role == Role::VillageOfficial => Err(err(
                "本村没有该地址的房屋：请先在「房屋」表中填写（村干部只能导入本村的房屋）".into(),
            )),
            [] => Err(err(
                "找不到该地址的房屋：请先在「房屋」表中填写，或核对地址".into(),
            )),
            _ => Err(err(
                "多个村有此地址的房屋，无法确定是哪一处，请分村导入".into()
            )),
        }
    }

    /// The room of this house with this label key: the 房间 sheet's (new or changed) first,
    /// else the register's.
    pub fn room(&self, house: &HouseRef, label_key: &str) -> Option<RoomSpec> {
        if let Some(r) = self.file_rooms.get(&(house.key(), label_key.to_string())) {
            return Some(r.clone());
        }
        let r = self
            .rooms
            .get(&(house.property_id?, label_key.to_string()))?;
        Some(RoomSpec {
            id: Some(r.id),
            label: r.label.clone(),
            kind: r.kind.clone(),
            area_m2: r.area_m2,
        })
    }

    /// Loads the rooms, locks and permits of the register's houses that rows named.
    pub async fn load_details<C: ConnectionTrait>(
        &mut self,
        db: &C,
        ids: &[i32],
        today: chrono::NaiveDate,
    ) -> Result<(), AppError> {
        for chunk in ids.chunks(500) {
            for r in room::Entity::find()
                .filter(room::Column::PropertyId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                self.rooms.insert((r.property_id, label_key(&r.label)), r);
            }
            for a in application::Entity::find()
                .filter(application::Column::PropertyId.is_in(chunk.to_vec()))
                .filter(application::Column::Status.ne(ApplicationStatus::Draft.as_str()))
                .all(db)
                .await?
            {
                self.locked.insert(a.property_id);
            }
            for p in permit::Entity::find()
                .filter(permit::Column::PropertyId.is_in(chunk.to_vec()))
                .filter(permit::Column::Status.eq(PermitStatus::Active.as_str()))
                .all(db)
                .await?
            {
                let takes = PermitStatus::Active
                    .effective(p.valid_until, today)
                    .admits_check_ins();
                if takes {
                    self.permits.insert(p.property_id, p);
                }
            }
        }
        Ok(())
    }
}
