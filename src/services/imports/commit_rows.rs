//! Writing one batch of a committed import: each planned row matched again inside the batch's
//! transaction (the register may have moved since the dry run), written through the same rules
//! as its form, and audited; a row the register no longer admits is left alone and the audit
//! says why.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::dry_run::{Planned, PlannedHouse};
use super::residents::PlannedResident;
use super::rooms::PlannedRoom;
use crate::crypto::pii::PiiCipher;
use crate::domain::account::UNCLAIMED;
use crate::domain::application::ApplicationStatus;
use crate::domain::import::address_key;
use crate::domain::import_sheets::label_key;
use crate::domain::occupancy::OccupancyRule;
use crate::domain::permit::PermitStatus;
use crate::domain::role::Role;
use crate::domain::stay::{Lang, StayStatus};
use crate::entities::{application, import, permit, property, room, stay, user};
use crate::error::AppError;
use crate::services::audit::Entry;
use crate::services::stays::admission::{self, NewStay};

/// What one batch reads of the register up front, in a few queries whatever its size.
pub struct Batch {
    houses: HashMap<(i32, String), property::Model>,
    rooms: HashMap<(i32, String), room::Model>,
    locked: HashSet<i32>,
    permits: HashMap<i32, permit::Model>,
    stays: HashSet<(String, i32, NaiveDate)>,
    pub audits: Vec<Entry>,
}

impl Batch {
    /// The id of the house a room or resident row names, as the register or this batch has it.
    fn house_id(&self, village_id: i32, address: &str) -> Option<i32> {
        self.houses
            .get(&(village_id, address_key(address)))
            .map(|h| h.id)
    }

    pub async fn load<C: ConnectionTrait>(
        tx: &C,
        todo: &[Planned],
        today: NaiveDate,
    ) -> Result<Batch, AppError> {
        // The batch's houses, looked up by the addresses the dry run matched (an existing
        // house's own spelling, or the row's for a new one).
        let (villages, addresses): (std::collections::BTreeSet<i32>, Vec<String>) = todo
            .iter()
            .map(|p| match p {
                Planned::House(h) => (h.village_id, h.address.clone()),
                Planned::Room(r) => (r.village_id, r.address.clone()),
                Planned::Resident(r) => (r.village_id, r.address.clone()),
            })
            .unzip();
        let houses: HashMap<(i32, String), property::Model> = property::Entity::find()
            .filter(property::Column::VillageId.is_in(villages))
            .filter(property::Column::Address.is_in(addresses))
            .all(tx)
            .await?
            .into_iter()
            .map(|h| ((h.village_id, address_key(&h.address)), h))
            .collect();
        let ids: Vec<i32> = houses.values().map(|h| h.id).collect();
        let mut b = Batch {
            houses,
            rooms: HashMap::new(),
            locked: HashSet::new(),
            permits: HashMap::new(),
            stays: HashSet::new(),
            audits: Vec::new(),
        };
        let placing = todo.iter().any(|p| !matches!(p, Planned::House(_)));
        if !placing || ids.is_empty() {
            return Ok(b);
        }
        b.rooms = room::Entity::find()
            .filter(room::Column::PropertyId.is_in(ids.clone()))
            .all(tx)
            .await?
            .into_iter()
            .map(|r| ((r.property_id, label_key(&r.label)), r))
            .collect();
        b.locked = application::Entity::find()
            .select_only()
            .column(application::Column::PropertyId)
            .filter(application::Column::PropertyId.is_in(ids.clone()))
            .filter(application::Column::Status.ne(ApplicationStatus::Draft.as_str()))
            .into_tuple::<i32>()
            .all(tx)
            .await?
            .into_iter()
            .collect();
        let hashes: Vec<String> = todo
            .iter()
            .filter_map(|p| match p {
                Planned::Resident(r) => Some(r.person.doc_hash.clone()),
                _ => None,
            })
            .collect();
        if hashes.is_empty() {
            return Ok(b);
        }
        // Check-ins on these permits queue behind the batch (PostgreSQL), as behind a check-in.
        for p in permit::Entity::find()
            .filter(permit::Column::PropertyId.is_in(ids))
            .filter(permit::Column::Status.eq(PermitStatus::Active.as_str()))
            .lock_exclusive()
            .all(tx)
            .await?
        {
            if PermitStatus::Active
                .effective(p.valid_until, today)
                .admits_check_ins()
            {
                b.permits.insert(p.property_id, p);
            }
        }
        let rows: Vec<(Option<String>, i32, NaiveDate)> = stay::Entity::find()
            .select_only()
            .column(stay::Column::DocHash)
            .column(stay::Column::PropertyId)
            .column(stay::Column::MoveIn)
            .filter(stay::Column::DocHash.is_in(hashes))
            .into_tuple()
            .all(tx)
            .await?;
        b.stays = rows
            .into_iter()
            .filter_map(|(h, p, d)| Some((h?, p, d)))
            .collect();
        Ok(b)
    }

