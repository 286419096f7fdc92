//! `RequestService`: submitting requests to the engine, reading them back, cancelling,
//! changing priority and watching progress.

use std::sync::Arc;

use tapelib_proto::v1::request_service_server::RequestService;
use tapelib_proto::v1::{
    CancelRequestRequest, CancelRequestResponse, ChangePriorityRequest, ChangePriorityResponse,
    GetRequestRequest, GetRequestResponse, ListRequestsRequest, ListRequestsResponse, ObjectRef,
    RequestInfo, RequestState, RequestType, SubmitArchiveRequest, SubmitCopyRequest,
    SubmitDeleteRequest, SubmitEjectRequest, SubmitExportRequest, SubmitImportRequest,
    SubmitInsertRequest, SubmitPartialRestoreRequest, SubmitRepackRequest, SubmitResponse,
    SubmitRestoreRequest, SubmitVerifyRequest, WatchRequestRequest, WatchRequestResponse,
};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::caller::caller;
use super::convert_request as conv;
use super::paging::paginate;
use super::{blocking, ApiError};
use crate::catalog::MAX_PAGE;
use crate::engine::Engine;
use crate::request::{CancelOutcome, Priority, RequestKind, RequestRecord};

/// Updates a watcher may fall behind by before the stream waits for it.
const WATCH_BUFFER: usize = 16;

/// The `RequestService` implementation.
#[derive(Debug, Clone)]
pub struct RequestApi {
    engine: Arc<Engine>,
    /// Turns true when the server stops, so open watch streams end and let it.
    stopping: watch::Receiver<bool>,
}

impl RequestApi {
    pub fn new(engine: Arc<Engine>, stopping: watch::Receiver<bool>) -> Self {
        RequestApi { engine, stopping }
    }

    /// Submits a converted request on the blocking pool and answers with its id.
    async fn submit(
        &self,
        rpc: &'static str,
        actor: String,
        kind: Result<RequestKind, ApiError>,
        priority: Option<u32>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let span = tracing::info_span!("rpc", rpc, %actor, request_id = tracing::field::Empty);
        let engine = self.engine.clone();
        let run = async move {
            let kind = kind?;
            let priority = conv::priority(priority)?;
            let rec = blocking(move || Ok(engine.submit(kind, priority, &actor)?)).await?;
            tracing::Span::current().record("request_id", rec.id);
            Ok::<_, ApiError>(SubmitResponse { request_id: rec.id })
        };
        Ok(Response::new(run.instrument(span).await?))
    }

    async fn get(&self, id: u64) -> Result<RequestRecord, ApiError> {
        let engine = self.engine.clone();
        blocking(move || Ok(engine.requests().get(id)?)).await
    }
}

/// Every stored request, oldest first.
fn all_requests(engine: &Engine) -> Result<Vec<RequestRecord>, ApiError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = engine.requests().list(cursor.as_ref(), MAX_PAGE)?;
        out.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// The filters of a list call, checked: unknown enum values are refused, UNSPECIFIED is
/// ignored.
struct Filter<'a> {
    states: Vec<i32>,
    types: Vec<i32>,
    since: Option<i128>,
    object: Option<&'a ObjectRef>,
}

fn enum_filter(
    parameter: &'static str,
    values: &[i32],
    known: impl Fn(i32) -> bool,
) -> Result<Vec<i32>, ApiError> {
    let mut out = Vec::new();
    for &v in values {
        if !known(v) {
            return Err(ApiError::InvalidParameter {
                parameter,
                reason: format!("{v} is not a known value"),
            });
        }
        if v != 0 {
            out.push(v);
        }
    }
    Ok(out)
}

