//! SeaORM entity for `dashboard_counts`: standing counts per village kept by triggers (m012).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboard_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub village_id: i32,
    /// `houses`, `grade_<grade>`, `permit_<status>`, `app_<status>` or `stay_<status>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: String,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
