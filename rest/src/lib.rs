//! The DIVA-compatible REST facade: `/dataservice` (users, roles, profiles) and `/manager`
//! (resources and requests), each call translated to the daemon's gRPC API. It holds no
//! state; authentication and roles are enforced by the daemon, so REST and gRPC obey the
//! same rules.

pub mod daemon;
mod dataservice;
pub mod error;
mod extract;
mod json;
mod manager;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;

pub use daemon::{channel, DaemonAddr};
pub use error::RestError;

/// Largest request body accepted (the biggest legitimate one, an archive with many
/// components, is far smaller).
pub const BODY_LIMIT: usize = 1 << 20;

/// What the handlers share: the channel to the daemon.
#[derive(Debug, Clone)]
pub struct AppState {
    pub channel: tonic::transport::Channel,
}

/// The facade's router over `channel`.
pub fn router(channel: tonic::transport::Channel) -> Router {
    let mut app = Router::new();
    for route in routes::all() {
        app = app.route(route.path, route.handler);
    }
    let doc = routes::openapi();
    app.route(
        "/api-docs",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    )
    .fallback(|uri: Uri| async move { RestError::no_route(uri.path()) })
    .method_not_allowed_fallback(|| async {
        RestError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            tapelib_proto::v1::DivaStatusCode::DivaErrInvalidParameter,
            "method not allowed on this resource",
        )
        .into_response()
    })
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
    .with_state(AppState { channel })
}

/// Why the facade could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("refusing plain HTTP on non-loopback address {0}; allow it explicitly")]
    NotLoopback(SocketAddr),
    #[error("serving REST: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `app` on `listener` until `shutdown`. Plain HTTP is refused on a non-loopback
/// address unless `allow_remote_http`.
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    allow_remote_http: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() && !allow_remote_http {
        return Err(ServeError::NotLoopback(addr));
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
