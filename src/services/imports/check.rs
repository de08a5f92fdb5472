//! A dry run's checking, one chunk of rows at a time: each chunk looks up what it needs of the
//! register (landlords by phone, the rooms, permits and open stays of the houses it names, the
//! stays of its people) in a few queries, plans its rows and hands the planned ones to the sink.
//! What later rows depend on (the houses planned, the rooms planned, places taken) stays.
use std::collections::HashMap;

use sea_orm::DatabaseConnection;

use super::dry_run::{Counts, Planned, RefusedRow};
use super::houses::{Register, plan};
use super::index::{HouseIndex, HouseRef, RoomSpec};
use super::residents::Residents;
use super::rooms;
use super::sheet::{Chunk, Kind, SheetRow};
use super::sink::Sink;
use super::template::{HOUSES, RESIDENTS, ROOMS};
use crate::crypto::pii::PiiCipher;
use crate::domain::import::{CellError, HouseRow, RowAction, address_key};
use crate::domain::import_sheets::{ResidentRow, RoomRow, label_key};
use crate::domain::occupancy::OccupancyRule;
use crate::domain::property::parse_address;
use crate::error::AppError;
use crate::services::Actor;

pub struct Check<'a> {
    db: &'a DatabaseConnection,
    pii: &'a PiiCipher,
    rule: &'a OccupancyRule,
    today: chrono::NaiveDate,
    actor: &'a Actor,
    reg: Register,
    seen_houses: HashMap<(i32, String), u32>,
    /// The 房屋 rows that passed, as rooms and residents will look them up.
    houses: Vec<HouseRef>,
    /// The addresses of refused 房屋 rows, with their row numbers.
    refused_keys: Vec<(String, u32)>,
    /// Built once the 房屋 sheet has been read.
    ix: Option<HouseIndex>,
    seen_rooms: HashMap<((i32, String), String), u32>,
    residents: Residents,
    pub counts: Counts,
    pub refused: Vec<RefusedRow>,
}

/// The houses of the register and the 房屋 sheet, built when the first 房间 or 住户 row comes
/// (the fields it is built from are passed apart, so the rest of a `Check` stays free to borrow).
fn index<'i>(
    ix: &'i mut Option<HouseIndex>,
    reg: &mut Register,
    houses: &mut Vec<HouseRef>,
    refused_keys: &mut Vec<(String, u32)>,
) -> &'i mut HouseIndex {
    ix.get_or_insert_with(|| {
        HouseIndex::build(
            std::mem::take(&mut reg.houses).into_values(),
            std::mem::take(houses).into_iter(),
            std::mem::take(refused_keys).into_iter(),
        )
    })
}

/// Counts one row's outcome.
fn count(counts: &mut Counts, action: RowAction) {
    match action {
        RowAction::Create => counts.create += 1,
        RowAction::Update => counts.update += 1,
        RowAction::Unchanged => counts.unchanged += 1,
    }
}

/// A refused row of `sheet`, its cells padded to the sheet's columns.
fn refuse(sheet: &str, width: usize, r: &SheetRow, errs: Vec<CellError>) -> RefusedRow {
    let mut cells = r.cells.clone();
    cells.resize(width, String::new());
    cells.truncate(width);
    RefusedRow {
        sheet: sheet.to_string(),
        row: r.row,
        cells,
        errors: errs
            .into_iter()
            .map(|e| (e.column.to_string(), e.message))
            .collect(),
    }
}

