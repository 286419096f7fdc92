//! The gRPC API of the daemon: `SystemService` and the read side of `LibraryService`
//! (plus drive UP/DOWN), answered from the opened libraries and the catalog.
//!
//! Library and catalog calls block (SCSI commands, sled I/O), so every handler runs them
//! on tokio's blocking pool.

mod convert;
mod error;
mod library;
mod paging;
mod system;

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use tapelib_proto::v1::library_service_server::LibraryServiceServer;
use tapelib_proto::v1::system_service_server::SystemServiceServer;
use tokio_stream::wrappers::TcpListenerStream;

use crate::catalog::Catalog;
use crate::config::DaemonConfig;
use crate::library::TapeLibrary;

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

/// Serves the implemented services on `listener` until `shutdown` completes, then lets the
/// calls in progress finish.
pub async fn serve_with_listener(
    state: Arc<DaemonState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    // Only implemented services are registered: the others answer UNIMPLEMENTED.
    tonic::transport::Server::builder()
        .add_service(SystemServiceServer::new(SystemApi::new(state.clone())))
        .add_service(LibraryServiceServer::new(LibraryApi::new(state)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
