//! The whole library: one changer (robot) and its drives, each behind its own lock, with the
//! state persisted in a state directory.
//!
//! State directory layout:
//! - `state.json`: where every cartridge is (element, drive, or outside the library), whether a
//!   drive's cartridge was loaded, I/E door and prevent-removal state, pending UNIT ATTENTIONs,
//!   robot statistics and the faults in effect; rewritten atomically on every change of location;
//! - `cartridges/<barcode>/`: each cartridge's data and MAM (see [`crate::cartridge`]).
//!
//! Reopening with a configuration that differs from the saved state: the saved state wins for
//! every cartridge it knows (where it is, its data); configured cartridges it does not know are
//! added in their configured slot when that slot is free, and left outside the library
//! otherwise. Configured faults apply only when the state is first created; afterwards the saved
//! faults are in effect.
//!
//! Lock order: changer, then a drive. Drive commands take only their drive's lock, so commands to
//! different drives run in parallel while the robot works.

mod bay;
mod contents;
mod faults;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tapelib_scsi::{Completion, DataPhase};

use crate::cartridge::{Cartridge, CartridgeError, CartridgeSpec};
use crate::changer::ie::OperatorError;
use crate::changer::{Changer, ChangerState, DriveIdentity, Medium};
use crate::config::{
    validate_barcode, ConfigError, DriveConfig, DrivePersonality, FaultSpec, LibraryConfig, SlotRef,
};
use crate::drive::{DriveSpec, Personality, SimDrive};
use crate::media::MediaKind;
use crate::stats::{DriveStats, LibraryStats};
use crate::timing::TimeModel;
use crate::transport::SimTransport;

pub use contents::{ElementContents, LibraryContents};
use state::{DriveRecord, PersistedState};

/// Name of the changer device.
pub const CHANGER_DEVICE: &str = "changer0";

/// Library-level failures (SCSI-level failures are sense data in a [`Completion`]).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no device named {0:?}")]
    UnknownDevice(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state file {path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("cartridge {barcode}: {source}")]
    Cartridge {
        barcode: String,
        #[source]
        source: CartridgeError,
    },
    #[error("drive {drive}: {message}")]
    Drive { drive: String, message: String },
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error("unknown cartridge {0:?}")]
    UnknownCartridge(String),
    #[error("cartridge {0:?} is in a drive")]
    CartridgeInDrive(String),
    #[error("cartridge {0:?} already exists")]
    CartridgeExists(String),
    #[error("invalid barcode: {0}")]
    InvalidBarcode(String),
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    #[error("state directory {0} is in use by another process (lock file held)")]
    StateDirInUse(PathBuf),
}

/// The simulated library.
#[derive(Debug)]
pub struct Library {
    config: LibraryConfig,
    state_dir: PathBuf,
    changer: Mutex<Changer>,
    drives: Vec<Mutex<SimDrive>>,
    /// Per drive: threaded and not unloaded (kept outside the drive lock for `state.json`).
    loaded: Vec<AtomicBool>,
    /// Per drive: hardware failure fault active (the element reports Except).
    failed: Vec<AtomicBool>,
    identities: Vec<DriveIdentity>,
    /// Per drive: statistics as last seen, for `state.json` when the drive is busy.
    stats_cache: Vec<Mutex<Option<DriveStats>>>,
    /// Cartridges known but outside the library, and the faults in effect.
    side: Mutex<SideState>,
    /// Serializes writers of `state.json`.
    save_lock: Mutex<()>,
    /// `<state>/lock`, exclusively `flock`ed while the library is open: one process per
    /// state directory. Declared last so it is released after the final flush in `drop`.
    _dir_lock: std::fs::File,
}

