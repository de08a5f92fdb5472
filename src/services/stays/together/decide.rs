//! One transaction deciding a permit's waiting check-ins in arrival order (see `together`).
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::Member;
use crate::domain::clock::town_date;
use crate::domain::stay::StayStatus;
use crate::entities::{permit, room, stay};
use crate::error::AppError;
use crate::services::audit;
use crate::services::changes::Change;
use crate::services::stays::admission::{self, LettableRoom, Place};
use crate::services::stays::{
    CheckedIn, Registrar, alert_flood, check_in_detail, count_up_to, ensure_takes_tenants,
    flood_refusal, locked_permit, one_open_stay_message, recent_on, stay_event,
};
/// The open stays on the permit and in each room the members ask for, and the registrations
/// within the hour, as the permit's row stands; each advanced as a member is admitted.
struct Counts {
    on_permit: u64,
    in_room: HashMap<i32, u64>,
    recent: u64,
}

impl Counts {
    /// `p` and the rooms were read in this transaction, the permit's row locked: their counters
    /// (m021) are the open stays as they stand.
    async fn read<C: sea_orm::ConnectionTrait>(
        tx: &C,
        p: &permit::Model,
        members: &[Member],
        lettable: &[Result<LettableRoom, AppError>],
    ) -> Result<Counts, AppError> {
        let in_room = lettable
            .iter()
            .flatten()
            .map(|r| (r.id(), open_stays(r.model().open_stays)))
            .collect();
        let threshold = members
            .iter()
            .filter_map(|m| match m.by {
                Registrar::Tenant { flood_per_hour } if flood_per_hour != u64::MAX => {
                    Some(flood_per_hour)
                }
                _ => None,
            })
            .max();
        let recent = match (threshold, members.first()) {
            (Some(limit), Some(m)) => count_up_to(tx, recent_on(p.id, m.stay.now), limit).await?,
            _ => 0,
        };
        Ok(Counts {
            on_permit: open_stays(p.open_stays),
            in_room,
            recent,
        })
    }
}

fn open_stays(counter: i32) -> u64 {
    u64::try_from(counter).unwrap_or(0)
}

/// The rooms the members ask for, by id.
async fn rooms_of<C: sea_orm::ConnectionTrait>(
    tx: &C,
    members: &[Member],
) -> Result<HashMap<i32, room::Model>, AppError> {
    let ids: HashSet<i32> = members.iter().map(|m| m.room_id).collect();
    Ok(room::Entity::find()
        .filter(room::Column::Id.is_in(ids))
        .all(tx)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect())
}

