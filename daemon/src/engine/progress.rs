//! Phase and progress reporting for a running request, throttled so that a stream of small
//! files does not turn into a stream of catalog writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{OpError, Shared};
use crate::request::RequestRecord;

/// Progress is written at most this often (and always on a phase change).
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// Reporter handed to an operation. A clone reports for the same request (e.g. from a
/// drive worker thread) and can be handed back.
#[derive(Clone)]
pub struct Progress {
    shared: Arc<Shared>,
    id: u64,
    phase: String,
    done: u64,
    total: u64,
    last_write: Option<Instant>,
}

impl Progress {
    pub(crate) fn new(shared: Arc<Shared>, id: u64) -> Self {
        Progress {
            shared,
            id,
            phase: String::new(),
            done: 0,
            total: 0,
            last_write: None,
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sets the phase text and writes it at once.
    pub fn phase(&mut self, phase: impl Into<String>) {
        self.phase = phase.into();
        tracing::debug!(id = self.id, phase = %self.phase, "phase");
        self.write();
    }

    pub fn set_total(&mut self, total: u64) {
        self.total = total;
        self.write();
    }

    /// Adds bytes done; written when enough time has passed.
    pub fn add(&mut self, bytes: u64) {
        self.done = self.done.saturating_add(bytes);
        if self.last_write.is_none_or(|t| t.elapsed() >= MIN_INTERVAL) {
            self.write();
        }
    }

    /// Takes back bytes counted for work that has to be done again (a file cut short by
    /// the end of a tape is written again on the next).
    pub fn rewind(&mut self, bytes: u64) {
        self.done = self.done.saturating_sub(bytes);
    }

    pub fn done(&self) -> u64 {
        self.done
    }

    /// Records a tape the request uses.
    pub fn tape(&mut self, barcode: &str) {
        if let Err(e) = self.shared.requests.record_tape(self.id, barcode) {
            tracing::warn!(id = self.id, error = %e, "cannot record tape of request");
        }
    }

    fn write(&mut self) {
        self.last_write = Some(Instant::now());
        if let Err(e) = self
            .shared
            .requests
            .progress(self.id, &self.phase, self.done, self.total)
        {
            tracing::warn!(id = self.id, error = %e, "cannot record progress");
        }
    }

    /// The current record (for the cancel flag).
    pub fn record(&self) -> Option<RequestRecord> {
        self.shared.requests.get(self.id).ok()
    }

    /// A safe point: fails with `Cancelled` when a cancel was asked, `ShuttingDown` when
    /// the daemon stops.
    pub fn checkpoint(&mut self) -> Result<(), OpError> {
        self.write();
        if self.shared.stopping() {
            return Err(OpError::ShuttingDown);
        }
        match self.record() {
            Some(r) if r.cancel_requested => Err(OpError::Cancelled),
            _ => Ok(()),
        }
    }
}