#[derive(Debug, Default)]
struct SideState {
    outside: BTreeMap<String, MediaKind>,
    faults: Vec<FaultSpec>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread must not take the whole library down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Library {
    /// Opens the library in `state_dir`, creating the state on first use or reloading it.
    pub fn open(config: LibraryConfig, state_dir: &Path) -> Result<Arc<Library>, SimError> {
        config.validate()?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SimError::Io { path, source }
        };
        std::fs::create_dir_all(cartridges_dir(state_dir)).map_err(io(state_dir))?;
        let dir_lock = lock_state_dir(state_dir)?;
        let loaded_state = state::load(state_dir)?;
        let first_open = loaded_state.is_none();
        let mut outside = BTreeMap::new();
        let (mut changer_state, records, faults) = match loaded_state {
            Some(s) => {
                outside = s.outside;
                let cs = state::reconcile(&config, s.changer, &mut outside);
                (cs, s.drives, s.faults)
            }
            None => (
                ChangerState::empty(&config),
                Vec::new(),
                config.faults.clone(),
            ),
        };
        // Configured cartridges the state does not know yet.
        for c in &config.cartridges {
            let Some(kind) = c.media_kind() else { continue };
            let known = changer_state.find_barcode(&c.barcode).is_some()
                || outside.contains_key(&c.barcode);
            let dir = cartridge_dir(state_dir, &c.barcode);
            if !dir.exists() {
                let spec = CartridgeSpec {
                    barcode: c.barcode.clone(),
                    kind,
                    write_protected: c.write_protect,
                    capacity_bytes: c.capacity,
                };
                Cartridge::create(&dir, spec).map_err(|source| SimError::Cartridge {
                    barcode: c.barcode.clone(),
                    source,
                })?;
            }
            if known {
                continue;
            }
            let placed = c.slot.and_then(|slot| {
                let address = match slot {
                    SlotRef::Storage(n) => config.storage_address(n),
                    SlotRef::ImportExport(n) => config.ie_address(n),
                    SlotRef::Drive(n) => config.drive_address(n),
                }?;
                if changer_state.reserved_for_other(address, &c.barcode) {
                    return None;
                }
                let e = changer_state.element_mut(address)?;
                if e.medium.is_some() {
                    return None;
                }
                e.medium = Some(Medium {
                    barcode: c.barcode.clone(),
                    kind,
                    source: None,
                    imported: false,
                });
                Some(())
            });
            if placed.is_none() {
                if c.slot.is_some() {
                    tracing::warn!(barcode = %c.barcode, "configured slot is taken; cartridge stays outside");
                }
                outside.insert(c.barcode.clone(), kind);
            }
        }
        let named: Vec<u16> = config
            .cartridges
            .iter()
            .filter_map(|c| match c.slot? {
                SlotRef::Storage(n) => config.storage_address(n),
                _ => None,
            })
            .collect();
        changer_state.assign_home_slots(&named);
        if config.changer.power_on_unit_attention {
            changer_state.raise_unit_attention(0x29, 0x00);
        }
        let timing = TimeModel::new(config.time_scale);
        let mut drives = Vec::with_capacity(config.drives.len());
        let mut identities = Vec::with_capacity(config.drives.len());
        let mut loaded = Vec::with_capacity(config.drives.len());
        for (i, dc) in config.drives.iter().enumerate() {
            let mut drive = SimDrive::new(drive_spec(dc), timing.clone());
            identities.push(drive_identity(&mut drive, dc));
            let mut was_loaded = false;
            if let Some(m) = changer_state.drives.get(i).and_then(|e| e.medium.as_ref()) {
                let cart =
                    Cartridge::open(&cartridge_dir(state_dir, &m.barcode)).map_err(|source| {
                        SimError::Cartridge {
                            barcode: m.barcode.clone(),
                            source,
                        }
                    })?;
                let restored = match records.get(i) {
                    // The saved state had this cartridge in this drive: put it back as it
                    // was, which is no new load.
                    Some(r) if r.barcode.as_deref() == Some(m.barcode.as_str()) => {
                        drive.restore(cart, r.loaded)
                    }
                    // A cartridge configured into the drive: the library loads it.
                    _ => drive.insert(cart),
                };
                restored.map_err(|e| SimError::Drive {
                    drive: format!("drive{i}"),
                    message: e.to_string(),
                })?;
                was_loaded = drive.medium_present() && !drive.ready_for_removal();
            }
            if let Some(stats) = records.get(i).and_then(|r| r.stats.clone()) {
                drive.restore_stats(stats);
            }
            drives.push(Mutex::new(drive));
            loaded.push(AtomicBool::new(was_loaded));
        }
        let loaded_count = config.drives.len();
        let failed = (0..config.drives.len())
            .map(|_| AtomicBool::new(false))
            .collect();
        let changer = Changer::new(&config, changer_state);
        let library = Arc::new(Library {
            config,
            state_dir: state_dir.to_path_buf(),
            changer: Mutex::new(changer),
            drives,
            loaded,
            failed,
            identities,
            stats_cache: (0..loaded_count).map(|_| Mutex::new(None)).collect(),
            side: Mutex::new(SideState {
                outside,
                faults: Vec::new(),
            }),
            save_lock: Mutex::new(()),
            _dir_lock: dir_lock,
        });
        for f in faults {
            if let Err(e) = library.apply_fault(&f, first_open) {
                tracing::warn!(fault = ?f, error = %e, "fault not applied");
            }
        }
        library.save()?;
        Ok(library)
    }

