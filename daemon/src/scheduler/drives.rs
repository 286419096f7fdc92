//! Drive choice: use the drive that already holds the tape; else an empty drive; else
//! unload the least recently used idle drive. DOWN and busy drives are never chosen.

use std::collections::HashSet;

use time::OffsetDateTime;

/// Whether a drive may be used. A drive goes DOWN after a failed unload or a hardware
/// error and stays DOWN until an operator sets it UP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveStatus {
    Up,
    Down { reason: String },
}

/// What the scheduler knows of a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveView {
    pub id: String,
    pub status: DriveStatus,
    /// Barcode of the loaded tape.
    pub loaded: Option<String>,
    /// Running work (or a robot move to or from it).
    pub busy: bool,
    /// End of its last work; `None` if never used (counts as least recently used).
    pub last_used: Option<OffsetDateTime>,
}

impl DriveView {
    /// Up and idle.
    pub fn available(&self) -> bool {
        self.status == DriveStatus::Up && !self.busy
    }
}

/// Where work for a tape should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriveChoice {
    /// The tape is already in this idle drive: no robot move.
    Loaded { drive: String },
    /// Load the tape into this empty drive.
    Empty { drive: String },
    /// Unload `unload` from this drive, then load the tape.
    Swap { drive: String, unload: String },
    /// The tape is in a busy or DOWN drive: wait for it (a tape cannot be in two drives).
    TapeInUse { drive: String },
    /// No drive can take the work now.
    NoDrive,
}

/// Least recently used first (never used before anything), then id for determinism.
fn lru_key(d: &DriveView) -> (Option<OffsetDateTime>, &str) {
    (d.last_used, d.id.as_str())
}

fn first_empty(drives: &[DriveView]) -> Option<&DriveView> {
    drives
        .iter()
        .filter(|d| d.available() && d.loaded.is_none())
        .min_by(|a, b| lru_key(a).cmp(&lru_key(b)))
}

/// The idle loaded drive to unload: least recently used among those whose tape is not in
/// `keep` (tapes that pending work wants; unloading them would cost a remount).
fn lru_swap<'a>(
    drives: &'a [DriveView],
    keep: &HashSet<String>,
) -> Option<(&'a DriveView, &'a str)> {
    drives
        .iter()
        .filter(|d| d.available())
        .filter_map(|d| d.loaded.as_deref().map(|t| (d, t)))
        .filter(|(_, t)| !keep.contains(*t))
        .min_by(|(a, _), (b, _)| lru_key(a).cmp(&lru_key(b)))
}

/// Chooses a drive for work on `barcode`. Empty drives are taken least recently used
/// first so wear spreads over the drives.
pub fn choose_drive(drives: &[DriveView], barcode: &str, keep: &HashSet<String>) -> DriveChoice {
    if let Some(d) = drives.iter().find(|d| d.loaded.as_deref() == Some(barcode)) {
        return if d.available() {
            DriveChoice::Loaded {
                drive: d.id.clone(),
            }
        } else {
            DriveChoice::TapeInUse {
                drive: d.id.clone(),
            }
        };
    }
    if let Some(d) = first_empty(drives) {
        return DriveChoice::Empty {
            drive: d.id.clone(),
        };
    }
    match lru_swap(drives, keep) {
        Some((d, t)) => DriveChoice::Swap {
            drive: d.id.clone(),
            unload: t.to_string(),
        },
        None => DriveChoice::NoDrive,
    }
}

/// Chooses a drive for work that needs no particular tape: an empty drive, else the
/// least recently used idle drive whose tape nobody waits for.
pub fn choose_drive_any(drives: &[DriveView], keep: &HashSet<String>) -> DriveChoice {
    if let Some(d) = first_empty(drives) {
        return DriveChoice::Empty {
            drive: d.id.clone(),
        };
    }
    match lru_swap(drives, keep) {
        Some((d, t)) => DriveChoice::Swap {
            drive: d.id.clone(),
            unload: t.to_string(),
        },
        None => DriveChoice::NoDrive,
    }
}
