//! Spreadsheet rows of an import, checked with the forms' own parsers, and the natural keys that
//! tell whether a row is a house, landlord or stay the register already holds.
use super::account::PersonName;
use super::identity::{DocType, Phone};
use super::occupancy::RoomKind;
use super::property::{Structure, parse_address, parse_floors};

/// One refused cell: the column's header as the sheet shows it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub column: &'static str,
    pub message: String,
}

/// The key that makes two spellings of one address the same house: widths folded and spaces
/// dropped (as phone and ID numbers are), `#` read as 号, and the Chinese numeral before 组
/// written in digits, so 三组18号, 3组 18# and ３组１８号 are one address.
pub fn address_key(raw: &str) -> String {
    let folded = super::identity::normalise(raw).replace('#', "号");
    let chars: Vec<char> = folded.chars().collect();
    let mut out = String::with_capacity(folded.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && digit(chars[i]).is_some() {
            i += 1;
        }
        if i > start && chars.get(i) == Some(&'组') {
            match numeral(&chars[start..i]) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.extend(&chars[start..i]),
            }
            continue;
        }
        if i > start {
            out.extend(&chars[start..i]);
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A Chinese digit or 十 (as 10, handled by [`numeral`]).
fn digit(c: char) -> Option<u32> {
    "〇零一二三四五六七八九十"
        .chars()
        .position(|d| d == c)
        .map(|p| match p {
            0 | 1 => 0,
            11 => 10,
            p => p as u32 - 1,
        })
}

/// 三 → 3, 十二 → 12, 二十 → 20, 二十三 → 23, 一〇五 → 105; anything else is left alone.
fn numeral(cs: &[char]) -> Option<u32> {
    let ds: Vec<u32> = cs.iter().map(|c| digit(*c)).collect::<Option<_>>()?;
    match ds.iter().position(|d| *d == 10) {
        None => ds
            .iter()
            .try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(*d)),
        Some(p) if ds.iter().filter(|d| **d == 10).count() == 1 && p <= 1 && ds.len() - p <= 2 => {
            let tens = if p == 0 { 1 } else { ds[0] };
            let ones = ds.get(p + 1).copied().unwrap_or(0);
            (tens > 0 && ones < 10).then_some(tens * 10 + ones)
        }
        _ => None,
    }
}

/// A value from a drop-down column: the Chinese label or the code.
fn pick<T: Copy>(
    raw: &str,
    all: &[T],
    label: fn(T) -> &'static str,
    code: fn(T) -> &'static str,
) -> Option<T> {
    let t = raw.trim();
    all.iter()
        .copied()
        .find(|x| label(*x) == t || code(*x) == t)
}

pub fn structure(raw: &str) -> Option<Structure> {
    pick(raw, &Structure::ALL, Structure::label_zh, Structure::as_str)
}

pub fn room_kind(raw: &str) -> Option<RoomKind> {
    pick(raw, &RoomKind::ALL, RoomKind::label_zh, RoomKind::as_str)
}

pub fn doc_type(raw: &str) -> Option<DocType> {
    pick(raw, &DocType::ALL, DocType::label_zh, DocType::as_str)
}

/// A row of the 房屋 sheet that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseRow {
    pub village: String,
    pub grid: String,
    pub address: String,
    pub address_key: String,
    pub floors: i32,
    pub structure: Structure,
    pub landlord_name: PersonName,
    pub landlord_phone: Phone,
}

/// A name of a village or grid as the admin spelled it: required, matched after trimming.
fn place(raw: &str, column: &'static str, errors: &mut Vec<CellError>) -> String {
    match super::fields::clean_text(raw, false) {
        Ok("") => {
            errors.push(CellError {
                column,
                message: format!("请填写{column}"),
            });
            String::new()
        }
        Ok(t) => t.to_string(),
        Err(m) => {
            errors.push(CellError {
                column,
                message: m.into(),
            });
            String::new()
        }
    }
}

