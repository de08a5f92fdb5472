//! Use cases, one transaction each: may this actor touch this record, is the transition legal, write, audit.
pub mod accounts;
pub mod application_drafts;
pub mod application_view;
pub mod applications;
pub mod audit;
pub mod audit_view;
pub mod auth;
pub mod certificates;
pub mod changes;
pub mod claims;
pub mod credentials;
pub mod dashboard;
pub mod events;
pub mod exports;
pub mod imports;
pub mod inspections;
pub mod landlord_merge;
pub mod notifications;
pub mod permit_expiry;
pub mod permit_view;
pub mod permits;
pub mod photos;
pub mod place_names;
pub mod proofs;
pub mod properties;
pub mod register_chunks;
pub mod register_copy;
pub mod register_filter;
pub mod residents;
pub mod seed;
pub mod seed_scale;
pub mod sessions;
pub mod signatures;
pub mod stays;
pub mod tenancy;
pub mod town;
pub mod transfers;
pub mod uploads;
pub mod verification;

use serde::Serialize;

use crate::domain::role::Role;

/// Who is acting: the signed-in user as the services see them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Actor {
    pub id: i32,
    pub role: Role,
    pub name: String,
    pub village_id: Option<i32>,
}

impl Actor {
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }
}

/// Narrows a list query to what the actor may see: a landlord's own records, an official's
/// village, everything for the town admin and API clients. Inspectors list through their tasks.
pub fn scope_to_actor<E: sea_orm::EntityTrait>(
    q: sea_orm::Select<E>,
    actor: &Actor,
    landlord_col: E::Column,
    village_col: E::Column,
) -> Result<sea_orm::Select<E>, crate::error::AppError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(match actor.role {
        Role::Landlord => q.filter(landlord_col.eq(actor.id)),
        Role::VillageOfficial => q.filter(village_col.eq(actor.village_id.unwrap_or(-1))),
        Role::TownAdmin | Role::ApiClient => q,
        Role::Inspector => return Err(crate::error::AppError::forbidden()),
    })
}

/// One page of `q` narrowed by [`scope_to_actor`], and how many rows it has on all pages.
pub async fn scoped_page<E>(
    db: &sea_orm::DatabaseConnection,
    q: sea_orm::Select<E>,
    actor: &Actor,
    landlord_col: E::Column,
    village_col: E::Column,
    page: u64,
    per_page: u64,
) -> Result<(Vec<E::Model>, u64), crate::error::AppError>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
{
    use sea_orm::PaginatorTrait;
    let pager = scope_to_actor(q, actor, landlord_col, village_col)?.paginate(db, per_page);
    let total = pager.num_items().await?;
    Ok((pager.fetch_page(page).await?, total))
}

/// The join from `E`'s foreign key `from` to `R`'s `to`, for reads that join a table the
/// entity declares no relation to (a permit's landlord, a village's town).
pub fn foreign_key<E: sea_orm::EntityTrait, R: sea_orm::EntityTrait>(
    from: E::Column,
    to: R::Column,
) -> sea_orm::RelationDef {
    E::belongs_to(R::default()).from(from).to(to).into()
}
