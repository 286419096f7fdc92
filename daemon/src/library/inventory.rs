//! The changer inventory as the catalog keeps it: the library's element cache and each
//! tape's location. New barcodes become tape records.

use std::collections::HashSet;

use tapelib_scsi::changer::ElementState;
use tapelib_scsi::Inventory;
use time::OffsetDateTime;

use crate::catalog::{
    Catalog, CatalogError, ElementCache, ElementKind, LibraryRecord, TapeLocation, TapeRecord,
    TapeState,
};

const ACTOR: &str = "library";

/// LTO generation from the two-character media suffix of an LTO barcode label
/// (`L5`..`L9` data, `LT`..`LZ` WORM of generations 3..9, `M8` a type M LTO-7 cartridge that
/// only LTO-8 drives write, so it counts as generation 8).
pub fn generation_from_barcode(barcode: &str) -> Option<u8> {
    let b = barcode.trim().as_bytes();
    let suffix = b.get(b.len().checked_sub(2)?..)?;
    match suffix {
        [b'M' | b'm', b'8'] => Some(8),
        [b'L' | b'l', d @ b'1'..=b'9'] => Some(d - b'0'),
        [b'L' | b'l', w @ (b'T'..=b'Z' | b't'..=b'z')] => Some(w.to_ascii_uppercase() - b'T' + 3),
        _ => None,
    }
}

/// Cleaning cartridges carry labels starting with `CLN` (LTO barcode label convention).
pub fn is_cleaning(barcode: &str) -> bool {
    barcode
        .trim()
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("CLN"))
}

/// Every element of the inventory with its catalog kind.
pub(crate) fn elements(inv: &Inventory) -> impl Iterator<Item = (ElementKind, &ElementState)> {
    inv.transports
        .iter()
        .map(|e| (ElementKind::Transport, e))
        .chain(inv.storage.iter().map(|e| (ElementKind::Storage, e)))
        .chain(
            inv.import_export
                .iter()
                .map(|e| (ElementKind::ImportExport, &e.state)),
        )
        .chain(inv.drives.iter().map(|e| (ElementKind::Drive, &e.state)))
}

/// The catalog location of an element of `kind` at `address`.
pub(crate) fn location(kind: ElementKind, address: u16) -> Option<TapeLocation> {
    match kind {
        ElementKind::Storage => Some(TapeLocation::Slot(address)),
        ElementKind::ImportExport => Some(TapeLocation::ImportExport(address)),
        ElementKind::Drive => Some(TapeLocation::Drive(address)),
        // A cartridge held by the robot is between places; its move will record where it lands.
        ElementKind::Transport => None,
    }
}

/// Where `barcode` is in `inv`.
pub(crate) fn find(inv: &Inventory, barcode: &str) -> Option<(ElementKind, u16)> {
    elements(inv)
        .find(|(_, e)| e.full && e.barcode.as_deref() == Some(barcode))
        .map(|(k, e)| (k, e.address))
}

/// Records a MOVE MEDIUM in the cached inventory.
pub(crate) fn apply_move(inv: &mut Inventory, from: u16, to: u16) {
    let mut moved = None;
    for e in elements_mut(inv) {
        if e.address == from {
            moved = Some((e.barcode.take(), e.primary_tag.take()));
            e.full = false;
            e.source_address = None;
        }
    }
    if let Some((barcode, tag)) = moved {
        for e in elements_mut(inv) {
            if e.address == to {
                e.full = true;
                e.barcode = barcode.clone();
                e.primary_tag = tag.clone();
                e.source_address = Some(from);
            }
        }
    }
}

fn elements_mut(inv: &mut Inventory) -> impl Iterator<Item = &mut ElementState> {
    inv.transports
        .iter_mut()
        .chain(inv.storage.iter_mut())
        .chain(inv.import_export.iter_mut().map(|e| &mut e.state))
        .chain(inv.drives.iter_mut().map(|e| &mut e.state))
}

/// A new tape record for a barcode first seen at `loc`.
pub(crate) fn new_tape(barcode: &str, loc: TapeLocation, library: &str) -> TapeRecord {
    let mut t = TapeRecord::new_scratch(barcode, loc);
    t.library = Some(library.to_string());
    if is_cleaning(barcode) {
        // The catalog has no cartridge type: a cleaning cartridge is kept out of the scratch
        // pool and out of service for data, with the reason saying why.
        t.scratch = false;
        t.state = TapeState::Disabled;
        t.state_reason = Some("cleaning cartridge".into());
    } else {
        t.generation = generation_from_barcode(barcode);
    }
    t
}

