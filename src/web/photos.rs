//! Serves stored photos to the people allowed to see them.
use rocket::http::{ContentType, Header};
use rocket::{Responder, State, get};

use super::guards::CurrentUser;
use crate::AppRef;
use crate::error::{AppError, AppResult};
use crate::services::uploads;

#[derive(Responder)]
pub struct PhotoResponse {
    body: (ContentType, Vec<u8>),
    cache: Header<'static>,
}

#[get("/photos/<id>")]
pub async fn photo(who: CurrentUser, st: &State<AppRef>, id: &str) -> AppResult<PhotoResponse> {
    let (u, path) = uploads::photo_path(&st.db, &st.config.uploads_dir(), id).await?;
    if !uploads::may_view(&st.db, &who.0, &u).await? {
        return Err(AppError::forbidden());
    }
    let bytes = rocket::tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::not_found())?;
    Ok(PhotoResponse {
        body: (ContentType::JPEG, bytes),
        cache: Header::new("Cache-Control", "private, max-age=86400"),
    })
}
