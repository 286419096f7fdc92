//! The alert history query of `LibraryService`.

use tapelib_proto::v1::{
    AlertEvent, AlertSource, ListAlertLogRequest, ListAlertLogResponse, TapeAlertSeverity,
};

use super::convert::offset_timestamp;
use super::paging::paginate;
use super::{ApiError, DaemonState};
use crate::catalog::{self, Cursor, MAX_PAGE};

fn nanos(t: &tapelib_proto::prost_types::Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)
}

fn source(s: catalog::AlertSource) -> AlertSource {
    match s {
        catalog::AlertSource::TapeAlert => AlertSource::TapeAlert,
        catalog::AlertSource::ElementException => AlertSource::ElementException,
    }
}

fn severity(s: catalog::AlertSeverity) -> TapeAlertSeverity {
    match s {
        catalog::AlertSeverity::Information => TapeAlertSeverity::Information,
        catalog::AlertSeverity::Warning => TapeAlertSeverity::Warning,
        catalog::AlertSeverity::Critical => TapeAlertSeverity::Critical,
    }
}

fn matches(req: &ListAlertLogRequest, want: Option<AlertSource>, e: &catalog::AlertEvent) -> bool {
    let at = e.time.unix_timestamp_nanos();
    want.is_none_or(|w| source(e.source) == w)
        && (req.library.is_empty() || e.library == req.library)
        && (req.drive.is_empty() || e.drive == req.drive)
        && req.since.as_ref().is_none_or(|s| at >= nanos(s))
        && req.until.as_ref().is_none_or(|u| at < nanos(u))
}

/// Checks the filters, then filters the whole history (kept in sequence order) and serves
/// one page, newest first.
pub fn list(
    state: &DaemonState,
    req: &ListAlertLogRequest,
) -> Result<ListAlertLogResponse, ApiError> {
    let want = match AlertSource::try_from(req.source) {
        Ok(AlertSource::Unspecified) => None,
        Ok(s) => Some(s),
        Err(_) => {
            return Err(ApiError::InvalidParameter {
                parameter: "source",
                reason: format!("unknown alert source {}", req.source),
            })
        }
    };
    if !req.library.is_empty() && !state.libraries.iter().any(|l| l.name() == req.library) {
        return Err(ApiError::UnknownLibrary {
            library: req.library.clone(),
        });
    }
    if let (Some(s), Some(u)) = (&req.since, &req.until) {
        if nanos(u) < nanos(s) {
            return Err(ApiError::InvalidParameter {
                parameter: "until",
                reason: "before since".into(),
            });
        }
    }
    let mut events = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = state.catalog.list_alerts(cursor.as_ref(), MAX_PAGE)?;
        events.extend(
            page.items
                .into_iter()
                .filter(|e| matches(req, want, e))
                .map(|e| AlertEvent {
                    seq: e.seq,
                    time: Some(offset_timestamp(e.time)),
                    library: e.library,
                    drive: e.drive,
                    element_address: u32::from(e.element),
                    barcode: e.barcode,
                    source: source(e.source) as i32,
                    code: u32::from(e.code),
                    name: e.name,
                    severity: severity(e.severity) as i32,
                    raised: e.raised,
                }),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    events.reverse();
    let (events, page) = paginate(events, req.page.as_ref());
    Ok(ListAlertLogResponse {
        events,
        page: Some(page),
    })
}
