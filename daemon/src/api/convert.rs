//! Catalog records and library state in their `tapelib.v1` form.

use std::time::SystemTime;

use tapelib_proto::prost_types::Timestamp;
use tapelib_proto::v1::{
    Drive, DriveActivity, DriveState, Element, ElementType, Location, LocationKind, Tape,
    TapeAlertFlag as ProtoTapeAlertFlag, TapeAlertSeverity as ProtoSeverity, TapeContent,
    TapeState as ProtoTapeState,
};
use tapelib_scsi::changer::ElementState;
use tapelib_scsi::spc::log::{TapeAlertFlag, TapeAlertSeverity};
use time::OffsetDateTime;

use crate::catalog::{TapeLocation, TapeRecord, TapeState};
use crate::library::{is_cleaning, DriveInfo, DriveStatus, TapeLibrary};

pub fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::from(t)
}

pub fn offset_timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: t.unix_timestamp(),
        // Always within 0..1e9, so the conversion cannot fail.
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

pub fn generation_name(generation: Option<u8>) -> String {
    generation.map(|g| format!("LTO-{g}")).unwrap_or_default()
}

/// One changer element (SMC-3 6.11 element status descriptor fields).
pub fn element(kind: ElementType, e: &ElementState) -> Element {
    let (exception, exception_reason) = match e.exception {
        Some((asc, ascq)) => (
            true,
            match tapelib_scsi::asc_description(asc, ascq) {
                Some(text) => format!("{text} (ASC/ASCQ {asc:02X}/{ascq:02X})"),
                None => format!("ASC/ASCQ {asc:02X}/{ascq:02X}"),
            },
        ),
        None => (false, String::new()),
    };
    Element {
        r#type: kind as i32,
        address: u32::from(e.address),
        full: e.full,
        barcode: e.barcode.clone().unwrap_or_default(),
        exception,
        exception_reason,
        source_address: e.source_address.map(u32::from),
        accessible: e.access,
        imported_by_operator: false,
        drive_name: String::new(),
        drive_serial: String::new(),
    }
}

pub fn drive(library: &str, d: DriveInfo) -> Drive {
    let (state, reason) = match d.status {
        DriveStatus::Up => (DriveState::Up, String::new()),
        DriveStatus::Down { reason } => (DriveState::Down, reason),
    };
    let cleaning = d.loaded.as_deref().is_some_and(is_cleaning);
    Drive {
        name: d.name,
        library: library.to_string(),
        element_address: u32::from(d.element),
        device: d.device,
        vendor: d.identity.vendor,
        product: d.identity.product,
        serial: d.identity.serial.unwrap_or_default(),
        firmware: d.identity.revision,
        generation: generation_name(d.identity.lto_generation),
        state: state as i32,
        state_reason: reason,
        state_changed: None,
        // The daemon does not track activity yet, except what the loaded cartridge says.
        activity: if cleaning {
            DriveActivity::Cleaning as i32
        } else {
            DriveActivity::Unspecified as i32
        },
        loaded_barcode: d.loaded.unwrap_or_default(),
        current_request_id: 0,
        cleaning_needed: d.alerts.iter().any(|(f, _)| asks_for_cleaning(*f)),
        tape_alerts: d
            .alerts
            .iter()
            .map(|(f, raised)| ProtoTapeAlertFlag {
                number: u32::from(f.0),
                name: f.name().to_string(),
                severity: match f.severity() {
                    TapeAlertSeverity::Information => ProtoSeverity::Information,
                    TapeAlertSeverity::Warning => ProtoSeverity::Warning,
                    TapeAlertSeverity::Critical => ProtoSeverity::Critical,
                } as i32,
                raised: Some(offset_timestamp(*raised)),
            })
            .collect(),
        mounts: 0,
        errors: 0,
    }
}

/// TapeAlert 20 (clean now) and 21 (clean periodic).
fn asks_for_cleaning(f: TapeAlertFlag) -> bool {
    matches!(f.0, 20 | 21)
}

pub fn tape_state(s: TapeState) -> ProtoTapeState {
    match s {
        TapeState::Active => ProtoTapeState::Active,
        TapeState::Disabled => ProtoTapeState::Disabled,
        TapeState::Broken => ProtoTapeState::Broken,
        TapeState::Full => ProtoTapeState::Full,
        TapeState::Exported => ProtoTapeState::Exported,
        TapeState::Repacking => ProtoTapeState::Repacking,
    }
}

pub fn tape_content(t: &TapeRecord) -> TapeContent {
    if is_cleaning(&t.barcode) {
        TapeContent::Cleaning
    } else if t.foreign {
        TapeContent::Foreign
    } else if t.group.is_some() {
        TapeContent::GroupMember
    } else {
        TapeContent::Scratch
    }
}

