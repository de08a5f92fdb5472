//! A checked import as its owner sees it: the status and counts, and the refused rows as a
//! workbook that can be fixed and uploaded again.
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Serialize;

use super::dry_run::{Counts, ErrorOut, RefusedRow};
use super::template::{HOUSES, RESIDENTS, ROOMS};
use crate::crypto::pii::PiiCipher;
use crate::domain::role::Role;
use crate::entities::import;
use crate::error::AppError;
use crate::services::Actor;

/// The header of the message column the error sheet adds after the template's columns.
pub const MESSAGE_COLUMN: &str = "错误说明";

/// `GET /imports/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub id: i32,
    pub status: String,
    pub done: i32,
    pub total: i32,
    pub rows: Counts,
}

/// The import, if this actor may see it: the one who uploaded it, or the town admin.
pub async fn find<C: sea_orm::ConnectionTrait>(
    db: &C,
    actor: &Actor,
    id: i32,
) -> Result<import::Model, AppError> {
    let m = import::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    if m.created_by != actor.id && actor.role != Role::TownAdmin {
        return Err(AppError::forbidden());
    }
    Ok(m)
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id))]
pub async fn progress(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> Result<Progress, AppError> {
    let m = find(db, actor, id).await?;
    Ok(Progress {
        id: m.id,
        status: m.status,
        done: m.done,
        total: m.total,
        rows: Counts {
            create: m.count_create,
            update: m.count_update,
            unchanged: m.count_unchanged,
            error: m.count_error,
        },
    })
}

/// The refused rows of an import. They hold what the file held (ID numbers, phones), so they are
/// kept encrypted under the personal-data key; imports checked before that kept plain JSON.
fn refused_rows(pii: &PiiCipher, m: &import::Model) -> Result<Vec<RefusedRow>, AppError> {
    let json = if m.refused.starts_with('[') {
        m.refused.clone()
    } else {
        pii.decrypt(&m.refused).map_err(AppError::internal)?
    };
    serde_json::from_str(&json).map_err(AppError::internal)
}

/// The progress and the first `n` refused cells, for the result page.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id))]
pub async fn view(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    actor: &Actor,
    id: i32,
    n: usize,
) -> Result<(Progress, Vec<ErrorOut>), AppError> {
    let p = progress(db, actor, id).await?;
    let m = find(db, actor, id).await?;
    let refused = refused_rows(pii, &m)?;
    let errors = refused
        .iter()
        .flat_map(|r| {
            r.errors.iter().map(|(c, msg)| ErrorOut {
                sheet: r.sheet.clone(),
                row: r.row,
                column: c.clone(),
                message: msg.clone(),
            })
        })
        .take(n)
        .collect();
    Ok((p, errors))
}

/// The refused rows under the template's header plus a message column; the message names the
/// column and the row number of the uploaded file.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id, id))]
pub async fn errors_xlsx(
    db: &DatabaseConnection,
    pii: &PiiCipher,
    actor: &Actor,
    id: i32,
) -> Result<Vec<u8>, AppError> {
    let m = find(db, actor, id).await?;
    let refused = refused_rows(pii, &m)?;
    rocket::tokio::task::spawn_blocking(move || write(&refused).map_err(AppError::internal))
        .await
        .map_err(AppError::internal)?
}

/// One sheet per kind of row, each with the template's header (so the file uploads again as it
/// is), even when none of its rows was refused.
fn write(refused: &[RefusedRow]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let kinds: [(&str, &[&str]); 3] = [
        (HOUSES.0, &HOUSES.1),
        (ROOMS.0, &ROOMS.1),
        (RESIDENTS.0, &RESIDENTS.1),
    ];
    for (name, cols) in kinds {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        for (c, h) in cols.iter().chain([&MESSAGE_COLUMN]).enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
            ws.set_column_width(c as u16, 16)?;
        }
        let msg_col = cols.len() as u16;
        ws.set_column_width(msg_col, 60)?;
        for (i, r) in refused.iter().filter(|r| r.sheet == name).enumerate() {
            let row = i as u32 + 1;
            for (c, v) in r.cells.iter().enumerate().take(cols.len()) {
                ws.write_string(row, c as u16, v)?;
            }
            let msg: Vec<String> = r
                .errors
                .iter()
                .map(|(col, m)| format!("原第 {} 行「{col}」：{m}", r.row))
                .collect();
            ws.write_string(row, msg_col, msg.join("；"))?;
        }
        ws.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}