impl HouseRow {
    /// Checks the seven cells of a 房屋 row (村, 网格, 地址, 层数, 结构, 房东姓名, 房东手机) and
    /// reports every refused cell at once.
    pub fn parse(cells: &[String]) -> Result<HouseRow, Vec<CellError>> {
        let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
        let mut e = Vec::new();
        let village = place(cell(0), "村", &mut e);
        let grid = place(cell(1), "网格", &mut e);
        let mut err = |column: &'static str, message: String| e.push(CellError { column, message });
        let address = parse_address(cell(2))
            .map_err(|m| err("地址", m.into()))
            .ok();
        let floors = parse_floors(cell(3))
            .map_err(|m| err("层数", m.into()))
            .ok();
        let structure = structure(cell(4));
        if structure.is_none() {
            err("结构", "结构须为下拉列表中的一项，例如 砖混结构".into());
        }
        let name = PersonName::parse(cell(5))
            .map_err(|m| err("房东姓名", m.into()))
            .ok();
        let phone = Phone::parse(cell(6))
            .map_err(|m| err("房东手机", m.to_string()))
            .ok();
        match (address, floors, structure, name, phone) {
            (
                Some(address),
                Some(floors),
                Some(structure),
                Some(landlord_name),
                Some(landlord_phone),
            ) if e.is_empty() => Ok(HouseRow {
                village,
                grid,
                address_key: address_key(&address),
                address,
                floors,
                structure,
                landlord_name,
                landlord_phone,
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address_share_a_key() {
        let same = [
            ("三组18号", "3组18号"),
            ("三组18号", "3组 18#"),
            ("三组18号", "３组１８号"),
            ("三组18号", " 三 组 18 号 "),
            ("十二组5号", "12组5号"),
            ("二十组5号", "20组5号"),
            ("二十三组5号", "23组5号"),
            ("十组1号", "10组1号"),
            ("一〇五组1号", "105组1号"),
            ("东区ｂ栋12＃", "东区B栋12号"),
        ];
        for (a, b) in same {
            assert_eq!(address_key(a), address_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn different_addresses_keep_different_keys() {
        let differ = [
            ("三组18号", "三组19号"),
            ("三组18号", "四组18号"),
            ("十二组5号", "二组5号"),
            ("锦绣村三号楼", "锦绣村3号楼"), // only the numeral before 组 is read
        ];
        for (a, b) in differ {
            assert_ne!(address_key(a), address_key(b), "{a} / {b}");
        }
        assert_eq!(address_key("十十组"), "十十组", "not a numeral: left alone");
    }

    #[test]
    fn drop_down_values_are_read_as_labels_or_codes() {
        assert_eq!(structure("砖混结构"), Some(Structure::BrickConcrete));
        assert_eq!(
            structure(" brick_concrete "),
            Some(Structure::BrickConcrete)
        );
        assert_eq!(structure("砖混"), None);
        assert_eq!(room_kind("卧室"), Some(RoomKind::Bedroom));
        assert_eq!(room_kind("kitchen"), Some(RoomKind::Kitchen));
        assert_eq!(doc_type("居民身份证"), Some(DocType::ResidentId));
        assert_eq!(doc_type("passport"), Some(DocType::Passport));
        assert_eq!(doc_type("身份证件"), None);
    }

    fn row(over: &[(usize, &str)]) -> Vec<String> {
        let mut r: Vec<String> = [
            "锦绣村",
            "锦绣村第一网格",
            "三组18号",
            "3",
            "砖混结构",
            "张建国",
            "13800138000",
        ]
        .map(String::from)
        .to_vec();
        for (i, v) in over {
            r[*i] = v.to_string();
        }
        r
    }

    #[test]
    fn a_good_house_row_is_parsed_with_its_key() {
        let h = HouseRow::parse(&row(&[(2, "三组 18#"), (6, "138 0013 8000")])).expect("valid");
        assert_eq!(h.address, "三组 18#");
        assert_eq!(h.address_key, address_key("三组18号"));
        assert_eq!(h.floors, 3);
        assert_eq!(h.structure, Structure::BrickConcrete);
        assert_eq!(h.landlord_phone.as_str(), "13800138000");
    }

    #[test]
    fn every_columns_bad_values_are_refused_naming_the_column() {
        let cases: &[(usize, &str, &str)] = &[
            (0, "", "村"),
            (0, "锦绣\u{0}村", "村"),
            (1, " ", "网格"),
            (2, "", "地址"),
            (2, "18号", "地址"),
            (2, &"长".repeat(201), "地址"),
            (2, "三组\u{7}18号", "地址"),
            (3, "", "层数"),
            (3, "三", "层数"),
            (3, "0", "层数"),
            (3, "51", "层数"),
            (3, "2.5", "层数"),
            (4, "", "结构"),
            (4, "土木", "结构"),
            (5, "", "房东姓名"),
            (5, "张<b>", "房东姓名"),
            (5, &"张".repeat(33), "房东姓名"),
            (6, "", "房东手机"),
            (6, "1380013800", "房东手机"),
            (6, "23800138000", "房东手机"),
        ];
        for (i, v, column) in cases {
            let e = HouseRow::parse(&row(&[(*i, v)])).expect_err(v);
            assert_eq!(e.len(), 1, "{v}: {e:?}");
            assert_eq!(e[0].column, *column, "{v}");
            assert!(!e[0].message.is_empty());
        }
        let all = HouseRow::parse(&[]).expect_err("an empty row");
        assert_eq!(all.len(), 7, "{all:?}");
    }
}

/// Where an import stands: checked by a dry run, being written, written, or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// A dry run is still reading the file; nothing may commit it.
    Checking,
    Checked,
    Running,
    Done,
    Failed,
}

impl ImportStatus {
    pub const ALL: [ImportStatus; 5] = [
        Self::Checking,
        Self::Checked,
        Self::Running,
        Self::Done,
        Self::Failed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Checked => "checked",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Checking => "正在检查",
            Self::Checked => "已检查，尚未导入",
            Self::Running => "正在导入",
            Self::Done => "导入完成",
            Self::Failed => "导入失败",
        }
    }
}

/// What committing a checked row would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    Create,
    Update,
    Unchanged,
}
