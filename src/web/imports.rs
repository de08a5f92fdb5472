//! Pages and downloads for importing the villages' existing registers (officials and the town admin).
use rocket::get;
use rocket::http::{ContentType, Header};

use super::guards::Staff;
use crate::error::AppResult;
use crate::services::imports::template as tpl;

/// A spreadsheet download: the body plus a Content-Disposition header.
#[derive(rocket::Responder)]
pub struct XlsxDownload {
    inner: (ContentType, Vec<u8>),
    disposition: Header<'static>,
}

fn xlsx_type() -> ContentType {
    ContentType::new(
        "application",
        "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
}

/// The empty template with an example row (导入模板).
#[get("/imports/template.xlsx")]
pub async fn template_xlsx(_who: Staff) -> AppResult<XlsxDownload> {
    let bytes = rocket::tokio::task::spawn_blocking(tpl::xlsx)
        .await
        .map_err(crate::error::AppError::internal)??;
    Ok(XlsxDownload {
        inner: (xlsx_type(), bytes),
        disposition: Header::new(
            "Content-Disposition",
            "attachment; filename=\"anju-import-template.xlsx\"; filename*=UTF-8''%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
        ),
    })
}
