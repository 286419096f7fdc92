//! One scheduling pass: hand pending work to idle drives in queue order.

use std::collections::HashSet;

use super::batch::group_by_tape;
use super::drives::{choose_drive, choose_drive_any, DriveChoice, DriveView};
use super::queue::{PendingWork, RequestQueue};

/// Work given to one drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub drive: String,
    /// `Loaded`, `Empty` or `Swap` (never `TapeInUse`/`NoDrive`).
    pub choice: DriveChoice,
    /// The tape to mount; `None` for work that picks its tape when it runs.
    pub barcode: Option<String>,
    /// Work in run order.
    pub items: Vec<PendingWork>,
}

/// Result of a pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub assignments: Vec<Assignment>,
    /// Work that needs no drive, in queue order (the caller serialises robot work).
    pub no_drive: Vec<PendingWork>,
}

fn ranked_first(items: &[PendingWork]) -> Option<&PendingWork> {
    items
        .iter()
        .min_by_key(|w| (std::cmp::Reverse(w.priority), w.submitted, w.id))
}

/// Plans one pass. Tape batches and drive-only work are considered in order of their
/// best-ranked work; each gets at most one drive, each drive at most one assignment, and a
/// tape held by a busy drive waits for it. Tapes wanted by any batch are not unloaded to
/// make room for other work.
pub fn plan(queue: &RequestQueue, drives: &[DriveView]) -> Plan {
    let batches = group_by_tape(queue);
    let keep: HashSet<String> = batches.tapes.iter().map(|b| b.barcode.clone()).collect();
    let mut view: Vec<DriveView> = drives.to_vec();

    // Units in the order of their best work.
    enum Unit<'a> {
        Tape(&'a super::batch::TapeBatch),
        Any(&'a PendingWork),
    }
    let mut units: Vec<(&PendingWork, Unit<'_>)> = Vec::new();
    for b in &batches.tapes {
        if let Some(first) = ranked_first(&b.items) {
            units.push((first, Unit::Tape(b)));
        }
    }
    for w in &batches.any_drive {
        units.push((w, Unit::Any(w)));
    }
    units.sort_by_key(|(w, _)| (std::cmp::Reverse(w.priority), w.submitted, w.id));

    let mut out = Plan {
        assignments: Vec::new(),
        no_drive: batches.no_drive.clone(),
    };
    for (_, unit) in units {
        let (choice, barcode, items) = match unit {
            Unit::Tape(b) => (
                choose_drive(&view, &b.barcode, &keep),
                Some(b.barcode.clone()),
                b.items.clone(),
            ),
            Unit::Any(w) => (choose_drive_any(&view, &keep), None, vec![w.clone()]),
        };
        let drive = match &choice {
            DriveChoice::Loaded { drive }
            | DriveChoice::Empty { drive }
            | DriveChoice::Swap { drive, .. } => drive.clone(),
            DriveChoice::TapeInUse { .. } | DriveChoice::NoDrive => continue,
        };
        if let Some(d) = view.iter_mut().find(|d| d.id == drive) {
            d.busy = true;
            d.loaded = barcode.clone();
        }
        out.assignments.push(Assignment {
            drive,
            choice,
            barcode,
            items,
        });
    }
    out
}
