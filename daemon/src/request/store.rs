//! The persisted request queue: submit, state changes, cancel, priority, and recovery
//! after a restart. All state lives in the catalog; this type holds no cache, so every
//! daemon component sees the same requests.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::{
    DivaStatusCode, Priority, RequestError, RequestKind, RequestRecord, RequestResult, RequestState,
};
use crate::catalog::{Catalog, CatalogError, Cursor, Page};

/// Access to the requests stored in a catalog. Clones share one change counter, bumped
/// after every change, that watchers subscribe to.
#[derive(Debug, Clone)]
pub struct Requests {
    catalog: Catalog,
    changes: Arc<watch::Sender<u64>>,
}

/// What `cancel` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The request was pending and is now CANCELLED.
    Cancelled(RequestRecord),
    /// The request is running; it stops at its next safe point.
    Requested(RequestRecord),
}

/// What recovery did to one request found RUNNING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryAction {
    /// Back to PENDING, to run again.
    Resumed,
    /// Ended ABORTED.
    Aborted,
    /// A cancel had been asked for: ended CANCELLED.
    Cancelled,
    /// Its work was already committed (an archive whose object reached the catalog before
    /// the crash): ended COMPLETED (PARTIALLY_COMPLETED when sources were still to delete).
    Committed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub id: u64,
    pub kind: &'static str,
    pub action: RecoveryAction,
    pub reason: String,
}

const SYSTEM: &str = "tapelibd";

impl Requests {
    pub fn new(catalog: Catalog) -> Self {
        Requests {
            catalog,
            changes: Arc::new(watch::Sender::new(0)),
        }
    }

    /// A receiver that sees the change counter move after every change to any request.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Validates and persists a new PENDING request; the id is returned only once the
    /// request is durable in the catalog.
    pub fn submit(
        &self,
        kind: RequestKind,
        priority: Priority,
        actor: &str,
    ) -> Result<u64, RequestError> {
        kind.validate()?;
        let now = OffsetDateTime::now_utc();
        let rec = self.catalog.insert_request(
            |id| RequestRecord::new(id, kind.clone(), priority, actor, now),
            actor,
        )?;
        tracing::info!(
            id = rec.id,
            kind = rec.kind.name(),
            priority = priority.get(),
            "request submitted"
        );
        self.changed();
        Ok(rec.id)
    }

    pub fn get(&self, id: u64) -> Result<RequestRecord, RequestError> {
        self.catalog
            .get_request(id)?
            .ok_or(RequestError::NotFound { id })
    }