    /// The configuration the library was opened with.
    pub fn config(&self) -> &LibraryConfig {
        &self.config
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// `changer0`, `drive0`, `drive1`, ...
    pub fn device_names(&self) -> Vec<String> {
        self.config.device_names()
    }

    /// Executes a CDB on `device`. `Err` only for an unknown device; SCSI errors are sense data.
    pub fn execute(
        &self,
        device: &str,
        cdb: &[u8],
        data: DataPhase<'_>,
    ) -> Result<Completion, SimError> {
        if device == CHANGER_DEVICE {
            let mut changer = lock(&self.changer);
            let completion = changer.execute(cdb, data, &bay::Bay { library: self });
            if changer.take_dirty() {
                if let Err(e) = self.save_locked(&changer) {
                    tracing::error!(error = %e, "cannot persist library state");
                }
            }
            return Ok(completion);
        }
        let index = self
            .drive_index(device)
            .ok_or_else(|| SimError::UnknownDevice(device.to_string()))?;
        let (completion, changed) = {
            let mut drive = lock(&self.drives[index]);
            let completion = drive.execute(cdb, data);
            let now = drive.medium_present() && !drive.ready_for_removal();
            let before = self.loaded[index].swap(now, Ordering::SeqCst);
            (completion, before != now)
        };
        if changed {
            // Drive lock released: the save takes the changer lock first (lock order).
            self.save()?;
        }
        Ok(completion)
    }

    /// An in-process transport addressing `device`.
    pub fn transport(self: &Arc<Self>, device: &str) -> Result<SimTransport, SimError> {
        if device != CHANGER_DEVICE && self.drive_index(device).is_none() {
            return Err(SimError::UnknownDevice(device.to_string()));
        }
        Ok(SimTransport {
            library: Arc::clone(self),
            device: device.to_string(),
        })
    }

    /// The operator puts a cartridge into an I/E slot (the one at `ie_address`, or the first
    /// empty one): a cartridge known outside the library, or a new blank one made from its
    /// barcode. Raises UNIT ATTENTION 28/01 on the changer. Returns the element address.
    pub fn operator_insert(&self, barcode: &str, ie_address: Option<u16>) -> Result<u16, SimError> {
        validate_barcode(barcode).map_err(SimError::InvalidBarcode)?;
        let mut changer = lock(&self.changer);
        let known = lock(&self.side).outside.get(barcode).copied();
        let kind = match known {
            Some(k) => k,
            None => {
                let spec = CartridgeSpec::from_barcode(barcode).ok_or_else(|| {
                    SimError::InvalidBarcode(format!(
                        "{barcode:?}: media type unknown (suffix L5..L9, M8 or CLN prefix)"
                    ))
                })?;
                if changer.state().find_barcode(barcode).is_some() {
                    return Err(OperatorError::AlreadyInside(barcode.to_string()).into());
                }
                let dir = cartridge_dir(&self.state_dir, barcode);
                if !dir.exists() {
                    Cartridge::create(&dir, spec.clone()).map_err(|source| {
                        SimError::Cartridge {
                            barcode: barcode.to_string(),
                            source,
                        }
                    })?;
                }
                spec.kind
            }
        };
        let address = changer.operator_insert(barcode, kind, ie_address)?;
        lock(&self.side).outside.remove(barcode);
        changer.take_dirty();
        self.save_locked(&changer)?;
        Ok(address)
    }

    /// The operator takes the cartridge out of I/E element `ie_address`; returns its barcode.
    /// Refused while PREVENT MEDIUM REMOVAL is in effect.
    pub fn operator_remove(&self, ie_address: u16) -> Result<String, SimError> {
        let mut changer = lock(&self.changer);
        let medium = changer.operator_remove(ie_address)?;
        lock(&self.side)
            .outside
            .insert(medium.barcode.clone(), medium.kind);
        changer.take_dirty();
        self.save_locked(&changer)?;
        Ok(medium.barcode)
    }

    /// Library statistics: robot, drives, and every cartridge.
    pub fn stats(&self) -> LibraryStats {
        // The changer lock keeps cartridges from entering or leaving drives meanwhile: one in
        // a drive is read there, never opened a second time from disk.
        let changer = lock(&self.changer);
        let mut stats = LibraryStats {
            robot: changer.robot_stats(),
            ..LibraryStats::default()
        };
        for (i, d) in self.drives.iter().enumerate() {
            let drive = lock(d);
            stats.drives.insert(format!("drive{i}"), drive.stats());
            if let Some(cart) = drive.cartridge() {
                stats
                    .cartridges
                    .insert(cart.barcode().to_string(), cart.stats().clone());
            }
        }
        let mut on_shelf: Vec<String> = changer
            .state()
            .elements()
            .into_iter()
            .filter(|e| changer.state().drive_index(e.address).is_none())
            .filter_map(|e| e.medium.as_ref().map(|m| m.barcode.clone()))
            .collect();
        on_shelf.extend(lock(&self.side).outside.keys().cloned());
        for barcode in on_shelf {
            if stats.cartridges.contains_key(&barcode) {
                continue;
            }
            match Cartridge::open(&cartridge_dir(&self.state_dir, &barcode)) {
                Ok(c) => {
                    stats.cartridges.insert(barcode, c.stats().clone());
                }
                Err(e) => tracing::warn!(%barcode, error = %e, "cartridge statistics unreadable"),
            }
        }
        stats
    }

    /// Every element and what it holds, the cartridges outside, door, lock and faults.
    pub fn contents(&self) -> LibraryContents {
        let changer = lock(&self.changer);
        let side = lock(&self.side);
        contents::build(changer.state(), &self.loaded, &side.outside, &side.faults)
    }

    /// Exports a cartridge (not in a drive) in the LTFS reference file-backend layout.
    pub fn export_cartridge_image(&self, barcode: &str, out_dir: &Path) -> Result<(), SimError> {
        let changer = lock(&self.changer);
        self.check_known(&changer, barcode)?;
        if changer
            .state()
            .find_barcode(barcode)
            .is_some_and(|e| changer.state().drive_index(e.address).is_some())
        {
            return Err(SimError::CartridgeInDrive(barcode.to_string()));
        }
        let mut cart =
            Cartridge::open(&cartridge_dir(&self.state_dir, barcode)).map_err(|source| {
                SimError::Cartridge {
                    barcode: barcode.to_string(),
                    source,
                }
            })?;
        cart.export_reference_layout(out_dir)
            .map_err(|source| SimError::Cartridge {
                barcode: barcode.to_string(),
                source,
            })
    }

    /// Creates cartridge `barcode` from a reference file-backend layout in `src_dir`; it starts
    /// outside the library (insert it with [`Library::operator_insert`]).
    pub fn import_cartridge_image(
        &self,
        src_dir: &Path,
        barcode: &str,
        write_protected: bool,
        capacity_bytes: Option<u64>,
    ) -> Result<(), SimError> {
        validate_barcode(barcode).map_err(SimError::InvalidBarcode)?;
        let mut spec = CartridgeSpec::from_barcode(barcode)
            .ok_or_else(|| SimError::InvalidBarcode(format!("{barcode:?}: media type unknown")))?;
        spec.write_protected = write_protected;
        spec.capacity_bytes = capacity_bytes;
        let changer = lock(&self.changer);
        let dir = cartridge_dir(&self.state_dir, barcode);
        if dir.exists() || changer.state().find_barcode(barcode).is_some() {
            return Err(SimError::CartridgeExists(barcode.to_string()));
        }
        Cartridge::import_reference_layout(src_dir, &dir, spec.clone()).map_err(|source| {
            SimError::Cartridge {
                barcode: barcode.to_string(),
                source,
            }
        })?;
        lock(&self.side)
            .outside
            .insert(barcode.to_string(), spec.kind);
        self.save_locked(&changer)
    }

    /// Makes every acknowledged write durable and rewrites the state file.
    pub fn flush(&self) -> Result<(), SimError> {
        for (i, d) in self.drives.iter().enumerate() {
            lock(d).flush().map_err(|e| SimError::Drive {
                drive: format!("drive{i}"),
                message: e.to_string(),
            })?;
        }
        self.save()
    }

    fn drive_index(&self, device: &str) -> Option<usize> {
        let n: usize = device.strip_prefix("drive")?.parse().ok()?;
        (n < self.drives.len() && device == format!("drive{n}")).then_some(n)
    }

    fn check_known(&self, changer: &Changer, barcode: &str) -> Result<(), SimError> {
        if changer.state().find_barcode(barcode).is_some()
            || lock(&self.side).outside.contains_key(barcode)
        {
            Ok(())
        } else {
            Err(SimError::UnknownCartridge(barcode.to_string()))
        }
    }

    /// The drive's statistics, without waiting for a drive busy with a command (then the last
    /// snapshot is used).
    fn drive_stats_snapshot(&self, index: usize) -> Option<DriveStats> {
        let cache = self.stats_cache.get(index)?;
        if let Some(d) = self.drives.get(index).and_then(|d| d.try_lock().ok()) {
            *lock(cache) = Some(d.stats());
        }
        lock(cache).clone()
    }

    /// Writes `state.json` (takes the changer lock).
    fn save(&self) -> Result<(), SimError> {
        let changer = lock(&self.changer);
        self.save_locked(&changer)
    }

    /// Writes `state.json` from a changer the caller has locked.
    fn save_locked(&self, changer: &Changer) -> Result<(), SimError> {
        let _guard = lock(&self.save_lock);
        let drives = changer
            .state()
            .drives
            .iter()
            .zip(&self.loaded)
            .enumerate()
            .map(|(i, (e, l))| DriveRecord {
                barcode: e.medium.as_ref().map(|m| m.barcode.clone()),
                loaded: e.medium.is_some() && l.load(Ordering::SeqCst),
                stats: self.drive_stats_snapshot(i),
            })
            .collect();
        let side = lock(&self.side);
        let persisted = PersistedState::new(
            changer.state().clone(),
            drives,
            side.outside.clone(),
            side.faults.clone(),
        );
        drop(side);
        state::save(&self.state_dir, &persisted)
    }
}

impl Drop for Library {
    /// Makes acknowledged data durable and writes the final state.
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "flushing the library on close failed");
        }
    }
}

