//! One error type for the REST boundary, mapped once to HTTP status and protocol body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_protocol::{ApiError, ErrorCode};

/// A REST error: HTTP status plus the protocol's `{"error":{code,name,message}}` body.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub error: ApiError,
}

impl HttpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::from(ApiError::new(code, message))
    }

    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %e, "internal error");
        Self::new(ErrorCode::UnknownError, format!("{context} failed"))
    }
}

/// The HTTP status for each protocol error code.
pub fn status_for(code: u32) -> StatusCode {
    match ErrorCode::from_code(code) {
        Some(ErrorCode::NotEnoughPrivileges | ErrorCode::UserDisabledOrDeleted) => {
            StatusCode::FORBIDDEN
        }
        Some(ErrorCode::NotLoggedIn | ErrorCode::InvalidCredentials | ErrorCode::InvalidToken) => {
            StatusCode::UNAUTHORIZED
        }
        Some(
            ErrorCode::InvalidArgs
            | ErrorCode::InvalidRequest
            | ErrorCode::SelfCall
            | ErrorCode::EmptyNumber
            | ErrorCode::NoChatInService
            | ErrorCode::NoChannelInService,
        ) => StatusCode::BAD_REQUEST,
        Some(ErrorCode::NoService | ErrorCode::NoInteraction | ErrorCode::ObjectNotFound) => {
            StatusCode::NOT_FOUND
        }
        Some(
            ErrorCode::NotSuitableState
            | ErrorCode::DestinationUserNotLogged
            | ErrorCode::NoDisposition,
        ) => StatusCode::CONFLICT,
        Some(
            ErrorCode::LoggedWithoutPhone
            | ErrorCode::Banned
            | ErrorCode::NoPermissionsDidSms
            | ErrorCode::NoPermissionsDidCall,
        ) => StatusCode::FORBIDDEN,
        Some(ErrorCode::PayloadTooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
        Some(ErrorCode::RateLimited) => StatusCode::TOO_MANY_REQUESTS,
        Some(ErrorCode::Timeout | ErrorCode::ApiNotAnswer) => StatusCode::GATEWAY_TIMEOUT,
        Some(ErrorCode::ApiMethodNotImplemented) => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        let status = if baton_core::engine::is_conflict(&error) {
            StatusCode::CONFLICT
        } else {
            status_for(error.code)
        };
        Self { status, error }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.error })),
        )
            .into_response()
    }
}

pub type HttpResult<T> = Result<T, HttpError>;
