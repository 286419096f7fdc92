//! Request extractors whose refusals are DIVA JSON: the caller (token and address), JSON
//! bodies and query strings.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tapelib_proto::v1::DivaStatusCode;

use crate::error::RestError;

/// Who is calling: the `Authorization` value as sent and the client address.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub authorization: Option<String>,
    pub client: Option<std::net::IpAddr>,
}

impl Caller {
    /// A gRPC request on behalf of this caller. Every route but login needs a token: the
    /// daemon's local socket would otherwise take the facade's own credentials for the
    /// caller's.
    pub fn request<T>(&self, message: T) -> Result<tonic::Request<T>, RestError> {
        let Some(auth) = self.authorization.as_deref() else {
            return Err(RestError::new(
                StatusCode::FORBIDDEN,
                DivaStatusCode::DivaErrAccessDenied,
                "access denied: no token (send Authorization: Bearer <token>)",
            ));
        };
        crate::daemon::request(message, Some(auth), self.client)
    }

    /// A request without a token, for logging in.
    pub fn anonymous<T>(&self, message: T) -> Result<tonic::Request<T>, RestError> {
        crate::daemon::request(message, None, self.client)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let authorization = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| {
                        RestError::new(
                            StatusCode::FORBIDDEN,
                            DivaStatusCode::DivaErrAccessDenied,
                            "Authorization is not valid header text",
                        )
                    })?
                    .to_string(),
            ),
        };
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Caller {
            authorization,
            client,
        })
    }
}

/// A JSON body; malformed JSON, wrong types and missing fields are 400, too large 413.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(RestError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    DivaStatusCode::DivaErrInvalidParameter,
                    "request body too large",
                ))
            }
            Err(e) => Err(RestError::bad_request(e.body_text())),
        }
    }
}

/// Query parameters; a malformed query is 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| RestError::bad_request(e.body_text()))
    }
}

/// A path parameter; an undecodable one is 400.
#[derive(Debug)]
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| RestError::bad_request(e.body_text()))
    }
}
