//! What one batch of an import's commit reads of the register up front, in a few queries
//! whatever its size, and what it gathers as it goes: new houses and rooms waiting for their
//! insert, and the audit entries written together at the end.
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::dry_run::Planned;
use crate::domain::application::ApplicationStatus;
use crate::domain::import::address_key;
use crate::domain::import_sheets::label_key;
use crate::domain::permit::PermitStatus;
use crate::domain::role::Role;
use crate::entities::{application, import, permit, property, room, user};
use crate::error::AppError;
use crate::services::audit::Entry;

/// What one batch reads of the register up front, in a few queries whatever its size.
pub struct Batch {
    pub(super) houses: HashMap<(i32, String), property::Model>,
    pub(super) rooms: HashMap<(i32, String), room::Model>,
    pub(super) locked: HashSet<i32>,
    pub(super) permits: HashMap<i32, permit::Model>,
    pub(super) stays: HashSet<(String, i32, NaiveDate)>,
    /// Documents holding an open stay, as the batch found them and wrote them.
    pub(super) open: HashSet<String>,
    /// Landlords by phone: (id, whether the account is a landlord's).
    pub(super) users: HashMap<String, (i32, bool)>,
    /// New houses and rooms waiting for the batch's one insert of their kind, with their rows.
    pub(super) new_houses: Vec<(property::ActiveModel, (i32, String), u32)>,
    pub(super) new_rooms: Vec<(room::ActiveModel, (i32, String), u32)>,
    pub audits: Vec<Entry<'static>>,
}

impl Batch {
    /// The id of the house a room or resident row names, as the register or this batch has it.
    pub(super) fn house_id(&self, village_id: i32, address: &str) -> Option<i32> {
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
        let phones: HashSet<&str> = todo
            .iter()
            .filter_map(|p| match p {
                Planned::House(h) => Some(h.landlord_phone.as_str()),
                _ => None,
            })
            .collect();
        let users = if phones.is_empty() {
            HashMap::new()
        } else {
            let rows: Vec<(i32, String, String)> = user::Entity::find()
                .select_only()
                .columns([user::Column::Id, user::Column::Phone, user::Column::Role])
                .filter(user::Column::Phone.is_in(phones))
                .into_tuple()
                .all(tx)
                .await?;
            rows.into_iter()
                .map(|(id, phone, role)| (phone, (id, Role::parse(&role) == Some(Role::Landlord))))
                .collect()
        };
        let mut b = Batch {
            houses,
            rooms: HashMap::new(),
            locked: HashSet::new(),
            permits: HashMap::new(),
            stays: HashSet::new(),
            open: HashSet::new(),
            users,
            new_houses: Vec::new(),
            new_rooms: Vec::new(),
            audits: Vec::new(),
        };
        let placing = todo.iter().any(|p| !matches!(p, Planned::House(_)));
        if !placing {
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
        for (h, p, d, open) in super::residents::stays_of_documents(tx, &hashes).await? {
            b.open.extend(open);
            b.stays.extend(h.map(|h| (h, p, d)));
        }
        Ok(b)
    }

    pub(super) fn audit(
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

    pub(super) fn skip(&mut self, m: &import::Model, row: u32, reason: &str) {
        self.audit(
            m.created_by,
            "import.row_skipped",
            "import",
            m.id,
            serde_json::json!({"row": row, "reason": reason}),
        );
    }
}
