//! Where the 房间 and 住户 rows land: the houses by village and normalised address, from the
//! file's 房屋 sheet and from the register, and what the register holds of their rooms, open
//! applications and permits. Read once per dry run, in chunked queries.
use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

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
    pub permits: HashMap<i32, PermitCap>,
    /// The register's rooms by house and label key, of the houses the current chunk names.
    pub rooms: HashMap<(i32, String), room::Model>,
    /// The 房间 sheet's rooms that passed, by house key and label key: what the commit will
    /// have written before it places residents.
    pub file_rooms: HashMap<((i32, String), String), RoomSpec>,
    /// The register's houses whose rooms, locks and permits are loaded.
    detailed: HashSet<i32>,
}

/// A permit taking tenants today, as much of it as a resident row is checked against.
#[derive(Debug, Clone, Copy)]
pub struct PermitCap {
    pub id: i32,
    pub max_occupants: i32,
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
        planned: impl Iterator<Item = HouseRef>,
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
                None => list.push(h),
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

    /// The register's houses these addresses name within the actor's reach, with their rooms,
    /// locks and permits loaded ([`HouseIndex::load_details`]).
    pub async fn load_named<'s, C: ConnectionTrait>(
        &mut self,
        db: &C,
        actor: &Actor,
        addresses: impl Iterator<Item = &'s str>,
        today: chrono::NaiveDate,
    ) -> Result<Vec<i32>, AppError> {
        let ids: Vec<i32> = addresses
            .filter_map(|a| self.find(actor, a).ok()?.property_id)
            .collect();
        self.load_details(db, ids.iter().copied(), today).await?;
        Ok(ids)
    }

    /// Loads the register's rooms of the houses a chunk's rows name (in place of the last
    /// chunk's: a register of 200 000 rooms is not held whole), and their locks and permits, which
    /// are kept (later rows count against the permits).
    async fn load_details<C: ConnectionTrait>(
        &mut self,
        db: &C,
        ids: impl Iterator<Item = i32>,
        today: chrono::NaiveDate,
    ) -> Result<(), AppError> {
        let ids: std::collections::BTreeSet<i32> = ids.collect();
        let ids: Vec<i32> = ids.into_iter().collect();
        self.rooms.clear();
        for chunk in ids.chunks(500) {
            for r in room::Entity::find()
                .filter(room::Column::PropertyId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                self.rooms.insert((r.property_id, label_key(&r.label)), r);
            }
        }
        let ids: Vec<i32> = ids
            .into_iter()
            .filter(|id| self.detailed.insert(*id))
            .collect();
        for chunk in ids.chunks(500) {
            let locked: Vec<i32> = application::Entity::find()
                .select_only()
                .column(application::Column::PropertyId)
                .filter(application::Column::PropertyId.is_in(chunk.to_vec()))
                .filter(application::Column::Status.ne(ApplicationStatus::Draft.as_str()))
                .into_tuple()
                .all(db)
                .await?;
            self.locked.extend(locked);
            let permits: Vec<(i32, i32, chrono::NaiveDate, i32)> = permit::Entity::find()
                .select_only()
                .columns([
                    permit::Column::Id,
                    permit::Column::PropertyId,
                    permit::Column::ValidUntil,
                    permit::Column::MaxOccupants,
                ])
                .filter(permit::Column::PropertyId.is_in(chunk.to_vec()))
                .filter(permit::Column::Status.eq(PermitStatus::Active.as_str()))
                .into_tuple()
                .all(db)
                .await?;
            for (id, property_id, valid_until, max_occupants) in permits {
                let takes = PermitStatus::Active
                    .effective(valid_until, today)
                    .admits_check_ins();
                if takes {
                    self.permits
                        .insert(property_id, PermitCap { id, max_occupants });
                }
            }
        }
        Ok(())
    }
}
