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
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;

pub use daemon::{channel, DaemonAddr};
pub use error::RestError;
pub use tls::{TlsError, TlsFiles};

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

/// How the facade speaks on its socket.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Plain HTTP; refused on a non-loopback address unless `allow_remote`.
    Plain { allow_remote: bool },
    /// HTTPS with this configuration (see [`TlsFiles::server_config`]).
    Tls(Arc<rustls::ServerConfig>),
}

/// Why the facade could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing plain HTTP on non-loopback address {0}: give a TLS certificate and key, \
         or allow plain HTTP explicitly"
    )]
    NotLoopback(SocketAddr),
    #[error("serving REST: {0}")]
    Io(#[from] std::io::Error),
}

/// Refuses plain HTTP on `addr` unless it is loopback, TLS is used or plain HTTP is
/// explicitly allowed. Callers check before binding so the refusal comes first.
pub fn check_transport(addr: SocketAddr, transport: &Transport) -> Result<(), ServeError> {
    match transport {
        Transport::Plain {
            allow_remote: false,
        } if !addr.ip().is_loopback() => Err(ServeError::NotLoopback(addr)),
        _ => Ok(()),
    }
}

/// How long open connections get to finish after shutdown is asked for.
const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown`, over plain HTTP or HTTPS.
pub async fn serve(
    app: Router,
    listener: tokio::net::TcpListener,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    check_transport(addr, &transport)?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match transport {
        Transport::Plain { .. } => {
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        Transport::Tls(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(GRACE));
            });
            axum_server::from_tcp_rustls(
                listener.into_std()?,
                axum_server::tls_rustls::RustlsConfig::from_config(config),
            )
            .handle(handle)
            .serve(service)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_loopback_only_unless_allowed() {
        let wide: SocketAddr = "0.0.0.0:8765".parse().expect("addr");
        let lo: SocketAddr = "127.0.0.1:8765".parse().expect("addr");
        let lo6: SocketAddr = "[::1]:8765".parse().expect("addr");
        let plain = Transport::Plain {
            allow_remote: false,
        };
        assert!(check_transport(lo, &plain).is_ok());
        assert!(check_transport(lo6, &plain).is_ok());
        let err = check_transport(wide, &plain).expect_err("refused");
        assert!(err.to_string().contains("0.0.0.0:8765"), "{err}");
        assert!(check_transport(wide, &Transport::Plain { allow_remote: true }).is_ok());
    }
}
