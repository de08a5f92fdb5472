//! Writing one batch of a committed import: each planned row matched again inside the batch's
//! transaction (the register may have moved since the dry run), written through the same rules
//! as its form, and audited; a row the register no longer admits is left alone and the audit
//! says why. The batch's landlords, new houses and new rooms are each written in one statement
//! (the rows of one kind follow each other, houses before rooms before residents).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use super::batch::Batch;
use super::dry_run::{Planned, PlannedHouse};
use super::residents::PlannedResident;
use super::rooms::PlannedRoom;
use crate::crypto::pii::PiiCipher;
use crate::domain::account::UNCLAIMED;
use crate::domain::import::address_key;
use crate::domain::import_sheets::label_key;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::role::Role;
use crate::domain::stay::{Lang, StayStatus};
use crate::entities::{import, property, room, user};
use crate::error::AppError;
use crate::services::stays::admission::{self, NewStay, Place, StayFacts};

/// Writes the rows of one import.
pub struct Writer<'a> {
    pub import: &'a import::Model,
    pub pii: &'a PiiCipher,
    pub rule: &'a OccupancyRule,
    pub now: DateTime<Utc>,
}

impl Writer<'_> {
    fn detail(&self, row: u32) -> serde_json::Value {
        let m = self.import;
        serde_json::json!({"import": m.id, "row": row, "file_sha256": m.file_sha256})
    }

    /// Makes, in one statement, the landlords the batch's house rows name that the register
    /// lacks, without a usable password.
    pub async fn landlords<C: ConnectionTrait>(
        &self,
        tx: &C,
        todo: &[Planned],
        b: &mut Batch,
    ) -> Result<(), AppError> {
        let mut new: HashMap<&str, user::ActiveModel> = HashMap::new();
        for p in todo {
            let Planned::House(h) = p else { continue };
            if b.users.contains_key(&h.landlord_phone)
                || new.contains_key(h.landlord_phone.as_str())
            {
                continue;
            }
            let u = user::ActiveModel {
                role: Set(Role::Landlord.as_str().into()),
                phone: Set(h.landlord_phone.clone()),
                name: Set(h.landlord_name.clone()),
                password_hash: Set(UNCLAIMED.into()),
                village_id: Set(None),
                active: Set(true),
                created_at: Set(self.now),
                ..Default::default()
            };
            new.insert(h.landlord_phone.as_str(), u);
        }
        if new.is_empty() {
            return Ok(());
        }
        for u in user::Entity::insert_many(new.into_values())
            .exec_with_returning(tx)
            .await?
        {
            b.users.insert(u.phone, (u.id, true));
        }
        Ok(())
    }

    /// Writes the houses and rooms the batch has gathered, each kind in one statement.
    pub async fn flush<C: ConnectionTrait>(&self, tx: &C, b: &mut Batch) -> Result<(), AppError> {
        let by = self.import.created_by;
        if !b.new_houses.is_empty() {
            let mut row_of = HashMap::new();
            let models: Vec<property::ActiveModel> = std::mem::take(&mut b.new_houses)
                .into_iter()
                .map(|(m, key, row)| {
                    row_of.insert(key, row);
                    m
                })
                .collect();
            for h in property::Entity::insert_many(models)
                .exec_with_returning(tx)
                .await?
            {
                let key = (h.village_id, address_key(&h.address));
                let row = row_of.get(&key).copied().unwrap_or_default();
                b.audit(
                    by,
                    "import.property_create",
                    "property",
                    h.id,
                    self.detail(row),
                );
                b.houses.insert(key, h);
            }
        }
        if !b.new_rooms.is_empty() {
            let mut row_of = HashMap::new();
            let models: Vec<room::ActiveModel> = std::mem::take(&mut b.new_rooms)
                .into_iter()
                .map(|(m, key, row)| {
                    row_of.insert(key, row);
                    m
                })
                .collect();
            for r in room::Entity::insert_many(models)
                .exec_with_returning(tx)
                .await?
            {
                let key = (r.property_id, label_key(&r.label));
                let row = row_of.get(&key).copied().unwrap_or_default();
                b.audit(by, "import.room_create", "room", r.id, self.detail(row));
                b.rooms.insert(key, r);
            }
        }
        Ok(())
    }

    /// A house row; one now held by someone else is left alone.
    pub async fn house<C: ConnectionTrait>(
        &self,
        tx: &C,
        p: &PlannedHouse,
        b: &mut Batch,
    ) -> Result<(), AppError> {
        let (m, now) = (self.import, self.now);
        let Some(landlord_id) = b
            .users
            .get(&p.landlord_phone)
            .and_then(|&(id, landlord)| landlord.then_some(id))
        else {
            b.skip(m, p.row, "phone of a staff account");
            return Ok(());
        };
        let key = (p.village_id, address_key(&p.address));
        let (action, pid) = match b.houses.get(&key).cloned() {
            Some(h) if h.landlord_id != landlord_id => ("import.row_skipped", h.id),
            Some(h) => {
                let pid = h.id;
                let mut am: property::ActiveModel = h.into();
                am.grid_id = Set(p.grid_id);
                am.floors = Set(p.floors);
                am.structure = Set(p.structure.clone());
                am.updated_at = Set(now);
                b.houses.insert(key, am.update(tx).await?);
                ("import.property_update", pid)
            }
            None => {
                // Written, and audited, with the batch's other new houses.
                let h = property::ActiveModel {
                    landlord_id: Set(landlord_id),
                    village_id: Set(p.village_id),
                    grid_id: Set(p.grid_id),
                    address: Set(p.address.clone()),
                    floors: Set(p.floors),
                    structure: Set(p.structure.clone()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    grade: Set(None),
                    next_patrol_at: Set(None),
                    ..Default::default()
                };
                b.new_houses.push((h, key, p.row));
                return Ok(());
            }
        };
        b.audit(m.created_by, action, "property", pid, self.detail(p.row));
        Ok(())
    }

    /// A room row: created or changed unless its house has meanwhile been locked by an application.
    pub async fn room<C: ConnectionTrait>(
        &self,
        tx: &C,
        r: &PlannedRoom,
        b: &mut Batch,
    ) -> Result<(), AppError> {
        let m = self.import;
        let Some(pid) = b.house_id(r.village_id, &r.address) else {
            b.skip(m, r.row, "house not written");
            return Ok(());
        };
        if b.locked.contains(&pid) {
            b.skip(m, r.row, "house has an application");
            return Ok(());
        }
        let key = (pid, label_key(&r.label));
        let (action, id) = match b.rooms.get(&key).cloned() {
            Some(old) if old.floor == r.floor && old.area_m2 == r.area_m2 && old.kind == r.kind => {
                return Ok(());
            }
            Some(old) => {
                let id = old.id;
                let mut am: room::ActiveModel = old.into();
                am.floor = Set(r.floor);
                am.area_m2 = Set(r.area_m2);
                am.kind = Set(r.kind.clone());
                b.rooms.insert(key, am.update(tx).await?);
                ("import.room_update", id)
            }
            None => {
                // Written, and audited, with the batch's other new rooms.
                let new = room::ActiveModel {
                    property_id: Set(pid),
                    label: Set(r.label.clone()),
                    floor: Set(r.floor),
                    area_m2: Set(r.area_m2),
                    kind: Set(r.kind.clone()),
                    ..Default::default()
                };
                b.new_rooms.push((new, key, r.row));
                return Ok(());
            }
        };
        b.audit(m.created_by, action, "room", id, self.detail(r.row));
        Ok(())
    }

    /// A resident row: a stay through the check-in's own admission (active on a permit taking
    /// tenants, else pending until the house's permit is issued), unless the register already
    /// holds it (a re-run batch) or a rule now refuses it.
    pub async fn resident<C: ConnectionTrait>(
        &self,
        tx: &C,
        r: &PlannedResident,
        b: &mut Batch,
    ) -> Result<(), AppError> {
        let m = self.import;
        let Some(pid) = b.house_id(r.village_id, &r.address) else {
            b.skip(m, r.row, "house not found");
            return Ok(());
        };
        if b.stays
            .contains(&(r.person.doc_hash.clone(), pid, r.move_in))
        {
            return Ok(());
        }
        let permit = b.permits.get(&pid).cloned();
        let place = match &permit {
            Some(p) => Place::Permit(p),
            None => Place::Waiting {
                property_id: pid,
                village_id: r.village_id,
            },
        };
        let taken = b.open.contains(&r.person.doc_hash);
        let new = NewStay {
            place,
            room: b.rooms.get(&(pid, label_key(&r.room_label))).cloned(),
            facts: StayFacts {
                name: r.name.clone(),
                person: r.person.clone(),
                move_in: r.move_in,
                move_out_expected: None,
                employer: None,
                status: StayStatus::Active,
                now: self.now,
            },
        };
        match admission::admit(tx, self.pii, self.rule, new, taken, Lang::Zh).await {
            Ok(a) => {
                b.stays.insert((r.person.doc_hash.clone(), pid, r.move_in));
                b.open.insert(r.person.doc_hash.clone());
                b.audit(
                    m.created_by,
                    "import.stay_create",
                    "stay",
                    a.stay.id,
                    self.detail(r.row),
                );
            }
            Err(AppError::Conflict(why)) => b.skip(m, r.row, &why),
            Err(AppError::Validation(fe)) => {
                let why = fe.0.values().flatten().next().cloned().unwrap_or_default();
                b.skip(m, r.row, &why);
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}
