//! insert: cartridges an operator put in the I/E station move to free storage slots and are
//! identified. Known tapes come back online; unknown ones are mounted and read: an LTFS
//! volume written elsewhere is recorded as foreign (importable), a blank tape as scratch,
//! anything else as unusable with the reason.

use std::time::Duration;

use tapelib_ltfs::{MountOptions, Volume};
use tapelib_scsi::drive::ReadOutcome;

use super::tape::{self, Checkpoint};
use super::{OpContext, OpOutcome};
use crate::catalog::TapeState;
use crate::engine::{OpError, OpResult};
use crate::library::{is_cleaning, LibraryError, TapeLibrary};
use crate::request::{
    DivaStatusCode, InsertParams, InsertedTape, RequestResult, RequestState, TapeContent,
};

/// How often a request waiting for a drive looks again.
const DRIVE_POLL: Duration = Duration::from_millis(500);

pub(crate) fn run(ctx: &mut OpContext, p: &InsertParams) -> OpResult<OpOutcome> {
    let lib = ctx
        .shared()
        .state
        .libraries
        .iter()
        .find(|l| l.name() == p.library)
        .cloned()
        .ok_or_else(|| OpError::invalid(format!("no library named {}", p.library)))?;
    ctx.progress.phase("reading the inventory");
    let inv = lib.refresh_inventory()?;
    let mut tapes = Vec::new();
    let mut left = Vec::new();
    let candidates: Vec<_> = inv
        .import_export
        .iter()
        .filter(|e| e.state.full)
        .filter(|e| p.ie_addresses.is_empty() || p.ie_addresses.contains(&e.state.address))
        .map(|e| (e.state.address, e.state.barcode.clone()))
        .collect();
    for addr in &p.ie_addresses {
        if !candidates.iter().any(|(a, _)| a == addr) {
            left.push(format!(
                "{addr}: no cartridge in this import/export element"
            ));
        }
    }
    for (address, barcode) in candidates {
        Checkpoint::new(ctx).check()?;
        let Some(barcode) = barcode.filter(|b| !b.trim().is_empty()) else {
            left.push(format!(
                "{address}: the cartridge has no readable barcode label"
            ));
            continue;
        };
        let known = ctx.catalog().get_tape(&barcode)?;
        if known.as_ref().is_some_and(|t| {
            t.online
                && t.library.as_deref() == Some(lib.name())
                && !matches!(t.location, crate::catalog::TapeLocation::ImportExport(_))
        }) {
            left.push(format!(
                "{address}: barcode {barcode} is already in the library"
            ));
            continue;
        }
        ctx.progress.phase(format!(
            "moving {barcode} from I/E element {address} to storage"
        ));
        let slot = match lib.move_to_slot(&barcode, None) {
            Ok(s) => s,
            Err(LibraryError::NoFreeElement { .. }) => {
                left.push(format!("{address}: no free storage slot for {barcode}"));
                continue;
            }
            Err(e) => {
                left.push(format!("{address}: {e}"));
                continue;
            }
        };
        ctx.nothing_done = false;
        let content = if is_cleaning(&barcode) {
            TapeContent::Cleaning
        } else if let Some(t) = &known {
            // Known tape: back online (the move recorded it), still what it was.
            if t.foreign {
                TapeContent::ForeignLtfs
            } else if t.volume_uuid.is_some() {
                TapeContent::Ltfs
            } else {
                TapeContent::Blank
            }
        } else {
            match identify(ctx, &lib, &barcode) {
                Ok(c) => c,
                Err(e @ (OpError::Cancelled | OpError::ShuttingDown)) => return Err(e),
                Err(e) => {
                    left.push(format!("{address}: {barcode} moved to slot {slot} but could not be identified: {e}"));
                    continue;
                }
            }
        };
        tracing::info!(%barcode, slot, ?content, known = known.is_some(), "cartridge inserted");
        tapes.push(InsertedTape {
            barcode,
            content,
            known: known.is_some(),
            slot,
        });
    }
    let result = RequestResult::Insert {
        tapes: tapes.clone(),
        left: left.clone(),
    };
    if left.is_empty() {
        return Ok(OpOutcome::completed(result));
    }
    if tapes.is_empty() {
        return Err(OpError::diva(
            DivaStatusCode::DivaErrInvalidParameter,
            format!("no cartridge was inserted: {}", left.join("; ")),
        ));
    }
    Ok(OpOutcome {
        state: RequestState::PartiallyCompleted,
        result,
        reason: Some(left.join("; ")),
    })
}

