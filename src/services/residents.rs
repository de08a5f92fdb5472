//! The residents' register (实有人口登记) for officials, the town admin and police systems:
//! who lives where now or on a date, masked unless a whole number is asked for and audited.
use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult};
use serde::Serialize;

use super::{Actor, audit};
use crate::crypto::pii::PiiCipher;
use crate::domain::identity::DocType;
use crate::domain::role::Role;
use crate::domain::stay::StayStatus;
use crate::entities::{property, stay};
use crate::error::AppError;

pub use super::register_filter::{Filter, RawFilter};

/// One register line as read from the database; personal fields still encrypted.
#[derive(Debug, Clone, FromQueryResult)]
pub struct RegisterRow {
    pub stay_id: i32,
    pub name: Option<String>,
    pub doc_type: String,
    pub doc_masked: Option<String>,
    pub doc_number_enc: Option<String>,
    pub phone_masked: Option<String>,
    pub phone_enc: Option<String>,
    pub move_in: NaiveDate,
    pub move_out_expected: Option<NaiveDate>,
    pub employer: Option<String>,
    pub status: String,
    pub address: String,
    pub room_label: String,
    pub village_name: String,
    pub grid_name: String,
    pub permit_number: String,
}

/// A register line as shown or exported. Its `Debug` leaves out the person's name, numbers and
/// employer, which may be whole here (an audited export).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Resident {
    pub stay_id: i32,
    pub name: String,
    #[schema(value_type = crate::domain::identity::DocType)]
    pub doc_type: String,
    pub doc_type_label: &'static str,
    pub doc_number: String,
    pub phone: String,
    pub village: String,
    pub grid: String,
    pub address: String,
    pub room: String,
    pub permit_number: String,
    pub move_in: NaiveDate,
    pub move_out_expected: Option<NaiveDate>,
    pub employer: String,
    #[schema(value_type = crate::domain::stay::StayStatus)]
    pub status: String,
}

impl std::fmt::Debug for Resident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resident")
            .field("stay_id", &self.stay_id)
            .field("doc_type", &self.doc_type)
            .field("permit_number", &self.permit_number)
            .field("room", &self.room)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl RegisterRow {
    /// Masked by default; `whole` decrypts for callers who were allowed and audited.
    pub fn resident(self, pii: &PiiCipher, whole: bool) -> Resident {
        let dec = |c: &Option<String>| c.as_deref().and_then(|c| pii.decrypt(c).ok());
        let (doc_number, phone) = if whole {
            (
                dec(&self.doc_number_enc).unwrap_or_default(),
                dec(&self.phone_enc).unwrap_or_default(),
            )
        } else {
            (
                self.doc_masked.clone().unwrap_or_default(),
                self.phone_masked.clone().unwrap_or_default(),
            )
        };
        Resident {
            stay_id: self.stay_id,
            name: self.name.unwrap_or_default(),
            doc_type_label: DocType::parse(&self.doc_type).map_or("其他", |t| t.label_zh()),
            doc_type: self.doc_type,
            doc_number,
            phone,
            village: self.village_name,
            grid: self.grid_name,
            address: self.address,
            room: self.room_label,
            permit_number: self.permit_number,
            move_in: self.move_in,
            move_out_expected: self.move_out_expected,
            employer: self.employer.unwrap_or_default(),
            status: self.status,
        }
    }
}

fn a(n: &str) -> Alias {
    Alias::new(n)
}

/// Narrows the filter to what the actor may read; an official only ever sees their village.
pub fn scoped(actor: &Actor, mut f: Filter) -> Result<Filter, AppError> {
    match actor.role {
        Role::TownAdmin | Role::ApiClient => Ok(f),
        Role::VillageOfficial => {
            let own = actor.village_id.ok_or_else(AppError::forbidden)?;
            if f.village_id.is_some_and(|v| v != own) {
                return Err(AppError::Forbidden("只能查看本村的实有人口".into()));
            }
            f.village_id = Some(own);
            Ok(f)
        }
        _ => Err(AppError::forbidden()),
    }
}

