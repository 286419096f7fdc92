//! Keeps the alert state of drives (TapeAlert flags) and of the changer's elements
//! (exceptions) and records each change in the catalog's alert history. The state starts
//! from the history's open alerts, so a flag still set across a restart is not raised
//! twice and keeps the time it was first seen.

use std::collections::{BTreeMap, BTreeSet};

use tapelib_scsi::spc::log::{TapeAlertFlag, TapeAlertSeverity};
use tapelib_scsi::Inventory;
use time::OffsetDateTime;

use super::{lock, DriveSlot, TapeLibrary};
use crate::catalog::{AlertEvent, AlertSeverity, AlertSource};

/// An element in exception: its address and ASC/ASCQ.
pub(super) type ElementException = (u16, u8, u8);

/// The TapeAlert flags of `drive` that the history says are still set, with when each was
/// raised.
pub(super) fn open_drive_flags(
    open: &[AlertEvent],
    drive: &str,
) -> BTreeMap<TapeAlertFlag, OffsetDateTime> {
    open.iter()
        .filter(|e| e.source == AlertSource::TapeAlert && e.drive == drive)
        .filter_map(|e| {
            u8::try_from(e.code)
                .ok()
                .map(|f| (TapeAlertFlag(f), e.time))
        })
        .collect()
}

/// The element exceptions the history says are still present.
pub(super) fn open_exceptions(open: &[AlertEvent]) -> BTreeSet<ElementException> {
    open.iter()
        .filter(|e| e.source == AlertSource::ElementException)
        .map(|e| (e.element, (e.code >> 8) as u8, (e.code & 0xff) as u8))
        .collect()
}

fn severity(s: TapeAlertSeverity) -> AlertSeverity {
    match s {
        TapeAlertSeverity::Information => AlertSeverity::Information,
        TapeAlertSeverity::Warning => AlertSeverity::Warning,
        TapeAlertSeverity::Critical => AlertSeverity::Critical,
    }
}

/// Hardware failures (mechanical positioning, diagnostic and internal target failures)
/// are critical; other exceptions (e.g. a medium problem) need attention but are not.
fn exception_severity(asc: u8) -> AlertSeverity {
    match asc {
        0x15 | 0x40 | 0x44 => AlertSeverity::Critical,
        _ => AlertSeverity::Warning,
    }
}

fn exception_name(asc: u8, ascq: u8) -> String {
    match tapelib_scsi::asc_description(asc, ascq) {
        Some(text) => format!("{text} (ASC/ASCQ {asc:02X}/{ascq:02X})"),
        None => format!("ASC/ASCQ {asc:02X}/{ascq:02X}"),
    }
}

/// Every element of `inv` in exception, with the barcode it holds.
fn exceptions(inv: &Inventory) -> BTreeMap<ElementException, Option<String>> {
    inv.transports
        .iter()
        .chain(&inv.storage)
        .chain(inv.import_export.iter().map(|e| &e.state))
        .chain(inv.drives.iter().map(|e| &e.state))
        .filter_map(|e| {
            e.exception
                .map(|(asc, ascq)| ((e.address, asc, ascq), e.barcode.clone()))
        })
        .collect()
}

impl TapeLibrary {
    fn record(&self, event: AlertEvent) {
        if event.raised {
            tracing::warn!(
                library = %self.name, drive = %event.drive, element = event.element,
                code = event.code, name = %event.name, "alert raised"
            );
        } else {
            tracing::info!(
                library = %self.name, drive = %event.drive, element = event.element,
                code = event.code, name = %event.name, "alert cleared"
            );
        }
        // The live state is kept even if the history cannot be written; the log says why.
        if let Err(e) = self.catalog.record_alert(&event) {
            tracing::error!(error = %e, "cannot record the alert in the catalog");
        }
    }

    /// Keeps the flags of a reading for [`TapeLibrary::drives`] and records each flag newly
    /// set or no longer set.
    pub(super) fn keep_alerts(&self, d: &DriveSlot, flags: &BTreeSet<TapeAlertFlag>) {
        let now = OffsetDateTime::now_utc();
        let (raised, cleared) = {
            let mut kept = lock(&d.alerts);
            let cleared: Vec<TapeAlertFlag> = kept
                .keys()
                .filter(|f| !flags.contains(f))
                .copied()
                .collect();
            kept.retain(|f, _| flags.contains(f));
            let mut raised = Vec::new();
            for f in flags {
                if !kept.contains_key(f) {
                    kept.insert(*f, now);
                    raised.push(*f);
                }
            }
            (raised, cleared)
        };
        if raised.is_empty() && cleared.is_empty() {
            return;
        }
        let barcode = self.drive(&d.name).ok().and_then(|i| i.loaded);
        let events = raised
            .into_iter()
            .map(|f| (f, true))
            .chain(cleared.into_iter().map(|f| (f, false)));
        for (f, up) in events {
            self.record(AlertEvent {
                seq: 0,
                time: now,
                library: self.name.clone(),
                drive: d.name.clone(),
                element: d.element,
                barcode: barcode.clone().unwrap_or_default(),
                source: AlertSource::TapeAlert,
                code: u16::from(f.0),
                name: f.name().to_string(),
                severity: severity(f.severity()),
                raised: up,
            });
        }
    }

    /// Compares the exceptions of a fresh inventory with the last ones and records each
    /// that appeared or went away.
    pub(super) fn note_element_exceptions(&self, inv: &Inventory) {
        let now = OffsetDateTime::now_utc();
        let current = exceptions(inv);
        let mut kept = lock(&self.element_alerts);
        let gone: Vec<ElementException> = kept
            .iter()
            .filter(|k| !current.contains_key(k))
            .copied()
            .collect();
        let new: Vec<(ElementException, Option<String>)> = current
            .iter()
            .filter(|(k, _)| !kept.contains(k))
            .map(|(k, b)| (*k, b.clone()))
            .collect();
        let events = new
            .into_iter()
            .map(|(k, b)| (k, b, true))
            .chain(gone.into_iter().map(|k| (k, None, false)));
        for ((element, asc, ascq), barcode, up) in events {
            if up {
                kept.insert((element, asc, ascq));
            } else {
                kept.remove(&(element, asc, ascq));
            }
            self.record(AlertEvent {
                seq: 0,
                time: now,
                library: self.name.clone(),
                drive: self
                    .drive_at(element)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                element,
                barcode: barcode.unwrap_or_default(),
                source: AlertSource::ElementException,
                code: u16::from(asc) << 8 | u16::from(ascq),
                name: exception_name(asc, ascq),
                severity: exception_severity(asc),
                raised: up,
            });
        }
    }
}
