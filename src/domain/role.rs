//! The roles of Anju's users and what each is called.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    TownAdmin,
    VillageOfficial,
    Inspector,
    Landlord,
    /// A machine account of another system (grid platform, police), scoped to the town.
    ApiClient,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::TownAdmin,
        Role::VillageOfficial,
        Role::Inspector,
        Role::Landlord,
        Role::ApiClient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::TownAdmin => "town_admin",
            Role::VillageOfficial => "village_official",
            Role::Inspector => "inspector",
            Role::Landlord => "landlord",
            Role::ApiClient => "api_client",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::TownAdmin => "镇管理员",
            Role::VillageOfficial => "村干部",
            Role::Inspector => "网格员",
            Role::Landlord => "房东",
            Role::ApiClient => "接口账号",
        }
    }

    /// Officials belong to one village; the other roles do not carry a village.
    pub fn needs_village(self) -> bool {
        matches!(self, Role::VillageOfficial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
