//! The command room (DESIGN §9): who may see which figures, and the snapshot of the town or one
//! village, computed from grouped counts (`counts`) once per change and shared (`hub`).
pub mod counts;
pub mod filters;
pub mod houses;
pub mod hub;
pub mod overdue;
pub mod records;
pub mod recount;
pub mod report;
pub mod search;
pub mod trend;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::dashboard::{VillageCounts, Windows, rectification_rate};
use crate::domain::role::Role;
use crate::entities::village;
use crate::error::AppError;
use crate::services::Actor;

/// Whose figures: the whole town, or one village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    pub village_id: Option<i32>,
}

/// The town admin sees the town or any one village; an official their own village only (asking
/// for another is refused, not silently narrowed); nobody else sees the command room.
pub fn scope_for(actor: &Actor, village_id: Option<i32>) -> Result<Scope, AppError> {
    match actor.role {
        Role::TownAdmin => Ok(Scope { village_id }),
        Role::VillageOfficial => match (actor.village_id, village_id) {
            (Some(own), None) => Ok(Scope {
                village_id: Some(own),
            }),
            (Some(own), Some(v)) if v == own => Ok(Scope {
                village_id: Some(own),
            }),
            _ => Err(AppError::forbidden()),
        },
        _ => Err(AppError::forbidden()),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PermitCounts {
    pub active: i64,
    pub suspended: i64,
    pub revoked: i64,
    pub expired: i64,
    pub expiring_30d: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct GradeCounts {
    pub green: i64,
    pub yellow: i64,
    pub red: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ApplicationCounts {
    pub draft: i64,
    pub submitted: i64,
    pub inspecting: i64,
    /// Waiting for the landlord's fixes (not in the first contract; added).
    pub rectifying: i64,
    pub passed: i64,
    pub approved: i64,
    pub rejected: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct InspectionCounts {
    pub due_7d: i64,
    pub overdue: i64,
    pub done_30d: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct HazardCounts {
    pub open: i64,
    pub overdue: i64,
    pub fixed_30d: i64,
    pub found_30d: i64,
    /// Of the hazards found in the last 30 days, how many are fixed (the rate's numerator).
    pub found_30d_fixed: i64,
    /// Of the hazards found in the last 30 days, the share fixed since (0–1).
    pub rectification_rate: f64,
}

impl HazardCounts {
    /// The rectification rate as the pages print it.
    pub fn rate_pct(&self) -> String {
        format!("{:.1}%", self.rectification_rate * 100.0)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ResidentCounts {
    pub now: i64,
    pub pending: i64,
    pub pending_over_24h: i64,
    pub check_ins_7d: i64,
    pub check_outs_7d: i64,
}

/// Movement over the last 24 hours, for "change since yesterday".
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct DayChanges {
    pub houses: i64,
    pub permits_issued: i64,
    pub check_ins: i64,
    pub check_outs: i64,
    pub hazards_found: i64,
    pub hazards_fixed: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct VillageRow {
    pub id: i32,
    pub name: String,
    pub houses: i64,
    pub permits_active: i64,
    pub residents_now: i64,
    pub hazards_open: i64,
    pub hazards_overdue: i64,
    pub inspections_overdue: i64,
    pub grade_red: i64,
}

/// The snapshot of API.md "Command room".
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Snapshot {
    pub as_of: DateTime<Utc>,
    /// The village the figures are narrowed to; absent for the whole town.
    pub village_id: Option<i32>,
    pub houses: i64,
    pub permits: PermitCounts,
    pub grades: GradeCounts,
    pub applications: ApplicationCounts,
    pub inspections: InspectionCounts,
    pub hazards: HazardCounts,
    pub residents: ResidentCounts,
    pub day_changes: DayChanges,
    pub villages: Vec<VillageRow>,
}

impl Snapshot {
    fn of(
        as_of: DateTime<Utc>,
        scope: Scope,
        villages: Vec<(village::Model, VillageCounts)>,
    ) -> Snapshot {
        let mut t = VillageCounts::default();
        for (_, c) in &villages {
            t.add(c);
        }
        Snapshot {
            as_of,
            village_id: scope.village_id,
            houses: t.houses,
            permits: PermitCounts {
                active: t.permits_active,
                suspended: t.permits_suspended,
                revoked: t.permits_revoked,
                expired: t.permits_expired,
                expiring_30d: t.permits_expiring_30d,
            },
            grades: GradeCounts {
                green: t.grade_green,
                yellow: t.grade_yellow,
                red: t.grade_red,
            },
            applications: ApplicationCounts {
                draft: t.apps_draft,
                submitted: t.apps_submitted,
                inspecting: t.apps_inspecting,
                rectifying: t.apps_rectifying,
                passed: t.apps_passed,
                approved: t.apps_approved,
                rejected: t.apps_rejected,
            },
            inspections: InspectionCounts {
                due_7d: t.tasks_due_7d,
                overdue: t.tasks_overdue,
                done_30d: t.inspections_done_30d,
            },
            hazards: HazardCounts {
                open: t.hazards_open,
                overdue: t.hazards_overdue,
                fixed_30d: t.hazards_fixed_30d,
                found_30d: t.hazards_found_30d,
                found_30d_fixed: t.hazards_found_30d_fixed,
                rectification_rate: rectification_rate(
                    t.hazards_found_30d,
                    t.hazards_found_30d_fixed,
                ),
            },
            residents: ResidentCounts {
                now: t.residents_now,
                pending: t.residents_pending,
                pending_over_24h: t.residents_pending_over_24h,
                check_ins_7d: t.check_ins_7d,
                check_outs_7d: t.check_outs_7d,
            },
            day_changes: DayChanges {
                houses: t.houses_1d,
                permits_issued: t.permits_issued_1d,
                check_ins: t.check_ins_1d,
                check_outs: t.check_outs_1d,
                hazards_found: t.hazards_found_1d,
                hazards_fixed: t.hazards_fixed_1d,
            },
            villages: villages
                .into_iter()
                .map(|(v, c)| VillageRow {
                    id: v.id,
                    name: v.name,
                    houses: c.houses,
                    permits_active: c.permits_active,
                    residents_now: c.residents_now,
                    hazards_open: c.hazards_open,
                    hazards_overdue: c.hazards_overdue,
                    inspections_overdue: c.tasks_overdue,
                    grade_red: c.grade_red,
                })
                .collect(),
        }
    }
}

/// The villages a scope covers, in code order; an unknown village is a 404.
pub async fn villages_of<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
) -> Result<Vec<village::Model>, AppError> {
    let all = village::Entity::find()
        .order_by_asc(village::Column::Code)
        .all(db)
        .await?;
    match scope.village_id {
        None => Ok(all),
        Some(v) => {
            let one: Vec<_> = all.into_iter().filter(|x| x.id == v).collect();
            if one.is_empty() {
                return Err(AppError::not_found());
            }
            Ok(one)
        }
    }
}

/// Computes a snapshot. Callers that serve screens go through `hub::Hub::snapshot`, which
/// computes once per change for everyone.
#[tracing::instrument(level = "debug", skip_all, fields(village = ?scope.village_id))]
pub async fn compute<C: ConnectionTrait>(
    db: &C,
    scope: Scope,
    now: DateTime<Utc>,
) -> Result<Snapshot, AppError> {
    let villages = villages_of(db, scope).await?;
    let w = Windows::at(now, crate::domain::clock::town_date(now));
    let mut counts = counts::by_village(db, scope.village_id, &w).await?;
    let rows = villages
        .into_iter()
        .map(|v| {
            let c = counts.remove(&v.id).unwrap_or_default();
            (v, c)
        })
        .collect();
    Ok(Snapshot::of(now, scope, rows))
}
