//! The houses behind the command room's numbers (houses, grades, permits in force): the town
//! admin's for the town or one village, an official's for their own village only. Filtered with
//! the snapshot's own conditions (`filters`), so the list's total is the number clicked.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::filters::{grade_is, house_new_since, houses_with_permit};
use super::{Scope, scope_for, villages_of};
use crate::domain::clock::town_date;
use crate::domain::dashboard::Windows;
use crate::domain::drilldown::{HouseFilter, HousePermit, PermitFilter};
use crate::domain::grade::Grade;
use crate::domain::identity::Phone;
use crate::domain::permit::PermitStatus;
use crate::domain::proof::mask_name;
use crate::domain::stay::StayStatus;
use crate::entities::{application, grid, permit, property, stay, user};
use crate::error::AppError;
use crate::services::Actor;
use crate::services::permit_view::status_of;

/// One house as the list shows it; the landlord masked as on the residents' register.
#[derive(Debug, Clone, Serialize)]
pub struct HouseRow {
    pub id: i32,
    pub address: String,
    pub village: String,
    pub grid: String,
    pub landlord: String,
    pub landlord_phone: String,
    /// `green`/`yellow`/`red`, empty before the first inspection.
    pub grade: &'static str,
    pub grade_label: &'static str,
    /// The house's latest permit, if any, with its status as of today.
    pub permit_number: Option<String>,
    pub permit_label: &'static str,
    pub permit_badge: &'static str,
    pub residents_now: i64,
    /// The house's latest application: its page is the house's page for staff.
    pub application_id: Option<i32>,
}

/// The scope a houses list may show: the actor's (`scope_for`), and a village that exists.
pub async fn scope_of<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    village_id: Option<i32>,
) -> Result<(Scope, Vec<(i32, String)>), AppError> {
    let scope = scope_for(actor, village_id)?;
    let villages = villages_of(db, scope)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    Ok((scope, villages))
}

/// A page of the houses matching `f` in the actor's scope, newest first, and their total.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    f: &HouseFilter,
    page: u64,
    per_page: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<HouseRow>, u64), AppError> {
    let (scope, villages) = scope_of(db, actor, f.village_id).await?;
    let w = Windows::at(now, town_date(now));
    let mut q = property::Entity::find();
    if let Some(v) = scope.village_id {
        q = q.filter(property::Column::VillageId.eq(v));
    }
    if let Some(g) = f.grade {
        q = q.filter(grade_is(g));
    }
    if f.new_1d {
        q = q.filter(house_new_since(w.day_ago));
    }
    let in_force = PermitFilter::Status(PermitStatus::Active);
    q = match f.permit {
        None => q,
        Some(HousePermit::Active) => {
            q.filter(property::Column::Id.in_subquery(houses_with_permit(in_force, &w)))
        }
        Some(HousePermit::None) => {
            q.filter(property::Column::Id.not_in_subquery(houses_with_permit(in_force, &w)))
        }
    };
    // Counted without the ordering, which would make SQLite sort every match just to count.
    let total = q.clone().count(db).await?;
    let houses = q
        .order_by_desc(property::Column::Id)
        .limit(per_page)
        .offset(page * per_page)
        .all(db)
        .await?;
    let rows = rows_of(db, houses, &villages.into_iter().collect(), w.today).await?;
    Ok((rows, total))
}

/// The page's grids, landlords, permits, residents and applications, one query each.
async fn rows_of<C: ConnectionTrait>(
    db: &C,
    houses: Vec<property::Model>,
    villages: &HashMap<i32, String>,
    today: chrono::NaiveDate,
) -> Result<Vec<HouseRow>, AppError> {
    let ids: Vec<i32> = houses.iter().map(|h| h.id).collect();
    let grids: HashMap<i32, String> = grid::Entity::find()
        .filter(grid::Column::Id.is_in(houses.iter().map(|h| h.grid_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let landlords: HashMap<i32, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(houses.iter().map(|h| h.landlord_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    // Ascending ids: the last one kept per house is its latest.
    let mut permits: HashMap<i32, permit::Model> = HashMap::new();
    for p in permit::Entity::find()
        .filter(permit::Column::PropertyId.is_in(ids.clone()))
        .order_by_asc(permit::Column::Id)
        .all(db)
        .await?
    {
        permits.insert(p.property_id, p);
    }
    let mut apps: HashMap<i32, i32> = HashMap::new();
    for (id, house) in application::Entity::find()
        .select_only()
        .column(application::Column::Id)
        .column(application::Column::PropertyId)
        .filter(application::Column::PropertyId.is_in(ids.clone()))
        .order_by_asc(application::Column::Id)
        .into_tuple::<(i32, i32)>()
        .all(db)
        .await?
    {
        apps.insert(house, id);
    }
    let residents: HashMap<i32, i64> = stay::Entity::find()
        .select_only()
        .column(stay::Column::PropertyId)
        .column_as(stay::Column::Id.count(), "n")
        .filter(stay::Column::PropertyId.is_in(ids))
        .filter(stay::Column::Status.eq(StayStatus::Active.as_str()))
        .group_by(stay::Column::PropertyId)
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(houses
        .into_iter()
        .map(|h| {
            let grade = h.grade.as_deref().and_then(Grade::parse);
            let landlord = landlords.get(&h.landlord_id);
            let permit = permits.remove(&h.id);
            let status = permit.as_ref().map(|p| status_of(p, today));
            HouseRow {
                id: h.id,
                village: villages.get(&h.village_id).cloned().unwrap_or_default(),
                grid: grids.get(&h.grid_id).cloned().unwrap_or_default(),
                landlord: landlord.map(|u| mask_name(&u.name)).unwrap_or_default(),
                landlord_phone: landlord
                    .and_then(|u| Phone::parse(&u.phone).ok())
                    .map(|p| p.masked())
                    .unwrap_or_default(),
                grade: grade.map(|g| g.as_str()).unwrap_or(""),
                grade_label: grade.map(|g| g.label_zh()).unwrap_or("未评级"),
                permit_number: permit.map(|p| p.number),
                permit_label: status.map(|s| s.label_zh()).unwrap_or("未发证"),
                permit_badge: status.map(|s| s.badge()).unwrap_or("grey"),
                residents_now: residents.get(&h.id).copied().unwrap_or(0),
                application_id: apps.get(&h.id).copied(),
                address: h.address,
            }
        })
        .collect())
}
