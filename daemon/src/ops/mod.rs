//! The operations the daemon runs as requests. Each takes an [`OpContext`] (the request,
//! its drive and library, progress reporting) and returns what it produced.

mod archive;
pub mod bit_integrity;
mod copy;
mod delete;
mod eject;
mod export;
pub mod export_document;
mod import;
mod insert;
pub mod partial_restore;
mod repack;
mod repack_stage;
mod repack_stream;
mod restore;
mod tape;
mod verify;

use std::sync::Arc;

use crate::catalog::{Catalog, InstanceRecord, TapeState};
use crate::engine::{OpError, OpResult, Progress, Shared};
use crate::library::TapeLibrary;
use crate::request::{DivaStatusCode, RequestKind, RequestRecord, RequestResult, RequestState};
use crate::servers::Servers;

pub(crate) use archive::preferred_tape;
pub use archive::{xattr_keys, LTFS_OBJECT_ROOT};

/// What a finished operation reports.
#[derive(Debug)]
pub struct OpOutcome {
    /// COMPLETED or PARTIALLY_COMPLETED.
    pub state: RequestState,
    pub result: RequestResult,
    /// What failed, for a partial completion.
    pub reason: Option<String>,
}

impl OpOutcome {
    pub fn completed(result: RequestResult) -> Self {
        OpOutcome {
            state: RequestState::Completed,
            result,
            reason: None,
        }
    }
}

/// Everything an operation works with.
pub struct OpContext {
    pub(crate) shared: Arc<Shared>,
    pub library: Option<Arc<TapeLibrary>>,
    /// The drive the scheduler gave the request, if it needs one.
    pub drive: Option<String>,
    pub request: RequestRecord,
    pub progress: Progress,
    /// Work done before a failure or cancel, kept with the request.
    pub partial_result: Option<RequestResult>,
    /// Nothing was written or committed yet: the request may simply run again.
    pub nothing_done: bool,
    /// The tape the dispatcher reserved for this request's batch.
    pub batch_tape: Option<String>,
}

impl OpContext {
    pub(crate) fn new(
        shared: Arc<Shared>,
        library: Option<Arc<TapeLibrary>>,
        drive: Option<String>,
        request: RequestRecord,
    ) -> Self {
        let progress = Progress::new(shared.clone(), request.id);
        OpContext {
            shared,
            library,
            drive,
            request,
            progress,
            partial_result: None,
            nothing_done: true,
            batch_tape: None,
        }
    }

    /// Reserves a tape for this request (the batch's own tape is reserved already).
    pub(crate) fn take_tape(&self, barcode: &str) -> bool {
        self.batch_tape.as_deref() == Some(barcode) || self.shared.reserve_tape(barcode)
    }

