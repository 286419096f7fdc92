//! Enforcement for every gRPC service: a tower layer in front of all routes that finds the
//! caller (bearer token, or peer credentials on the local socket), checks the role the
//! method needs (`auth::permissions`) and hands the caller to the handler in the request
//! extensions. A refusal is answered here and never reaches a handler.

// tonic::Status is the error type of every handler; boxing it here would only move the cost.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tapelib_proto::v1::Role;
use tonic::transport::server::{TcpConnectInfo, UdsConnectInfo};
use tonic::Status;

use crate::auth::{access_for_path, role_name, Access, Auth, AuthError, Caller};

/// Metadata key by which a local front end (the REST facade) passes on its client's
/// address; honoured only from loopback and local-socket peers.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// Which connections the layer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// TCP: every caller needs a token.
    Tcp,
    /// The local Unix socket: root and the daemon's own user are sysadmin without a token.
    Local { daemon_uid: u32 },
}

/// The layer; one per listener.
#[derive(Debug, Clone)]
pub struct AuthzLayer {
    auth: Arc<Auth>,
    listener: Listener,
}

impl AuthzLayer {
    pub fn new(auth: Arc<Auth>, listener: Listener) -> Self {
        AuthzLayer { auth, listener }
    }
}

impl<S> tower::Layer<S> for AuthzLayer {
    type Service = Authz<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Authz {
            inner,
            auth: self.auth.clone(),
            listener: self.listener,
        }
    }
}

/// The service the layer wraps each route set in.
#[derive(Debug, Clone)]
pub struct Authz<S> {
    inner: S,
    auth: Arc<Auth>,
    listener: Listener,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for Authz<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        match self.admit(&req) {
            Ok(Some(caller)) => {
                req.extensions_mut().insert(caller);
            }
            Ok(None) => {}
            Err(e) => {
                let status = Status::from(e);
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        }
        // The clone that was made ready is the one to call (tower's readiness contract).
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(ready.call(req))
    }
}

impl<S> Authz<S> {
    /// The caller of `req` if the method allows it; `None` for public methods.
    fn admit<B>(&self, req: &http::Request<B>) -> Result<Option<Caller>, AuthError> {
        let path = req.uri().path();
        let required = match access_for_path(path) {
            None => {
                return Err(AuthError::Forbidden(format!(
                    "{path} is not an allowed method"
                )))
            }
            Some(Access::Public) => return Ok(None),
            Some(Access::Role(r)) => r,
        };
        let caller = self.identify(req)?;
        if !caller.role.includes(required) {
            tracing::info!(user = %caller.username, method = path, "refused: role");
            return Err(AuthError::RoleNotAllowed {
                method: path.trim_start_matches('/').to_string(),
                required: role_name(required),
                username: caller.username,
                role: role_name(caller.role),
            });
        }
        Ok(Some(caller))
    }

    fn identify<B>(&self, req: &http::Request<B>) -> Result<Caller, AuthError> {
        if let Some(value) = req.headers().get(http::header::AUTHORIZATION) {
            let text = value
                .to_str()
                .map_err(|_| AuthError::InvalidToken("not text".into()))?;
            let token = bearer(text)
                .ok_or_else(|| AuthError::InvalidToken("expected \"Bearer <token>\"".into()))?;
            return self.auth.verify(token);
        }
        if let Listener::Local { daemon_uid } = self.listener {
            let uid = req
                .extensions()
                .get::<UdsConnectInfo>()
                .and_then(|c| c.peer_cred)
                .map(|c| c.uid());
            if let Some(uid) = uid.filter(|u| *u == 0 || *u == daemon_uid) {
                return Ok(local_caller(uid));
            }
        }
        Err(AuthError::MissingToken)
    }
}

/// The token of an `Authorization` value: `Bearer <token>` (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn local_caller(uid: u32) -> Caller {
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid{uid}"));
    Caller {
        username: format!("local:{name}"),
        role: Role::Sysadmin,
        token: None,
    }
}

/// The caller the layer admitted (methods that need a role always have one).
pub fn caller_of<T>(request: &tonic::Request<T>) -> Result<Caller, AuthError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(AuthError::MissingToken)
}

/// The client's address for failed-login limits: the TCP peer, or the address a
/// loopback or local-socket front end forwarded.
pub fn client_ip<T>(request: &tonic::Request<T>) -> Option<IpAddr> {
    let tcp = request
        .extensions()
        .get::<TcpConnectInfo>()
        .and_then(|c| c.remote_addr())
        .map(|a| a.ip());
    let local = request.extensions().get::<UdsConnectInfo>().is_some();
    let trusted_front = local || tcp.is_some_and(|ip| ip.is_loopback());
    let forwarded = request
        .metadata()
        .get(FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    match forwarded {
        Some(ip) if trusted_front => Some(ip),
        _ => tcp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
