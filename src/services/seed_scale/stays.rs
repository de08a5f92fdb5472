//! `seed-scale`'s stays over the last year on active permits: most ended, some living there
//! now, a few pending. 20 000 per transaction, generated while the previous rows are written.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::mpsc;

use super::bulk::{self, Msg};
use super::houses::Permitted;
use super::{Batch, Rng, max_of, v};
use crate::domain::clock::town_date;
use crate::domain::stay::StayStatus as S;
use crate::entities::stay;
use crate::error::AppError;

/// Makes `stays` stays spread over `permitted`; returns how many were made and the seconds spent
/// making the indexes again. On SQLite the table's indexes are set aside meanwhile, as for the
/// houses.
pub(super) async fn generate(
    db: &DatabaseConnection,
    permitted: Vec<Permitted>,
    stays: usize,
    seed: u64,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Result<(usize, f64), AppError> {
    let first = max_of(db, "stays").await? as i32;
    let backend = db.get_database_backend();
    let dropped = bulk::set_aside(db, &["stays"]).await?;
    let own = Rng(rng.0);
    let made = bulk::write_generated(db, move |out| {
        let mut own = own;
        let plan = Plan {
            permitted: &permitted,
            stays,
            seed,
            now,
            first,
        };
        let n = rows(plan, &mut own, backend, out);
        (n, own)
    })
    .await;
    let indexing = bulk::restore(db, dropped).await?;
    let (n, back) = made?;
    *rng = back;
    Ok((n, indexing))
}

struct Plan<'a> {
    permitted: &'a [Permitted],
    stays: usize,
    seed: u64,
    now: DateTime<Utc>,
    /// The largest stay id before these.
    first: i32,
}

/// Sends the stays' rows; stops early when the writer has gone.
fn rows(p: Plan<'_>, rng: &mut Rng, backend: DbBackend, out: &mpsc::Sender<Msg>) -> usize {
    let Plan {
        permitted,
        stays,
        seed,
        now,
        first,
    } = p;
    let mut sid = first;
    let mut done = 0usize;
    while done < stays && !permitted.is_empty() {
        if out.blocking_send(Msg::Begin(vec![("stays", sid)])).is_err() {
            break;
        }
        let mut sb = Batch::new::<stay::Entity>(vec![
            stay::Column::Id,
            stay::Column::PermitId,
            stay::Column::PropertyId,
            stay::Column::VillageId,
            stay::Column::RoomId,
            stay::Column::Status,
            stay::Column::Name,
            stay::Column::DocType,
            stay::Column::DocHash,
            stay::Column::DocMasked,
            stay::Column::OpenDocHash,
            stay::Column::MoveIn,
            stay::Column::CheckoutCodeHash,
            stay::Column::CreatedAt,
            stay::Column::ConfirmedAt,
            stay::Column::EndedAt,
        ]);
        let mut statements = Vec::new();
        for _ in 0..std::cmp::min(20_000, stays - done) {
            sid += 1;
            done += 1;
            let (permit_id, house, room_id, village_id) =
                permitted[rng.below(permitted.len() as u64) as usize];
            let created = now - Duration::minutes(rng.below(365 * 24 * 60) as i64);
            let length = Duration::days(7 + rng.below(300) as i64);
            let (status, confirmed, ended) =
                if rng.chance(5) && now - created < Duration::days(2) || rng.chance(2) {
                    (S::Pending, None, None)
                } else if created + length < now {
                    (
                        S::CheckedOut,
                        Some(created + Duration::hours(3)),
                        Some(created + length),
                    )
                } else {
                    (S::Active, Some(created + Duration::hours(3)), None)
                };
            let doc = format!("{:064x}", (seed as u128) << 64 | sid as u128);
            let open = status.is_open().then(|| doc.clone());
            sb.row(vec![
                v(sid),
                v(permit_id),
                v(house),
                v(village_id),
                v(room_id),
                v(status.as_str()),
                v(Some(format!("住户{sid}"))),
                v("resident_id"),
                v(Some(doc)),
                v(Some("3301**********0000".to_string())),
                v(open),
                v(town_date(created)),
                v("seed"),
                v(created),
                v(confirmed),
                v(ended),
            ]);
            if sb.full() {
                statements.extend(sb.take(backend));
                if out
                    .blocking_send(Msg::Rows(std::mem::take(&mut statements)))
                    .is_err()
                {
                    return done;
                }
            }
        }
        statements.extend(sb.take(backend));
        if out.blocking_send(Msg::Rows(statements)).is_err()
            || out.blocking_send(Msg::Commit).is_err()
        {
            break;
        }
    }
    done
}
