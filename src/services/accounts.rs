//! The town admin's new-account form: the typed text is parsed here into a `NewUser` (every
//! field's fault reported beside it) and handed to the account service.
use sea_orm::DatabaseConnection;

use super::Actor;
use super::auth::{self, NewUser};
use crate::domain::account::{NewPassword, PersonName};
use crate::domain::fields::FieldErrors;
use crate::domain::identity::Phone;
use crate::domain::role::Role;
use crate::entities::user;
use crate::error::AppError;

/// The new-account form as typed.
#[derive(Debug, Clone, Default)]
pub struct RawNewUser {
    pub role: String,
    pub phone: String,
    pub name: String,
    pub password: String,
    pub village_id: String,
    pub grid_ids: Vec<i32>,
}

impl RawNewUser {
    /// A `NewUser`, or what is wrong with each field.
    pub fn parse(&self) -> Result<NewUser, FieldErrors> {
        let mut e = FieldErrors::new();
        let role = Role::parse(&self.role);
        if role.is_none() {
            e.add("role", "请选择角色");
        }
        let phone = Phone::parse(&self.phone)
            .map_err(|m| e.add("phone", m.to_string()))
            .ok();
        let name = PersonName::parse(&self.name)
            .map_err(|m| e.add("name", m))
            .ok();
        let password = NewPassword::parse(&self.password)
            .map_err(|m| e.add("password", m))
            .ok();
        let village = self.village_id.trim();
        let village_id = village.parse::<i32>().ok();
        if !village.is_empty() && village_id.is_none() {
            e.add("village_id", "所选村不存在");
        }
        match (role, phone, name, password) {
            (Some(role), Some(phone), Some(name), Some(password)) if e.is_empty() => Ok(NewUser {
                role,
                phone,
                name,
                password,
                village_id,
                grid_ids: self.grid_ids.clone(),
            }),
            _ => Err(e),
        }
    }
}

/// Opens an account from the admin's form; a refused form changes nothing.
#[tracing::instrument(level = "debug", skip(db, actor, raw), fields(actor = actor.id))]
pub async fn create_from_form(
    db: &DatabaseConnection,
    actor: &Actor,
    raw: &RawNewUser,
) -> Result<user::Model, AppError> {
    let nu = raw.parse().map_err(AppError::Validation)?;
    auth::create_user(db, Some(actor), nu).await
}
