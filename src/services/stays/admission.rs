//! The rules every new stay passes, whoever registers it (a tenant, the landlord, an import):
//! personal data sealed one way, a lettable room of the house, the permit's (when it has one) and the
//! room's caps, one open stay per person. The caller holds the write transaction.
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use super::{code_hash, count_up_to, one_open_stay_message, open_counts};
use crate::crypto::pii::PiiCipher;
use crate::domain::identity::{DocNumber, Phone};
use crate::domain::occupancy::{OccupancyRule, RoomKind, room_capacity};
use crate::domain::stay::{Lang, StayStatus, new_checkout_code};
use crate::entities::{permit, room, stay};
use crate::error::AppError;

/// A person's document and phone as a stay keeps them: encrypted, masked for display, and the
/// document's keyed hash that finds the person's stays without decrypting anything.
#[derive(Clone, Serialize, Deserialize)]
pub struct SealedPerson {
    pub doc_type: String,
    pub doc_number_enc: String,
    pub doc_hash: String,
    pub doc_masked: String,
    pub phone_enc: String,
    pub phone_masked: String,
}

impl std::fmt::Debug for SealedPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedPerson")
            .field("doc_type", &self.doc_type)
            .finish_non_exhaustive()
    }
}

impl SealedPerson {
    pub fn seal(pii: &PiiCipher, doc: &DocNumber, phone: &Phone) -> Result<Self, AppError> {
        let enc = |s: &str| pii.encrypt(s).map_err(AppError::internal);
        Ok(SealedPerson {
            doc_type: doc.doc_type().as_str().into(),
            doc_number_enc: enc(doc.as_str())?,
            doc_hash: pii.doc_lookup_hash(doc),
            doc_masked: doc.masked(),
            phone_enc: enc(phone.as_str())?,
            phone_masked: phone.masked(),
        })
    }
}

/// Whether this document already holds an open (pending or active) stay anywhere.
pub async fn has_open_stay<C: ConnectionTrait>(tx: &C, doc_hash: &str) -> Result<bool, AppError> {
    let cond = Condition::all().add(stay::Column::OpenDocHash.eq(doc_hash));
    Ok(count_up_to(tx, cond, 1).await? > 0)
}

/// Where a stay is written: on a permit the caller checked to take tenants, or (an imported
/// resident) on a house that has no such permit yet, where it waits, pending, for one.
#[derive(Clone, Copy)]
pub enum Place<'a> {
    Permit(&'a permit::Model),
    Waiting { property_id: i32, village_id: i32 },
}

impl Place<'_> {
    pub fn property_id(&self) -> i32 {
        match self {
            Place::Permit(p) => p.property_id,
            Place::Waiting { property_id, .. } => *property_id,
        }
    }

    fn village_id(&self) -> i32 {
        match self {
            Place::Permit(p) => p.village_id,
            Place::Waiting { village_id, .. } => *village_id,
        }
    }
}

/// A stay about to be written.
pub struct NewStay<'a> {
    pub place: Place<'a>,
    pub room: Option<room::Model>,
    pub name: String,
    pub person: SealedPerson,
    pub move_in: NaiveDate,
    pub move_out_expected: Option<NaiveDate>,
    pub employer: Option<String>,
    pub status: StayStatus,
    pub now: DateTime<Utc>,
}

/// A written stay, its room, and the check-out code shown once (only its hash is kept).
pub struct Admitted {
    pub stay: stay::Model,
    pub room: Option<room::Model>,
    pub checkout_code: String,
}

/// Writes the stay if the room may be let and neither cap nor the one-open-stay rule stops it;
/// `taken` is [`has_open_stay`], read by the caller before it queued on the permit's row.
pub async fn admit<C: ConnectionTrait>(
    tx: &C,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    s: NewStay<'_>,
    taken: bool,
    lang: Lang,
) -> Result<Admitted, AppError> {
    let place = s.place;
    let room = s.room.filter(|r| r.property_id == place.property_id());
    let cap = room
        .as_ref()
        .and_then(|r| Some(room_capacity(rule, RoomKind::parse(&r.kind)?, r.area_m2)))
        .unwrap_or(0);
    let Some(room_id) = room.as_ref().map(|r| r.id).filter(|_| cap > 0) else {
        return Err(AppError::field(
            "room_id",
            lang.t(
                "请选择本房屋可出租的房间",
                "Choose a room of this house that may be let",
            ),
        ));
    };
    // A house without a permit has no occupant cap yet: the permit's is applied when it is
    // issued (stays::waiting); the room's, which the room's size sets, holds already.
    let (permit, max) = match place {
        Place::Permit(p) => (Some(p), u64::try_from(p.max_occupants).unwrap_or(0)),
        Place::Waiting { .. } => (None, 0),
    };
    let (on_permit, in_room) =
        open_counts(tx, (permit.map_or(0, |p| p.id), max), (room_id, cap)).await?;
    if let Some(p) = permit.filter(|_| on_permit >= max) {
        return Err(AppError::Conflict(match lang {
            Lang::Zh => format!(
                "该房屋登记人数已满（准入证核定最多 {} 人），不能再登记入住",
                p.max_occupants
            ),
            Lang::En => format!(
                "This house is full (the permit allows at most {} occupants)",
                p.max_occupants
            ),
        }));
    }
    if in_room >= u64::from(cap) {
        return Err(AppError::Conflict(match lang {
            Lang::Zh => format!("该房间已住满（最多 {cap} 人），请选择其他房间"),
            Lang::En => format!("This room is full (at most {cap}); choose another room"),
        }));
    }
    if taken {
        return Err(one_open_stay_message(lang));
    }
    let person = s.person;
    let code = new_checkout_code();
    // A stay waiting for a permit becomes active only when the permit is issued (stays::waiting).
    let status = if permit.is_some() {
        s.status
    } else {
        StayStatus::Pending
    };
    let inserted = stay::ActiveModel {
        permit_id: Set(permit.map(|p| p.id)),
        property_id: Set(place.property_id()),
        village_id: Set(place.village_id()),
        room_id: Set(room_id),
        status: Set(status.as_str().into()),
        name: Set(Some(s.name)),
        doc_type: Set(person.doc_type),
        doc_number_enc: Set(Some(person.doc_number_enc)),
        doc_hash: Set(Some(person.doc_hash.clone())),
        doc_masked: Set(Some(person.doc_masked)),
        open_doc_hash: Set(Some(person.doc_hash)),
        phone_enc: Set(Some(person.phone_enc)),
        phone_masked: Set(Some(person.phone_masked)),
        move_in: Set(s.move_in),
        move_out_expected: Set(s.move_out_expected),
        employer: Set(s.employer),
        checkout_code_hash: Set(code_hash(pii, &code)),
        created_at: Set(s.now),
        confirmed_at: Set((status == StayStatus::Active).then_some(s.now)),
        ..Default::default()
    }
    .insert(tx)
    .await;
    match inserted {
        Ok(stay) => Ok(Admitted {
            stay,
            room,
            checkout_code: code,
        }),
        // The unique index is the last word when two check-ins of one person race.
        Err(e) if crate::db::unique_violation(&e) => Err(one_open_stay_message(lang)),
        Err(e) => Err(e.into()),
    }
}
