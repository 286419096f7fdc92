//! The connection to the daemon: one lazily connected gRPC channel (TCP or the local
//! socket), shared by all handlers, and the caller's token forwarded with each call.

use std::path::PathBuf;

use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::error::RestError;

/// Where the daemon is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAddr {
    /// gRPC URL, e.g. `http://127.0.0.1:50051`.
    Url(String),
    /// The daemon's local socket.
    Socket(PathBuf),
}

impl DaemonAddr {
    /// `unix:/path` or a path starting with `/` is a socket; anything else a URL.
    pub fn parse(text: &str) -> DaemonAddr {
        match text.strip_prefix("unix:") {
            Some(p) => DaemonAddr::Socket(PathBuf::from(p)),
            None if text.starts_with('/') => DaemonAddr::Socket(PathBuf::from(text)),
            None => DaemonAddr::Url(text.to_string()),
        }
    }
}

/// Why the channel could not be made.
#[derive(Debug, thiserror::Error)]
#[error("invalid daemon address {addr}: {reason}")]
pub struct AddrError {
    addr: String,
    reason: String,
}

/// A channel that connects on first use and reconnects after failures.
pub fn channel(addr: &DaemonAddr) -> Result<Channel, AddrError> {
    match addr {
        DaemonAddr::Url(url) => Ok(Endpoint::from_shared(url.clone())
            .map_err(|e| AddrError {
                addr: url.clone(),
                reason: e.to_string(),
            })?
            .connect_lazy()),
        DaemonAddr::Socket(path) => {
            let path = path.clone();
            // The URI is required but unused: the connector dials the socket.
            Ok(
                Endpoint::from_static("http://localhost").connect_with_connector_lazy(
                    tower::service_fn(move |_: http::Uri| {
                        let path = path.clone();
                        async move {
                            let s = tokio::net::UnixStream::connect(&path).await?;
                            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
                        }
                    }),
                ),
            )
        }
    }
}

/// A gRPC request carrying the caller's `Authorization` value and address.
pub fn request<T>(
    message: T,
    authorization: Option<&str>,
    client: Option<std::net::IpAddr>,
) -> Result<tonic::Request<T>, RestError> {
    let mut req = tonic::Request::new(message);
    if let Some(auth) = authorization {
        let value = MetadataValue::try_from(auth)
            .map_err(|_| RestError::bad_request("Authorization is not valid header text"))?;
        req.metadata_mut().insert("authorization", value);
    }
    if let Some(ip) = client {
        if let Ok(v) = MetadataValue::try_from(ip.to_string()) {
            req.metadata_mut().insert("x-forwarded-for", v);
        }
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            DaemonAddr::parse("unix:/run/t.sock"),
            DaemonAddr::Socket("/run/t.sock".into())
        );
        assert_eq!(
            DaemonAddr::parse("/run/t.sock"),
            DaemonAddr::Socket("/run/t.sock".into())
        );
        assert_eq!(
            DaemonAddr::parse("http://127.0.0.1:1"),
            DaemonAddr::Url("http://127.0.0.1:1".into())
        );
    }
}
