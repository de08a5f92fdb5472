//! The 住户 sheet in the dry run: each row is a check-in on its house, refused when a check-in
//! would be (a room that may not be let, a full house or room, a person with an open stay
//! elsewhere), and unchanged when the register already holds the stay (same document, house and
//! move-in date). A house without a permit taking tenants (a new one, or one still applying)
//! takes its residents as pending stays that wait for the permit (stays::waiting); its rooms'
//! caps hold already, the permit's own cap when it is issued.
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

use super::index::HouseIndex;
use crate::crypto::pii::PiiCipher;
use crate::domain::import::{CellError, RowAction};
use crate::domain::import_sheets::ResidentRow;
use crate::domain::occupancy::{OccupancyRule, RoomKind, room_capacity};
use crate::domain::stay::StayStatus;
use crate::entities::stay;
use crate::error::AppError;
use crate::services::Actor;
use crate::services::stays::admission::SealedPerson;

/// A resident row that passed: the stay to write, its document and phone already sealed as a
/// check-in seals them (the import keeps no plain ID number).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedResident {
    pub row: u32,
    pub village_id: i32,
    pub address: String,
    /// None for a house this import creates.
    pub property_id: Option<i32>,
    pub room_label: String,
    pub name: String,
    pub person: SealedPerson,
    pub move_in: NaiveDate,
}

/// What the register holds of the file's people, permits and rooms, and what earlier rows took.
#[derive(Default)]
pub struct Residents {
    existing: HashSet<(String, i32, NaiveDate)>,
    open: HashSet<String>,
    on_permit: HashMap<i32, u64>,
    in_room: HashMap<i32, u64>,
    /// Places earlier rows took, by house key and room label key (new rooms have no id yet).
    taken: HashMap<((i32, String), String), u64>,
    seen: HashMap<String, u32>,
    counted_permits: HashSet<i32>,
    counted_rooms: HashSet<i32>,
}

const OPEN: [&str; 2] = [StayStatus::Pending.as_str(), StayStatus::Active.as_str()];

async fn open_counts<C: ConnectionTrait>(
    db: &C,
    col: stay::Column,
    ids: &[i32],
) -> Result<HashMap<i32, u64>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i32, i64)> = stay::Entity::find()
            .select_only()
            .column(col)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(col.is_in(chunk.to_vec()))
            .filter(stay::Column::Status.is_in(OPEN))
            .group_by(col)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))),
        );
    }
    Ok(out)
}

/// The stays of these documents: (document hash, house, move-in, open-stay hash), which tell an
/// import whether a row is already there and whether the person has an open stay elsewhere.
pub(super) async fn stays_of_documents<C: ConnectionTrait>(
    db: &C,
    hashes: &[String],
) -> Result<Vec<(Option<String>, i32, NaiveDate, Option<String>)>, AppError> {
    Ok(stay::Entity::find()
        .select_only()
        .column(stay::Column::DocHash)
        .column(stay::Column::PropertyId)
        .column(stay::Column::MoveIn)
        .column(stay::Column::OpenDocHash)
        .filter(stay::Column::DocHash.is_in(hashes.to_vec()))
        .into_tuple()
        .all(db)
        .await?)
}

impl Residents {
    /// Loads the stays of a chunk's documents, and the open counts of the permits and rooms its
    /// rows name that earlier chunks did not (rows already planned count against those).
    pub async fn add<C: ConnectionTrait>(
        &mut self,
        db: &C,
        hashes: &[String],
        permits: impl Iterator<Item = i32>,
        rooms: impl Iterator<Item = i32>,
    ) -> Result<(), AppError> {
        // Only this chunk's people are looked up in these; a later row of the same person
        // loads them again (and meets `seen` first).
        self.existing.clear();
        self.open.clear();
        for chunk in hashes.chunks(500) {
            for (h, pid, move_in, open) in stays_of_documents(db, chunk).await? {
                if let Some(h) = h {
                    self.existing.insert((h, pid, move_in));
                }
                self.open.extend(open);
            }
        }
        let permits: Vec<i32> = permits
            .filter(|p| self.counted_permits.insert(*p))
            .collect();
        let rooms: Vec<i32> = rooms.filter(|r| self.counted_rooms.insert(*r)).collect();
        self.on_permit
            .extend(open_counts(db, stay::Column::PermitId, &permits).await?);
        self.in_room
            .extend(open_counts(db, stay::Column::RoomId, &rooms).await?);
        Ok(())
    }

