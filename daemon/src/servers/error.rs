//! Server errors with the DIVA status each maps to.

use crate::request::DivaStatusCode;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("no server named {0:?} is configured")]
    UnknownServer(String),
    #[error("server {server}: path {path:?} is not allowed: {reason}")]
    InvalidPath {
        server: String,
        path: String,
        reason: String,
    },
    #[error("server {server}: {path:?} does not exist")]
    NotFound { server: String, path: String },
    #[error("server {server}: {path:?} already exists")]
    Exists { server: String, path: String },
    #[error("server {server}: {path:?}: {source}")]
    Io {
        server: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ServerError {
    pub fn diva_status(&self) -> DivaStatusCode {
        match self {
            ServerError::UnknownServer(_) => DivaStatusCode::DivaErrSourceOrDestinationDoesntExist,
            ServerError::InvalidPath { .. } | ServerError::NotFound { .. } => {
                DivaStatusCode::DivaErrInvalidParameter
            }
            ServerError::Exists { .. } => DivaStatusCode::DivaErrPathDestination,
            ServerError::Io { .. } => DivaStatusCode::DivaErrInternal,
        }
    }
}
