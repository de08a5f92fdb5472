//! A house changing hands: the village official moves it, with its open application and current
//! permit, to another landlord's phone; the old landlord loses access in the same transaction.
//!
//! The permit keeps its number and signature: the QR signs only the number, the validity and the
//! occupancy cap (crypto::signing::PermitSigningFields), never the landlord's name, and the
//! certificate prints the name from the database when it is made.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};

use super::{Actor, audit};
use crate::domain::account::{PersonName, UNCLAIMED, is_unclaimed};
use crate::domain::application::ApplicationStatus;
use crate::domain::event::EventKind;
use crate::domain::identity::Phone;
use crate::domain::permit::PermitStatus;
use crate::domain::role::Role;
use crate::entities::{application, permit, property, user};
use crate::error::AppError;

/// The name an account made for a new phone carries until its owner claims it.
const UNNAMED: &str = "待认领房东";

/// The account a house goes to, as the official's confirmation page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recipient {
    /// None when the phone has no account yet (one is made, unclaimed).
    pub id: Option<i32>,
    pub name: String,
    pub phone_masked: String,
    pub claimed: bool,
}

/// What a transfer moved.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Transferred {
    pub property_id: i32,
    pub from_landlord_id: i32,
    pub to_landlord_id: i32,
    /// Whether an (unclaimed) account was made for the phone.
    pub account_created: bool,
    pub applications_moved: u64,
    pub permits_moved: u64,
}

