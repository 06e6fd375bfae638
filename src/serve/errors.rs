//! Errors as HTTP answers: `{"error": "…"}` with the status that matches the CLI's exit code
//! (bad input 400, unknown 404, wrong state 409, Redis unreachable 503).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use jobq::error::Error;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let status = match &e {
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            // Redis down, refusing our login or a command: the service cannot answer now.
            Error::Unavailable(_) | Error::Auth(_) | Error::Redis(_) => StatusCode::SERVICE_UNAVAILABLE,
            // The archive's PostgreSQL: no API endpoint reaches it today.
            Error::Io(_) | Error::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}
