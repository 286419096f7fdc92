//! The scheduled verify policy (`[verify]`): now and then the dispatcher looks for tapes
//! due for verification and submits whole-tape verify requests as actor "scheduler", so
//! they show in the audit log and the request list like any other request.

use std::time::Instant;

use time::OffsetDateTime;

use super::{dispatch, Shared};
use crate::catalog::{Cursor, TapeState, MAX_PAGE};
use crate::library::is_cleaning;
use crate::request::{Priority, RequestKind, VerifyParams};
use crate::scheduler::{
    tapes_to_verify, ActiveWork, VerifyCandidate, VerifyLimits, SCHEDULER_ACTOR,
};

/// Submits the verifies the policy asks for, at most once per check interval.
pub(crate) fn maybe_verify(shared: &Shared) {
    let policy = &shared.state.config.verify;
    if !policy.enabled {
        return;
    }
    {
        let mut last = super::lock(&shared.last_verify_check);
        if last.is_some_and(|t| t.elapsed() < policy.check_interval) {
            return;
        }
        *last = Some(Instant::now());
    }
    let span = tracing::info_span!("scheduled_verify");
    let _enter = span.enter();
    if let Err(e) = submit_due(shared) {
        tracing::warn!(error = %e, "scheduled verify check failed");
    }
}

fn submit_due(shared: &Shared) -> Result<(), super::OpError> {
    let policy = &shared.state.config.verify;
    let mut active = ActiveWork::default();
    let mut busy = Vec::new();
    for r in shared.requests.active()? {
        if let RequestKind::Verify(VerifyParams::Tape { barcode }) = &r.kind {
            busy.push(barcode.clone());
        }
        if r.actor == SCHEDULER_ACTOR && matches!(r.kind, RequestKind::Verify(_)) {
            active.scheduled_verifies += 1;
        } else {
            active.client_requests += 1;
        }
    }
    if policy.only_when_idle && active.client_requests > 0 {
        return Ok(());
    }
    let candidates = candidates(shared)?;
    let limits = VerifyLimits {
        period: time::Duration::try_from(policy.period).unwrap_or(time::Duration::MAX),
        max_drives: policy.max_drives,
        only_when_idle: policy.only_when_idle,
    };
    let priority = Priority::new(i64::from(policy.priority)).unwrap_or(Priority::MIN);
    for barcode in tapes_to_verify(
        &candidates,
        &busy,
        active,
        limits,
        OffsetDateTime::now_utc(),
    ) {
        let kind = RequestKind::Verify(VerifyParams::Tape {
            barcode: barcode.clone(),
        });
        // One tape that cannot be verified now must not hold back the others.
        if let Err(e) = dispatch::precheck(shared, &kind) {
            tracing::warn!(%barcode, error = %e, "scheduled verify not submitted");
            continue;
        }
        let id = shared.requests.submit(kind, priority, SCHEDULER_ACTOR)?;
        tracing::info!(id, %barcode, "scheduled verify submitted");
        shared.wake();
    }
    Ok(())
}

/// Tapes holding data that a verify can read now.
fn candidates(shared: &Shared) -> Result<Vec<VerifyCandidate>, super::OpError> {
    let catalog = &shared.state.catalog;
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = catalog.list_tapes(cursor.as_ref(), MAX_PAGE)?;
        for t in page.items {
            let readable = t.online
                && t.library.is_some()
                && matches!(t.state, TapeState::Active | TapeState::Full)
                && !t.foreign
                && !is_cleaning(&t.barcode);
            if readable && !catalog.instances_on_tape(&t.barcode)?.is_empty() {
                out.push(VerifyCandidate {
                    barcode: t.barcode,
                    verified: t.verified,
                });
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}
