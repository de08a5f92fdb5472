//! `seed-scale`'s houses: each with a room, an application, its initial inspection (findings on
//! yellow and red houses, some overdue), a permit when approved, and now and then a patrol.
use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::mpsc;

use super::bulk::{self, Msg};
use super::{Batch, County, Rng, max_of, v};
use crate::domain::application::ApplicationStatus as A;
use crate::domain::inspection::{TaskStatus, finding_status};
use crate::domain::permit::PermitStatus as P;
use crate::domain::permit_number::format_permit_number;
use crate::entities::{
    application, finding, inspection, inspection_task as task, permit, property, room,
};
use crate::error::AppError;

/// Makes `houses` houses; returns the active permits (permit, house, room, village), the count
/// and the seconds spent making the indexes again.
/// On SQLite the tables' indexes are set aside meanwhile and made again at the end, also when a
/// batch fails (a process killed halfway leaves them missing: seed-scale is for a new database,
/// which is then made again).
pub(super) async fn generate(
    db: &DatabaseConnection,
    c: County,
    rng: &mut Rng,
    houses: usize,
) -> Result<(Vec<Permitted>, usize, f64), AppError> {
    let dropped = bulk::set_aside(db, &bulk::HOUSE_TABLES).await?;
    let made = write(db, c, rng, houses).await;
    let indexing = bulk::restore(db, dropped).await?;
    let (permitted, n) = made?;
    Ok((permitted, n, indexing))
}

/// An active permit that stays can be made on: (permit, house, room, village).
pub(super) type Permitted = (i32, i32, i32, i32);

/// The first free ids of the tables the houses fill.
struct Ids {
    hid: i32,
    aid: i32,
    pid: i32,
    tid: i32,
    iid: i32,
    fid: i32,
}

async fn write(
    db: &DatabaseConnection,
    c: County,
    rng: &mut Rng,
    houses: usize,
) -> Result<(Vec<Permitted>, usize), AppError> {
    let ids = Ids {
        hid: max_of(db, "properties").await? as i32,
        aid: max_of(db, "applications").await? as i32,
        pid: max_of(db, "permits").await? as i32,
        tid: max_of(db, "inspection_tasks").await? as i32,
        iid: max_of(db, "inspections").await? as i32,
        fid: max_of(db, "findings").await? as i32,
    };
    let backend = db.get_database_backend();
    let own = Rng(rng.0);
    let (made, back) = bulk::write_generated(db, move |out| {
        let mut own = own;
        let made = rows(&c, &mut own, houses, ids, backend, out);
        (made, own)
    })
    .await?;
    *rng = back;
    Ok(made)
}

