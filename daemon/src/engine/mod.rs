//! The request engine: accepts requests (persisting them before they are acknowledged),
//! schedules them onto drives and the robot, runs the operations and keeps every request's
//! state, phase and progress in the catalog.
//!
//! One dispatcher thread plans; each assignment runs on its own thread, which hands the
//! blocking SCSI work to the drive's worker. Nothing here runs on the async runtime.

mod cleaning;
mod dispatch;
mod error;
mod progress;
mod scheduled_verify;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use time::OffsetDateTime;

use tokio::sync::watch;

use crate::api::DaemonState;
use crate::request::{CancelOutcome, Priority, RequestError, RequestKind, RequestRecord, Requests};
use crate::servers::Servers;

pub use cleaning::CLEANING_CARTRIDGE_USES;
pub use error::{OpError, OpResult};
pub use progress::Progress;

/// What the engine knows of a drive's use beyond the library's own state.
#[derive(Debug, Clone, Default)]
pub(crate) struct DriveUse {
    /// The request (or internal job, id 0) using the drive.
    pub(crate) busy: Option<u64>,
    pub(crate) last_used: Option<OffsetDateTime>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shared between the engine handle, the dispatcher and running operations.
pub struct Shared {
    pub(crate) state: Arc<DaemonState>,
    pub(crate) requests: Requests,
    pub(crate) servers: Servers,
    /// Bumped to wake the dispatcher (new work, a drive freed, a cancel).
    wake: Mutex<u64>,
    wake_cv: Condvar,
    pub(crate) stopping: AtomicBool,
    drives: Mutex<HashMap<String, DriveUse>>,
    /// Requests handed to a thread and not finished yet.
    claimed: Mutex<HashSet<u64>>,
    /// Tapes a running request works on, so no other request mounts them meanwhile.
    tapes: Mutex<HashSet<String>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    last_cleaning_check: Mutex<Option<std::time::Instant>>,
    last_verify_check: Mutex<Option<std::time::Instant>>,
}

impl Shared {
    pub(crate) fn drive_uses(&self) -> MutexGuard<'_, HashMap<String, DriveUse>> {
        lock(&self.drives)
    }

    pub(crate) fn claimed(&self) -> MutexGuard<'_, HashSet<u64>> {
        lock(&self.claimed)
    }

    pub(crate) fn threads(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        lock(&self.threads)
    }

    /// Reserves a tape for one request; false when another has it.
    pub(crate) fn reserve_tape(&self, barcode: &str) -> bool {
        lock(&self.tapes).insert(barcode.to_string())
    }

    pub(crate) fn release_tape(&self, barcode: &str) {
        lock(&self.tapes).remove(barcode);
    }

    /// Takes an idle UP drive of `library` for internal work (identifying a cartridge,
    /// cleaning, unloading before an eject); `None` when every drive is busy.
    pub(crate) fn claim_idle_drive(
        &self,
        library: &crate::library::TapeLibrary,
        want_empty: bool,
    ) -> Option<String> {
        let mut uses = self.drive_uses();
        let mut drives = library.drives();
        drives.sort_by_key(|d| d.loaded.is_some());
        for d in drives {
            if d.status != crate::library::DriveStatus::Up || (want_empty && d.loaded.is_some()) {
                continue;
            }
            let u = uses.entry(d.name.clone()).or_default();
            if u.busy.is_none() {
                u.busy = Some(0);
                return Some(d.name);
            }
        }
        None
    }

    /// Takes a given drive when it is idle.
    pub(crate) fn claim_drive(&self, drive: &str) -> bool {
        let mut uses = self.drive_uses();
        let u = uses.entry(drive.to_string()).or_default();
        if u.busy.is_none() {
            u.busy = Some(0);
            true
        } else {
            false
        }
    }

    pub(crate) fn release_drive(&self, drive: &str) {
        {
            let mut uses = self.drive_uses();
            let u = uses.entry(drive.to_string()).or_default();
            u.busy = None;
            u.last_used = Some(OffsetDateTime::now_utc());
        }
        self.wake();
    }

    pub(crate) fn wake(&self) {
        let mut n = lock(&self.wake);
        *n = n.wrapping_add(1);
        self.wake_cv.notify_all();
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Handle to the running engine.
pub struct Engine {
    shared: Arc<Shared>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Recovers requests left RUNNING by a previous process, then starts dispatching.
    pub fn start(state: Arc<DaemonState>) -> Result<Engine, OpError> {
        let servers = Servers::from_config(&state.config.servers)?;
        let requests = Requests::new(state.catalog.clone());
        for r in requests.recover_after_restart()? {
            tracing::warn!(id = r.id, kind = r.kind, action = ?r.action, reason = %r.reason, "recovered request");
        }
        let shared = Arc::new(Shared {
            state,
            requests,
            servers,
            wake: Mutex::new(0),
            wake_cv: Condvar::new(),
            stopping: AtomicBool::new(false),
            drives: Mutex::new(HashMap::new()),
            claimed: Mutex::new(HashSet::new()),
            tapes: Mutex::new(HashSet::new()),
            threads: Mutex::new(Vec::new()),
            last_cleaning_check: Mutex::new(None),
            last_verify_check: Mutex::new(None),
        });
        let handle = dispatch::spawn(shared.clone()).map_err(|e| {
            OpError::diva(
                crate::request::DivaStatusCode::DivaErrInternal,
                format!("cannot start the request dispatcher: {e}"),
            )
        })?;
        Ok(Engine {
            shared,
            dispatcher: Mutex::new(Some(handle)),
        })
    }

    /// The persisted requests (get, list, subscribe to changes).
    pub fn requests(&self) -> &Requests {
        &self.shared.requests
    }

    /// The daemon state the engine runs on.
    pub fn state(&self) -> &Arc<DaemonState> {
        &self.shared.state
    }

    /// Checks `kind` against the configuration and catalog, persists it as PENDING and
    /// returns it; the id is only returned once the request is durable.
    pub fn submit(
        &self,
        kind: RequestKind,
        priority: Priority,
        actor: &str,
    ) -> Result<RequestRecord, OpError> {
        if self.shared.stopping() {
            return Err(OpError::ShuttingDown);
        }
        dispatch::precheck(&self.shared, &kind)?;
        let id = self.shared.requests.submit(kind, priority, actor)?;
        self.shared.wake();
        Ok(self.shared.requests.get(id)?)
    }

    /// Cancels a pending request at once, a running one at its next safe point.
    pub fn cancel(&self, id: u64, actor: &str) -> Result<CancelOutcome, RequestError> {
        let out = self.shared.requests.cancel(id, actor)?;
        self.shared.wake();
        Ok(out)
    }

    /// Changes the priority of a pending request.
    pub fn change_priority(
        &self,
        id: u64,
        priority: Priority,
        actor: &str,
    ) -> Result<RequestRecord, RequestError> {
        let out = self.shared.requests.change_priority(id, priority, actor)?;
        self.shared.wake();
        Ok(out)
    }

    /// Sees a counter move after every change to any request.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.requests.subscribe()
    }

    /// Wakes the dispatcher (e.g. after a drive was set UP).
    pub fn poke(&self) {
        self.shared.wake();
    }

    /// Stops taking new work, lets running operations reach their next safe point (they
    /// checkpoint: requests go back to PENDING or finish), writes the LTFS indexes of
    /// volumes left mounted and returns when the dispatcher has stopped.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.wake();
        let handle = self
            .dispatcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(h) = handle {
            if h.join().is_err() {
                tracing::error!("request dispatcher panicked");
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}