/// One transaction deciding `members` in order; an error means nothing was written.
pub(super) async fn decide_all(
    db: &DatabaseConnection,
    permit_id: i32,
    members: &[Member],
) -> Result<Vec<Result<CheckedIn, AppError>>, AppError> {
    let tx = crate::db::begin_write_direct(db).await?;
    let p = locked_permit(&tx, permit_id).await?;
    let rooms = rooms_of(&tx, members).await?;
    let lettable: Vec<Result<LettableRoom, AppError>> = members
        .iter()
        .map(|m| admission::lettable(&m.rule, Place::Permit(&p), rooms.get(&m.room_id), m.lang))
        .collect();
    let mut counts = Counts::read(&tx, &p, members, &lettable).await?;
    // A person twice in the batch: the second is refused here. A person with an open stay
    // elsewhere is left out by the insert's unique index (see below).
    let mut taken = HashSet::new();
    // Whether any refusal depended on the counts (caps, flood): then a member the insert leaves
    // out may have taken a place that would have admitted someone refused.
    let mut counted_refusal = false;
    let mut answers: Vec<Option<Result<CheckedIn, AppError>>> = Vec::with_capacity(members.len());
    let mut rows = Vec::new();
    let mut placed: Vec<Option<LettableRoom>> = Vec::with_capacity(members.len());
    for (m, room) in members.iter().zip(lettable) {
        let decided = if let Err(e) = ensure_takes_tenants(&p, town_date(m.stay.now), m.lang) {
            Err(e)
        } else if let Registrar::Tenant { flood_per_hour } = m.by
            && counts.recent >= flood_per_hour
        {
            alert_flood(&tx, &p, flood_per_hour, m.stay.now).await?;
            counted_refusal = true;
            Err(flood_refusal(m.lang))
        } else {
            room.and_then(|room| {
                let in_room = counts.in_room.get(&room.id()).copied().unwrap_or(0);
                let place = Place::Permit(&p);
                match admission::refused_by_caps(place, counts.on_permit, &room, in_room, m.lang) {
                    Some(refusal) => {
                        counted_refusal = true;
                        Err(refusal)
                    }
                    None if !taken.insert(m.stay.person.doc_hash.clone()) => {
                        Err(one_open_stay_message(m.lang))
                    }
                    None => Ok(room),
                }
            })
        };
        match decided {
            Err(refusal) => {
                answers.push(Some(Err(refusal)));
                placed.push(None);
            }
            Ok(room) => {
                counts.on_permit += 1;
                counts.recent += 1;
                *counts.in_room.entry(room.id()).or_default() += 1;
                let new = m
                    .stay
                    .clone()
                    .placed(Place::Permit(&p), Some(room.model().clone()));
                rows.push(admission::row(new, &room, m.code_hash.clone()));
                answers.push(None);
                placed.push(Some(room));
            }
        }
    }
    let written = write_stays(&tx, rows).await?;
    let mut written: HashMap<String, stay::Model> = written
        .into_iter()
        .filter_map(|s| Some((s.open_doc_hash.clone()?, s)))
        .collect();
    let (mut events, mut entries, mut occupants_changed) = (Vec::new(), Vec::new(), false);
    for ((m, answer), room) in members.iter().zip(answers.iter_mut()).zip(&placed) {
        let (None, Some(room)) = (&answer, room) else {
            continue;
        };
        let Some(s) = written.remove(&m.stay.person.doc_hash) else {
            // The person holds an open stay elsewhere. Alone, they would have been refused
            // without being counted; that changes nobody else's answer unless someone was
            // refused by a count, and then everyone is decided again alone.
            if members.len() == 1 || !counted_refusal {
                *answer = Some(Err(one_open_stay_message(m.lang)));
                continue;
            }
            return Err(AppError::internal(
                "a member with an open stay elsewhere took a counted place",
            ));
        };
        occupants_changed |= m.stay.status == StayStatus::Active;
        events.push(stay_event(
            m.by.confirms(),
            &p,
            s.id,
            &room.model().label,
            s.move_in,
        ));
        entries.push(audit::Entry {
            actor_id: match m.by {
                Registrar::Landlord(id) => Some(id),
                Registrar::Tenant { .. } => None,
            },
            action: m.by.action(),
            entity: "stay",
            entity_id: s.id.to_string(),
            detail: check_in_detail(&p, &s),
        });
        *answer = Some(Ok(CheckedIn {
            stay_id: s.id,
            status: m.stay.status.as_str(),
            checkout_code: m.code.clone(),
        }));
    }
    let now = members.first().map_or_else(Utc::now, |m| m.stay.now);
    let wake = crate::services::events::record_all(&tx, now, events).await?;
    // When the permit's occupants changed its verification page must count again; announcing the
    // permit also moves the command room's figures.
    let change = if occupants_changed {
        Change::Permit(p.id)
    } else {
        Change::Figures
    };
    // Last before the commit: the audit chain's lock is held from here to the commit, and every
    // writer of the town queues on it. Its round trip carries the announcement and the wake-up.
    audit::record_many_announcing(&tx, change, wake, entries).await?;
    tx.commit().await?;
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(AppError::internal("an undecided check-in"))))
        .collect())
}

/// Inserts the stays in one statement; a stay whose person holds an open one elsewhere is left
/// out by the unique index on `open_doc_hash`, not refused with an error. The index is the one
/// check: a query for those people first was a round trip more, and its plan, cached while the
/// table was small, scanned the whole table as it grew.
async fn write_stays<C: sea_orm::ConnectionTrait>(
    tx: &C,
    rows: Vec<stay::ActiveModel>,
) -> Result<Vec<stay::Model>, AppError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let written = stay::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(stay::Column::OpenDocHash)
                .do_nothing()
                .to_owned(),
        )
        .exec_with_returning(tx)
        .await;
    match written {
        Ok(stays) => Ok(stays),
        Err(sea_orm::DbErr::RecordNotInserted) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}
