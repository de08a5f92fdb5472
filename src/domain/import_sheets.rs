//! Rows of the import's 房间 and 住户 sheets, checked with the house form's room rules and the
//! check-in form's parser, each refused cell named by its column header.
use chrono::NaiveDate;

use super::import::{CellError, address_key, doc_type};
use super::property::{RawRoom, RoomDraft, parse_address};
use super::stay::{CheckIn, Lang, MoveInWindow, RawCheckIn};

/// The key that makes two spellings of one room label the same room (widths and spaces folded).
pub fn label_key(raw: &str) -> String {
    super::identity::normalise(raw)
}

fn cell(cells: &[String], i: usize) -> &str {
    cells.get(i).map(String::as_str).unwrap_or("")
}

/// The 地址 and 房间号 that place a room or a resident in a house.
fn place(cells: &[String], e: &mut Vec<CellError>) -> (Option<String>, String) {
    let address = match parse_address(cell(cells, 0)) {
        Ok(a) => Some(a),
        Err(m) => {
            e.push(CellError {
                column: "地址",
                message: m.into(),
            });
            None
        }
    };
    let label = cell(cells, 1).trim().to_string();
    if label.is_empty() {
        e.push(CellError {
            column: "房间号",
            message: "请填写房间号，例如 201".into(),
        });
    }
    (address, label)
}

/// A row of the 房间 sheet (地址, 房间号, 楼层, 面积, 类型) that passed the form's room rules;
/// the floor is checked against the house's storeys once the house is found.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomRow {
    pub address: String,
    pub address_key: String,
    pub room: RoomDraft,
    pub label_key: String,
}

impl RoomRow {
    pub fn parse(cells: &[String]) -> Result<RoomRow, Vec<CellError>> {
        let mut e = Vec::new();
        let (address, _) = place(cells, &mut e);
        let kind = super::import::room_kind(cell(cells, 4));
        if kind.is_none() && !cell(cells, 4).trim().is_empty() {
            e.push(CellError {
                column: "类型",
                message: "类型须为下拉列表中的一项，例如 卧室".into(),
            });
        }
        let raw = RawRoom {
            label: cell(cells, 1).to_string(),
            floor: cell(cells, 2).to_string(),
            area_m2: cell(cells, 3).to_string(),
            kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        };
        let room = match raw.check(None) {
            Ok(r) => Some(r),
            Err(errs) => {
                for (f, m) in errs {
                    let column = match f {
                        "label" => "房间号",
                        "floor" => "楼层",
                        "area_m2" => "面积",
                        _ => "类型",
                    };
                    // A label left empty was reported with the address; a bad kind above.
                    if e.iter().any(|x| x.column == column) {
                        continue;
                    }
                    e.push(CellError { column, message: m });
                }
                None
            }
        };
        match (address, room) {
            (Some(address), Some(room)) if e.is_empty() => Ok(RoomRow {
                address_key: address_key(&address),
                address,
                label_key: label_key(&room.label),
                room,
            }),
            _ => Err(e),
        }
    }
}

/// A row of the 住户 sheet (地址, 房间号, 姓名, 证件类型, 证件号码, 手机, 入住日期), read by the
/// check-in form's parser (the register's move-in dates may lie further back than a check-in's).
#[derive(Debug, Clone)]
pub struct ResidentRow {
    pub address: String,
    pub address_key: String,
    pub room_label: String,
    pub label_key: String,
    pub check_in: CheckIn,
}

