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
    #[error("server {server}: its root {root:?} cannot be opened: {source}")]
    Root {
        server: String,
        root: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("server {server}: {path:?}: {source}")]
    Io {
        server: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ServerError {
    pub(super) fn io(server: &str, path: &str, source: std::io::Error) -> Self {
        ServerError::Io {
            server: server.to_string(),
            path: path.to_string(),
            source,
        }
    }

    pub fn diva_status(&self) -> DivaStatusCode {
        match self {
            ServerError::UnknownServer(_) | ServerError::Root { .. } => {
                DivaStatusCode::DivaErrSourceOrDestinationDoesntExist
            }
            ServerError::InvalidPath { .. } | ServerError::NotFound { .. } => {
                DivaStatusCode::DivaErrInvalidParameter
            }
            ServerError::Exists { .. } => DivaStatusCode::DivaErrPathDestination,
            ServerError::Io { .. } => DivaStatusCode::DivaErrInternal,
        }
    }
}