impl<'a> Filter<'a> {
    fn new(req: &'a ListRequestsRequest) -> Result<Self, ApiError> {
        if let Some(ObjectRef { name, collection }) = &req.object {
            if name.is_empty() || collection.is_empty() {
                return Err(ApiError::InvalidParameter {
                    parameter: "object",
                    reason: "both name and collection are required".into(),
                });
            }
        }
        Ok(Filter {
            states: enum_filter("states", &req.states, |v| RequestState::try_from(v).is_ok())?,
            types: enum_filter("types", &req.types, |v| RequestType::try_from(v).is_ok())?,
            since: req
                .since
                .as_ref()
                .map(|t| i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)),
            object: req.object.as_ref(),
        })
    }

    fn matches(&self, info: &RequestInfo, rec: &RequestRecord) -> bool {
        (self.states.is_empty() || self.states.contains(&info.state))
            && (self.types.is_empty() || self.types.contains(&info.r#type))
            && self
                .since
                .is_none_or(|since| rec.submitted.unix_timestamp_nanos() >= since)
            && self.object.is_none_or(|o| info.object.as_ref() == Some(o))
    }
}

fn list(engine: &Engine, req: &ListRequestsRequest) -> Result<ListRequestsResponse, ApiError> {
    let filter = Filter::new(req)?;
    let mut infos: Vec<RequestInfo> = all_requests(engine)?
        .iter()
        .filter_map(|rec| {
            let info = conv::request_info(rec);
            filter.matches(&info, rec).then_some(info)
        })
        .collect();
    infos.reverse();
    let (requests, page) = paginate(infos, req.page.as_ref());
    Ok(ListRequestsResponse {
        requests,
        page: Some(page),
    })
}

/// Sends the request as it is now, then after every change, until it is terminal, the
/// client goes away, the engine stops or the server stops.
async fn watch_loop(
    engine: Arc<Engine>,
    id: u64,
    mut stopping: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<WatchRequestResponse, Status>>,
) {
    let mut changes = engine.subscribe();
    let mut last: Option<RequestInfo> = None;
    loop {
        // Marked seen before reading, so a change during the read wakes the next wait.
        changes.borrow_and_update();
        let rec = {
            let engine = engine.clone();
            blocking(move || Ok(engine.requests().get(id)?)).await
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        };
        let terminal = rec.state.is_terminal();
        let info = conv::request_info(&rec);
        if last.as_ref() != Some(&info) {
            let msg = WatchRequestResponse {
                request: Some(info.clone()),
            };
            if tx.send(Ok(msg)).await.is_err() {
                tracing::debug!("watcher went away");
                return;
            }
            last = Some(info);
        }
        if terminal {
            return;
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    let _ = tx.send(Err(Status::unavailable("the request engine stopped"))).await;
                    return;
                }
            }
            _ = stopped(&mut stopping) => {
                let _ = tx.send(Err(Status::unavailable("the daemon is shutting down"))).await;
                return;
            }
            _ = tx.closed() => return,
        }
    }
}

/// Completes once `stopping` is true; never when its sender is gone without stopping.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[tonic::async_trait]
impl RequestService for RequestApi {
    async fn submit_archive(
        &self,
        request: Request<SubmitArchiveRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitArchive", actor, conv::archive(&r), r.priority)
            .await
    }

    async fn submit_restore(
        &self,
        request: Request<SubmitRestoreRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitRestore", actor, conv::restore(&r), r.priority)
            .await
    }

    async fn submit_partial_restore(
        &self,
        request: Request<SubmitPartialRestoreRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        let kind = crate::ops::partial_restore::partial_params_from_proto(&r)
            .map(crate::request::RequestKind::PartialRestore)
            .map_err(ApiError::Op);
        self.submit("SubmitPartialRestore", actor, kind, r.priority)
            .await
    }

    async fn submit_copy(
        &self,
        request: Request<SubmitCopyRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitCopy", actor, conv::copy(&r), r.priority)
            .await
    }

    async fn submit_delete(
        &self,
        request: Request<SubmitDeleteRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitDelete", actor, conv::delete(&r), r.priority)
            .await
    }

