//! Errors as DIVA JSON: `{"code": 1035, "name": "DIVA_ERR_ACCESS_DENIED", "message": ...}`
//! with an HTTP status chosen from the DIVA code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tapelib_proto::v1::{DivaError, DivaStatusCode};

/// A refused or failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{name} ({code}): {message}")]
pub struct RestError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: i32,
    pub name: String,
    pub message: String,
}

impl RestError {
    pub fn new(status: StatusCode, code: DivaStatusCode, message: impl Into<String>) -> Self {
        RestError {
            status,
            code: code.code(),
            name: code.name().to_string(),
            message: message.into(),
        }
    }

    /// 400 with DIVA_ERR_INVALID_PARAMETER.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            DivaStatusCode::DivaErrInvalidParameter,
            message,
        )
    }

    /// 404 for a path no route serves.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            DivaStatusCode::DivaErrComponentNotFound,
            format!("no such resource: {path}"),
        )
    }
}

/// The HTTP status for a DIVA error from the daemon.
fn http_status(grpc: tonic::Code, code: Option<DivaStatusCode>) -> StatusCode {
    use tonic::Code;
    if code == Some(DivaStatusCode::DivaErrAccessDenied) {
        // The guides: an invalid or expired token, or a role without the right, is 403.
        return StatusCode::FORBIDDEN;
    }
    match grpc {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
        Code::Unauthenticated | Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<tonic::Status> for RestError {
    fn from(s: tonic::Status) -> Self {
        let d = DivaError::from_status_lossy(&s);
        let status = http_status(s.code(), d.status_code().ok());
        if status.is_server_error() {
            tracing::warn!(code = ?s.code(), message = s.message(), "daemon call failed");
        }
        RestError {
            status,
            code: d.code,
            name: d.name,
            message: d.message,
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_statuses_map_to_http() {
        let e = RestError::from(
            DivaError::new(DivaStatusCode::DivaErrAccessDenied, "no").into_status(),
        );
        assert_eq!((e.status, e.code), (StatusCode::FORBIDDEN, 1035));
        let e = RestError::from(
            DivaError::new(DivaStatusCode::DivaErrObjectDoesntExist, "x").into_status(),
        );
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.name, "DIVA_ERR_OBJECT_DOESNT_EXIST");
        let e = RestError::from(tonic::Status::unavailable("down"));
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