/// Takes an idle drive (waiting for one), runs `f` with it, and gives it back.
pub(crate) fn with_idle_drive<R>(
    ctx: &mut OpContext,
    lib: &TapeLibrary,
    why: &str,
    f: impl FnOnce(&mut OpContext, &str) -> OpResult<R>,
) -> OpResult<R> {
    let drive = loop {
        if let Some(d) = ctx.shared().claim_idle_drive(lib, true) {
            break d;
        }
        if let Some(d) = ctx.shared().claim_idle_drive(lib, false) {
            break d;
        }
        ctx.progress.phase(format!("waiting for a drive to {why}"));
        Checkpoint::new(ctx).check()?;
        if lib
            .drives()
            .iter()
            .all(|d| d.status != crate::library::DriveStatus::Up)
        {
            return Err(OpError::diva(
                DivaStatusCode::DivaErrInternal,
                format!("no drive of library {} is UP to {why}", lib.name()),
            ));
        }
        std::thread::sleep(DRIVE_POLL);
    };
    let r = f(ctx, &drive);
    ctx.shared().release_drive(&drive);
    r
}

/// Mounts an unknown cartridge in an idle drive and finds out what it holds.
fn identify(
    ctx: &mut OpContext,
    lib: &std::sync::Arc<TapeLibrary>,
    barcode: &str,
) -> OpResult<TapeContent> {
    let lib2 = lib.clone();
    with_idle_drive(ctx, lib, &format!("identify {barcode}"), |ctx, drive| {
        ctx.progress
            .phase(format!("identifying {barcode} in drive {drive}"));
        lib2.mount(barcode, drive)?;
        let b = barcode.to_string();
        let found = tape::on_drive(&lib2, drive, "identify", move |d| Ok(read_content(d, &b)));
        let unmounted = lib2.unmount(drive);
        let (content, uuid, reason) = found?;
        unmounted?;
        let actor = ctx.actor();
        ctx.catalog().update_tape(barcode, |t| {
            match content {
                TapeContent::Blank => {
                    t.scratch = true;
                    t.foreign = false;
                }
                TapeContent::ForeignLtfs => {
                    t.scratch = false;
                    t.foreign = true;
                    t.volume_uuid = uuid.clone();
                }
                _ => {
                    t.scratch = false;
                    t.foreign = false;
                }
            }
            Ok(())
        })?;
        if content == TapeContent::Unknown {
            ctx.catalog().set_tape_state(
                barcode,
                TapeState::Disabled,
                Some(&format!(
                    "not an LTFS volume and not blank: {}",
                    reason.unwrap_or_default()
                )),
                &actor,
            )?;
        }
        Ok(content)
    })
}

/// (content, LTFS volume UUID, why it is unusable).
fn read_content(d: tape::Dev<'_>, barcode: &str) -> (TapeContent, Option<String>, Option<String>) {
    let options = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let err = match Volume::mount(&mut *d, options) {
        Ok((vol, _)) => {
            let uuid = vol.label().volume_uuid.hyphenated().to_string();
            tracing::info!(%barcode, %uuid, "LTFS volume found");
            return (TapeContent::ForeignLtfs, Some(uuid), None);
        }
        Err(e) => e,
    };
    // Not LTFS: blank when the first record of partition 0 is end of data (SSC-4 BLANK CHECK).
    let mut buf = vec![0u8; 1 << 20];
    let blank = d
        .locate(0, 0)
        .and_then(|_| d.read_block(&mut buf))
        .map(|o| o == ReadOutcome::EndOfData);
    match blank {
        Ok(true) => (TapeContent::Blank, None, None),
        _ => (TapeContent::Unknown, None, Some(err.to_string())),
    }
}
