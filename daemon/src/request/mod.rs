//! The request model: what was asked (kind and parameters), its priority, its state
//! machine, progress and DIVA status; and the persisted queue of requests.

pub mod diva;
mod kind;
mod store;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::catalog::CatalogError;
pub use diva::DivaStatus;
pub use kind::{
    ArchiveParams, ByteRange, CopyParams, DeleteParams, EjectParams, ExportParams, ImportParams,
    InsertParams, PartialItem, PartialRestoreParams, RepackParams, RequestKind, RestoreParams,
    VerifyParams,
};
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
    pub fn diva_status(&self) -> DivaStatus {
        match self {
            RequestError::InvalidParameter { .. } | RequestError::InvalidPriority(_) => {
                DivaStatus::ErrInvalidParameter
            }
            RequestError::NotFound { .. } => DivaStatus::ErrNoSuchRequest,
            RequestError::NotCancelable { .. } => DivaStatus::ErrNotCancelable,
            RequestError::NotPending { .. } => DivaStatus::ErrInvalidParameter,
            RequestError::InvalidTransition { .. } => DivaStatus::ErrInternal,
            RequestError::Catalog(e) => catalog_status(e),
        }
    }
}

/// DIVA status of a catalog error.
pub fn catalog_status(e: &CatalogError) -> DivaStatus {
    match e {
        CatalogError::ObjectExists { .. } => DivaStatus::ErrObjectAlreadyExists,
        CatalogError::ObjectNotFound { .. } => DivaStatus::ErrObjectDoesntExist,
        CatalogError::InstanceNotFound { .. } => DivaStatus::ErrInstanceDoesntExist,
        CatalogError::LastInstance { .. } => DivaStatus::ErrLastInstance,
        CatalogError::TapeNotFound { .. } => DivaStatus::ErrTapeDoesntExist,
        CatalogError::GroupNotFound { .. } => DivaStatus::ErrGroupDoesntExist,
        CatalogError::GroupExists { .. } => DivaStatus::ErrGroupAlreadyExists,
        CatalogError::GroupInUse { .. } => DivaStatus::ErrGroupInUse,
        CatalogError::RequestNotFound { .. } => DivaStatus::ErrNoSuchRequest,
        CatalogError::InvalidName { .. }
        | CatalogError::InvalidCursor
        | CatalogError::ReasonRequired { .. }
        | CatalogError::InvalidTransition { .. } => DivaStatus::ErrInvalidParameter,
        _ => DivaStatus::ErrInternal,
    }
}

/// Request priority, 0 (lowest) to 100 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Priority(u8);

impl Priority {
    pub const MIN: Priority = Priority(0);
    pub const MAX: Priority = Priority(100);
    pub const DEFAULT: Priority = Priority(50);

    pub fn new(p: i64) -> Result<Self, RequestError> {
        match u8::try_from(p) {
            Ok(v) if v <= 100 => Ok(Priority(v)),
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

/// Life cycle of a request (the DIVA request states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestState {
    Pending,
    Running,
    Completed,
    PartiallyCompleted,
    Aborted,
    Cancelled,
}

impl RequestState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestState::Completed
                | RequestState::PartiallyCompleted
                | RequestState::Aborted
                | RequestState::Cancelled
        )
    }

    /// Running goes back to Pending when work is requeued (restart, retry on another
    /// drive); a pending request can be aborted when it fails before starting (e.g. its
    /// object is offline).
    pub fn can_transition_to(self, to: RequestState) -> bool {
        use RequestState::*;
        matches!(
            (self, to),
            (Pending, Running | Cancelled | Aborted)
                | (
                    Running,
                    Pending | Completed | PartiallyCompleted | Aborted | Cancelled
                )
        )
    }
}

/// A request as persisted in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: u64,
    pub kind: RequestKind,
    pub priority: Priority,
    pub state: RequestState,
    /// Human-readable phase ("waiting for drive", "writing file 3/10", ...).
    pub phase: String,
    /// 0..=100.
    pub progress: u8,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub status: DivaStatus,
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
            status: DivaStatus::Ok,
            abort_reason: None,
            cancel_requested: false,
            attempts: 0,
            actor: actor.to_string(),
            submitted: now,
            started: None,
            ended: None,
        }
    }

    /// Moves to `to`, keeping the times: `started` on entering RUNNING, `ended` on a
    /// terminal state.
    pub fn transition(
        &mut self,
        to: RequestState,
        now: OffsetDateTime,
    ) -> Result<(), RequestError> {
        if !self.state.can_transition_to(to) {
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
        status: DivaStatus,
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