    fn audit(
        &mut self,
        by: i32,
        action: &'static str,
        entity: &'static str,
        id: i32,
        detail: serde_json::Value,
    ) {
        self.audits.push(Entry {
            actor_id: Some(by),
            action,
            entity,
            entity_id: id.to_string(),
            detail,
        });
    }

    fn skip(&mut self, m: &import::Model, row: u32, reason: &str) {
        self.audit(
            m.created_by,
            "import.row_skipped",
            "import",
            m.id,
            serde_json::json!({"row": row, "reason": reason}),
        );
    }
}

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

    /// The landlord with this phone, made without a usable password when the register has
    /// none; `None` when the phone has meanwhile become a staff account's.
    async fn landlord<C: ConnectionTrait>(
        &self,
        tx: &C,
        p: &PlannedHouse,
    ) -> Result<Option<i32>, AppError> {
        if let Some(u) = user::Entity::find()
            .filter(user::Column::Phone.eq(p.landlord_phone.as_str()))
            .one(tx)
            .await?
        {
            return Ok((Role::parse(&u.role) == Some(Role::Landlord)).then_some(u.id));
        }
        let u = user::ActiveModel {
            role: Set(Role::Landlord.as_str().into()),
            phone: Set(p.landlord_phone.clone()),
            name: Set(p.landlord_name.clone()),
            password_hash: Set(UNCLAIMED.into()),
            village_id: Set(None),
            active: Set(true),
            created_at: Set(self.now),
            ..Default::default()
        }
        .insert(tx)
        .await?;
        Ok(Some(u.id))
    }

    /// A house row; one now held by someone else is left alone.
    pub async fn house<C: ConnectionTrait>(
        &self,
        tx: &C,
        p: &PlannedHouse,
        b: &mut Batch,
    ) -> Result<(), AppError> {
        let (m, now) = (self.import, self.now);
        let Some(landlord_id) = self.landlord(tx, p).await? else {
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
                }
                .insert(tx)
                .await?;
                let id = h.id;
                b.houses.insert(key, h);
                ("import.property_create", id)
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
                let new = room::ActiveModel {
                    property_id: Set(pid),
                    label: Set(r.label.clone()),
                    floor: Set(r.floor),
                    area_m2: Set(r.area_m2),
                    kind: Set(r.kind.clone()),
                    ..Default::default()
                }
                .insert(tx)
                .await?;
                let id = new.id;
                b.rooms.insert(key, new);
                ("import.room_create", id)
            }
        };
        b.audit(m.created_by, action, "room", id, self.detail(r.row));
        Ok(())
    }

    /// A resident row: an active stay through the check-in's own admission, unless the
    /// register already holds it (a re-run batch) or a rule now refuses it.
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
        let Some(permit) = b.permits.get(&pid).cloned() else {
            b.skip(m, r.row, "no permit taking tenants");
            return Ok(());
        };
        let taken = admission::has_open_stay(tx, &r.person.doc_hash).await?;
        let new = NewStay {
            permit: &permit,
            room: b.rooms.get(&(pid, label_key(&r.room_label))).cloned(),
            name: r.name.clone(),
            person: r.person.clone(),
            move_in: r.move_in,
            move_out_expected: None,
            employer: None,
            status: StayStatus::Active,
            now: self.now,
        };
        match admission::admit(tx, self.pii, self.rule, new, taken, Lang::Zh).await {
            Ok(a) => {
                b.stays.insert((r.person.doc_hash.clone(), pid, r.move_in));
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
