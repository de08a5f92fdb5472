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

/// A stay about to be written: where, and its facts.
pub struct NewStay<'a> {
    pub place: Place<'a>,
    pub room: Option<room::Model>,
    pub facts: StayFacts,
}

/// What a new stay says whatever house it is placed in.
#[derive(Clone)]
pub struct StayFacts {
    pub name: String,
    pub person: SealedPerson,
    pub move_in: NaiveDate,
    pub move_out_expected: Option<NaiveDate>,
    pub employer: Option<String>,
    pub status: StayStatus,
    pub now: DateTime<Utc>,
}

impl StayFacts {
    /// The stay placed at `place`, in `room`.
    pub fn placed(self, place: Place<'_>, room: Option<room::Model>) -> NewStay<'_> {
        NewStay {
            place,
            room,
            facts: self,
        }
    }
}

/// A written stay, its room, and the check-out code shown once (only its hash is kept).
pub struct Admitted {
    pub stay: stay::Model,
    pub room: Option<room::Model>,
    pub checkout_code: String,
}

/// Writes the stay if the room may be let and neither cap nor the one-open-stay rule stops it;
/// `taken` is [`has_open_stay`], read by the caller before it queued on the permit's row.
/// Counts first, then writes: nothing is written when a rule stops the stay (an import goes on
/// with its next row in the same transaction).
pub async fn admit<C: ConnectionTrait>(
    tx: &C,
    pii: &PiiCipher,
    rule: &OccupancyRule,
    s: NewStay<'_>,
    taken: bool,
    lang: Lang,
) -> Result<Admitted, AppError> {
    let room = lettable_room(rule, &s, lang)?;
    within_caps(tx, s.place, &room, lang).await?;
    write(tx, pii, s, &room, taken, lang).await
}

/// A room of the house that may be let, and how many people it takes.
#[derive(Debug, Clone)]
pub struct LettableRoom {
    room: room::Model,
    cap: u32,
}

impl LettableRoom {
    pub fn id(&self) -> i32 {
        self.room.id
    }

    pub fn cap(&self) -> u32 {
        self.cap
    }

    pub fn model(&self) -> &room::Model {
        &self.room
    }
}

/// The stay's room if it belongs to the house and its size lets anyone live in it.
pub fn lettable_room(
    rule: &OccupancyRule,
    s: &NewStay<'_>,
    lang: Lang,
) -> Result<LettableRoom, AppError> {
    lettable(rule, s.place, s.room.as_ref(), lang)
}

/// [`lettable_room`] of a room (if it exists) for a stay placed at `place`.
pub fn lettable(
    rule: &OccupancyRule,
    place: Place<'_>,
    room: Option<&room::Model>,
    lang: Lang,
) -> Result<LettableRoom, AppError> {
    room.filter(|r| r.property_id == place.property_id())
        .and_then(|r| {
            let cap = room_capacity(rule, RoomKind::parse(&r.kind)?, r.area_m2);
            (cap > 0).then(|| LettableRoom {
                room: r.clone(),
                cap,
            })
        })
        .ok_or_else(|| {
            AppError::field(
                "room_id",
                lang.t(
                    "请选择本房屋可出租的房间",
                    "Choose a room of this house that may be let",
                ),
            )
        })
}

/// The permit's (when the stay has one) and the room's caps hold with one more stay. The caller
/// holds what serialises admissions to this house: the permit's row, or the writer's turn.
pub async fn within_caps<C: ConnectionTrait>(
    tx: &C,
    place: Place<'_>,
    room: &LettableRoom,
    lang: Lang,
) -> Result<(), AppError> {
    let (permit, _) = occupant_cap(place);
    let (on_permit, in_room) = open_counts(tx, permit.map_or(0, |p| p.id), room.id()).await?;
    match refused_by_caps(place, on_permit, room, in_room, lang) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// The permit a stay is placed on, if any, and its occupant cap. A house without a permit has no
/// occupant cap yet: the permit's is applied when it is issued (stays::waiting); the room's,
/// which the room's size sets, holds already.
fn occupant_cap<'a>(place: Place<'a>) -> (Option<&'a permit::Model>, u64) {
    match place {
        Place::Permit(p) => (Some(p), u64::try_from(p.max_occupants).unwrap_or(0)),
        Place::Waiting { .. } => (None, 0),
    }
}

/// Why one more stay may not be placed, given the open stays already on the permit and in the
/// room (not counting it): the rule every admission applies.
pub fn refused_by_caps(
    place: Place<'_>,
    on_permit: u64,
    room: &LettableRoom,
    in_room: u64,
    lang: Lang,
) -> Option<AppError> {
    let (permit, max) = occupant_cap(place);
    if let Some(p) = permit.filter(|_| on_permit >= max) {
        return Some(AppError::Conflict(match lang {
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
    let cap = room.cap;
    (in_room >= u64::from(cap)).then(|| {
        AppError::Conflict(match lang {
            Lang::Zh => format!("该房间已住满（最多 {cap} 人），请选择其他房间"),
            Lang::En => format!("This room is full (at most {cap}); choose another room"),
        })
    })
}

/// Writes the stay in `room` unless the person already has an open stay (`taken`, or the unique
/// index when two registrations of one person race).
pub async fn write<C: ConnectionTrait>(
    tx: &C,
    pii: &PiiCipher,
    s: NewStay<'_>,
    room: &LettableRoom,
    taken: bool,
    lang: Lang,
) -> Result<Admitted, AppError> {
    if taken {
        return Err(one_open_stay_message(lang));
    }
    let code = new_checkout_code();
    let inserted = row(s, room, code_hash(pii, &code)).insert(tx).await;
    match inserted {
        Ok(stay) => Ok(Admitted {
            stay,
            room: Some(room.room.clone()),
            checkout_code: code,
        }),
        // The unique index is the last word when two check-ins of one person race.
        Err(e) if crate::db::unique_violation(&e) => Err(one_open_stay_message(lang)),
        Err(e) => Err(e.into()),
    }
}

/// The row of a new stay in `room`, whose check-out code hashes to `checkout_code_hash`.
pub fn row(s: NewStay<'_>, room: &LettableRoom, checkout_code_hash: String) -> stay::ActiveModel {
    let place = s.place;
    let permit = match place {
        Place::Permit(p) => Some(p),
        Place::Waiting { .. } => None,
    };
    let s = s.facts;
    let person = s.person;
    // A stay waiting for a permit becomes active only when the permit is issued (stays::waiting).
    let status = if permit.is_some() {
        s.status
    } else {
        StayStatus::Pending
    };
    stay::ActiveModel {
        permit_id: Set(permit.map(|p| p.id)),
        property_id: Set(place.property_id()),
        village_id: Set(place.village_id()),
        room_id: Set(room.id()),
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
        checkout_code_hash: Set(checkout_code_hash),
        created_at: Set(s.now),
        confirmed_at: Set((status == StayStatus::Active).then_some(s.now)),
        ..Default::default()
    }
}
