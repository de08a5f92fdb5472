//! Serves stored photos to the people allowed to see them.
use rocket::http::{ContentType, Header};
use rocket::{Responder, State, get};

use super::guards::CurrentUser;
use crate::AppRef;
use crate::error::AppResult;
use crate::services::photos;

#[derive(Responder)]
pub struct PhotoResponse {
    body: (ContentType, Vec<u8>),
    cache: Header<'static>,
}

#[get("/photos/<id>")]
pub async fn photo(who: CurrentUser, st: &State<AppRef>, id: &str) -> AppResult<PhotoResponse> {
    let bytes = photos::read(&st.db, &st.storage, &who.0, id).await?;
    Ok(PhotoResponse {
        body: (ContentType::JPEG, bytes),
        cache: Header::new("Cache-Control", "private, max-age=86400"),
    })
}