pub fn location_kind(l: TapeLocation) -> LocationKind {
    match l {
        TapeLocation::Slot(_) => LocationKind::StorageSlot,
        TapeLocation::Drive(_) => LocationKind::Drive,
        TapeLocation::ImportExport(_) => LocationKind::ImportExport,
        TapeLocation::Outside => LocationKind::Outside,
    }
}

/// A catalog tape; `libraries` names the drive a tape is in, `object_count` comes from
/// the instance index.
pub fn tape(t: TapeRecord, libraries: &[std::sync::Arc<TapeLibrary>], object_count: u64) -> Tape {
    let library = t.library.clone().unwrap_or_default();
    let (address, drive) = match t.location {
        TapeLocation::Slot(a) | TapeLocation::ImportExport(a) => (u32::from(a), String::new()),
        TapeLocation::Drive(a) => {
            let name = libraries
                .iter()
                .find(|l| l.name() == library)
                .and_then(|l| l.drives().into_iter().find(|d| d.element == a))
                .map(|d| d.name)
                .unwrap_or_default();
            (u32::from(a), name)
        }
        TapeLocation::Outside => (0, String::new()),
    };
    let location = Location {
        kind: location_kind(t.location) as i32,
        library: if t.location == TapeLocation::Outside {
            String::new()
        } else {
            library
        },
        element_address: address,
        drive,
    };
    Tape {
        content: tape_content(&t) as i32,
        state: tape_state(t.state) as i32,
        remaining_bytes: t.free_bytes(),
        generation: generation_name(t.generation),
        group: t.group.unwrap_or_default(),
        ltfs_volume_uuid: t.volume_uuid.unwrap_or_default(),
        capacity_bytes: t.capacity_bytes,
        used_bytes: t.used_bytes,
        state_reason: t.state_reason.unwrap_or_default(),
        location: Some(location),
        online: t.online,
        object_count,
        mounts: t.mounts,
        errors: t.errors,
        last_mounted: None,
        cleaning_cycles_left: None,
        barcode: t.barcode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(address: u16, barcode: Option<&str>, exception: Option<(u8, u8)>) -> ElementState {
        ElementState {
            address,
            full: barcode.is_some(),
            barcode: barcode.map(str::to_string),
            primary_tag: None,
            alternate_tag: None,
            source_address: None,
            exception,
            access: true,
        }
    }

    #[test]
    fn elements_carry_barcode_and_exception_text() {
        let e = element(ElementType::Storage, &state(4096, Some("A00001L8"), None));
        assert_eq!(
            (e.address, e.full, e.barcode.as_str()),
            (4096, true, "A00001L8")
        );
        assert!(!e.exception && e.exception_reason.is_empty());
        // SPC-4 ASC/ASCQ 3B/0E: medium source element empty.
        let e = element(
            ElementType::DataTransfer,
            &state(256, None, Some((0x3B, 0x0E))),
        );
        assert!(e.exception);
        assert!(!e.exception_reason.is_empty());
        let e = element(ElementType::Storage, &state(1, None, Some((0xFF, 0xFE))));
        assert!(
            e.exception_reason.contains("FF/FE"),
            "{}",
            e.exception_reason
        );
    }

    #[test]
    fn tape_fields() {
        let mut t = TapeRecord::new_scratch("CLN001CU", TapeLocation::Slot(4143));
        assert_eq!(tape_content(&t), TapeContent::Cleaning);
        t.barcode = "A00001L8".into();
        assert_eq!(tape_content(&t), TapeContent::Scratch);
        t.group = Some("archive".into());
        assert_eq!(tape_content(&t), TapeContent::GroupMember);
        t.foreign = true;
        assert_eq!(tape_content(&t), TapeContent::Foreign);
        t.generation = Some(8);
        t.capacity_bytes = 100;
        t.used_bytes = 30;
        t.library = Some("lib0".into());
        let p = tape(t.clone(), &[], 3);
        assert_eq!(p.generation, "LTO-8");
        assert_eq!(p.remaining_bytes, 70);
        assert_eq!(p.object_count, 3);
        let loc = p.location.expect("location");
        assert_eq!(loc.kind, LocationKind::StorageSlot as i32);
        assert_eq!((loc.library.as_str(), loc.element_address), ("lib0", 4143));
        t.location = TapeLocation::Outside;
        let loc = tape(t, &[], 0).location.expect("location");
        assert_eq!(loc.kind, LocationKind::Outside as i32);
        assert!(loc.library.is_empty());
        assert_eq!(tape_state(TapeState::Full), ProtoTapeState::Full);
        assert_eq!(tape_state(TapeState::Repacking), ProtoTapeState::Repacking);
    }
}
