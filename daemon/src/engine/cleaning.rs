//! Drive cleaning: a drive that raises TapeAlert 20 (clean now) or 21 (clean periodic) gets
//! a cleaning cartridge when it is idle. Uses are counted per cartridge; an exhausted
//! cartridge is marked expired (BROKEN, with the reason) and not used again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tapelib_scsi::spc::log::TapeAlertFlag;

use super::Shared;
use crate::catalog::{TapeLocation, TapeRecord, TapeState};
use crate::library::{is_cleaning, TapeLibrary};

/// TapeAlert flags asking for cleaning (SSC-4 Annex A / TapeAlert specification).
const CLEAN_NOW: u8 = 20;
const CLEAN_PERIODIC: u8 = 21;

/// How often idle drives are asked whether they need cleaning.
const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Uses of a universal LTO cleaning cartridge (the cartridge itself refuses more; we stop
/// at the rated number).
pub const CLEANING_CARTRIDGE_USES: u32 = 50;

/// Checks idle drives now and then; starts a cleaning on a thread of its own.
pub(crate) fn maybe_clean(shared: &Arc<Shared>) {
    {
        let mut last = super::lock(&shared.last_cleaning_check);
        if last.is_some_and(|t| t.elapsed() < CHECK_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
    }
    for lib in shared.state.libraries.iter() {
        for d in lib.drives() {
            if d.status != crate::library::DriveStatus::Up || !shared.claim_drive(&d.name) {
                continue;
            }
            let alerts = lib.read_tape_alerts(&d.name);
            let wants = match alerts {
                Ok(a) => {
                    a.contains(&TapeAlertFlag(CLEAN_NOW))
                        || a.contains(&TapeAlertFlag(CLEAN_PERIODIC))
                }
                Err(e) => {
                    tracing::debug!(drive = %d.name, error = %e, "cannot read TapeAlert flags");
                    false
                }
            };
            if !wants {
                shared.release_drive(&d.name);
                continue;
            }
            let s = shared.clone();
            let l = lib.clone();
            let name = d.name.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("clean-{name}"))
                .spawn(move || {
                    clean(&s, &l, &name);
                    s.release_drive(&name);
                });
            match spawned {
                Ok(h) => shared.threads().push(h),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a cleaning thread");
                    shared.release_drive(&d.name);
                }
            }
        }
    }
}

/// A usable cleaning cartridge in a storage slot of `lib`, least used first.
fn cleaning_cartridge(shared: &Shared, lib: &TapeLibrary) -> Option<TapeRecord> {
    let mut cursor = None;
    let mut found: Vec<TapeRecord> = Vec::new();
    loop {
        let page = shared
            .state
            .catalog
            .list_tapes(cursor.as_ref(), crate::catalog::MAX_PAGE)
            .ok()?;
        found.extend(page.items.into_iter().filter(|t| {
            is_cleaning(&t.barcode)
                && t.online
                && t.library.as_deref() == Some(lib.name())
                && matches!(t.location, TapeLocation::Slot(_))
                && t.state != TapeState::Broken
                && t.cleaning_uses < CLEANING_CARTRIDGE_USES
        }));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    found.into_iter().min_by_key(|t| t.cleaning_uses)
}

fn clean(shared: &Shared, lib: &TapeLibrary, drive: &str) {
    let span = tracing::info_span!("cleaning", drive = %drive);
    let _enter = span.enter();
    let Some(cart) = cleaning_cartridge(shared, lib) else {
        tracing::warn!(
            "the drive asks for cleaning but no usable cleaning cartridge is in the library"
        );
        return;
    };
    let barcode = cart.barcode.clone();
    if !shared.reserve_tape(&barcode) {
        return;
    }
    tracing::info!(%barcode, "cleaning the drive");
    // A data cartridge left in the drive goes home first (mount does that).
    let mounted = lib.mount(&barcode, drive);
    // The drive ejects a cleaning cartridge when it is done; bring it back to its slot.
    let back = lib.unmount(drive);
    shared.release_tape(&barcode);
    match (&mounted, &back) {
        (Err(e), _) => {
            tracing::warn!(%barcode, error = %e, "loading the cleaning cartridge failed")
        }
        (_, Err(e)) => {
            tracing::warn!(%barcode, error = %e, "returning the cleaning cartridge failed")
        }
        _ => {}
    }
    if mounted.is_err() && back.is_err() {
        return;
    }
    let catalog = &shared.state.catalog;
    match catalog.update_tape(&barcode, |t| {
        t.cleaning_uses = t.cleaning_uses.saturating_add(1);
        Ok(())
    }) {
        Ok(t) if t.cleaning_uses >= CLEANING_CARTRIDGE_USES => {
            let reason = format!("cleaning cartridge expired after {} uses", t.cleaning_uses);
            if let Err(e) =
                catalog.set_tape_state(&barcode, TapeState::Broken, Some(&reason), "tapelibd")
            {
                tracing::error!(%barcode, error = %e, "cannot mark the cleaning cartridge expired");
            } else {
                tracing::warn!(%barcode, "{reason}");
            }
        }
        Ok(t) => tracing::info!(%barcode, uses = t.cleaning_uses, "drive cleaned"),
        Err(e) => tracing::error!(%barcode, error = %e, "cannot count the cleaning"),
    }
    if let Err(e) = catalog.audit("tapelibd", "drive.clean", drive, &barcode) {
        tracing::warn!(error = %e, "cannot audit the cleaning");
    }
}
