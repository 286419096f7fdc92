//! Client side of authentication, shared by `tapectl`, the REST facade and tests: reaching
//! the daemon over TCP or its local socket, sending a bearer token with every call, and the
//! token file `tapectl login` keeps in the user's configuration directory.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};

/// Why a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid address {addr}: {reason}")]
    Address { addr: String, reason: String },
    #[error("cannot reach tapelibd at {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("the token is not valid header text")]
    Token,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no configuration directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoConfigDir,
}

/// Where the daemon is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The local Unix socket.
    Socket(PathBuf),
    /// A gRPC URL such as `http://127.0.0.1:50051`.
    Addr(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Socket(p) => write!(f, "unix:{}", p.display()),
            Target::Addr(a) => f.write_str(a),
        }
    }
}

/// Adds `authorization: Bearer <token>` to every call when a token is set.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn new(token: Option<&str>) -> Result<Self, ClientError> {
        token
            .map(|t| {
                let t = t.trim();
                let t = t.strip_prefix("Bearer ").unwrap_or(t);
                MetadataValue::try_from(format!("Bearer {t}")).map_err(|_| ClientError::Token)
            })
            .transpose()
            .map(Bearer)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// A channel that sends the token with every call; give it to any generated client.
pub type AuthedChannel = InterceptedService<Channel, Bearer>;

/// Connects to `target` (lazily for sockets, so a daemon restart is picked up per call).
pub async fn connect(target: &Target) -> Result<Channel, ClientError> {
    match target {
        Target::Addr(addr) => Endpoint::from_shared(addr.clone())
            .map_err(|e| ClientError::Address {
                addr: addr.clone(),
                reason: e.to_string(),
            })?
            .connect()
            .await
            .map_err(|e| ClientError::Connect {
                target: target.to_string(),
                reason: e.to_string(),
            }),
        Target::Socket(path) => {
            let path = path.clone();
            // The URI is required by the API but unused: the connector dials the socket.
            Endpoint::from_static("http://localhost")
                .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(&path).await?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                    }
                }))
                .await
                .map_err(|e| ClientError::Connect {
                    target: target.to_string(),
                    reason: format!("{e}: {:?}", std::error::Error::source(&e)),
                })
        }
    }
}

/// Connects and attaches `token`.
pub async fn connect_with_token(
    target: &Target,
    token: Option<&str>,
) -> Result<AuthedChannel, ClientError> {
    let channel = connect(target).await?;
    Ok(InterceptedService::new(channel, Bearer::new(token)?))
}

/// `$XDG_CONFIG_HOME/tapelib/token` or `~/.config/tapelib/token`.
pub fn token_file() -> Result<PathBuf, ClientError> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .ok_or(ClientError::NoConfigDir)?,
        )
        .join(".config"),
    };
    Ok(base.join("tapelib").join("token"))
}

fn io(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Stores a token readable only by the user (replacing an older one).
pub fn store_token(path: &Path, token: &str) -> Result<(), ClientError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    std::io::Write::write_all(&mut f, format!("{token}\n").as_bytes()).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// The stored token, if any. A token file others can read is ignored with a warning.
pub fn load_token(path: &Path) -> Result<Option<String>, ClientError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            tracing::warn!(path = %path.display(), "token file readable by others; ignored");
            Ok(None)
        }
        Ok(_) => {
            let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
            Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

/// Removes the stored token; true when there was one.
pub fn remove_token(path: &Path) -> Result<bool, ClientError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cfg/tapelib/token");
        assert_eq!(load_token(&path).expect("load"), None);
        store_token(&path, "abc.def.ghi").expect("store");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            load_token(&path).expect("load").as_deref(),
            Some("abc.def.ghi")
        );
        assert!(remove_token(&path).expect("remove"));
        assert!(!remove_token(&path).expect("remove"));
    }
}
