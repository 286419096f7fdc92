//! The gRPC API of the daemon: `SystemService`, `AuthService`, `LibraryService` (plus
//! drive UP/DOWN), `RequestService` over the request engine and `ObjectService` over the
//! catalog. Every call passes the `authz` layer first.
//!
//! Library and catalog calls block (SCSI commands, sled I/O), so every handler runs them
//! on tokio's blocking pool.

mod alerts;
mod audit;
pub mod auth;
pub mod authz;
mod caller;
mod convert;
mod convert_request;
mod error;
mod library;
mod object;
mod paging;
mod request;
mod system;

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use tapelib_proto::v1::auth_service_server::AuthServiceServer;
use tapelib_proto::v1::library_service_server::LibraryServiceServer;
use tapelib_proto::v1::object_service_server::ObjectServiceServer;
use tapelib_proto::v1::request_service_server::RequestServiceServer;
use tapelib_proto::v1::system_service_server::SystemServiceServer;
use tokio::sync::watch;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::config::DaemonConfig;
use crate::engine::Engine;
use crate::library::TapeLibrary;

pub use auth::AuthApi;
pub use authz::{caller_of, AuthzLayer, Listener};
pub use caller::caller;
pub use error::ApiError;
pub use library::LibraryApi;
pub use object::ObjectApi;
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use request::RequestApi;
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

    /// The data directory: where the catalog lives, and with it the export documents and
    /// bit-integrity reports.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.config
            .catalog
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| std::path::PathBuf::from("."))
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

/// Every service over `engine` and its state, for callers that add their own
/// enforcement; open watch streams end only with their request.
pub fn routes(engine: Arc<Engine>, auth: Arc<Auth>) -> tonic::service::Routes {
    // Nobody can set this one: watch streams then end only with their request.
    let (_never, stopping) = watch::channel(false);
    routes_until(engine, auth, stopping)
}

/// Like [`routes`]; open watch streams end when `stopping` turns true.
pub fn routes_until(
    engine: Arc<Engine>,
    auth: Arc<Auth>,
    stopping: watch::Receiver<bool>,
) -> tonic::service::Routes {
    let state = engine.state().clone();
    tonic::service::Routes::new(SystemServiceServer::new(SystemApi::new(state.clone())))
        .add_service(AuthServiceServer::new(AuthApi::new(auth)))
        .add_service(LibraryServiceServer::new(LibraryApi::new(state.clone())))
        .add_service(ObjectServiceServer::new(ObjectApi::new(state)))
        .add_service(RequestServiceServer::new(RequestApi::new(engine, stopping)))
}

/// A shutdown future that also ends open watch streams.
fn with_stopping(
    shutdown: impl Future<Output = ()> + Send,
) -> (impl Future<Output = ()> + Send, watch::Receiver<bool>) {
    let (stop_tx, stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        stop_tx.send_replace(true);
    };
    (shutdown, stopping)
}

/// Serves every service on `listener` behind the enforcement layer until `shutdown`
/// completes, then ends open watch streams and lets the other calls in progress finish.
/// Every call needs a token except the public ones.
pub async fn serve_with_listener(
    engine: Arc<Engine>,
    auth: Arc<Auth>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (shutdown, stopping) = with_stopping(shutdown);
    tonic::transport::Server::builder()
        .layer(AuthzLayer::new(auth.clone(), Listener::Tcp))
        .add_routes(routes_until(engine, auth, stopping))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}

/// Serves the same services on the local Unix socket, where root and the daemon's own user
/// are sysadmin by their peer credentials.
pub async fn serve_unix(
    engine: Arc<Engine>,
    auth: Arc<Auth>,
    listener: tokio::net::UnixListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let daemon_uid = nix::unistd::geteuid().as_raw();
    let (shutdown, stopping) = with_stopping(shutdown);
    tonic::transport::Server::builder()
        .layer(AuthzLayer::new(
            auth.clone(),
            Listener::Local { daemon_uid },
        ))
        .add_routes(routes_until(engine, auth, stopping))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
}
