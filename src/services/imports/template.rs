//! The import template: one sheet per kind of row, the columns API.md names, an example row,
//! drop-down lists built from the domain enums (so the lists and the validation never disagree),
//! and a 说明 sheet that explains the rules in Chinese.
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Workbook, Worksheet, XlsxError,
};

use crate::domain::identity::DocType;
use crate::domain::occupancy::RoomKind;
use crate::domain::property::Structure;

/// Sheet names and their columns, in the order the importer reads them.
pub const HOUSES: (&str, [&str; 7]) = (
    "房屋",
    ["村", "网格", "地址", "层数", "结构", "房东姓名", "房东手机"],
);
pub const ROOMS: (&str, [&str; 5]) = ("房间", ["地址", "房间号", "楼层", "面积", "类型"]);
pub const RESIDENTS: (&str, [&str; 7]) = (
    "住户",
    [
        "地址",
        "房间号",
        "姓名",
        "证件类型",
        "证件号码",
        "手机",
        "入住日期",
    ],
);
pub const NOTES_SHEET: &str = "说明";

/// Rows that carry a drop-down list: generous, since a village register can be long.
const LIST_ROWS: u32 = 100_000;

const NOTES: [&str; 12] = [
    "安居 · 房屋与住户导入模板",
    "1. 「房屋」「房间」「住户」三张表各填一行一条记录；第 1 行是表头，请勿修改；第 2 行是示例，导入前请删除或改成真实数据。",
    "2. 同一房屋以「村 + 地址」识别：全角/半角、空格、“号”与“#”、“组”前的中文数字（如 三组 与 3组）视为相同。",
    "3. 房东以手机号识别；已导入的房东在登记页用短信验证码认领账号并设置密码。",
    "4. 住户以「证件号码 + 房屋 + 入住日期」识别；同一份文件重复导入不会产生重复记录。",
    "5. 结构、类型、证件类型可从下拉列表选择，也可填写英文代码（如 brick_concrete、bedroom、resident_id）。",
    "6. 居民身份证须为 18 位并通过校验码检查；手机须为 11 位中国大陆手机号；日期写作 2026-03-01，入住日期不能晚于 7 天后。",
    "7. 面积以平方米为单位，最多两位小数；层数、楼层为整数。",
    "8. 「房间」「住户」表的地址须与「房屋」表或系统中已有房屋的地址一致。",
    "9. 村干部只能导入本村的房屋、房间和住户。住户与扫码登记遵守同样的规则（核定人数、每间人数、一人只能有一条未结束的登记）：持有效准入证的房屋，住户导入后即为在住；尚无准入证的房屋（含本次新导入的房屋），住户导入为待确认，房屋取得准入证时在核定人数内自动转为在住。",
    "10. 先上传进行「试导入」：系统逐行检查并说明每行将新增、更新、不变或出错，不会写入任何数据。",
    "11. 出错的行可下载为 Excel（最后一列写明原因），改正后可直接再次上传。",
];

fn xerr(e: XlsxError) -> crate::error::AppError {
    crate::error::AppError::internal(e)
}

fn header(ws: &mut Worksheet, name: &str, cols: &[&str], bold: &Format) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    for (c, h) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, bold)?;
        ws.set_column_width(c as u16, 16)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn row(ws: &mut Worksheet, values: &[&str]) -> Result<(), XlsxError> {
    for (c, v) in values.iter().enumerate() {
        ws.write_string(1, c as u16, *v)?;
    }
    Ok(())
}

/// A drop-down of the Chinese labels on one column. A code typed instead is accepted by the
/// importer, so Excel only warns rather than refusing it.
fn list(ws: &mut Worksheet, col: u16, labels: &[&str], title: &str) -> Result<(), XlsxError> {
    let v = DataValidation::new()
        .allow_list_strings(labels)?
        .set_error_style(DataValidationErrorStyle::Warning)
        .set_error_title(title)?
        .set_error_message("请从下拉列表中选择，或填写对应的英文代码")?;
    ws.add_data_validation(1, col, LIST_ROWS, col, &v)?;
    Ok(())
}

/// The template as XLSX bytes. It holds no data from the database, so anyone allowed to import
/// gets the same file.
#[tracing::instrument(level = "debug", skip_all)]
pub fn xlsx() -> Result<Vec<u8>, crate::error::AppError> {
    build().map_err(xerr)
}

fn build() -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let structures: Vec<&str> = Structure::ALL.iter().map(|s| s.label_zh()).collect();
    let kinds: Vec<&str> = RoomKind::ALL.iter().map(|k| k.label_zh()).collect();
    let docs: Vec<&str> = DocType::ALL.iter().map(|d| d.label_zh()).collect();

    let ws = wb.add_worksheet();
    header(ws, HOUSES.0, &HOUSES.1, &bold)?;
    row(
        ws,
        &[
            "锦绣村",
            "锦绣村第一网格",
            "三组18号",
            "3",
            structures[0],
            "张建国",
            "13800138000",
        ],
    )?;
    list(ws, 4, &structures, "结构")?;

    let ws = wb.add_worksheet();
    header(ws, ROOMS.0, &ROOMS.1, &bold)?;
    row(ws, &["三组18号", "201", "2", "14.5", kinds[0]])?;
    list(ws, 4, &kinds, "类型")?;

    let ws = wb.add_worksheet();
    header(ws, RESIDENTS.0, &RESIDENTS.1, &bold)?;
    row(
        ws,
        &[
            "三组18号",
            "201",
            "李明",
            docs[0],
            "11010519491231002X",
            "13900139000",
            "2026-03-01",
        ],
    )?;
    list(ws, 3, &docs, "证件类型")?;

    let ws = wb.add_worksheet();
    ws.set_name(NOTES_SHEET)?;
    ws.set_column_width(0, 110)?;
    for (r, line) in NOTES.iter().enumerate() {
        if r == 0 {
            ws.write_string_with_format(0, 0, *line, &bold)?;
        } else {
            ws.write_string(r as u32, 0, *line)?;
        }
    }
    wb.save_to_buffer()
}
