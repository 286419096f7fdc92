//! Tape helpers shared by the operations: mounting in the request's drive, running LTFS work
//! on the drive's worker thread, CRC-32 while streaming, and recursive removal in an index.

use std::io::{Read, Write};
use std::sync::Arc;

use tapelib_ltfs::volume::{DirEntry, EntryKind};
use tapelib_ltfs::{LtfsError, TapeDevice, Volume};
use tapelib_scsi::Drive;

use super::OpContext;
use crate::engine::{OpError, OpResult, Progress, Shared};
use crate::library::{TapeLibrary, Transport};
use crate::request::RequestState;

/// The device LTFS volumes are mounted on inside a drive worker.
pub(crate) type Dev<'a> = &'a mut Drive<Transport>;

/// Loads `barcode` into the request's drive (nothing moves when it is there already) and
/// records it as a tape the request uses.
pub(crate) fn mount(ctx: &mut OpContext, barcode: &str) -> OpResult<()> {
    let (lib, drive) = ctx.drive_and_library()?;
    let loaded = lib.drive(&drive)?.loaded;
    // A tape in another drive (a spanning object's next tape, left there by an earlier
    // request) goes back to its slot first, once that drive is idle.
    if let Some(other) = lib
        .drives()
        .into_iter()
        .find(|d| d.name != drive && d.loaded.as_deref() == Some(barcode))
    {
        ctx.wait_for_drive(&other.name)?;
        ctx.progress
            .phase(format!("unloading {barcode} from drive {}", other.name));
        let r = lib.unmount(&other.name);
        ctx.shared().release_drive(&other.name);
        r?;
    }
    if loaded.as_deref() != Some(barcode) {
        ctx.progress
            .phase(format!("mounting {barcode} in drive {drive}"));
        lib.mount(barcode, &drive)?;
    }
    ctx.progress.tape(barcode);
    Ok(())
}

/// Runs `f` on the drive's worker thread and returns its result. Errors inside `f` are the
/// operation's own; the library only sees the worker's health.
pub(crate) fn on_drive<R: Send + 'static>(
    lib: &TapeLibrary,
    drive: &str,
    operation: &str,
    f: impl FnOnce(&mut Drive<Transport>) -> OpResult<R> + Send + 'static,
) -> OpResult<R> {
    lib.with_drive(drive, operation, move |d| Ok(f(d)))?
}

/// Wraps an LTFS error with the tape it concerns.
pub(crate) fn lt(barcode: &str) -> impl Fn(LtfsError) -> OpError + '_ {
    move |e| OpError::ltfs(barcode, e)
}

/// Cancel and shutdown checks usable on a worker thread.
#[derive(Clone)]
pub(crate) struct Checkpoint {
    shared: Arc<Shared>,
    id: u64,
}

impl Checkpoint {
    pub(crate) fn new(ctx: &OpContext) -> Self {
        Checkpoint {
            shared: ctx.shared().clone(),
            id: ctx.request.id,
        }
    }

    pub(crate) fn check(&self) -> OpResult<()> {
        if self.shared.stopping() {
            return Err(OpError::ShuttingDown);
        }
        match self.shared.requests.get(self.id) {
            Ok(r) if r.cancel_requested => Err(OpError::Cancelled),
            Ok(r) if r.state != RequestState::Running => Err(OpError::Cancelled),
            _ => Ok(()),
        }
    }
}

/// A reader that computes the CRC-32 of what passes through and reports progress.
pub(crate) struct CrcReader<'p, R> {
    inner: R,
    hasher: crc32fast::Hasher,
    pub(crate) bytes: u64,
    progress: &'p mut Progress,
}

impl<'p, R: Read> CrcReader<'p, R> {
    pub(crate) fn new(inner: R, progress: &'p mut Progress) -> Self {
        CrcReader {
            inner,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
            progress,
        }
    }

    pub(crate) fn crc(&self) -> u32 {
        self.hasher.clone().finalize()
    }
}

impl<R: Read> Read for CrcReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        self.progress.add(n as u64);
        Ok(n)
    }
}

/// A writer that computes the CRC-32 of what passes through and reports progress (when
/// given a request's progress: data staged on its way elsewhere is counted there instead).
pub(crate) struct CrcWriter<'p, W> {
    pub(crate) inner: W,
    hasher: crc32fast::Hasher,
    pub(crate) bytes: u64,
    progress: Option<&'p mut Progress>,
}

impl<'p, W: Write> CrcWriter<'p, W> {
    pub(crate) fn new(inner: W, progress: impl Into<Option<&'p mut Progress>>) -> Self {
        CrcWriter {
            inner,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
            progress: progress.into(),
        }
    }

    pub(crate) fn crc(&self) -> u32 {
        self.hasher.clone().finalize()
    }
}

impl<W: Write> Write for CrcWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        if let Some(p) = self.progress.as_deref_mut() {
            p.add(n as u64);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Removes `path` from the index, directories with everything under them. A missing path
/// is not an error (it was removed before).
pub(crate) fn remove_tree<D: TapeDevice>(vol: &mut Volume<D>, path: &str) -> Result<(), LtfsError> {
    let entries: Vec<DirEntry> = match vol.list(path) {
        Ok(e) => e,
        Err(LtfsError::NotFound(_)) => return Ok(()),
        // A file: remove it directly.
        Err(LtfsError::NotADirectory(_)) => return vol.remove(path),
        Err(e) => return Err(e),
    };
    for e in entries {
        let child = format!("{}/{}", path.trim_end_matches('/'), e.name);
        if e.kind == EntryKind::Directory {
            remove_tree(vol, &child)?;
        } else {
            vol.remove(&child)?;
        }
    }
    vol.remove(path)
}

/// Removes a directory if it is empty; walks up while parents become empty (never the root).
pub(crate) fn prune_empty_dirs<D: TapeDevice>(vol: &mut Volume<D>, dir: &str) {
    let mut cur = dir.trim_end_matches('/').to_string();
    while !cur.is_empty() && cur != "/" {
        match vol.list(&cur) {
            Ok(e) if e.is_empty() => {
                if vol.remove(&cur).is_err() {
                    return;
                }
            }
            _ => return,
        }
        match cur.rfind('/') {
            Some(i) => cur.truncate(i),
            None => return,
        }
    }
}

/// The VOL1 volume serial for a barcode: its first six characters (LTO labels carry the
/// media type in the last two of eight).
pub(crate) fn volser(barcode: &str) -> String {
    barcode.chars().take(6).collect()
}
