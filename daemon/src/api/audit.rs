//! The audit log query of `SystemService`.

use tapelib_proto::v1::{AuditEntry, ListAuditLogRequest, ListAuditLogResponse};

use super::convert::offset_timestamp;
use super::paging::paginate;
use super::ApiError;
use crate::catalog::{Catalog, Cursor, MAX_PAGE};

fn matches(req: &ListAuditLogRequest, e: &crate::catalog::AuditEntry) -> bool {
    if let Some(since) = &req.since {
        let at = e.time.unix_timestamp_nanos();
        if at < i128::from(since.seconds) * 1_000_000_000 + i128::from(since.nanos) {
            return false;
        }
    }
    (req.actor.is_empty() || e.actor == req.actor)
        && e.action.starts_with(&req.action_prefix)
        && (req.subject.is_empty() || e.subject == req.subject)
}

/// Filters the whole log (it is kept in sequence order) and serves one page, newest first.
pub fn list(
    catalog: &Catalog,
    req: &ListAuditLogRequest,
) -> Result<ListAuditLogResponse, ApiError> {
    let mut entries = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = catalog.list_audit(cursor.as_ref(), MAX_PAGE)?;
        entries.extend(
            page.items
                .into_iter()
                .filter(|e| matches(req, e))
                .map(|e| AuditEntry {
                    seq: e.seq,
                    time: Some(offset_timestamp(e.time)),
                    actor: e.actor,
                    action: e.action,
                    subject: e.subject,
                    details: e.details,
                }),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    entries.reverse();
    let (entries, page) = paginate(entries, req.page.as_ref());
    Ok(ListAuditLogResponse {
        entries,
        page: Some(page),
    })
}