/// Records that `barcode` is now at `loc` in `library`, creating the tape if it is new.
pub(crate) fn record_location(
    catalog: &Catalog,
    library: &str,
    barcode: &str,
    loc: TapeLocation,
) -> Result<(), CatalogError> {
    let in_ie = matches!(loc, TapeLocation::ImportExport(_));
    match catalog.get_tape(barcode)? {
        // A cartridge in the I/E station is not taken into the archive until an insert
        // request identifies it.
        None if in_ie => Ok(()),
        None => catalog.add_tape(&new_tape(barcode, loc, library), ACTOR),
        Some(t) => {
            if t.location != loc || t.library.as_deref() != Some(library) {
                catalog.move_tape_location(barcode, loc, Some(library))?;
            }
            // An ejected tape waiting in the I/E station stays offline. An EXPORTED tape
            // put back into storage is online (an import can mount it) but its state keeps
            // it out of service: it holds no instance until imported.
            if !t.online && !in_ie {
                catalog.mark_tape_online(barcode, ACTOR)?;
            }
            Ok(())
        }
    }
}

/// Identity of the changer, for the library record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangerIdentity {
    pub vendor: String,
    pub product: String,
    pub revision: String,
    /// Unit serial number (VPD 80h); empty when the changer reports none.
    pub serial: String,
}

/// Writes the element cache and every tape location of `inv`. Tapes the catalog placed in
/// this library that are no longer in it left through the I/E station: they go outside and
/// offline.
pub(crate) fn sync_catalog(
    catalog: &Catalog,
    library: &str,
    identity: &ChangerIdentity,
    inv: &Inventory,
) -> Result<(), CatalogError> {
    let record = LibraryRecord {
        name: library.to_string(),
        vendor: identity.vendor.clone(),
        product: identity.product.clone(),
        serial: identity.serial.clone(),
        elements: elements(inv)
            .map(|(kind, e)| ElementCache {
                address: e.address,
                kind,
                full: e.full,
                barcode: e.barcode.clone(),
            })
            .collect(),
        updated: OffsetDateTime::now_utc(),
    };
    catalog.put_library(&record)?;
    let mut seen = HashSet::new();
    for (kind, e) in elements(inv) {
        let (Some(barcode), Some(loc)) = (e.barcode.as_deref(), location(kind, e.address)) else {
            if e.full && e.barcode.is_none() {
                tracing::warn!(%library, address = e.address, "cartridge without a readable barcode");
            }
            continue;
        };
        if !e.full {
            continue;
        }
        seen.insert(barcode.to_string());
        record_location(catalog, library, barcode, loc)?;
    }
    let mut cursor = None;
    loop {
        let page = catalog.list_tapes(cursor.as_ref(), crate::catalog::MAX_PAGE)?;
        for t in &page.items {
            if t.library.as_deref() == Some(library)
                && t.location != TapeLocation::Outside
                && !seen.contains(&t.barcode)
            {
                tracing::info!(%library, barcode = %t.barcode, "tape no longer in the library");
                catalog.move_tape_location(&t.barcode, TapeLocation::Outside, None)?;
                if t.online {
                    catalog.mark_tape_offline(&t.barcode, ACTOR)?;
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_from_labels() {
        assert_eq!(generation_from_barcode("A00001L8"), Some(8));
        assert_eq!(generation_from_barcode("A00001L5"), Some(5));
        assert_eq!(generation_from_barcode("A00001M8"), Some(8));
        assert_eq!(generation_from_barcode("A00001LZ"), Some(9));
        assert_eq!(generation_from_barcode("A00001LV"), Some(5));
        assert_eq!(generation_from_barcode("CLN001CU"), None);
        assert_eq!(generation_from_barcode("X"), None);
        assert_eq!(generation_from_barcode(""), None);
        assert_eq!(generation_from_barcode("ÄL"), None);
        assert!(is_cleaning("CLN001CU"));
        assert!(is_cleaning("cln001l1"));
        assert!(!is_cleaning("CL"));
        assert!(!is_cleaning("A00001L8"));
    }
}