/// Makes the houses' rows, 1 000 houses per message and 10 000 per transaction; stops early
/// when the writer has gone.
fn rows(
    c: &County,
    rng: &mut Rng,
    houses: usize,
    ids: Ids,
    backend: DbBackend,
    out: &mpsc::Sender<Msg>,
) -> (Vec<Permitted>, usize) {
    let County {
        villages,
        quota,
        grids_of,
        first_landlord,
        landlords,
        admin,
        now,
        today,
    } = c;
    let (first_landlord, landlords, admin, now, today) =
        (*first_landlord, *landlords, *admin, *now, *today);
    let Ids {
        mut hid,
        mut aid,
        mut pid,
        mut tid,
        mut iid,
        mut fid,
    } = ids;
    let mut permitted: Vec<Permitted> = Vec::with_capacity(houses);
    let mut k = 0usize;
    let mut left_in_village = quota[0];
    let mut made = 0usize;
    while made < houses {
        let before = [("properties", hid), ("applications", aid), ("permits", pid)];
        if out.blocking_send(Msg::Begin(before.to_vec())).is_err() {
            break;
        }
        let mut hb = Batch::manual(Batch::new::<property::Entity>(vec![
            property::Column::Id,
            property::Column::LandlordId,
            property::Column::VillageId,
            property::Column::GridId,
            property::Column::Address,
            property::Column::Floors,
            property::Column::Structure,
            property::Column::CreatedAt,
            property::Column::UpdatedAt,
            property::Column::Grade,
        ]));
        let mut rb = Batch::manual(Batch::new::<room::Entity>(vec![
            room::Column::Id,
            room::Column::PropertyId,
            room::Column::Label,
            room::Column::Floor,
            room::Column::AreaM2,
            room::Column::Kind,
        ]));
        let mut ab = Batch::manual(Batch::new::<application::Entity>(vec![
            application::Column::Id,
            application::Column::PropertyId,
            application::Column::LandlordId,
            application::Column::VillageId,
            application::Column::Status,
            application::Column::SubmittedAt,
            application::Column::CreatedAt,
            application::Column::UpdatedAt,
        ]));
        let mut pb = Batch::manual(Batch::new::<permit::Entity>(vec![
            permit::Column::Id,
            permit::Column::Number,
            permit::Column::ApplicationId,
            permit::Column::PropertyId,
            permit::Column::VillageId,
            permit::Column::LandlordId,
            permit::Column::Status,
            permit::Column::ValidFrom,
            permit::Column::ValidUntil,
            permit::Column::MaxOccupants,
            permit::Column::Grade,
            permit::Column::Signature,
            permit::Column::IssuedAt,
            permit::Column::IssuedBy,
        ]));
        let mut tb = Batch::manual(Batch::new::<task::Entity>(vec![
            task::Column::Id,
            task::Column::Kind,
            task::Column::Status,
            task::Column::PropertyId,
            task::Column::ApplicationId,
            task::Column::GridId,
            task::Column::DueAt,
            task::Column::ChecklistKey,
            task::Column::CreatedAt,
            task::Column::CompletedAt,
        ]));
        let mut ib = Batch::manual(Batch::new::<inspection::Entity>(vec![
            inspection::Column::Id,
            inspection::Column::TaskId,
            inspection::Column::SubmissionId,
            inspection::Column::InspectorId,
            inspection::Column::PropertyId,
            inspection::Column::VillageId,
            inspection::Column::ApplicationId,
            inspection::Column::ChecklistKey,
            inspection::Column::ChecklistVersion,
            inspection::Column::ChecklistHash,
            inspection::Column::Outcome,
            inspection::Column::Grade,
            inspection::Column::Answers,
            inspection::Column::CreatedAt,
        ]));
        let mut fb = Batch::manual(Batch::new::<finding::Entity>(vec![
            finding::Column::Id,
            finding::Column::InspectionId,
            finding::Column::PropertyId,
            finding::Column::VillageId,
            finding::Column::ApplicationId,
            finding::Column::ItemKey,
            finding::Column::Severity,
            finding::Column::Status,
            finding::Column::DeadlineAt,
            finding::Column::PhotoIds,
            finding::Column::ClosedAt,
            finding::Column::CreatedAt,
        ]));
        for n in 0..std::cmp::min(10_000, houses - made) {
            if n % 1000 == 999 {
                // 1 000 houses' rows stay under SQLite's 32 766 bound values per statement.
                let all = [
                    &mut hb, &mut rb, &mut ab, &mut pb, &mut tb, &mut ib, &mut fb,
                ];
                let statements = all.into_iter().filter_map(|b| b.take(backend)).collect();
                if out.blocking_send(Msg::Rows(statements)).is_err() {
                    return (permitted, made);
                }
            }
            while left_in_village == 0 && k + 1 < villages.len() {
                k += 1;
                left_in_village = quota[k];
            }
            left_in_village = left_in_village.saturating_sub(1);
            let (village_id, vname, vcode) = (&villages[k].0, &villages[k].1, &villages[k].2);
            let gs = &grids_of[k];
            let grid_id = gs[rng.below(gs.len() as u64) as usize];
            hid += 1;
            made += 1;
            let landlord = first_landlord + rng.below(landlords as u64) as i32;
            let created: DateTime<Utc> =
                now - Duration::minutes(rng.below(365 * 24 * 60) as i64 + 60 * 24 * 3);
            let g = match rng.below(1000) {
                0..=749 => "green",
                750..=919 => "yellow",
                _ => "red",
            };
            hb.row(vec![
                v(hid),
                v(landlord),
                v(*village_id),
                v(grid_id),
                v(format!("{vname}{}号", hid)),
                v(2 + rng.below(3) as i32),
                v("brick_concrete"),
                v(created),
                v(created),
                v(g),
            ]);
            let room_id = hid; // one room per house, same id
            rb.row(vec![
                v(room_id),
                v(hid),
                v("101"),
                v(1),
                v(20.0f64),
                v("bedroom"),
            ]);
            aid += 1;
            let status = match rng.below(1000) {
                0..=899 => A::Approved,
                900..=929 => A::Submitted,
                930..=949 => A::Inspecting,
                950..=979 => A::Rectifying,
                980..=989 => A::Passed,
                _ => A::Draft,
            };
            let submitted = created + Duration::hours(2);
            ab.row(vec![
                v(aid),
                v(hid),
                v(landlord),
                v(*village_id),
                v(status.as_str()),
                v(Some(submitted)),
                v(created),
                v(submitted),
            ]);
            // The initial inspection, done two days after submission (or still open).
            tid += 1;
            let done = status != A::Submitted && status != A::Draft;
            let due = submitted + Duration::days(3);
            let open_due = now + Duration::hours(rng.below(24 * 10) as i64) - Duration::days(3);
            tb.row(vec![
                v(tid),
                v("initial"),
                v(if done {
                    TaskStatus::Done
                } else {
                    TaskStatus::Open
                }
                .as_str()),
                v(hid),
                v(Some(aid)),
                v(grid_id),
                v(if done { due } else { open_due }),
                v("rental-safety"),
                v(submitted),
                v(if done {
                    Some(submitted + Duration::days(2))
                } else {
                    None
                }),
            ]);
            if done {
                iid += 1;
                let at = submitted + Duration::days(2);
                ib.row(vec![
                    v(iid),
                    v(tid),
                    v(format!("seed-{iid}")),
                    v(admin),
                    v(hid),
                    v(*village_id),
                    v(Some(aid)),
                    v("rental-safety"),
                    v(1),
                    v("seed"),
                    v(if g == "green" { "passed" } else { "failed" }),
                    v(g),
                    v("[]"),
                    v(at),
                ]);
                if g != "green" {
                    fid += 1;
                    let (sev, deadline) = if g == "red" {
                        ("critical", None)
                    } else {
                        (
                            "major",
                            Some(now + Duration::days(rng.below(17) as i64 - 10)),
                        )
                    };
                    fb.row(finding_row(
                        [fid, iid, hid, *village_id, aid],
                        ("wiring.conduit", sev, finding_status::OPEN),
                        deadline,
                        None,
                        at,
                    ));
                }
                if rng.chance(150) {
                    fid += 1;
                    let closed = at + Duration::days(1 + rng.below(20) as i64);
                    let closed = std::cmp::min(closed, now);
                    fb.row(finding_row(
                        [fid, iid, hid, *village_id, aid],
                        ("clutter.no_combustibles", "major", finding_status::CLOSED),
                        Some(at + Duration::days(7)),
                        Some(closed),
                        at,
                    ));
                }
            }
            if rng.chance(40) {
                // A routine patrol, a third of them overdue.
                tid += 1;
                tb.row(vec![
                    v(tid),
                    v("routine"),
                    v(TaskStatus::Open.as_str()),
                    v(hid),
                    v(Option::<i32>::None),
                    v(grid_id),
                    v(now + Duration::hours(rng.below(24 * 20) as i64) - Duration::days(6)),
                    v("rental-safety"),
                    v(now - Duration::days(10)),
                    v(Option::<DateTime<Utc>>::None),
                ]);
            }
            if status == A::Approved {
                pid += 1;
                let issued = submitted + Duration::days(4);
                let (st, until) = match rng.below(1000) {
                    0..=919 => (P::Active, today + Duration::days(1 + rng.below(730) as i64)),
                    920..=949 => (P::Suspended, today + Duration::days(60)),
                    950..=969 => (P::Revoked, today + Duration::days(60)),
                    _ => (P::Expired, today - Duration::days(1 + rng.below(90) as i64)),
                };
                pb.row(vec![
                    v(pid),
                    // The town code "SC" keeps synthetic numbers apart from the town's own sequence while
                    // staying a number the verify and permit pages parse.
                    v(format_permit_number("SC", vcode, issued.year(), pid as u32)),
                    v(aid),
                    v(hid),
                    v(*village_id),
                    v(landlord),
                    v(st.as_str()),
                    v(until - Duration::days(730)),
                    v(until),
                    v(2),
                    v(g),
                    v("seed"),
                    v(issued),
                    v(admin),
                ]);
                if st == P::Active {
                    permitted.push((pid, hid, room_id, *village_id));
                }
            }
        }
        let all = [
            &mut hb, &mut rb, &mut ab, &mut pb, &mut tb, &mut ib, &mut fb,
        ];
        let statements = all.into_iter().filter_map(|b| b.take(backend)).collect();
        if out.blocking_send(Msg::Rows(statements)).is_err()
            || out.blocking_send(Msg::Commit).is_err()
        {
            break;
        }
    }
    (permitted, made)
}

/// A finding's values: its ids (finding, inspection, house, village, application), what and how
/// it stands (item, severity, status), its deadline, when it closed and when it was found.
fn finding_row(
    [id, inspection, house, village, application]: [i32; 5],
    (item, severity, status): (&str, &str, &str),
    deadline: Option<DateTime<Utc>>,
    closed: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Vec<sea_orm::sea_query::Expr> {
    vec![
        v(id),
        v(inspection),
        v(house),
        v(village),
        v(Some(application)),
        v(item.to_string()),
        v(severity.to_string()),
        v(status.to_string()),
        v(deadline),
        v("[]"),
        v(closed),
        v(at),
    ]
}