/// The house, if the actor is the official of its village.
async fn house_of_village<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    property_id: i32,
) -> Result<property::Model, AppError> {
    if actor.role != Role::VillageOfficial {
        return Err(AppError::forbidden());
    }
    let house = property::Entity::find_by_id(property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if actor.village_id != Some(house.village_id) {
        return Err(AppError::forbidden());
    }
    Ok(house)
}

/// The landlord account of `phone`, refused when the phone is staff's, disabled or already the
/// house's landlord.
async fn recipient_account<C: ConnectionTrait>(
    db: &C,
    house: &property::Model,
    phone: &Phone,
) -> Result<Option<user::Model>, AppError> {
    let Some(u) = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if Role::parse(&u.role) != Some(Role::Landlord) {
        return Err(AppError::field(
            "to_phone",
            "该手机号属于工作人员账号，不能接收房屋",
        ));
    }
    if !u.active {
        return Err(AppError::field(
            "to_phone",
            "该手机号的账号已停用，请先联系镇管理员",
        ));
    }
    if u.id == house.landlord_id {
        return Err(AppError::field("to_phone", "房屋已属于该手机号的房东"));
    }
    Ok(Some(u))
}

/// Who would receive the house: for the confirmation step, nothing is written.
pub async fn preview(
    db: &DatabaseConnection,
    actor: &Actor,
    property_id: i32,
    to_phone: &Phone,
) -> Result<Recipient, AppError> {
    let house = house_of_village(db, actor, property_id).await?;
    Ok(match recipient_account(db, &house, to_phone).await? {
        Some(u) => Recipient {
            id: Some(u.id),
            claimed: !is_unclaimed(&u.password_hash),
            name: u.name,
            phone_masked: to_phone.masked(),
        },
        None => Recipient {
            id: None,
            name: UNNAMED.into(),
            phone_masked: to_phone.masked(),
            claimed: false,
        },
    })
}

/// Moves the house, its open application and its current permit to the landlord of `to_phone`
/// (an unclaimed account is made when the phone is new), in one audited transaction.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, property_id))]
pub async fn transfer(
    db: &DatabaseConnection,
    actor: &Actor,
    property_id: i32,
    to_phone: &Phone,
    to_name: Option<&PersonName>,
) -> Result<Transferred, AppError> {
    let now = Utc::now();
    let tx = crate::db::begin_write(db).await?;
    let house = house_of_village(&tx, actor, property_id).await?;
    let (from, village_id) = (house.landlord_id, house.village_id);
    let (to, account_created) = match recipient_account(&tx, &house, to_phone).await? {
        Some(u) => (u.id, false),
        None => {
            let u = user::ActiveModel {
                role: Set(Role::Landlord.as_str().into()),
                phone: Set(to_phone.as_str().into()),
                name: Set(to_name.map_or(UNNAMED, |n| n.as_str()).into()),
                password_hash: Set(UNCLAIMED.into()),
                village_id: Set(None),
                active: Set(true),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&tx)
            .await?;
            (u.id, true)
        }
    };
    let mut am: property::ActiveModel = house.into();
    am.landlord_id = Set(to);
    am.updated_at = Set(now);
    am.update(&tx).await?;
    let open: Vec<&str> = ApplicationStatus::OPEN.iter().map(|s| s.as_str()).collect();
    let applications = application::Entity::update_many()
        .col_expr(application::Column::LandlordId, to.into())
        .filter(application::Column::PropertyId.eq(property_id))
        .filter(application::Column::Status.is_in(open))
        .exec(&tx)
        .await?
        .rows_affected;
    let current: Vec<&str> = PermitStatus::CURRENT.iter().map(|s| s.as_str()).collect();
    let permits = permit::Entity::update_many()
        .col_expr(permit::Column::LandlordId, to.into())
        .filter(permit::Column::PropertyId.eq(property_id))
        .filter(permit::Column::Status.is_in(current))
        .exec(&tx)
        .await?
        .rows_affected;
    audit::record(
        &tx,
        Some(actor.id),
        "property.transfer",
        "property",
        property_id,
        serde_json::json!({
            "from_landlord_id": from, "to_landlord_id": to, "account_created": account_created,
            "applications_moved": applications, "permits_moved": permits,
            "permit_resigned": false,
        }),
    )
    .await?;
    // The new holder hears of it; ids and counts only, as every event.
    let ev = crate::services::events::NewEvent {
        kind: EventKind::PropertyTransferred,
        data: serde_json::json!({"property_id": property_id, "from_landlord_id": from,
            "to_landlord_id": to, "applications_moved": applications, "permits_moved": permits}),
        village_id: Some(village_id),
        landlord_id: Some(to),
        inspector_id: None,
    };
    crate::services::events::record(&tx, now, ev).await?;
    tx.commit().await?;
    Ok(Transferred {
        property_id,
        from_landlord_id: from,
        to_landlord_id: to,
        account_created,
        applications_moved: applications,
        permits_moved: permits,
    })
}

/// Who holds a house, as its village official's page shows it.
#[derive(Debug, Clone)]
pub struct HouseHolder {
    pub house: super::properties::PropertyView,
    pub landlord_name: String,
    pub landlord_phone: String,
    /// Whether the landlord has set a password (an imported account has not, until claimed).
    pub claimed: bool,
    /// The open application: id and status label.
    pub application: Option<(i32, &'static str)>,
    /// The current permit: number and status label.
    pub permit: Option<(String, &'static str)>,
}

/// The official's view of a house of their village and of who holds it.
pub async fn holder(
    db: &DatabaseConnection,
    actor: &Actor,
    property_id: i32,
) -> Result<HouseHolder, AppError> {
    let house = house_of_village(db, actor, property_id).await?;
    let landlord = user::Entity::find_by_id(house.landlord_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let open: Vec<&str> = ApplicationStatus::OPEN.iter().map(|s| s.as_str()).collect();
    let application = application::Entity::find()
        .filter(application::Column::PropertyId.eq(property_id))
        .filter(application::Column::Status.is_in(open))
        .one(db)
        .await?
        .and_then(|a| Some((a.id, ApplicationStatus::parse(&a.status)?.label_zh())));
    let current: Vec<&str> = PermitStatus::CURRENT.iter().map(|s| s.as_str()).collect();
    let permit = permit::Entity::find()
        .filter(permit::Column::PropertyId.eq(property_id))
        .filter(permit::Column::Status.is_in(current))
        .one(db)
        .await?
        .and_then(|p| Some((p.number.clone(), PermitStatus::parse(&p.status)?.label_zh())));
    Ok(HouseHolder {
        house: super::properties::view_of(db, house).await?,
        landlord_phone: Phone::parse(&landlord.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        claimed: !is_unclaimed(&landlord.password_hash),
        landlord_name: landlord.name,
        application,
        permit,
    })
}
