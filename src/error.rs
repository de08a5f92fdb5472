//! One error type for the whole application: an HTML error page or a JSON problem, never a panic.
use rocket::Request;
use rocket::http::Status;
use serde::Serialize;

pub use crate::domain::fields::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("请先登录")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("提交的内容有误，请按提示修改")]
    Validation(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A service Anju depends on (the photo store) did not answer; the message says to retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("系统内部错误，请稍后再试")]
    Internal(String),
}

impl AppError {
    pub fn forbidden() -> Self {
        AppError::Forbidden("无权访问此记录".into())
    }
    pub fn not_found() -> Self {
        AppError::NotFound("记录不存在".into())
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }
    pub fn field(field: &str, msg: &str) -> Self {
        let mut f = FieldErrors::new();
        f.add(field, msg);
        AppError::Validation(f)
    }

    pub fn status(&self) -> Status {
        match self {
            AppError::Unauthorized => Status::Unauthorized,
            AppError::Forbidden(_) => Status::Forbidden,
            AppError::NotFound(_) => Status::NotFound,
            AppError::BadRequest(_) => Status::BadRequest,
            AppError::Validation(_) => Status::UnprocessableEntity,
            AppError::Conflict(_) => Status::Conflict,
            AppError::TooMany(_) => Status::TooManyRequests,
            AppError::PayloadTooLarge(_) => Status::PayloadTooLarge,
            AppError::Unavailable(_) => Status::ServiceUnavailable,
            AppError::Internal(_) => Status::InternalServerError,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation(_) => "validation_failed",
            AppError::Conflict(_) => "conflict",
            AppError::TooMany(_) => "too_many_requests",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        let detail = e.to_string();
        // PostgreSQL refuses NUL in text (SQLSTATE 22021). Every parser refuses control
        // characters first; this is the backstop for a path a parser missed, so it is logged.
        if detail.contains("invalid byte sequence") {
            tracing::warn!("text with a control character reached the database: {detail}");
            return AppError::BadRequest(format!(
                "提交的内容{}",
                crate::domain::fields::CONTROL_CHARACTER
            ));
        }
        AppError::Internal(format!("database: {detail}"))
    }
}

impl From<crate::storage::StorageError> for AppError {
    fn from(e: crate::storage::StorageError) -> Self {
        // The detail (which store, what failed) is for the log; the person is told to retry.
        tracing::error!("{e}");
        AppError::Unavailable("照片存储暂时无法访问，请稍后再试".into())
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

#[derive(Serialize)]
pub struct Problem<'a> {
    pub error: &'a str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<&'a FieldErrors>,
}

pub fn is_api(req: &Request<'_>) -> bool {
    req.uri().path().as_str().starts_with("/api/")
}

impl From<FieldErrors> for AppError {
    fn from(f: FieldErrors) -> Self {
        AppError::Validation(f)
    }
}

pub type AppResult<T> = Result<T, AppError>;
