//! The gRPC API of the daemon: `SystemService`, `AuthService` and the read side of
//! `LibraryService` (plus drive UP/DOWN), answered from the opened libraries and the
//! catalog. Every call passes the `authz` layer first.
//!
//! Library and catalog calls block (SCSI commands, sled I/O), so every handler runs them
//! on tokio's blocking pool.

pub mod auth;
pub mod authz;
mod convert;
mod error;
mod library;
mod paging;
mod system;

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use tapelib_proto::v1::auth_service_server::AuthServiceServer;
use tapelib_proto::v1::library_service_server::LibraryServiceServer;
use tapelib_proto::v1::system_service_server::SystemServiceServer;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::config::DaemonConfig;
use crate::library::TapeLibrary;

pub use auth::AuthApi;
pub use authz::{caller_of, AuthzLayer, Listener};
pub use error::ApiError;
pub use library::LibraryApi;
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use system::SystemApi;

/// What the API handlers share: the configuration, the catalog and the opened libraries.
#[derive(Debug)]
pub struct DaemonState {
    pub config: DaemonConfig,
    pub catalog: Catalog,
    pub libraries: Vec<Arc<TapeLibrary>>,
    pub started: SystemTime,
}

impl DaemonState {
    pub fn new(config: DaemonConfig, catalog: Catalog, libraries: Vec<Arc<TapeLibrary>>) -> Self {
        DaemonState {
            config,
            catalog,
            libraries,
            started: SystemTime::now(),
        }
    }
}

/// Runs `f` on the blocking pool; a panic in `f` becomes an internal error.
pub(crate) async fn blocking<R, F>(f: F) -> Result<R, ApiError>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("handler task failed: {e}")))?
}

/// The implemented services behind the enforcement layer for `listener`.
fn router(
    state: Arc<DaemonState>,
    auth: Arc<Auth>,
    listener: Listener,
) -> tonic::transport::server::Router<
    tower::layer::util::Stack<AuthzLayer, tower::layer::util::Identity>,
> {
    // Only implemented services are registered: the others answer UNIMPLEMENTED.
    tonic::transport::Server::builder()
        .layer(AuthzLayer::new(auth.clone(), listener))
        .add_service(AuthServiceServer::new(AuthApi::new(auth)))
        .add_service(SystemServiceServer::new(SystemApi::new(state.clone())))
        .add_service(LibraryServiceServer::new(LibraryApi::new(state)))
}

/// Serves the implemented services on `listener` until `shutdown` completes, then lets the
/// calls in progress finish. Every call needs a token except the public ones.
pub async fn serve_with_listener(
    state: Arc<DaemonState>,
    auth: Arc<Auth>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    router(state, auth, Listener::Tcp)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}

/// Serves the same services on the local Unix socket, where root and the daemon's own user
/// are sysadmin by their peer credentials.
pub async fn serve_unix(
    state: Arc<DaemonState>,
    auth: Arc<Auth>,
    listener: tokio::net::UnixListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let daemon_uid = nix::unistd::geteuid().as_raw();
    router(state, auth, Listener::Local { daemon_uid })
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
}