/// The joined, filtered query; callers add columns, order and limits. `walk_by_id` keeps SQLite
/// from driving the query through the status index (then every export chunk would sort all open
/// stays); a unary `+` makes the status test unindexable so the primary key range leads.
pub(super) fn filtered_with(f: &Filter, walk_by_id: bool) -> SelectStatement {
    let status = || {
        if walk_by_id {
            Expr::cust(r#"+"s"."status""#)
        } else {
            Expr::col((a("s"), a("status")))
        }
    };
    let mut q = Query::select();
    q.from_as(a("stays"), a("s"))
        .join_as(
            JoinType::InnerJoin,
            a("properties"),
            a("h"),
            Expr::col((a("h"), a("id"))).equals((a("s"), a("property_id"))),
        )
        .join_as(
            JoinType::InnerJoin,
            a("rooms"),
            a("r"),
            Expr::col((a("r"), a("id"))).equals((a("s"), a("room_id"))),
        )
        // A stay waiting for its house's permit has none yet (its number is then blank).
        .join_as(
            JoinType::LeftJoin,
            a("permits"),
            a("p"),
            Expr::col((a("p"), a("id"))).equals((a("s"), a("permit_id"))),
        )
        .join_as(
            JoinType::InnerJoin,
            a("villages"),
            a("v"),
            Expr::col((a("v"), a("id"))).equals((a("h"), a("village_id"))),
        )
        .join_as(
            JoinType::InnerJoin,
            a("grids"),
            a("g"),
            Expr::col((a("g"), a("id"))).equals((a("h"), a("grid_id"))),
        )
        .and_where(Expr::col((a("s"), a("wiped_at"))).is_null());
    match f.active_on {
        None if f.moved.is_some() => {
            if let Some((m, since)) = f.moved {
                q.cond_where(crate::services::dashboard::filters::stay_moved_since(
                    a("s"),
                    m,
                    since,
                ));
            }
        }
        None if f.pending => {
            q.and_where(status().eq(StayStatus::Pending.as_str()));
        }
        None => {
            q.and_where(status().eq(StayStatus::Active.as_str()));
        }
        Some(d) => {
            // Lived there on day d: confirmed, moved in by d, not gone before d began (China time).
            let start = crate::domain::clock::town_day_start(d);
            q.and_where(
                status().is_in([StayStatus::Active.as_str(), StayStatus::CheckedOut.as_str()]),
            )
            .and_where(Expr::col((a("s"), a("confirmed_at"))).is_not_null())
            .and_where(Expr::col((a("s"), a("move_in"))).lte(d))
            .and_where(
                Expr::col((a("s"), a("ended_at")))
                    .is_null()
                    .or(Expr::col((a("s"), a("ended_at"))).gte(start)),
            );
        }
    }
    if let Some(v) = f.village_id {
        q.and_where(Expr::col((a("h"), a("village_id"))).eq(v));
    }
    if let Some(g) = f.grid_id {
        q.and_where(Expr::col((a("h"), a("grid_id"))).eq(g));
    }
    if let Some(p) = f.property_id {
        q.and_where(Expr::col((a("s"), a("property_id"))).eq(p));
    }
    if let Some(t) = f.doc_type.as_deref().and_then(DocType::parse) {
        q.and_where(Expr::col((a("s"), a("doc_type"))).eq(t.as_str()));
    }
    q
}

fn filtered(f: &Filter) -> SelectStatement {
    filtered_with(f, false)
}

/// The register line's columns, the encrypted numbers among them (decrypted only for an audited
/// whole-number read; the exports read masked ones through `register_chunks`).
fn with_columns(mut q: SelectStatement) -> SelectStatement {
    q.expr_as(Expr::col((a("s"), a("id"))), a("stay_id"));
    for c in [
        "name",
        "doc_type",
        "doc_masked",
        "phone_masked",
        "move_in",
        "move_out_expected",
        "employer",
        "status",
        "doc_number_enc",
        "phone_enc",
    ] {
        q.expr_as(Expr::col((a("s"), a(c))), a(c));
    }
    q.expr_as(Expr::col((a("h"), a("address"))), a("address"))
        .expr_as(Expr::col((a("r"), a("label"))), a("room_label"))
        .expr_as(Expr::col((a("v"), a("name"))), a("village_name"))
        .expr_as(Expr::col((a("g"), a("name"))), a("grid_name"))
        .expr_as(
            Expr::cust(r#"COALESCE("p"."number", '')"#),
            a("permit_number"),
        );
    q
}

/// One page of the register, ordered by stay id, and the total.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn page<C: ConnectionTrait>(
    db: &C,
    f: &Filter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<RegisterRow>, u64), AppError> {
    let backend = db.get_database_backend();
    let mut count = filtered(f);
    count.expr_as(Expr::cust("COUNT(*)"), a("n"));
    let total = db
        .query_one_raw(backend.build(&count))
        .await?
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0);
    let mut q = with_columns(filtered(f));
    q.order_by((a("s"), a("id")), Order::Asc)
        .offset(offset)
        .limit(limit);
    let rows = RegisterRow::find_by_statement(backend.build(&q))
        .all(db)
        .await?;
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

/// Whether the actor may see whole document numbers at all (always behind an audited action).
pub fn may_see_whole(actor: &Actor) -> bool {
    matches!(
        actor.role,
        Role::TownAdmin | Role::VillageOfficial | Role::ApiClient
    )
}

/// Audits a read of the register (export, API pull, whole-number view) in its own transaction.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn audit_read(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    f: &Filter,
    extra: serde_json::Value,
) -> Result<(), AppError> {
    let tx = crate::db::begin_write(db).await?;
    audit::record(
        &tx,
        Some(actor.id),
        action,
        "residents",
        actor
            .village_id
            .map_or("town".to_string(), |v| format!("village:{v}")),
        serde_json::json!({"filter": f, "extra": extra}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The whole document number of one stay, for an official of its village or the town admin;
/// every view is audited with who looked, at whom, and when.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, stay_id = stay_id))]
pub async fn reveal(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    actor: &Actor,
    stay_id: i32,
) -> Result<(String, String, String), AppError> {
    let tx = crate::db::begin_write(db).await?;
    let s = stay::Entity::find_by_id(stay_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let house = property::Entity::find_by_id(s.property_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let allowed = match actor.role {
        Role::TownAdmin => true,
        Role::VillageOfficial => actor.village_id == Some(house.village_id),
        _ => false,
    };
    if !allowed {
        return Err(AppError::forbidden());
    }
    let Some(enc) = s.doc_number_enc.as_deref() else {
        return Err(AppError::Conflict(
            "该登记的个人信息已按保存期限删除".into(),
        ));
    };
    let whole = pii.decrypt(enc).map_err(AppError::internal)?;
    // The phone comes with it: whoever needs the whole number usually needs to call too.
    let phone = match s.phone_enc.as_deref() {
        Some(p) => pii.decrypt(p).map_err(AppError::internal)?,
        None => String::new(),
    };
    audit::record(
        &tx,
        Some(actor.id),
        "stay.reveal_doc",
        "stay",
        stay_id,
        serde_json::json!({"masked": s.doc_masked, "phone": !phone.is_empty()}),
    )
    .await?;
    tx.commit().await?;
    Ok((s.name.unwrap_or_default(), whole, phone))
}
