//! The command room's search box: houses by a fragment of their address, permits by number,
//! residents by a whole document number (through the keyed hash, never the number itself) or name.
use sea_orm::sea_query::{ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Scope;
use crate::AppState;
use crate::domain::fields::has_control;
use crate::domain::identity::{DocNumber, DocType};
use crate::entities::{permit, property, stay};
use crate::error::AppError;
use crate::services::{Actor, audit};

/// At most this many hits per kind: a search box, not an export.
pub const LIMIT: u64 = 20;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct HouseHit {
    pub id: i32,
    pub address: String,
    pub village_id: i32,
    pub grade: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PermitHit {
    pub number: String,
    pub property_id: i32,
    pub status: String,
    pub valid_until: chrono::NaiveDate,
}

/// A resident as search shows them: the document number masked.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ResidentHit {
    pub stay_id: i32,
    pub name: String,
    pub doc_masked: String,
    pub property_id: i32,
    pub address: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Default)]
pub struct SearchResult {
    pub houses: Vec<HouseHit>,
    pub permits: Vec<PermitHit>,
    pub residents: Vec<ResidentHit>,
}

/// A search term: trimmed, 2 to 64 characters, no control characters.
pub fn parse_query(q: &str) -> Result<String, AppError> {
    let q = q.trim();
    if has_control(q, false) {
        return Err(AppError::field(
            "q",
            crate::domain::fields::CONTROL_CHARACTER,
        ));
    }
    match q.chars().count() {
        0..=1 => Err(AppError::field("q", "请输入至少两个字")),
        65.. => Err(AppError::field("q", "搜索内容不能超过 64 个字")),
        _ => Ok(q.to_string()),
    }
}

/// `%`, `_` and `\` are literal in what people type.
fn like_fragment(q: &str) -> String {
    let mut s = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, village = ?scope.village_id))]
pub async fn search(
    st: &AppState,
    actor: &Actor,
    scope: Scope,
    q: &str,
) -> Result<SearchResult, AppError> {
    let db = &st.db;
    let in_scope = |col: property::Column| match scope.village_id {
        Some(v) => sea_orm::Condition::all().add(col.eq(v)),
        None => sea_orm::Condition::all(),
    };
    let houses = property::Entity::find()
        .filter(in_scope(property::Column::VillageId))
        .filter(
            sea_orm::sea_query::Expr::col((property::Entity, property::Column::Address))
                .like(sea_orm::sea_query::LikeExpr::new(like_fragment(q)).escape('\\')),
        )
        .order_by_asc(property::Column::Id)
        .limit(LIMIT)
        .all(db)
        .await?;
    let mut permits_q = permit::Entity::find().filter(permit::Column::Number.eq(q.to_uppercase()));
    if let Some(v) = scope.village_id {
        permits_q = permits_q.filter(permit::Column::VillageId.eq(v));
    }
    let permits = permits_q.limit(LIMIT).all(db).await?;

    // A whole document number of any type, matched through its keyed hash; otherwise a name.
    let today = st.config.clock.today();
    let hashes: Vec<String> = DocType::ALL
        .iter()
        .filter_map(|t| DocNumber::parse(*t, q, today).ok())
        .map(|d| st.pii.doc_lookup_hash(&d))
        .collect();
    let mut stays_q = stay::Entity::find();
    stays_q = if hashes.is_empty() {
        stays_q.filter(stay::Column::Name.eq(q))
    } else {
        stays_q.filter(stay::Column::DocHash.is_in(hashes))
    };
    if let Some(v) = scope.village_id {
        stays_q = stays_q.filter(
            stay::Column::PropertyId.in_subquery(
                Query::select()
                    .column(property::Column::Id)
                    .from(property::Entity)
                    .and_where(property::Column::VillageId.eq(v))
                    .to_owned(),
            ),
        );
    }
    let stays = stays_q
        .filter(stay::Column::WipedAt.is_null())
        .order_by_desc(stay::Column::Id)
        .limit(LIMIT)
        .all(db)
        .await?;
    let mut residents = Vec::with_capacity(stays.len());
    for s in stays {
        let address = property::Entity::find_by_id(s.property_id)
            .one(db)
            .await?
            .map(|p| p.address)
            .unwrap_or_default();
        residents.push(ResidentHit {
            stay_id: s.id,
            name: s.name.unwrap_or_default(),
            doc_masked: s.doc_masked.unwrap_or_default(),
            property_id: s.property_id,
            address,
            status: s.status,
        });
    }
    if !residents.is_empty() {
        // Looking people up is a read of personal data: recorded, without what was typed.
        audit::record(
            db,
            Some(actor.id),
            "dashboard.search",
            "stay",
            "-",
            json!({"village_id": scope.village_id, "residents": residents.len()}),
        )
        .await?;
    }
    Ok(SearchResult {
        houses: houses
            .into_iter()
            .map(|h| HouseHit {
                id: h.id,
                address: h.address,
                village_id: h.village_id,
                grade: h.grade,
            })
            .collect(),
        permits: permits
            .into_iter()
            .map(|p| PermitHit {
                number: p.number,
                property_id: p.property_id,
                status: p.status,
                valid_until: p.valid_until,
            })
            .collect(),
        residents,
    })
}