impl ResidentRow {
    pub fn parse(cells: &[String], today: NaiveDate) -> Result<ResidentRow, Vec<CellError>> {
        let mut e = Vec::new();
        let (address, room_label) = place(cells, &mut e);
        let doc = doc_type(cell(cells, 3));
        let raw = RawCheckIn {
            name: cell(cells, 2).to_string(),
            doc_type: doc.map(|d| d.as_str().to_string()).unwrap_or_default(),
            doc_number: cell(cells, 4).to_string(),
            phone: cell(cells, 5).to_string(),
            room_id: "0".into(),
            move_in: cell(cells, 6).to_string(),
            consent: true,
            ..Default::default()
        };
        let parsed = raw.parse_moved_in(today, Lang::Zh, false, MoveInWindow::Register);
        if doc.is_none() {
            e.push(CellError {
                column: "证件类型",
                message: "证件类型须为下拉列表中的一项，例如 居民身份证".into(),
            });
        }
        let check_in = match parsed {
            Ok(c) => Some(c),
            Err(fe) => {
                for (field, msgs) in fe.0 {
                    let column = match field.as_str() {
                        "name" => "姓名",
                        "doc_number" => "证件号码",
                        "phone" => "手机",
                        "move_in" => "入住日期",
                        // 证件类型 is reported above, by the sheet's own words.
                        _ => continue,
                    };
                    e.push(CellError {
                        column,
                        message: msgs.join("；"),
                    });
                }
                None
            }
        };
        match (address, check_in) {
            (Some(address), Some(check_in)) if e.is_empty() => Ok(ResidentRow {
                address_key: address_key(&address),
                address,
                label_key: label_key(&room_label),
                room_label,
                check_in,
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn a_room_row_takes_labels_or_codes_and_every_bad_cell_names_its_column() {
        let ok = RoomRow::parse(&cells(&["三组18号", "２０１", "2", "14.5", "卧室"])).unwrap();
        assert_eq!((ok.room.floor, ok.label_key.as_str()), (2, "201"));
        assert!(RoomRow::parse(&cells(&["三组18号", "201", "2", "14.5", "kitchen"])).is_ok());
        let cases: &[(usize, &str, &str)] = &[
            (0, "", "地址"),
            (0, "18号", "地址"),
            (1, "", "房间号"),
            (1, &"长".repeat(33), "房间号"),
            (2, "", "楼层"),
            (2, "0", "楼层"),
            (2, "二楼", "楼层"),
            (3, "", "面积"),
            (3, "0.5", "面积"),
            (3, "14.555", "面积"),
            (3, "大", "面积"),
            (4, "", "类型"),
            (4, "客房", "类型"),
        ];
        for (i, v, column) in cases {
            let mut c = cells(&["三组18号", "201", "2", "14.5", "卧室"]);
            c[*i] = v.to_string();
            let e = RoomRow::parse(&c).expect_err(v);
            assert_eq!(e.len(), 1, "{v}: {e:?}");
            assert_eq!(e[0].column, *column, "{v}");
        }
    }

    #[test]
    fn a_resident_row_is_read_by_the_check_in_parser_and_bad_cells_name_their_columns() {
        let good = [
            "三组18号",
            "201",
            "李明",
            "居民身份证",
            "11010519491231002X",
            "13900139000",
            "2024-03-01",
        ];
        let r = ResidentRow::parse(&cells(&good), today()).unwrap();
        assert_eq!(r.check_in.doc.as_str(), "11010519491231002X");
        assert_eq!(r.check_in.move_in.to_string(), "2024-03-01");
        let cases: &[(usize, &str, &str)] = &[
            (0, "", "地址"),
            (1, "", "房间号"),
            (2, "", "姓名"),
            (2, &"张".repeat(51), "姓名"),
            (3, "", "证件类型"),
            (3, "身份证件", "证件类型"),
            (4, "", "证件号码"),
            (4, "110105194912310021", "证件号码"),
            (5, "", "手机"),
            (5, "12345", "手机"),
            (6, "", "入住日期"),
            (6, "2026/13/01", "入住日期"),
            (6, "2027-01-01", "入住日期"),
        ];
        for (i, v, column) in cases {
            let mut c = cells(&good);
            c[*i] = v.to_string();
            let e = ResidentRow::parse(&c, today()).expect_err(v);
            assert_eq!(e.len(), 1, "{v}: {e:?}");
            assert_eq!(e[0].column, *column, "{v}");
        }
    }
}
