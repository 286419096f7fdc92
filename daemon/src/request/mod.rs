//! The request model: what was asked (kind and parameters), its priority, its state
//! machine, progress and DIVA status; and the persisted queue of requests.

pub mod diva;
mod kind;
mod result;
mod store;

use serde::{Deserialize, Serialize};
use tapelib_proto::diva_names::{DEFAULT_PRIORITY, MAX_PRIORITY};
use time::OffsetDateTime;

use crate::catalog::CatalogError;
pub use diva::{DivaStatusCode, RequestState};
pub use kind::{
    partial_format, ArchiveParams, ByteRange, CopyParams, DeleteParams, EjectParams, ExportParams,
    ImportConflict, ImportParams, InsertParams, PartialItem, PartialRange, PartialRestoreParams,
    PartialSelection, RepackParams, RepackRetire, RequestKind, RestoreParams, VerifyParams,
};
pub use result::{EjectedTape, InsertedTape, RequestResult, RestoredPart, TapeContent};
pub use store::{CancelOutcome, Recovery, RecoveryAction, Requests};

/// Request errors, each mapping to a DIVA status code.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("invalid parameter {field}: {reason}")]
    InvalidParameter { field: &'static str, reason: String },
    #[error("priority {0} is outside 0..=100")]
    InvalidPriority(i64),
    #[error("no such request {id}")]
    NotFound { id: u64 },
    #[error("request {id} is {state:?} and cannot be cancelled")]
    NotCancelable { id: u64, state: RequestState },
    #[error("request {id} is {state:?}; only pending requests change priority")]
    NotPending { id: u64, state: RequestState },
    #[error("request {id}: transition {from:?} -> {to:?} not allowed")]
    InvalidTransition {
        id: u64,
        from: RequestState,
        to: RequestState,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl RequestError {
    /// The DIVA status a client sees for this error.
    pub fn diva_status(&self) -> DivaStatusCode {
        match self {
            RequestError::InvalidParameter { .. } | RequestError::InvalidPriority(_) => {
                DivaStatusCode::DivaErrInvalidParameter
            }
            RequestError::NotFound { .. } => DivaStatusCode::DivaErrNoSuchRequest,
            RequestError::NotCancelable { .. } => DivaStatusCode::DivaErrNotCancelable,
            RequestError::NotPending { .. } => DivaStatusCode::DivaErrInvalidParameter,
            RequestError::InvalidTransition { .. } => DivaStatusCode::DivaErrInternal,
            RequestError::Catalog(e) => catalog_status(e),
        }
    }
}

/// DIVA status of a catalog error.
pub fn catalog_status(e: &CatalogError) -> DivaStatusCode {
    match e {
        CatalogError::ObjectExists { .. } => DivaStatusCode::DivaErrObjectAlreadyExists,
        CatalogError::ObjectNotFound { .. } => DivaStatusCode::DivaErrObjectDoesntExist,
        CatalogError::InstanceNotFound { .. } => DivaStatusCode::DivaErrInstanceDoesntExist,
        CatalogError::LastInstance { .. } => DivaStatusCode::DivaErrLastInstance,
        CatalogError::TapeNotFound { .. } => DivaStatusCode::DivaErrTapeDoesntExist,
        CatalogError::GroupNotFound { .. } => DivaStatusCode::DivaErrGroupDoesntExist,
        CatalogError::GroupExists { .. } => DivaStatusCode::DivaErrGroupAlreadyExists,
        CatalogError::GroupInUse { .. } => DivaStatusCode::DivaErrGroupInUse,
        CatalogError::RequestNotFound { .. } => DivaStatusCode::DivaErrNoSuchRequest,
        CatalogError::InvalidName { .. }
        | CatalogError::InvalidCursor
        | CatalogError::ReasonRequired { .. }
        | CatalogError::InvalidTransition { .. } => DivaStatusCode::DivaErrInvalidParameter,
        _ => DivaStatusCode::DivaErrInternal,
    }
}

// `Priority` holds the DIVA bounds in a u8.
const _: () = assert!(MAX_PRIORITY <= u8::MAX as u32 && DEFAULT_PRIORITY <= MAX_PRIORITY);

/// Request priority, 0 (lowest) to 100 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Priority(u8);

impl Priority {
    pub const MIN: Priority = Priority(0);
    // The DIVA bounds are defined in `tapelib_proto`.
    pub const MAX: Priority = Priority(MAX_PRIORITY as u8);
    pub const DEFAULT: Priority = Priority(DEFAULT_PRIORITY as u8);

    pub fn new(p: i64) -> Result<Self, RequestError> {
        match u8::try_from(p) {
            Ok(v) if v <= Priority::MAX.0 => Ok(Priority(v)),
            _ => Err(RequestError::InvalidPriority(p)),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Priority::DEFAULT
    }
}

impl TryFrom<i64> for Priority {
    type Error = RequestError;
    fn try_from(p: i64) -> Result<Self, Self::Error> {
        Priority::new(p)
    }
}

impl From<Priority> for i64 {
    fn from(p: Priority) -> i64 {
        i64::from(p.0)
    }
}

/// Whether a request in state `from` may move to `to` (the DIVA request states, defined
/// with their names in `tapelib_proto`). Running goes back to Pending when work is
/// requeued (restart, retry on another drive); a pending request can be aborted when it
/// fails before starting (e.g. its object is offline). Terminal states are never left,
/// and `UNSPECIFIED` is neither entered nor left.
pub fn can_transition(from: RequestState, to: RequestState) -> bool {
    use RequestState::*;
    matches!(
        (from, to),
        (Pending, Running | Cancelled | Aborted)
            | (
                Running,
                Pending | Completed | PartiallyCompleted | Aborted | Cancelled
            )
    )
}

/// A request as persisted in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: u64,
    pub kind: RequestKind,
    pub priority: Priority,
    #[serde(with = "diva::state_name")]
    pub state: RequestState,
    /// Human-readable phase ("waiting for drive", "writing file 3/10", ...).
    pub phase: String,
    /// 0..=100.
    pub progress: u8,
    pub bytes_done: u64,
    pub bytes_total: u64,
    #[serde(with = "diva::status_code")]
    pub status: DivaStatusCode,
    pub abort_reason: Option<String>,
    /// Set when a cancel arrived while running; honoured at the next safe point.
    pub cancel_requested: bool,
    /// How many times the request was started.
    pub attempts: u32,
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
    /// Tapes the request used or is using, in the order it used them.
    #[serde(default)]
    pub barcodes: Vec<String>,
    /// What the request produced; set when it ends (and kept for work done before an
    /// abort or cancel).
    #[serde(default)]
    pub result: Option<RequestResult>,
}

impl RequestRecord {
    /// A new pending request.
    pub fn new(
        id: u64,
        kind: RequestKind,
        priority: Priority,
        actor: &str,
        now: OffsetDateTime,
    ) -> Self {
        RequestRecord {
            id,
            kind,
            priority,
            state: RequestState::Pending,
            phase: "pending".into(),
            progress: 0,
            bytes_done: 0,
            bytes_total: 0,
            status: DivaStatusCode::DivaOk,
            abort_reason: None,
            cancel_requested: false,
            attempts: 0,
            actor: actor.to_string(),
            submitted: now,
            started: None,
            ended: None,
            barcodes: Vec::new(),
            result: None,
        }
    }

    /// Moves to `to`, keeping the times: `started` on entering RUNNING, `ended` on a
    /// terminal state.
    pub fn transition(
        &mut self,
        to: RequestState,
        now: OffsetDateTime,
    ) -> Result<(), RequestError> {
        if !can_transition(self.state, to) {
            return Err(RequestError::InvalidTransition {
                id: self.id,
                from: self.state,
                to,
            });
        }
        match to {
            RequestState::Running => {
                self.started = Some(now);
                self.attempts = self.attempts.saturating_add(1);
            }
            RequestState::Pending => {
                self.started = None;
            }
            _ => {}
        }
        if to.is_terminal() {
            self.ended = Some(now);
        }
        self.state = to;
        Ok(())
    }

    /// Records bytes done out of a total; the percentage follows (100 only when done).
    pub fn set_progress(&mut self, bytes_done: u64, bytes_total: u64) {
        self.bytes_done = bytes_done;
        self.bytes_total = bytes_total;
        self.progress = if bytes_total == 0 {
            0
        } else {
            let pct = u128::from(bytes_done.min(bytes_total)) * 100 / u128::from(bytes_total);
            u8::try_from(pct).unwrap_or(100)
        };
    }

    /// Ends the request in `state` (a terminal state) with a DIVA status.
    pub fn finish(
        &mut self,
        state: RequestState,
        status: DivaStatusCode,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(), RequestError> {
        if !state.is_terminal() {
            return Err(RequestError::InvalidTransition {
                id: self.id,
                from: self.state,
                to: state,
            });
        }
        self.transition(state, now)?;
        self.status = status;
        self.abort_reason = reason;
        if state == RequestState::Completed {
            self.progress = 100;
        }
        self.phase = match state {
            RequestState::Completed => "completed",
            RequestState::PartiallyCompleted => "partially completed",
            RequestState::Aborted => "aborted",
            _ => "cancelled",
        }
        .into();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
