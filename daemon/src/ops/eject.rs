//! eject: tapes go to I/E elements for an operator to take out, waiting for a free element
//! when the station is full. The tapes and their instances go offline: requests that need
//! them fail with DIVA_ERR_OBJECT_OFFLINE.

use std::time::Duration;

use super::tape::Checkpoint;
use super::{OpContext, OpOutcome};
use crate::catalog::TapeLocation;
use crate::engine::{OpError, OpResult};
use crate::library::LibraryError;
use crate::request::{DivaStatusCode, EjectParams, EjectedTape, RequestResult, RequestState};

/// How often a request waiting for a free I/E element or a busy drive looks again.
const POLL: Duration = Duration::from_secs(1);

pub(crate) fn run(ctx: &mut OpContext, p: &EjectParams) -> OpResult<OpOutcome> {
    let mut tapes = Vec::new();
    let mut failed = Vec::new();
    for barcode in &p.barcodes {
        match eject_one(ctx, barcode, &p.comment) {
            Ok(addr) => {
                ctx.nothing_done = false;
                tapes.push(EjectedTape {
                    barcode: barcode.clone(),
                    ie_address: addr,
                });
            }
            Err(e @ (OpError::Cancelled | OpError::ShuttingDown)) => {
                ctx.partial_result = Some(RequestResult::Eject {
                    tapes: tapes.clone(),
                    failed: failed.clone(),
                });
                return Err(e);
            }
            Err(e) => failed.push(format!("{barcode}: {e}")),
        }
    }
    let result = RequestResult::Eject {
        tapes: tapes.clone(),
        failed: failed.clone(),
    };
    if failed.is_empty() {
        Ok(OpOutcome::completed(result))
    } else if tapes.is_empty() {
        Err(OpError::diva(
            DivaStatusCode::DivaErrInternal,
            format!("no tape was ejected: {}", failed.join("; ")),
        ))
    } else {
        Ok(OpOutcome {
            state: RequestState::PartiallyCompleted,
            result,
            reason: Some(failed.join("; ")),
        })
    }
}

pub(crate) fn eject_one(ctx: &mut OpContext, barcode: &str, comment: &str) -> OpResult<u16> {
    let tape = ctx.catalog().get_tape(barcode)?.ok_or_else(|| {
        OpError::diva(
            DivaStatusCode::DivaErrTapeDoesntExist,
            format!("tape {barcode} is not known"),
        )
    })?;
    let lib = ctx.library_of(&tape)?;
    if let TapeLocation::ImportExport(a) = tape.location {
        if !tape.online {
            return Ok(a);
        }
    }
    // Wait until no request uses the tape, and keep others off it meanwhile.
    while !ctx.shared().reserve_tape(barcode) {
        ctx.progress
            .phase(format!("waiting for the requests using {barcode}"));
        Checkpoint::new(ctx).check()?;
        std::thread::sleep(POLL);
    }
    let r = eject_reserved(ctx, &lib, barcode, comment);
    ctx.shared().release_tape(barcode);
    r
}

fn eject_reserved(
    ctx: &mut OpContext,
    lib: &std::sync::Arc<crate::library::TapeLibrary>,
    barcode: &str,
    comment: &str,
) -> OpResult<u16> {
    // A tape in a drive is unloaded first, when that drive is idle.
    if let Some(d) = lib
        .drives()
        .into_iter()
        .find(|d| d.loaded.as_deref() == Some(barcode))
    {
        ctx.wait_for_drive(&d.name)?;
        ctx.progress
            .phase(format!("unloading {barcode} from drive {}", d.name));
        let r = lib.unmount(&d.name);
        ctx.shared().release_drive(&d.name);
        r?;
    }
    let mut waiting = false;
    let addr = loop {
        match lib.move_to_ie(barcode, None) {
            Ok(a) => break a,
            Err(LibraryError::NoFreeElement { .. }) => {
                if !waiting {
                    tracing::info!(%barcode, "waiting for a free import/export element");
                    waiting = true;
                }
                ctx.progress.phase(format!(
                    "waiting for a free import/export slot for {barcode}"
                ));
                Checkpoint::new(ctx).check()?;
                std::thread::sleep(POLL);
                // The operator may have emptied the station.
                lib.refresh_inventory()?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let actor = ctx.actor();
    ctx.catalog().mark_tape_offline(barcode, &actor)?;
    if !comment.is_empty() {
        ctx.catalog()
            .audit(&actor, "tape.eject", barcode, comment)
            .map_err(OpError::from)?;
    }
    tracing::info!(%barcode, ie = addr, "tape ejected");
    Ok(addr)
}
