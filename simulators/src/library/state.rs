//! The persistent state file `<state>/state.json`, written atomically (temporary file, fsync,
//! rename, fsync of the directory) so a crash leaves either the old or the new state.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SimError;
use crate::changer::{ChangerState, ElementType};
use crate::config::{FaultSpec, LibraryConfig};
use crate::media::MediaKind;

pub(crate) const STATE_FILE: &str = "state.json";
const STATE_VERSION: u32 = 1;

/// What a drive held when the state was written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DriveRecord {
    pub barcode: Option<String>,
    /// Threaded and ready (not unloaded) when the state was written.
    pub loaded: bool,
    /// The drive's statistics (kept across restarts).
    #[serde(default)]
    pub stats: Option<crate::stats::DriveStats>,
}

/// Everything `state.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PersistedState {
    pub version: u32,
    pub changer: ChangerState,
    pub drives: Vec<DriveRecord>,
    /// Cartridges known to the library (stored under `cartridges/`) but outside it.
    pub outside: BTreeMap<String, MediaKind>,
    /// Faults in effect.
    pub faults: Vec<FaultSpec>,
}

impl PersistedState {
    pub fn new(
        changer: ChangerState,
        drives: Vec<DriveRecord>,
        outside: BTreeMap<String, MediaKind>,
        faults: Vec<FaultSpec>,
    ) -> Self {
        PersistedState {
            version: STATE_VERSION,
            changer,
            drives,
            outside,
            faults,
        }
    }
}

pub(crate) fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

/// Reads `state.json`, `None` when there is none yet.
pub(crate) fn load(dir: &Path) -> Result<Option<PersistedState>, SimError> {
    let path = state_path(dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SimError::Io { path, source }),
    };
    let state: PersistedState = serde_json::from_str(&text).map_err(|e| SimError::State {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if state.version != STATE_VERSION {
        return Err(SimError::State {
            path,
            reason: format!("unsupported state version {}", state.version),
        });
    }
    Ok(Some(state))
}

/// Writes `state.json` atomically.
pub(crate) fn save(dir: &Path, state: &PersistedState) -> Result<(), SimError> {
    let path = state_path(dir);
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SimError::Io { path, source }
    };
    let json = serde_json::to_vec_pretty(state).map_err(|e| SimError::State {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(&json).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io(&path))?;
    // The rename is durable once the directory entry is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Lays the loaded element contents over the element map of `config`. Elements are matched by
/// type and position (the n-th storage slot stays the n-th slot even if the address map moved).
/// Cartridges whose element no longer exists go outside the library.
pub(crate) fn reconcile(
    config: &LibraryConfig,
    loaded: ChangerState,
    outside: &mut BTreeMap<String, MediaKind>,
) -> ChangerState {
    let mut fresh = ChangerState::empty(config);
    let pairs = [
        (loaded.storage, ElementType::Storage),
        (loaded.import_export, ElementType::ImportExport),
        (loaded.drives, ElementType::DataTransfer),
        (loaded.transport, ElementType::MediumTransport),
    ];
    for (old, t) in pairs {
        for (i, e) in old.into_iter().enumerate() {
            let Some(medium) = e.medium else { continue };
            let target = match t {
                ElementType::Storage => fresh.storage.get_mut(i),
                ElementType::ImportExport => fresh.import_export.get_mut(i),
                ElementType::DataTransfer => fresh.drives.get_mut(i),
                // A cartridge never rests in the gripper; put it back in a free slot below.
                ElementType::MediumTransport => None,
            };
            match target {
                Some(slot) if slot.medium.is_none() => slot.medium = Some(medium),
                _ => {
                    tracing::warn!(
                        barcode = %medium.barcode,
                        "element of the saved state no longer exists; cartridge is now outside"
                    );
                    outside.insert(medium.barcode, medium.kind);
                }
            }
        }
    }
    fresh.ie_open = loaded.ie_open;
    fresh.prevent_removal = loaded.prevent_removal;
    fresh.unit_attentions = loaded.unit_attentions;
    fresh.robot = loaded.robot;
    fresh.fault_ie_door_open = loaded.fault_ie_door_open;
    fresh.fault_robot = loaded.fault_robot;
    fresh.tape_alerts = loaded.tape_alerts;
    // Reservations are checked against the contents by `assign_home_slots`.
    fresh.reserved_homes = loaded.reserved_homes;
    fresh
}
