//! Rooms and the maximum number of occupants a permit allows (DESIGN §2).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Bedroom,
    Kitchen,
    Bathroom,
    Living,
    Basement,
    Balcony,
}

impl RoomKind {
    pub const ALL: [RoomKind; 6] = [
        RoomKind::Bedroom,
        RoomKind::Kitchen,
        RoomKind::Bathroom,
        RoomKind::Living,
        RoomKind::Basement,
        RoomKind::Balcony,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Bedroom => "bedroom",
            RoomKind::Kitchen => "kitchen",
            RoomKind::Bathroom => "bathroom",
            RoomKind::Living => "living",
            RoomKind::Basement => "basement",
            RoomKind::Balcony => "balcony",
        }
    }

    pub fn parse(s: &str) -> Option<RoomKind> {
        RoomKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RoomKind::Bedroom => "卧室",
            RoomKind::Kitchen => "厨房",
            RoomKind::Bathroom => "卫生间",
            RoomKind::Living => "客厅",
            RoomKind::Basement => "地下室",
            RoomKind::Balcony => "阳台",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RoomKind::Bedroom => "Bedroom",
            RoomKind::Kitchen => "Kitchen",
            RoomKind::Bathroom => "Bathroom",
            RoomKind::Living => "Living room",
            RoomKind::Basement => "Basement",
            RoomKind::Balcony => "Balcony",
        }
    }
}

/// Occupancy thresholds. The defaults are Zhejiang's; towns override them from the checklist
/// file (Hangzhou, for one, allows 4 m² per person).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccupancyRule {
    pub per_person_area_m2: f64,
    pub persons_per_room: u32,
    pub letting_kinds: Vec<RoomKind>,
}

impl Default for OccupancyRule {
    fn default() -> Self {
        OccupancyRule {
            per_person_area_m2: 6.0,
            persons_per_room: 2,
            letting_kinds: vec![RoomKind::Bedroom, RoomKind::Living],
        }
    }
}

/// Slack for areas such as 12.6 m² ÷ 4.2 m², which f64 computes as 2.9999999999999996.
/// Areas are recorded to the centimetre, so this never lifts a genuinely short room.
const AREA_EPSILON: f64 = 1e-9;

/// How many people may sleep in one room: none in kitchens, bathrooms, basements or balconies;
/// otherwise ⌊area ÷ per-person area⌋, capped at the persons-per-room limit.
pub fn room_capacity(rule: &OccupancyRule, kind: RoomKind, area_m2: f64) -> u32 {
    if !rule.letting_kinds.contains(&kind) || !area_m2.is_finite() || area_m2 <= 0.0 {
        return 0;
    }
    // A zero or nonsensical per-person area means the town set no area limit.
    if !(rule.per_person_area_m2.is_finite() && rule.per_person_area_m2 > 0.0) {
        return rule.persons_per_room;
    }
    let by_area = (area_m2 / rule.per_person_area_m2 + AREA_EPSILON).floor();
    // `as` saturates, so a huge hall cannot wrap around.
    (by_area as u32).min(rule.persons_per_room)
}

/// The permit's maximum occupants: the sum of the room capacities, never above what the
/// approving official set.
pub fn max_occupants(
    rule: &OccupancyRule,
    rooms: &[(RoomKind, f64)],
    official_cap: Option<u32>,
) -> u32 {
    let sum = rooms.iter().fold(0u32, |acc, &(kind, area)| {
        acc.saturating_add(room_capacity(rule, kind, area))
    });
    official_cap.map_or(sum, |cap| sum.min(cap))
}

