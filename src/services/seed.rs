//! The demo town of API.md: 花街镇 with three villages, two grids each, and six demo accounts.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};

use super::auth::{self, NewUser};
use crate::domain::account::{NewPassword, PersonName};
use crate::domain::identity::Phone;
use crate::domain::role::Role;
use crate::entities::{grid, town, user, village};
use crate::error::AppError;

pub const DEMO_PASSWORD: &str = "anju-demo";

const VILLAGES: [(&str, &str); 3] = [("JX", "锦绣村"), ("NZ", "倪宅村"), ("XJL", "小界岭村")];

/// (phone, role, name, village code for officials, grid names for inspectors)
type DemoAccount = (
    &'static str,
    Role,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

const ACCOUNTS: [DemoAccount; 6] = [
    ("13900000001", Role::TownAdmin, "镇指挥室管理员", None, &[]),
    (
        "13900000002",
        Role::VillageOfficial,
        "锦绣村干部",
        Some("JX"),
        &[],
    ),
    (
        "13900000003",
        Role::Inspector,
        "锦绣村网格员",
        None,
        &["锦绣村第一网格", "锦绣村第二网格"],
    ),
    ("13900000004", Role::Landlord, "王房东", None, &[]),
    (
        "13900000005",
        Role::VillageOfficial,
        "倪宅村干部",
        Some("NZ"),
        &[],
    ),
    (
        "13900000006",
        Role::Inspector,
        "倪宅村网格员",
        None,
        &["倪宅村第一网格", "倪宅村第二网格"],
    ),
];

/// Ensures the town row exists (every installation has exactly one town).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ensure_town(
    db: &DatabaseConnection,
    code: &str,
    name: &str,
) -> Result<town::Model, AppError> {
    if let Some(t) = town::Entity::find().one(db).await? {
        return Ok(t);
    }
    let tx = crate::db::begin_write(db).await?;
    let inserted = town::ActiveModel {
        code: Set(code.into()),
        name: Set(name.into()),
        ..Default::default()
    }
    .insert(&tx)
    .await;
    match inserted {
        Ok(t) => {
            tx.commit().await?;
            Ok(t)
        }
        // Another instance starting at the same moment inserted it first (unique code): use theirs.
        Err(e) => {
            drop(tx);
            town::Entity::find()
                .one(db)
                .await?
                .ok_or_else(|| AppError::internal(e))
        }
    }
}

/// Seeds the demo town. Running it again changes nothing: every row is looked up before it is made.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn seed_demo(db: &DatabaseConnection) -> Result<bool, AppError> {
    if user::Entity::find()
        .filter(user::Column::Phone.eq(ACCOUNTS[0].0))
        .count(db)
        .await?
        > 0
    {
        return Ok(false);
    }
    let t = ensure_town(db, "HJ", "花街镇").await?;
    for (code, name) in VILLAGES {
        let v = match village::Entity::find()
            .filter(village::Column::Code.eq(code))
            .one(db)
            .await?
        {
            Some(v) => v,
            None => {
                village::ActiveModel {
                    town_id: Set(t.id),
                    code: Set(code.into()),
                    name: Set(name.into()),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(db)
                .await?
            }
        };
        for ordinal in ["第一网格", "第二网格"] {
            let gname = format!("{name}{ordinal}");
            if grid::Entity::find()
                .filter(grid::Column::Name.eq(&gname))
                .count(db)
                .await?
                == 0
            {
                grid::ActiveModel {
                    village_id: Set(v.id),
                    name: Set(gname),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
    }
    for (phone, role, name, village_code, grids) in ACCOUNTS {
        if user::Entity::find()
            .filter(user::Column::Phone.eq(phone))
            .count(db)
            .await?
            > 0
        {
            continue;
        }
        let village_id = match village_code {
            Some(c) => village::Entity::find()
                .filter(village::Column::Code.eq(c))
                .one(db)
                .await?
                .map(|v| v.id),
            None => None,
        };
        let mut grid_ids = Vec::new();
        for g in grids {
            if let Some(g) = grid::Entity::find()
                .filter(grid::Column::Name.eq(*g))
                .one(db)
                .await?
            {
                grid_ids.push(g.id);
            }
        }
        let nu = NewUser {
            role,
            phone: Phone::parse(phone).map_err(AppError::internal)?,
            name: PersonName::parse(name).map_err(AppError::internal)?,
            password: NewPassword::parse(DEMO_PASSWORD).map_err(AppError::internal)?,
            village_id,
            grid_ids,
        };
        auth::create_user(db, None, nu).await?;
    }
    Ok(true)
}
