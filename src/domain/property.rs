//! A house and its rooms as the landlord declares them: parsed once at the boundary into valid values.
use serde::{Deserialize, Serialize};

use super::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use super::occupancy::RoomKind;

/// Building structure of a house, as the permit form asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    BrickConcrete,
    Frame,
    Steel,
    Wood,
    Other,
}

impl Structure {
    pub const ALL: [Structure; 5] = [
        Self::BrickConcrete,
        Self::Frame,
        Self::Steel,
        Self::Wood,
        Self::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BrickConcrete => "brick_concrete",
            Self::Frame => "frame",
            Self::Steel => "steel",
            Self::Wood => "wood",
            Self::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::BrickConcrete => "砖混结构",
            Self::Frame => "框架结构",
            Self::Steel => "钢结构",
            Self::Wood => "木结构",
            Self::Other => "其他",
        }
    }
}

/// A floor area in square metres: positive, at most 1000, two decimals at most.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct AreaM2(f64);

impl AreaM2 {
    pub fn parse(raw: &str) -> Result<AreaM2, &'static str> {
        let t = raw.trim();
        if t.is_empty() {
            return Err("请填写面积");
        }
        let v: f64 = t.parse().map_err(|_| "面积须为数字，例如 14.5")?;
        if !v.is_finite() || v <= 0.0 {
            return Err("面积须大于 0");
        }
        if !(1.0..=1000.0).contains(&v) {
            return Err("面积须在 1 至 1000 平方米之间");
        }
        if t.split('.').nth(1).is_some_and(|d| d.len() > 2) {
            return Err("面积最多保留两位小数");
        }
        Ok(AreaM2(v))
    }
    pub fn value(self) -> f64 {
        self.0
    }
}

/// One room as typed into a form or sent to the API, before it is checked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawRoom {
    pub label: String,
    pub floor: String,
    pub area_m2: String,
    pub kind: String,
}

