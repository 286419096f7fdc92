//! One thread per drive owns its `Drive`; work arrives as closures over a channel and the
//! results go back over a reply channel, so blocking SCSI I/O never runs on the caller's
//! thread and two commands never interleave on one device.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tapelib_scsi::Drive;

use super::{LibraryError, Transport};

type Job = Box<dyn FnOnce(&mut Drive<Transport>) + Send>;

/// The sending side of a drive worker; dropping it stops the thread.
pub(crate) struct DriveWorker {
    name: String,
    jobs: Option<mpsc::Sender<Job>>,
    /// Jobs sent and not yet finished.
    pending: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl DriveWorker {
    pub(crate) fn spawn(name: &str, mut drive: Drive<Transport>) -> std::io::Result<DriveWorker> {
        let (tx, rx) = mpsc::channel::<Job>();
        let span = tracing::info_span!("drive", drive = %name);
        let thread = std::thread::Builder::new()
            .name(format!("drive-{name}"))
            .spawn(move || {
                let _enter = span.enter();
                for job in rx {
                    job(&mut drive);
                }
                tracing::debug!("drive worker stopped");
            })?;
        Ok(DriveWorker {
            name: name.to_string(),
            jobs: Some(tx),
            pending: Arc::new(AtomicUsize::new(0)),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the worker and waits for its result.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Drive<Transport>) -> R + Send + 'static,
    ) -> Result<R, LibraryError> {
        let gone = || LibraryError::WorkerGone {
            drive: self.name.clone(),
        };
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        let pending = self.pending.clone();
        let job: Job = Box::new(move |d| {
            let r = f(d);
            pending.fetch_sub(1, Ordering::SeqCst);
            // The caller may have given up waiting; nothing to do then.
            let _ = reply_tx.send(r);
        });
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.jobs.as_ref().ok_or_else(gone)?.send(job).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(gone());
        }
        reply_rx.recv().map_err(|_| gone())
    }
}

impl DriveWorker {
    /// No job is running or queued.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }
}

impl Drop for DriveWorker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!(drive = %self.name, "drive worker panicked");
            }
        }
    }
}
