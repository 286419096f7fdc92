//! `SystemService`: version, health and the audit log.

use std::sync::Arc;

use tapelib_proto::v1::system_service_server::SystemService;
use tapelib_proto::v1::{
    ComponentHealth, GetVersionRequest, GetVersionResponse, HealthRequest, HealthResponse,
    HealthStatus, ListAuditLogRequest, ListAuditLogResponse,
};
use tonic::{Request, Response, Status};

use super::{audit, blocking, convert, ApiError, DaemonState};
use crate::library::DriveStatus;
use crate::request::RequestState;

/// The `SystemService` implementation.
#[derive(Debug, Clone)]
pub struct SystemApi {
    state: Arc<DaemonState>,
}

impl SystemApi {
    pub fn new(state: Arc<DaemonState>) -> Self {
        SystemApi { state }
    }
}

fn component(name: String, status: HealthStatus, detail: String) -> ComponentHealth {
    ComponentHealth {
        name,
        status: status as i32,
        detail,
    }
}

/// Health of every part, and the request counts, read from the catalog and libraries.
fn health(state: &DaemonState) -> Result<HealthResponse, ApiError> {
    let mut components = Vec::new();
    let (mut pending, mut running) = (0u64, 0u64);
    match state.catalog.active_requests() {
        Ok(active) => {
            for r in &active {
                match r.state {
                    RequestState::Pending => pending += 1,
                    RequestState::Running => running += 1,
                    _ => {}
                }
            }
            components.push(component(
                "catalog".into(),
                HealthStatus::Serving,
                String::new(),
            ));
        }
        Err(e) => components.push(component(
            "catalog".into(),
            HealthStatus::NotServing,
            e.to_string(),
        )),
    }
    for lib in &state.libraries {
        components.push(component(
            format!("library/{}", lib.name()),
            HealthStatus::Serving,
            String::new(),
        ));
        for d in lib.drives() {
            let (status, detail) = match d.status {
                DriveStatus::Up => (HealthStatus::Serving, String::new()),
                DriveStatus::Down { reason } => (HealthStatus::Degraded, reason),
            };
            components.push(component(
                format!("drive/{}/{}", lib.name(), d.name),
                status,
                detail,
            ));
        }
    }
    components.sort_by(|a, b| a.name.cmp(&b.name));
    // The worst status wins; the enum values grow with severity.
    let overall = components
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(HealthStatus::Serving as i32);
    Ok(HealthResponse {
        status: overall,
        components,
        start_time: Some(convert::timestamp(state.started)),
        pending_requests: pending,
        running_requests: running,
    })
}

#[tonic::async_trait]
impl SystemService for SystemApi {
    async fn get_version(
        &self,
        _request: Request<GetVersionRequest>,
    ) -> Result<Response<GetVersionResponse>, Status> {
        Ok(Response::new(GetVersionResponse {
            version: env!("CARGO_PKG_VERSION").to_string(),
            api_version: tapelib_proto::API_PACKAGE.to_string(),
            git_commit: option_env!("TAPELIB_GIT_COMMIT")
                .unwrap_or_default()
                .to_string(),
        }))
    }

    async fn health(
        &self,
        _request: Request<HealthRequest>,
    ) -> Result<Response<HealthResponse>, Status> {
        let state = self.state.clone();
        Ok(Response::new(blocking(move || health(&state)).await?))
    }

    async fn list_audit_log(
        &self,
        request: Request<ListAuditLogRequest>,
    ) -> Result<Response<ListAuditLogResponse>, Status> {
        let state = self.state.clone();
        let req = request.into_inner();
        Ok(Response::new(
            blocking(move || audit::list(&state.catalog, &req)).await?,
        ))
    }
}