    async fn submit_insert(
        &self,
        request: Request<SubmitInsertRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        let names: Vec<String> = self
            .engine
            .state()
            .libraries
            .iter()
            .map(|l| l.name().to_string())
            .collect();
        self.submit("SubmitInsert", actor, conv::insert(&r, &names), r.priority)
            .await
    }

    async fn submit_eject(
        &self,
        request: Request<SubmitEjectRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitEject", actor, Ok(conv::eject(&r)), r.priority)
            .await
    }

    async fn submit_repack(
        &self,
        request: Request<SubmitRepackRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitRepack", actor, Ok(conv::repack(&r)), r.priority)
            .await
    }

    async fn submit_export(
        &self,
        request: Request<SubmitExportRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitExport", actor, Ok(conv::export(&r)), r.priority)
            .await
    }

    async fn submit_import(
        &self,
        request: Request<SubmitImportRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitImport", actor, conv::import(&r), r.priority)
            .await
    }

    async fn submit_verify(
        &self,
        request: Request<SubmitVerifyRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        self.submit("SubmitVerify", actor, conv::verify(&r), r.priority)
            .await
    }

    async fn get_request(
        &self,
        request: Request<GetRequestRequest>,
    ) -> Result<Response<GetRequestResponse>, Status> {
        let id = request.into_inner().request_id;
        let span = tracing::debug_span!("rpc", rpc = "GetRequest", request_id = id);
        let rec = self.get(id).instrument(span).await?;
        Ok(Response::new(GetRequestResponse {
            request: Some(conv::request_info(&rec)),
        }))
    }

    async fn list_requests(
        &self,
        request: Request<ListRequestsRequest>,
    ) -> Result<Response<ListRequestsResponse>, Status> {
        let req = request.into_inner();
        let engine = self.engine.clone();
        let span = tracing::debug_span!("rpc", rpc = "ListRequests");
        let out = blocking(move || list(&engine, &req))
            .instrument(span)
            .await?;
        Ok(Response::new(out))
    }

    async fn cancel_request(
        &self,
        request: Request<CancelRequestRequest>,
    ) -> Result<Response<CancelRequestResponse>, Status> {
        let actor = caller(&request);
        let id = request.into_inner().request_id;
        let span = tracing::info_span!("rpc", rpc = "CancelRequest", request_id = id, %actor);
        let engine = self.engine.clone();
        let outcome = blocking(move || Ok(engine.cancel(id, &actor)?))
            .instrument(span)
            .await?;
        let rec = match outcome {
            CancelOutcome::Cancelled(r) | CancelOutcome::Requested(r) => r,
        };
        Ok(Response::new(CancelRequestResponse {
            request: Some(conv::request_info(&rec)),
        }))
    }

    async fn change_priority(
        &self,
        request: Request<ChangePriorityRequest>,
    ) -> Result<Response<ChangePriorityResponse>, Status> {
        let actor = caller(&request);
        let r = request.into_inner();
        let span =
            tracing::info_span!("rpc", rpc = "ChangePriority", request_id = r.request_id, %actor);
        let engine = self.engine.clone();
        let rec = blocking(move || {
            let priority = Priority::new(i64::from(r.priority))?;
            Ok(engine.change_priority(r.request_id, priority, &actor)?)
        })
        .instrument(span)
        .await?;
        Ok(Response::new(ChangePriorityResponse {
            request: Some(conv::request_info(&rec)),
        }))
    }

    type WatchRequestStream = ReceiverStream<Result<WatchRequestResponse, Status>>;

    async fn watch_request(
        &self,
        request: Request<WatchRequestRequest>,
    ) -> Result<Response<Self::WatchRequestStream>, Status> {
        let id = request.into_inner().request_id;
        // An unknown id fails the call itself rather than the stream.
        self.get(id).await?;
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let span = tracing::debug_span!("rpc", rpc = "WatchRequest", request_id = id);
        tokio::spawn(
            watch_loop(self.engine.clone(), id, self.stopping.clone(), tx).instrument(span),
        );
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