    /// Places one parsed resident row, counting it against the caps when it will be written.
    pub fn plan(
        &mut self,
        actor: &Actor,
        ix: &HouseIndex,
        pii: &PiiCipher,
        rule: &OccupancyRule,
        p: &ResidentRow,
        row: u32,
    ) -> Result<(RowAction, Option<PlannedResident>), Vec<CellError>> {
        let one = |column: &'static str, message: String| vec![CellError { column, message }];
        let house = ix.find(actor, &p.address).map_err(|e| vec![e])?;
        let pid = house.property_id;
        let permit = pid.and_then(|pid| ix.permits.get(&pid));
        let Some(room) = ix.room(house, &p.label_key) else {
            return Err(one(
                "房间号",
                format!("该房屋没有房间「{}」，请核对房间号", p.room_label),
            ));
        };
        let hash = pii.doc_lookup_hash(&p.check_in.doc);
        if pid.is_some_and(|pid| {
            self.existing
                .contains(&(hash.clone(), pid, p.check_in.move_in))
        }) {
            return Ok((RowAction::Unchanged, None));
        }
        if let Some(first) = self.seen.get(&hash) {
            return Err(one(
                "证件号码",
                format!("与第 {first} 行是同一人：一人只能有一条未结束的居住登记"),
            ));
        }
        if self.open.contains(&hash) {
            return Err(one(
                "证件号码",
                "该住户已有一条未结束的居住登记（在住或待确认），请先在原住处办理退租后再导入"
                    .into(),
            ));
        }
        let cap = RoomKind::parse(&room.kind)
            .map(|k| room_capacity(rule, k, room.area_m2))
            .unwrap_or(0);
        if cap == 0 {
            return Err(one(
                "房间号",
                "该房间不可出租（厨房、卫生间、阳台或面积不足），请选择本房屋可出租的房间".into(),
            ));
        }
        if let Some(permit) = permit {
            let max = u64::try_from(permit.max_occupants).unwrap_or(0);
            if self.on_permit.get(&permit.id).copied().unwrap_or(0) >= max {
                return Err(one(
                    "地址",
                    format!(
                        "该房屋登记人数已满（准入证核定最多 {} 人），不能再登记入住",
                        permit.max_occupants
                    ),
                ));
            }
        }
        let room_key = (house.key(), p.label_key.clone());
        let in_room = room
            .id
            .and_then(|id| self.in_room.get(&id))
            .copied()
            .unwrap_or(0)
            + self.taken.get(&room_key).copied().unwrap_or(0);
        if in_room >= u64::from(cap) {
            return Err(one(
                "房间号",
                format!("该房间已住满（最多 {cap} 人），请选择其他房间"),
            ));
        }
        let person = SealedPerson::seal(pii, &p.check_in.doc, &p.check_in.phone)
            .map_err(|_| one("证件号码", "加密失败，请稍后再试".into()))?;
        if let Some(permit) = permit {
            *self.on_permit.entry(permit.id).or_default() += 1;
        }
        *self.taken.entry(room_key).or_default() += 1;
        self.seen.insert(hash, row);
        Ok((
            RowAction::Create,
            Some(PlannedResident {
                row,
                village_id: house.village_id,
                address: house.address.clone(),
                property_id: pid,
                room_label: room.label.clone(),
                name: p.check_in.name.clone(),
                person,
                move_in: p.check_in.move_in,
            }),
        ))
    }
}