    pub fn list(
        &self,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<RequestRecord>, RequestError> {
        Ok(self.catalog.list_requests(cursor, limit)?)
    }

    /// PENDING and RUNNING requests in id order.
    pub fn active(&self) -> Result<Vec<RequestRecord>, RequestError> {
        Ok(self.catalog.active_requests()?)
    }

    fn update(
        &self,
        id: u64,
        actor: &str,
        f: impl Fn(&mut RequestRecord) -> Result<(), RequestError>,
    ) -> Result<RequestRecord, RequestError> {
        let out = self
            .catalog
            .update_request(id, actor, f)
            .map_err(|e| match e {
                RequestError::Catalog(CatalogError::RequestNotFound { id }) => {
                    RequestError::NotFound { id }
                }
                other => other,
            });
        if out.is_ok() {
            self.changed();
        }
        out
    }

    /// Adds `barcode` to the tapes a request uses (once).
    pub fn record_tape(&self, id: u64, barcode: &str) -> Result<RequestRecord, RequestError> {
        self.update(id, SYSTEM, |r| {
            if !r.barcodes.iter().any(|b| b == barcode) {
                r.barcodes.push(barcode.to_string());
            }
            Ok(())
        })
    }

    /// Like [`Requests::finish`], keeping what the request produced.
    pub fn finish_with(
        &self,
        id: u64,
        state: RequestState,
        status: DivaStatusCode,
        reason: Option<&str>,
        result: Option<RequestResult>,
    ) -> Result<RequestRecord, RequestError> {
        let now = OffsetDateTime::now_utc();
        self.update(id, SYSTEM, |r| {
            r.finish(state, status, reason.map(str::to_string), now)?;
            if result.is_some() {
                r.result = result.clone();
            }
            Ok(())
        })
    }

    /// PENDING -> RUNNING with a phase.
    pub fn start(&self, id: u64, phase: &str) -> Result<RequestRecord, RequestError> {
        let now = OffsetDateTime::now_utc();
        self.update(id, SYSTEM, |r| {
            r.transition(RequestState::Running, now)?;
            r.phase = phase.to_string();
            Ok(())
        })
    }

    /// Updates phase and progress of a running request.
    pub fn progress(
        &self,
        id: u64,
        phase: &str,
        bytes_done: u64,
        bytes_total: u64,
    ) -> Result<RequestRecord, RequestError> {
        self.update(id, SYSTEM, |r| {
            if r.state != RequestState::Running {
                return Err(RequestError::InvalidTransition {
                    id,
                    from: r.state,
                    to: RequestState::Running,
                });
            }
            r.phase = phase.to_string();
            r.set_progress(bytes_done, bytes_total);
            Ok(())
        })
    }

    /// Ends a request in a terminal state with its DIVA status and, for failures, a reason.
    pub fn finish(
        &self,
        id: u64,
        state: RequestState,
        status: DivaStatusCode,
        reason: Option<&str>,
    ) -> Result<RequestRecord, RequestError> {
        let now = OffsetDateTime::now_utc();
        self.update(id, SYSTEM, |r| {
            r.finish(state, status, reason.map(str::to_string), now)
        })
    }

    /// RUNNING -> PENDING, e.g. to retry on another drive after a drive failure.
    pub fn requeue(&self, id: u64, reason: &str) -> Result<RequestRecord, RequestError> {
        let now = OffsetDateTime::now_utc();
        self.update(id, SYSTEM, |r| {
            r.transition(RequestState::Pending, now)?;
            r.phase = format!("requeued: {reason}");
            Ok(())
        })
    }

    /// Cancels a pending request at once; marks a running one so that it stops at its
    /// next safe point (the worker then finishes it CANCELLED).
    pub fn cancel(&self, id: u64, actor: &str) -> Result<CancelOutcome, RequestError> {
        let now = OffsetDateTime::now_utc();
        let rec = self.update(id, actor, |r| match r.state {
            RequestState::Pending => r.finish(
                RequestState::Cancelled,
                DivaStatusCode::DivaOk,
                Some(format!("cancelled by {actor}")),
                now,
            ),
            RequestState::Running => {
                r.cancel_requested = true;
                Ok(())
            }
            state => Err(RequestError::NotCancelable { id, state }),
        })?;
        Ok(if rec.state == RequestState::Cancelled {
            CancelOutcome::Cancelled(rec)
        } else {
            CancelOutcome::Requested(rec)
        })
    }

    /// Changes the priority of a pending request.
    pub fn change_priority(
        &self,
        id: u64,
        priority: Priority,
        actor: &str,
    ) -> Result<RequestRecord, RequestError> {
        self.update(id, actor, |r| {
            if r.state != RequestState::Pending {
                return Err(RequestError::NotPending { id, state: r.state });
            }
            r.priority = priority;
            Ok(())
        })
    }

    /// For an archive found RUNNING: the result of the archive when its object is already in
    /// the catalog from this very request (committed at or after the request was submitted:
    /// while it was pending or running no other archive of the same object was accepted).
    fn committed_archive(
        &self,
        rec: &RequestRecord,
    ) -> Result<Option<(RequestResult, String)>, RequestError> {
        let RequestKind::Archive(p) = &rec.kind else {
            return Ok(None);
        };
        let Some(object) = self.catalog.get_object(&p.collection, &p.name)? else {
            return Ok(None);
        };
        if object.archived < rec.submitted {
            return Ok(None);
        }
        let Some(inst) = self
            .catalog
            .list_instances(&p.collection, &p.name)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let result = RequestResult::Archive {
            instance_id: inst.id,
            barcodes: inst.tapes.clone(),
            file_count: object.files.len() as u64,
            bytes: object.total_size,
        };
        let why = if p.delete_on_source {
            "archived before the daemon restarted; the source files were not deleted".to_string()
        } else {
            "archived before the daemon restarted".to_string()
        };
        Ok(Some((result, why)))
    }

    /// Run once at start-up, before any worker: every request left RUNNING by the previous
    /// process goes back to PENDING when its kind is resumable, else ends ABORTED with
    /// DIVA_ERR_INTERNAL and a reason. A running request that had been asked to cancel ends
    /// CANCELLED. Returns what was done to each; none is left RUNNING.
    pub fn recover_after_restart(&self) -> Result<Vec<Recovery>, RequestError> {
        let mut done = Vec::new();
        for rec in self.catalog.active_requests()? {
            if rec.state != RequestState::Running {
                continue;
            }
            let now = OffsetDateTime::now_utc();
            let committed = self.committed_archive(&rec)?;
            let (action, reason) = if let Some((_, ref why)) = committed {
                (RecoveryAction::Committed, why.clone())
            } else if rec.cancel_requested {
                (
                    RecoveryAction::Cancelled,
                    "cancelled: the daemon restarted while the cancel was pending".to_string(),
                )
            } else if rec.kind.resumable() {
                (
                    RecoveryAction::Resumed,
                    "daemon restarted; the request runs again".to_string(),
                )
            } else {
                (
                    RecoveryAction::Aborted,
                    format!(
                        "daemon restarted during {}; partial work was not committed",
                        rec.kind.name()
                    ),
                )
            };
            let updated = self.update(rec.id, SYSTEM, |r| {
                if r.state != RequestState::Running {
                    return Ok(());
                }
                if let Some((result, why)) = &committed {
                    let partial = why.contains("not deleted");
                    r.result = Some(result.clone());
                    r.finish(
                        if partial {
                            RequestState::PartiallyCompleted
                        } else {
                            RequestState::Completed
                        },
                        DivaStatusCode::DivaOk,
                        partial.then(|| why.clone()),
                        now,
                    )
                } else if action == RecoveryAction::Cancelled {
                    r.finish(
                        RequestState::Cancelled,
                        DivaStatusCode::DivaOk,
                        Some(reason.clone()),
                        now,
                    )
                } else if action == RecoveryAction::Resumed {
                    r.transition(RequestState::Pending, now)?;
                    r.phase = reason.clone();
                    Ok(())
                } else {
                    r.finish(
                        RequestState::Aborted,
                        DivaStatusCode::DivaErrInternal,
                        Some(reason.clone()),
                        now,
                    )
                }
            })?;
            tracing::warn!(id = updated.id, state = ?updated.state, %reason, "request recovered after restart");
            done.push(Recovery {
                id: rec.id,
                kind: rec.kind.name(),
                action,
                reason,
            });
        }
        self.catalog.flush()?;
        Ok(done)
    }
}
