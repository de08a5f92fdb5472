//! How an `AppError` reaches the client: a JSON problem under `/api/`, otherwise the error page
//! (or the sign-in page when not signed in). Lives here so `error.rs` knows nothing of pages.
use rocket::Request;
use rocket::http::ContentType;
use rocket::response::{self, Responder, Response};

use crate::error::{AppError, Problem, is_api};

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if let AppError::Internal(detail) = &self {
            tracing::error!(path = %req.uri(), "internal error: {detail}");
        }
        if is_api(req) {
            let fields = match &self {
                AppError::Validation(f) => Some(f),
                _ => None,
            };
            let body = serde_json::to_string(&Problem {
                error: self.code(),
                message: self.to_string(),
                fields,
            })
            .unwrap_or_else(|_| "{\"error\":\"internal\"}".into());
            return Response::build()
                .status(status)
                .header(ContentType::JSON)
                .sized_body(body.len(), std::io::Cursor::new(body))
                .ok();
        }
        if matches!(self, AppError::Unauthorized) {
            return rocket::response::Redirect::to("/login").respond_to(req);
        }
        let detail = match &self {
            AppError::Validation(f) => {
                f.0.values()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("；")
            }
            _ => String::new(),
        };
        super::pages::error_page(req, status, &self.to_string(), &detail)
    }
}