/// `<state>/cartridges`.
pub fn cartridges_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("cartridges")
}

/// `<state>/cartridges/<barcode>`.
pub fn cartridge_dir(state_dir: &Path, barcode: &str) -> PathBuf {
    cartridges_dir(state_dir).join(barcode)
}

fn drive_spec(dc: &DriveConfig) -> DriveSpec {
    DriveSpec {
        generation: dc.generation,
        personality: match dc.personality {
            DrivePersonality::Ibm => Personality::Ibm,
            DrivePersonality::Hp => Personality::Hp,
        },
        serial: dc.serial.clone(),
        vendor: dc.vendor.clone(),
        product: dc.product.clone(),
    }
}

/// Takes the exclusive lock on `<state>/lock` (flock(2), released by the kernel when the
/// process exits, however it exits).
fn lock_state_dir(state_dir: &Path) -> Result<std::fs::File, SimError> {
    let path = state_dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SimError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(SimError::StateDirInUse(state_dir.to_path_buf()))
        }
        Err(std::fs::TryLockError::Error(source)) => Err(SimError::Io { path, source }),
    }
}

/// Vendor and product as the drive itself reports them in INQUIRY, so DVCID matches.
fn drive_identity(drive: &mut SimDrive, dc: &DriveConfig) -> DriveIdentity {
    let mut buf = [0u8; 36];
    let c = drive.execute(&[0x12, 0, 0, 0, 36, 0], DataPhase::In(&mut buf));
    let field = |r: std::ops::Range<usize>| {
        buf.get(r)
            .map(|b| String::from_utf8_lossy(b).trim_end().to_string())
            .unwrap_or_default()
    };
    let (vendor, product) = if c.status.is_good() && c.transferred >= 32 {
        (field(8..16), field(16..32))
    } else {
        (
            dc.vendor.clone().unwrap_or_default(),
            dc.product.clone().unwrap_or_default(),
        )
    };
    DriveIdentity {
        vendor,
        product,
        serial: dc.serial.clone(),
    }
}