impl<'a> Check<'a> {
    pub async fn new(
        db: &'a DatabaseConnection,
        pii: &'a PiiCipher,
        rule: &'a OccupancyRule,
        now: chrono::DateTime<chrono::Utc>,
        actor: &'a Actor,
    ) -> Result<Check<'a>, AppError> {
        Ok(Check {
            db,
            pii,
            rule,
            today: crate::domain::clock::town_date(now),
            actor,
            reg: Register::load(db, actor).await?,
            seen_houses: HashMap::new(),
            houses: Vec::new(),
            refused_keys: Vec::new(),
            ix: None,
            seen_rooms: HashMap::new(),
            residents: Residents::default(),
            counts: Counts::default(),
            refused: Vec::new(),
        })
    }

    pub async fn chunk(&mut self, c: Chunk, sink: &mut Sink) -> Result<(), AppError> {
        match c.kind {
            Kind::Houses => self.houses(c.rows, sink).await,
            Kind::Rooms => self.rooms(c.rows, sink).await,
            Kind::Residents => self.residents(c.rows, sink).await,
        }
    }

    async fn houses(&mut self, rows: Vec<SheetRow>, sink: &mut Sink) -> Result<(), AppError> {
        if self.ix.is_some() {
            return Err(AppError::internal("「房屋」表的行在房间或住户之后"));
        }
        let parsed: Vec<Result<HouseRow, Vec<CellError>>> =
            rows.iter().map(|r| HouseRow::parse(&r.cells)).collect();
        let good: Vec<&HouseRow> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
        self.reg.add_users(self.db, &good).await?;
        drop(good);
        for (r, p) in rows.iter().zip(parsed) {
            match p.and_then(|h| plan(self.actor, &self.reg, &h, r.row, &mut self.seen_houses)) {
                Ok(h) => {
                    count(&mut self.counts, h.action);
                    self.houses.push(HouseRef {
                        village_id: h.village_id,
                        address: h.address.clone(),
                        property_id: h.property_id,
                        floors: h.floors,
                    });
                    if h.action != RowAction::Unchanged {
                        sink.push(self.db, &Planned::House(h)).await?;
                    }
                }
                Err(errs) => {
                    if let Ok(a) = parse_address(r.cells.get(2).map(String::as_str).unwrap_or("")) {
                        self.refused_keys.push((address_key(&a), r.row));
                    }
                    self.counts.error += 1;
                    self.refused.push(refuse(HOUSES.0, HOUSES.1.len(), r, errs));
                }
            }
        }
        Ok(())
    }

    async fn rooms(&mut self, rows: Vec<SheetRow>, sink: &mut Sink) -> Result<(), AppError> {
        let (actor, db, today) = (self.actor, self.db, self.today);
        let parsed: Vec<Result<RoomRow, Vec<CellError>>> =
            rows.iter().map(|r| RoomRow::parse(&r.cells)).collect();
        let ix = index(
            &mut self.ix,
            &mut self.reg,
            &mut self.houses,
            &mut self.refused_keys,
        );
        let addresses = parsed
            .iter()
            .filter_map(|r| Some(r.as_ref().ok()?.address.as_str()));
        ix.load_named(db, actor, addresses, today).await?;
        for (r, p) in rows.iter().zip(parsed) {
            match p.and_then(|m| rooms::plan(actor, ix, &m, r.row, &mut self.seen_rooms)) {
                // An unchanged room stands in the register as the row has it: nothing to keep.
                Ok(m) if m.action == RowAction::Unchanged => count(&mut self.counts, m.action),
                Ok(m) => {
                    ix.file_rooms.insert(
                        ((m.village_id, address_key(&m.address)), label_key(&m.label)),
                        RoomSpec {
                            id: m.room_id,
                            label: m.label.clone(),
                            kind: m.kind.clone(),
                            area_m2: m.area_m2,
                        },
                    );
                    count(&mut self.counts, m.action);
                    sink.push(db, &Planned::Room(m)).await?;
                }
                Err(errs) => {
                    self.counts.error += 1;
                    self.refused.push(refuse(ROOMS.0, ROOMS.1.len(), r, errs));
                }
            }
        }
        Ok(())
    }

    async fn residents(&mut self, rows: Vec<SheetRow>, sink: &mut Sink) -> Result<(), AppError> {
        let (actor, db, today, pii) = (self.actor, self.db, self.today, self.pii);
        let parsed: Vec<Result<ResidentRow, Vec<CellError>>> = rows
            .iter()
            .map(|r| ResidentRow::parse(&r.cells, today))
            .collect();
        let ix = index(
            &mut self.ix,
            &mut self.reg,
            &mut self.houses,
            &mut self.refused_keys,
        );
        let addresses = parsed
            .iter()
            .filter_map(|r| Some(r.as_ref().ok()?.address.as_str()));
        let ids = ix.load_named(db, actor, addresses, today).await?;
        let ix = &*ix;
        let good = || parsed.iter().filter_map(|p| p.as_ref().ok());
        let hashes: Vec<String> = good()
            .map(|p| pii.doc_lookup_hash(&p.check_in.doc))
            .collect();
        let permits = ids
            .iter()
            .filter_map(|pid| ix.permits.get(pid).map(|p| p.id));
        let rooms = good().filter_map(|p| {
            let house = ix.find(actor, &p.address).ok()?;
            ix.room(house, &p.label_key)?.id
        });
        self.residents.add(db, &hashes, permits, rooms).await?;
        for (r, p) in rows.iter().zip(parsed) {
            let planned = p.and_then(|m| self.residents.plan(actor, ix, pii, self.rule, &m, r.row));
            match planned {
                Ok((action, m)) => {
                    count(&mut self.counts, action);
                    if let Some(m) = m {
                        sink.push(db, &Planned::Resident(m)).await?;
                    }
                }
                Err(errs) => {
                    self.counts.error += 1;
                    self.refused
                        .push(refuse(RESIDENTS.0, RESIDENTS.1.len(), r, errs));
                }
            }
        }
        Ok(())
    }
}
