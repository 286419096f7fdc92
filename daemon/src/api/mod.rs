//! The gRPC API of the daemon: `SystemService`, `LibraryService` (plus drive UP/DOWN),
//! `RequestService` over the request engine and `ObjectService` over the catalog.
//!
//! Library and catalog calls block (SCSI commands, sled I/O), so every handler runs them
//! on tokio's blocking pool.

mod audit;
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

use tapelib_proto::v1::library_service_server::LibraryServiceServer;
use tapelib_proto::v1::object_service_server::ObjectServiceServer;
use tapelib_proto::v1::request_service_server::RequestServiceServer;
use tapelib_proto::v1::system_service_server::SystemServiceServer;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;

use crate::catalog::Catalog;
use crate::config::DaemonConfig;
use crate::engine::Engine;
use crate::library::TapeLibrary;

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

/// The System, Library, Request and Object services over `engine` and its state.
pub fn routes(engine: Arc<Engine>) -> tonic::service::Routes {
    // Nobody can set this one: watch streams then end only with their request.
    let (_never, stopping) = watch::channel(false);
    routes_until(engine, stopping)
}

/// Like [`routes`]; open watch streams end when `stopping` turns true.
fn routes_until(engine: Arc<Engine>, stopping: watch::Receiver<bool>) -> tonic::service::Routes {
    let state = engine.state().clone();
    tonic::service::Routes::new(SystemServiceServer::new(SystemApi::new(state.clone())))
        .add_service(LibraryServiceServer::new(LibraryApi::new(state.clone())))
        .add_service(ObjectServiceServer::new(ObjectApi::new(state)))
        .add_service(RequestServiceServer::new(RequestApi::new(engine, stopping)))
}

/// Serves every service on `listener` until `shutdown` completes, then ends open watch
/// streams and lets the other calls in progress finish.
pub async fn serve_with_listener(
    engine: Arc<Engine>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (stop_tx, stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        stop_tx.send_replace(true);
    };
    tonic::transport::Server::builder()
        .add_routes(routes_until(engine, stopping))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