    /// Takes a tape, waiting (cancellable) while another request of a batch uses it.
    pub(crate) fn wait_for_tape(&mut self, barcode: &str) -> OpResult<()> {
        while !self.take_tape(barcode) {
            self.progress.phase(format!("waiting for {barcode}"));
            tape::Checkpoint::new(self).check()?;
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        Ok(())
    }

    /// Claims a drive, waiting (cancellable) until its current user lets it go.
    pub(crate) fn wait_for_drive(&mut self, drive: &str) -> OpResult<()> {
        while !self.shared.claim_drive(drive) {
            self.progress
                .phase(format!("waiting for drive {drive} to finish"));
            tape::Checkpoint::new(self).check()?;
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        Ok(())
    }

    /// The library that holds `tape`, if it is in one.
    pub(crate) fn library_of(
        &self,
        tape: &crate::catalog::TapeRecord,
    ) -> OpResult<Arc<TapeLibrary>> {
        tape.library
            .as_deref()
            .and_then(|name| {
                self.shared
                    .state
                    .libraries
                    .iter()
                    .find(|l| l.name() == name)
                    .cloned()
            })
            .ok_or_else(|| {
                OpError::diva(
                    DivaStatusCode::DivaErrObjectOffline,
                    format!("tape {} is not in a library", tape.barcode),
                )
            })
    }

    /// Gives back a tape taken with [`OpContext::take_tape`].
    pub(crate) fn give_back_tape(&self, barcode: &str) {
        if self.batch_tape.as_deref() != Some(barcode) {
            self.shared.release_tape(barcode);
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.shared.state.catalog
    }

    pub fn servers(&self) -> &Servers {
        &self.shared.servers
    }

    pub fn actor(&self) -> String {
        self.request.actor.clone()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn internal(what: &str) -> OpError {
        OpError::diva(DivaStatusCode::DivaErrInternal, what.to_string())
    }

    /// The library and drive the request was given.
    pub fn drive_and_library(&self) -> OpResult<(Arc<TapeLibrary>, String)> {
        match (&self.library, &self.drive) {
            (Some(l), Some(d)) => Ok((l.clone(), d.clone())),
            _ => Err(Self::internal("the request was started without a drive")),
        }
    }
}

/// Runs the operation of `kind`.
pub(crate) fn run(ctx: &mut OpContext, kind: &RequestKind) -> OpResult<OpOutcome> {
    match kind {
        RequestKind::Archive(p) => archive::run(ctx, p),
        RequestKind::Restore(p) => restore::run(ctx, p),
        RequestKind::Copy(p) => copy::run(ctx, p),
        RequestKind::Delete(p) => delete::run(ctx, p),
        RequestKind::Insert(p) => insert::run(ctx, p),
        RequestKind::Eject(p) => eject::run(ctx, p),
        RequestKind::Verify(p) => verify::run(ctx, p),
        RequestKind::Export(p) => export::run(ctx, p),
        RequestKind::Import(p) => import::run(ctx, p),
        RequestKind::Repack(p) => repack::run(ctx, p),
        RequestKind::PartialRestore(p) => partial_restore::run(ctx, p),
    }
}

/// The daemon's data directory: where the catalog lives. Staging folders, export documents
/// and bit-integrity reports go here.
pub(crate) fn data_dir(shared: &Shared) -> std::path::PathBuf {
    shared.state.data_dir()
}

/// Whether a tape can be read from for a restore or copy.
fn tape_readable(catalog: &Catalog, barcode: &str) -> OpResult<bool> {
    Ok(match catalog.get_tape(barcode)? {
        Some(t) => {
            t.online
                && t.library.is_some()
                && !matches!(
                    t.state,
                    TapeState::Broken | TapeState::Disabled | TapeState::Exported
                )
        }
        None => false,
    })
}

/// The instance a read of an object uses: the one asked for, else the first online one
/// whose tapes are all readable (DISABLED and BROKEN tapes are passed over).
pub(crate) fn choose_instance(
    shared: &Shared,
    collection: &str,
    name: &str,
    instance: Option<u64>,
) -> OpResult<InstanceRecord> {
    let catalog = &shared.state.catalog;
    if catalog.get_object(collection, name)?.is_none() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrObjectDoesntExist,
            format!("object {collection}/{name} does not exist"),
        ));
    }
    if let Some(id) = instance {
        let inst = catalog.get_instance(collection, name, id)?.ok_or_else(|| {
            OpError::diva(
                DivaStatusCode::DivaErrInstanceDoesntExist,
                format!("object {collection}/{name} has no instance {id}"),
            )
        })?;
        if !inst.online {
            return Err(OpError::diva(
                DivaStatusCode::DivaErrInstanceOffline,
                format!(
                    "instance {id} of {collection}/{name} is offline (tapes {})",
                    inst.tapes.join(", ")
                ),
            ));
        }
        for b in &inst.tapes {
            if !tape_readable(catalog, b)? {
                return Err(OpError::diva(
                    DivaStatusCode::DivaErrInstanceOffline,
                    format!("instance {id} of {collection}/{name}: tape {b} cannot be read"),
                ));
            }
        }
        return Ok(inst);
    }
    let mut instances = catalog.list_instances(collection, name)?;
    // Instances a verify found damaged are the last resort.
    instances.sort_by_key(|i| !i.damaged.is_empty());
    for inst in &instances {
        if !inst.online {
            continue;
        }
        let mut ok = true;
        for b in &inst.tapes {
            ok &= tape_readable(catalog, b)?;
        }
        if ok {
            return Ok(inst.clone());
        }
    }
    Err(OpError::diva(
        DivaStatusCode::DivaErrObjectOffline,
        format!(
            "object {collection}/{name} has no online instance ({} instance(s), all on tapes that are ejected, exported, DISABLED or BROKEN)",
            instances.len()
        ),
    ))
}