/// The permit's maximum when the official typed a cap: the cap when it is at most what the
/// rooms allow; otherwise `Err(formula)`, because a cap above the formula is a typing mistake to
/// report ("不能超过按面积计算的 N 人"), not one to lower silently.
pub fn capped_max(
    rule: &OccupancyRule,
    rooms: &[(RoomKind, f64)],
    official_cap: Option<u32>,
) -> Result<u32, u32> {
    let formula = max_occupants(rule, rooms, None);
    match official_cap {
        Some(cap) if cap > formula => Err(formula),
        cap => Ok(max_occupants(rule, rooms, cap)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_above_the_formula_is_refused_and_one_below_it_holds() {
        let rule = OccupancyRule::default();
        let rooms = [
            (RoomKind::Bedroom, 14.0),
            (RoomKind::Bedroom, 12.5),
            (RoomKind::Living, 20.0),
        ];
        assert_eq!(capped_max(&rule, &rooms, None), Ok(6));
        assert_eq!(capped_max(&rule, &rooms, Some(4)), Ok(4));
        assert_eq!(capped_max(&rule, &rooms, Some(6)), Ok(6));
        assert_eq!(capped_max(&rule, &rooms, Some(7)), Err(6));
    }

    #[test]
    fn designs_example_of_three_rooms_and_a_kitchen_allows_six() {
        let rooms = [
            (RoomKind::Bedroom, 14.0),
            (RoomKind::Bedroom, 12.5),
            (RoomKind::Living, 20.0),
            (RoomKind::Kitchen, 9.0),
        ];
        assert_eq!(max_occupants(&OccupancyRule::default(), &rooms, None), 6);
    }

    #[test]
    fn kitchens_bathrooms_basements_and_balconies_are_never_let() {
        let rule = OccupancyRule::default();
        for kind in [
            RoomKind::Kitchen,
            RoomKind::Bathroom,
            RoomKind::Basement,
            RoomKind::Balcony,
        ] {
            assert_eq!(room_capacity(&rule, kind, 30.0), 0, "{kind:?}");
        }
    }

    #[test]
    fn hangzhous_four_square_metres_lets_more_people_into_small_rooms() {
        let rule = OccupancyRule {
            per_person_area_m2: 4.0,
            persons_per_room: 3,
            ..OccupancyRule::default()
        };
        assert_eq!(room_capacity(&rule, RoomKind::Bedroom, 12.5), 3);
        assert_eq!(room_capacity(&rule, RoomKind::Bedroom, 9.0), 2);
        assert_eq!(room_capacity(&rule, RoomKind::Bedroom, 3.9), 0);
        let rooms = [
            (RoomKind::Bedroom, 14.0),
            (RoomKind::Bedroom, 12.5),
            (RoomKind::Living, 20.0),
        ];
        assert_eq!(max_occupants(&rule, &rooms, None), 9);
    }

    #[test]
    fn the_official_cap_is_never_exceeded_but_does_not_raise_the_sum() {
        let rule = OccupancyRule::default();
        let rooms = [
            (RoomKind::Bedroom, 14.0),
            (RoomKind::Bedroom, 12.5),
            (RoomKind::Living, 20.0),
        ];
        assert_eq!(max_occupants(&rule, &rooms, Some(4)), 4);
        assert_eq!(max_occupants(&rule, &rooms, Some(10)), 6);
        assert_eq!(max_occupants(&rule, &rooms, Some(0)), 0);
        assert_eq!(max_occupants(&rule, &[], None), 0);
    }

    #[test]
    fn an_exact_multiple_counts_and_a_hair_below_does_not() {
        let rule = OccupancyRule {
            persons_per_room: 10,
            ..OccupancyRule::default()
        };
        assert_eq!(room_capacity(&rule, RoomKind::Bedroom, 12.0), 2);
        assert_eq!(room_capacity(&rule, RoomKind::Bedroom, 11.99), 1);
        assert_eq!(room_capacity(&rule, RoomKind::Bedroom, 5.99), 0);
        let odd = OccupancyRule {
            per_person_area_m2: 4.2,
            ..rule
        };
        assert_eq!(room_capacity(&odd, RoomKind::Bedroom, 12.6), 3);
    }

    #[test]
    fn nonsense_areas_give_no_capacity() {
        let rule = OccupancyRule::default();
        for area in [0.0, -12.0, f64::NAN, f64::INFINITY] {
            assert_eq!(room_capacity(&rule, RoomKind::Bedroom, area), 0, "{area}");
        }
    }

    #[test]
    fn room_kinds_round_trip_through_their_api_names() {
        for kind in RoomKind::ALL {
            assert_eq!(RoomKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RoomKind::Bathroom.label_zh(), "卫生间");
        assert_eq!(RoomKind::parse("garage"), None);
    }
}