impl RawRoom {
    /// Checks one room against the house's number of storeys (when known): the form and the
    /// import's 房间 sheet both call this, so a room refused by one is refused by the other.
    /// Errors are keyed by field: `label`, `floor`, `area_m2`, `kind`.
    pub fn check(&self, floors: Option<i32>) -> Result<RoomDraft, Vec<(&'static str, String)>> {
        let mut e: Vec<(&'static str, String)> = Vec::new();
        let label = self.label.trim().to_string();
        if has_control(&label, false) {
            e.push(("label", CONTROL_CHARACTER.into()));
        } else if label.is_empty() {
            e.push(("label", "请填写房间名称，例如 101".into()));
        } else if label.chars().count() > 32 {
            e.push(("label", "房间名称不能超过 32 个字".into()));
        }
        let floor = match self.floor.trim().parse::<i32>() {
            Ok(f) if (-3..=50).contains(&f) && f != 0 => {
                if floors.is_some_and(|max| f > max) {
                    e.push(("floor", "楼层不能高于房屋层数".into()));
                }
                Some(f)
            }
            _ => {
                e.push(("floor", "楼层须为整数（地下层填 -1）".into()));
                None
            }
        };
        let area = match AreaM2::parse(&self.area_m2) {
            Ok(a) => Some(a),
            Err(m) => {
                e.push(("area_m2", m.into()));
                None
            }
        };
        let kind = RoomKind::parse(self.kind.trim());
        if kind.is_none() {
            e.push(("kind", "请选择房间用途".into()));
        }
        match (floor, area, kind) {
            (Some(floor), Some(area), Some(kind)) if e.is_empty() => Ok(RoomDraft {
                label,
                floor,
                area,
                kind,
            }),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawProperty {
    pub village_id: String,
    pub grid_id: String,
    pub address: String,
    pub floors: String,
    pub structure: String,
    pub rooms: Vec<RawRoom>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomDraft {
    pub label: String,
    pub floor: i32,
    pub area: AreaM2,
    pub kind: RoomKind,
}

/// A house that has passed every form rule; whether the grid belongs to the village is the service's check.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDraft {
    /// When given it must be the grid's village; pages send only the grid, which names its village.
    pub village_id: Option<i32>,
    pub grid_id: i32,
    pub address: String,
    pub floors: i32,
    pub structure: Structure,
    pub rooms: Vec<RoomDraft>,
}

pub const MAX_ROOMS: usize = 60;

fn parse_id(raw: &str) -> Option<i32> {
    raw.trim().parse::<i32>().ok().filter(|v| *v > 0)
}

/// A house's address as the form and the import check it: trimmed, 5 to 200 characters.
pub fn parse_address(raw: &str) -> Result<String, &'static str> {
    let address = raw.trim();
    let n = address.chars().count();
    if has_control(address, false) {
        Err(CONTROL_CHARACTER)
    } else if n < 5 {
        Err("请填写详细地址（至少 5 个字），例如：锦绣村东区 12 号")
    } else if n > 200 {
        Err("地址不能超过 200 个字")
    } else {
        Ok(address.to_string())
    }
}

/// A house's number of storeys, 1 to 50.
pub fn parse_floors(raw: &str) -> Result<i32, &'static str> {
    match raw.trim().parse::<i32>() {
        Ok(f) if (1..=50).contains(&f) => Ok(f),
        Ok(_) => Err("层数须在 1 至 50 之间"),
        Err(_) => Err("请填写房屋层数（整数）"),
    }
}

impl RawProperty {
    /// Checks every field and reports every problem at once, keyed by the form field's name.
    pub fn parse(&self) -> Result<PropertyDraft, FieldErrors> {
        let mut e = FieldErrors::new();
        let village_id = parse_id(&self.village_id);
        if village_id.is_none() && !self.village_id.trim().is_empty() {
            e.add("village_id", "请选择所在村");
        }
        let grid_id = parse_id(&self.grid_id);
        if grid_id.is_none() {
            e.add("grid_id", "请选择所属网格");
        }
        let address = match parse_address(&self.address) {
            Ok(a) => a,
            Err(m) => {
                e.add("address", m);
                self.address.trim().to_string()
            }
        };
        let floors = match parse_floors(&self.floors) {
            Ok(f) => Some(f),
            Err(m) => {
                e.add("floors", m);
                None
            }
        };
        let structure = Structure::parse(self.structure.trim());
        if structure.is_none() {
            e.add("structure", "请选择房屋结构");
        }
        let rooms: Vec<&RawRoom> = self.rooms.iter().filter(|r| !is_blank(r)).collect();
        if rooms.is_empty() {
            e.add("rooms", "请至少填写一个房间");
        } else if rooms.len() > MAX_ROOMS {
            e.add("rooms", format!("房间数不能超过 {MAX_ROOMS} 个"));
        }
        let mut parsed = Vec::new();
        let mut labels = std::collections::HashSet::new();
        for (i, r) in self.rooms.iter().enumerate() {
            if is_blank(r) {
                continue;
            }
            let key = |f: &str| format!("rooms[{i}].{f}");
            match r.check(floors) {
                Ok(d) if !labels.insert(d.label.clone()) => e.add(key("label"), "房间名称重复"),
                Ok(d) => parsed.push(d),
                Err(errs) => {
                    for (f, m) in errs {
                        e.add(key(f), m);
                    }
                }
            }
        }
        e.into_result()?;
        match (grid_id, floors, structure) {
            (Some(grid_id), Some(floors), Some(structure)) => Ok(PropertyDraft {
                village_id,
                grid_id,
                address,
                floors,
                structure,
                rooms: parsed,
            }),
            // Every None above added an error, so this arm is unreachable in practice.
            _ => Err(FieldErrors::new()),
        }
    }
}

/// A room row the landlord left empty in the form is not a room.
fn is_blank(r: &RawRoom) -> bool {
    r.label.trim().is_empty() && r.area_m2.trim().is_empty()
}

/// The road part of an address without the house number ("锦绣村东区 12 号" → "锦绣村东区"): what
/// a public page may show so a tenant sees which street a QR belongs to, without pointing a
/// stranger to one door.
pub fn road_of(address: &str) -> Option<String> {
    let numeral = |c: char| {
        c.is_ascii_alphanumeric()
            || c.is_whitespace()
            || "-#－一二三四五六七八九十百零〇".contains(c)
    };
    let head = match address.rfind('号') {
        Some(i) => address[..i].trim_end_matches(numeral),
        None => address.trim_end_matches(numeral),
    };
    let head = head.trim();
    (!head.is_empty()).then(|| head.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawProperty {
        RawProperty {
            village_id: "1".into(),
            grid_id: "2".into(),
            address: "锦绣村东区 12 号".into(),
            floors: "3".into(),
            structure: "brick_concrete".into(),
            rooms: vec![RawRoom {
                label: "101".into(),
                floor: "1".into(),
                area_m2: "14".into(),
                kind: "bedroom".into(),
            }],
        }
    }

    #[test]
    fn a_complete_house_parses() {
        let d = raw().parse().unwrap();
        assert_eq!(d.rooms.len(), 1);
        assert_eq!(d.rooms[0].area.value(), 14.0);
    }

    #[test]
    fn every_bad_field_is_reported_beside_its_name() {
        let mut r = raw();
        r.address = "短".into();
        r.grid_id = String::new();
        r.floors = "abc".into();
        r.rooms[0].area_m2 = "-3".into();
        r.rooms[0].kind = "garage".into();
        let e = r.parse().unwrap_err();
        assert!(
            e.has("address")
                && e.has("floors")
                && e.has("rooms[0].area_m2")
                && e.has("rooms[0].kind"),
            "{e:?}"
        );
    }

    #[test]
    fn a_room_above_the_top_floor_is_refused() {
        let mut r = raw();
        r.rooms[0].floor = "5".into();
        assert!(r.parse().unwrap_err().has("rooms[0].floor"));
    }

    #[test]
    fn empty_room_rows_are_ignored_but_a_house_needs_one_room() {
        let mut r = raw();
        r.rooms.push(RawRoom::default());
        assert_eq!(r.parse().unwrap().rooms.len(), 1);
        r.rooms.clear();
        assert!(r.parse().unwrap_err().has("rooms"));
    }

    #[test]
    fn area_accepts_two_decimals_only() {
        assert!(AreaM2::parse("12.5").is_ok());
        assert!(AreaM2::parse("12.555").is_err());
        assert!(AreaM2::parse("NaN").is_err());
        assert!(AreaM2::parse("").is_err());
    }

    #[test]
    fn the_road_drops_the_house_number() {
        assert_eq!(road_of("锦绣村东区 12 号").as_deref(), Some("锦绣村东区"));
        assert_eq!(
            road_of("锦绣村北区 3 号 B 栋").as_deref(),
            Some("锦绣村北区")
        );
        assert_eq!(road_of("长埭村 3 组 58 号").as_deref(), Some("长埭村 3 组"));
        assert_eq!(road_of("解放路二十一号").as_deref(), Some("解放路"));
        assert_eq!(road_of("幸福路 8").as_deref(), Some("幸福路"));
        assert_eq!(road_of("12 号"), None);
    }
}
