//! Live state of one tape library: its changer (the robot, serialized behind one lock), one
//! worker thread per drive, the inventory mirrored into the catalog, and the medium moves
//! the daemon's operations are built from (mount, unmount, move to the I/E station).
//!
//! Everything here blocks; the async parts of the daemon call it from dedicated threads.

mod alerts;
mod devices;
mod error;
mod inventory;
mod mapping;
mod worker;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tapelib_scsi::spc::inquiry::{decode_unit_serial, inquiry_vpd, VPD_UNIT_SERIAL_NUMBER};
use tapelib_scsi::spc::log::TapeAlertFlag;
use tapelib_scsi::{
    Changer, DataPhase, Drive, DriveError, DriveIdentity, ErrorCategory, Inventory, NotReadyCause,
    ScsiError,
};
use tapelib_sim::library::Library as SimLibrary;
use time::OffsetDateTime;

use crate::catalog::{Catalog, DriveStateRecord, ElementKind, TapeLocation};
use crate::config::{LibraryConfig, Limits};
pub use crate::scheduler::DriveStatus;

pub use devices::Transport;
pub use error::LibraryError;
pub use inventory::{generation_from_barcode, is_cleaning, ChangerIdentity};

use devices::SimHandle;
use worker::DriveWorker;

/// Commands that fail with a UNIT ATTENTION are tried again this many times (SAM-5: each
/// report clears one pending condition; power on and inventory changes come in pairs).
const UNIT_ATTENTION_RETRIES: usize = 4;

/// What a caller can know of a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveInfo {
    pub name: String,
    /// The configured device (`/dev/sg3`, `sim:drive0`).
    pub device: String,
    /// Data transfer element address in the changer.
    pub element: u16,
    pub identity: DriveIdentity,
    pub status: DriveStatus,
    /// Barcode of the cartridge in the drive, as of the last inventory or move.
    pub loaded: Option<String>,
    /// TapeAlert flags set at the last reading, with when each was first seen set.
    pub alerts: Vec<(TapeAlertFlag, OffsetDateTime)>,
}

/// Result of a mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOutcome {
    pub barcode: String,
    pub drive: String,
    pub element: u16,
    /// Element the cartridge came from; `None` when it was already in the drive.
    pub source: Option<u16>,
    /// Cartridge that had to leave the drive first, and the slot it went to.
    pub displaced: Option<(String, u16)>,
}

/// Result of an unmount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmountOutcome {
    pub barcode: String,
    pub drive: String,
    /// The storage slot the cartridge went back to.
    pub slot: u16,
}

/// Identity of the changer and every drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryIdentity {
    pub changer: ChangerIdentity,
    pub drives: Vec<(String, DriveIdentity)>,
}

struct Robot {
    changer: Changer<Transport>,
    identity: ChangerIdentity,
    inventory: Inventory,
    /// Storage slot each cartridge was taken from into a drive, for changers that do not
    /// report the source element (SVALID) of a drive's medium.
    homes: HashMap<String, u16>,
}

struct DriveSlot {
    name: String,
    device: String,
    element: u16,
    identity: Mutex<DriveIdentity>,
    status: Mutex<DriveStatus>,
    /// TapeAlert flags of the last reading and when each was first seen.
    alerts: Mutex<BTreeMap<TapeAlertFlag, OffsetDateTime>>,
    /// Held for a whole mount or unmount so two of them never interleave on one drive.
    op: Mutex<()>,
    worker: DriveWorker,
}

/// One opened library.
pub struct TapeLibrary {
    name: String,
    catalog: Catalog,
    limits: Limits,
    robot: Mutex<Robot>,
    drives: Vec<DriveSlot>,
    /// Elements in exception at the last READ ELEMENT STATUS.
    element_alerts: Mutex<BTreeSet<alerts::ElementException>>,
    simulator: Option<Arc<SimLibrary>>,
}

impl std::fmt::Debug for TapeLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapeLibrary")
            .field("name", &self.name)
            .field(
                "drives",
                &self.drives.iter().map(|d| &d.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a lock was held leaves device state that the next inventory re-reads.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` again while it fails with a UNIT ATTENTION.
fn retry_unit_attention<R>(mut f: impl FnMut() -> Result<R, ScsiError>) -> Result<R, ScsiError> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e.is_unit_attention() && tries < UNIT_ATTENTION_RETRIES => {
                tracing::debug!(error = %e, "unit attention; repeating the command");
                tries += 1;
            }
            other => return other,
        }
    }
}

/// A failure that says the drive itself is broken, not the medium or the request.
fn is_hardware(e: &DriveError) -> bool {
    e.category() == Some(ErrorCategory::HardwareError)
}

impl TapeLibrary {
    /// Opens the changer and drives of `config`, maps each drive to its data transfer
    /// element, starts the drive workers and writes the inventory to `catalog`.
    pub fn open(
        config: &LibraryConfig,
        limits: &Limits,
        catalog: Catalog,
    ) -> Result<TapeLibrary, LibraryError> {
        let name = config.name.clone();
        let span = tracing::info_span!("library", library = %name);
        let _enter = span.enter();
        let sim = devices::open_simulator(config)?;
        let timeouts = limits.scsi_timeouts();
        let changer_err = |operation: &str| {
            let library = name.clone();
            let operation = operation.to_string();
            move |source| LibraryError::Changer {
                library,
                operation,
                source: Box::new(source),
            }
        };

        let transport = devices::open_device(&name, &config.changer, sim.as_ref())?;
        let mut changer = Changer::new(transport).with_timeouts(timeouts);
        let inquiry =
            retry_unit_attention(|| changer.identify()).map_err(changer_err("INQUIRY"))?;
        let serial = changer_serial(&mut changer, timeouts.status);
        let identity = ChangerIdentity {
            vendor: inquiry.vendor,
            product: inquiry.product,
            revision: inquiry.revision,
            serial,
        };
        let inv = retry_unit_attention(|| changer.inventory())
            .map_err(changer_err("READ ELEMENT STATUS"))?;
        tracing::info!(
            vendor = %identity.vendor,
            product = %identity.product,
            serial = %identity.serial,
            slots = inv.storage.len(),
            ie = inv.import_export.len(),
            drives = inv.drives.len(),
            "changer identified"
        );

        let mut opened = Vec::with_capacity(config.drives.len());
        for (i, dc) in config.drives.iter().enumerate() {
            let drive_name = config.drive_name(i);
            let transport = devices::open_device(&name, &dc.device, sim.as_ref())?;
            let mut drive = Drive::new(transport).with_timeouts(timeouts);
            drive.set_poll_interval(limits.ready_poll_interval);
            let ident = drive.identify().map_err(|source| LibraryError::Drive {
                drive: drive_name.clone(),
                serial: None,
                element: dc.element,
                operation: "identify".into(),
                source: Box::new(source),
            })?;
            opened.push(mapping::OpenedDrive {
                name: drive_name,
                device: dc.device.to_string(),
                element: dc.element,
                identity: ident,
                drive,
            });
        }
        let elements = mapping::map_drives(&name, &opened, &inv)?;

        let open_alerts = catalog.open_alerts(&name)?;
        let mut drives = Vec::with_capacity(opened.len());
        for (d, element) in opened.into_iter().zip(elements) {
            tracing::info!(
                drive = %d.name,
                device = %d.device,
                serial = d.identity.serial.as_deref().unwrap_or(""),
                element,
                "drive mapped"
            );
            let worker =
                DriveWorker::spawn(&d.name, d.drive).map_err(|source| LibraryError::Worker {
                    drive: d.name.clone(),
                    source,
                })?;
            // SMC-3 6.10.6: EXCEPT on a data transfer element means the library itself
            // considers the drive unusable.
            let status = match inv
                .drives
                .iter()
                .find(|e| e.state.address == element)
                .and_then(|e| e.state.exception)
            {
                Some((asc, ascq)) => {
                    let reason = format!(
                        "the changer reports element {element} in exception ({asc:02X}/{ascq:02X}: {})",
                        tapelib_scsi::asc_description(asc, ascq).unwrap_or("vendor specific")
                    );
                    tracing::warn!(drive = %d.name, %reason, "drive DOWN");
                    DriveStatus::Down { reason }
                }
                // A DOWN set before a restart stays until an operator sets the drive UP.
                None => match catalog.drive_state(&name, &d.name)? {
                    Some(rec) => {
                        tracing::warn!(drive = %d.name, reason = %rec.reason, "drive DOWN (recorded)");
                        DriveStatus::Down { reason: rec.reason }
                    }
                    None => DriveStatus::Up,
                },
            };
            let flags = alerts::open_drive_flags(&open_alerts, &d.name);
            drives.push(DriveSlot {
                name: d.name,
                device: d.device,
                element,
                identity: Mutex::new(d.identity),
                status: Mutex::new(status),
                alerts: Mutex::new(flags),
                op: Mutex::new(()),
                worker,
            });
        }

        inventory::sync_catalog(&catalog, &name, &identity, &inv)?;
        let simulator = match sim {
            Some(SimHandle::InProcess(lib)) => Some(lib),
            _ => None,
        };
        let lib = TapeLibrary {
            name,
            catalog,
            limits: limits.clone(),
            robot: Mutex::new(Robot {
                changer,
                identity,
                inventory: inv.clone(),
                homes: HashMap::new(),
            }),
            drives,
            element_alerts: Mutex::new(alerts::open_exceptions(&open_alerts)),
            simulator,
        };
        lib.note_element_exceptions(&inv);
        Ok(lib)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The in-process simulated library behind this library, when there is one.
    pub fn simulator(&self) -> Option<&Arc<SimLibrary>> {
        self.simulator.as_ref()
    }

    /// The changer identity read at open.
    pub fn changer_identity(&self) -> ChangerIdentity {
        lock(&self.robot).identity.clone()
    }

    /// The inventory as of the last READ ELEMENT STATUS and the moves since.
    pub fn inventory(&self) -> Inventory {
        lock(&self.robot).inventory.clone()
    }

    /// Every drive in configuration order.
    pub fn drives(&self) -> Vec<DriveInfo> {
        let robot = lock(&self.robot);
        self.drives.iter().map(|d| self.info(d, &robot)).collect()
    }

    pub fn drive(&self, name: &str) -> Result<DriveInfo, LibraryError> {
        let d = self.slot(name)?;
        let robot = lock(&self.robot);
        Ok(self.info(d, &robot))
    }

    fn info(&self, d: &DriveSlot, robot: &Robot) -> DriveInfo {
        let loaded = robot
            .inventory
            .drives
            .iter()
            .find(|e| e.state.address == d.element)
            .filter(|e| e.state.full)
            .and_then(|e| e.state.barcode.clone());
        DriveInfo {
            name: d.name.clone(),
            device: d.device.clone(),
            element: d.element,
            identity: lock(&d.identity).clone(),
            status: lock(&d.status).clone(),
            loaded,
            alerts: lock(&d.alerts).iter().map(|(f, t)| (*f, *t)).collect(),
        }
    }

    fn slot(&self, name: &str) -> Result<&DriveSlot, LibraryError> {
        self.drives
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| LibraryError::UnknownDrive {
                library: self.name.clone(),
                drive: name.to_string(),
            })
    }

    fn drive_at(&self, element: u16) -> Option<&DriveSlot> {
        self.drives.iter().find(|d| d.element == element)
    }

    /// Whether a drive may be used.
    pub fn drive_status(&self, name: &str) -> Result<DriveStatus, LibraryError> {
        Ok(lock(&self.slot(name)?.status).clone())
    }

    /// Takes a drive out of service.
    pub fn set_drive_down(&self, name: &str, reason: &str) -> Result<(), LibraryError> {
        let d = self.slot(name)?;
        self.mark_down(d, reason.to_string());
        Ok(())
    }

    /// Puts a drive back in service (an operator decision after a DOWN).
    pub fn set_drive_up(&self, name: &str) -> Result<(), LibraryError> {
        let d = self.slot(name)?;
        self.catalog.set_drive_up(&self.name, &d.name, "library")?;
        *lock(&d.status) = DriveStatus::Up;
        tracing::info!(library = %self.name, drive = %d.name, "drive UP");
        Ok(())
    }

    fn mark_down(&self, d: &DriveSlot, reason: String) {
        tracing::warn!(library = %self.name, drive = %d.name, %reason, "drive DOWN");
        // Taken out of service even if the record fails; the log says why it will not last.
        let rec = DriveStateRecord {
            library: self.name.clone(),
            drive: d.name.clone(),
            reason: reason.clone(),
            since: OffsetDateTime::now_utc(),
        };
        if let Err(e) = self.catalog.set_drive_down(&rec, "library") {
            tracing::error!(error = %e, "cannot record the drive DOWN in the catalog");
        }
        *lock(&d.status) = DriveStatus::Down { reason };
    }

    /// Reads the drive's TapeAlert flags (even when DOWN: it is only a LOG SENSE) and keeps
    /// them for [`TapeLibrary::drives`]. Returns the flags now set.
    pub fn read_tape_alerts(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeSet<TapeAlertFlag>, LibraryError> {
        let d = self.slot(name)?;
        let flags = {
            let _op = lock(&d.op);
            self.on_drive(d, "TapeAlert", |drive| drive.tape_alerts())?
        };
        self.keep_alerts(d, &flags);
        Ok(flags)
    }

    /// Like [`TapeLibrary::read_tape_alerts`] for every drive whose worker is idle right
    /// now; a busy drive keeps the flags of its last reading rather than make the caller
    /// wait for its operation to end.
    pub fn refresh_idle_tape_alerts(&self) {
        for d in &self.drives {
            let Ok(_op) = d.op.try_lock() else { continue };
            if !d.worker.is_idle() {
                continue;
            }
            match self.on_drive(d, "TapeAlert", |drive| drive.tape_alerts()) {
                Ok(flags) => self.keep_alerts(d, &flags),
                Err(e) => {
                    tracing::debug!(drive = %d.name, error = %e, "cannot read TapeAlert flags")
                }
            }
        }
    }

    fn ensure_up(&self, d: &DriveSlot) -> Result<(), LibraryError> {
        match &*lock(&d.status) {
            DriveStatus::Up => Ok(()),
            DriveStatus::Down { reason } => Err(LibraryError::DriveDown {
                library: self.name.clone(),
                drive: d.name.clone(),
                reason: reason.clone(),
            }),
        }
    }

    fn drive_error(&self, d: &DriveSlot, operation: &str, source: DriveError) -> LibraryError {
        LibraryError::Drive {
            drive: d.name.clone(),
            serial: lock(&d.identity).serial.clone(),
            element: Some(d.element),
            operation: operation.to_string(),
            source: Box::new(source),
        }
    }

    /// Runs `f` on the drive's worker thread with exclusive use of the drive (no mount or
    /// unmount of it meanwhile). A hardware error puts the drive DOWN.
    pub fn with_drive<R: Send + 'static>(
        &self,
        name: &str,
        operation: &str,
        f: impl FnOnce(&mut Drive<Transport>) -> Result<R, DriveError> + Send + 'static,
    ) -> Result<R, LibraryError> {
        let d = self.slot(name)?;
        let _op = lock(&d.op);
        self.ensure_up(d)?;
        self.on_drive(d, operation, f)
    }

    fn on_drive<R: Send + 'static>(
        &self,
        d: &DriveSlot,
        operation: &str,
        f: impl FnOnce(&mut Drive<Transport>) -> Result<R, DriveError> + Send + 'static,
    ) -> Result<R, LibraryError> {
        match d.worker.call(f)? {
            Ok(r) => Ok(r),
            Err(e) => {
                if is_hardware(&e) {
                    self.mark_down(d, format!("{operation}: {e}"));
                }
                Err(self.drive_error(d, operation, e))
            }
        }
    }

    /// Identifies the changer and every UP drive again.
    pub fn identify(&self) -> Result<LibraryIdentity, LibraryError> {
        let changer = {
            let mut robot = lock(&self.robot);
            let inq = retry_unit_attention(|| robot.changer.identify()).map_err(|source| {
                LibraryError::Changer {
                    library: self.name.clone(),
                    operation: "INQUIRY".into(),
                    source: Box::new(source),
                }
            })?;
            robot.identity.vendor = inq.vendor;
            robot.identity.product = inq.product;
            robot.identity.revision = inq.revision;
            robot.identity.clone()
        };
        let mut drives = Vec::new();
        for d in &self.drives {
            if self.ensure_up(d).is_err() {
                continue;
            }
            let ident = self.on_drive(d, "identify", |drive| drive.identify())?;
            *lock(&d.identity) = ident.clone();
            drives.push((d.name.clone(), ident));
        }
        Ok(LibraryIdentity { changer, drives })
    }

    /// Reads the inventory from the changer (READ ELEMENT STATUS) and writes it to the
    /// catalog: element cache, tape locations, new tapes.
    pub fn refresh_inventory(&self) -> Result<Inventory, LibraryError> {
        let mut robot = lock(&self.robot);
        self.read_inventory(&mut robot)?;
        inventory::sync_catalog(&self.catalog, &self.name, &robot.identity, &robot.inventory)?;
        Ok(robot.inventory.clone())
    }

    fn read_inventory(&self, robot: &mut Robot) -> Result<(), LibraryError> {
        let inv = retry_unit_attention(|| robot.changer.inventory()).map_err(|source| {
            LibraryError::Changer {
                library: self.name.clone(),
                operation: "READ ELEMENT STATUS".into(),
                source: Box::new(source),
            }
        })?;
        self.note_element_exceptions(&inv);
        robot.inventory = inv;
        Ok(())
    }

    /// MOVE MEDIUM with the robot lock held; updates the cached inventory and the catalog.
    fn move_locked(
        &self,
        robot: &mut Robot,
        barcode: &str,
        from: u16,
        to: u16,
        dest: TapeLocation,
    ) -> Result<(), LibraryError> {
        tracing::info!(library = %self.name, %barcode, from, to, "move medium");
        retry_unit_attention(|| robot.changer.move_medium(from, to)).map_err(|source| {
            LibraryError::Move {
                library: self.name.clone(),
                barcode: Some(barcode.to_string()),
                from,
                to,
                source: Box::new(source),
            }
        })?;
        let from_storage = robot.inventory.storage.iter().any(|s| s.address == from);
        inventory::apply_move(&mut robot.inventory, from, to);
        if matches!(dest, TapeLocation::Drive(_)) && from_storage {
            robot.homes.insert(barcode.to_string(), from);
        } else {
            robot.homes.remove(barcode);
        }
        // A cartridge without a readable label has no catalog record to update.
        if !barcode.is_empty() {
            inventory::record_location(&self.catalog, &self.name, barcode, dest)?;
        }
        Ok(())
    }

    /// Loads `barcode` into drive `drive` and waits until the drive is ready. A different
    /// cartridge in the drive is unloaded and returned to its home slot first.
    pub fn mount(&self, barcode: &str, drive: &str) -> Result<MountOutcome, LibraryError> {
        let d = self.slot(drive)?;
        let _op = lock(&d.op);
        self.ensure_up(d)?;
        let span = tracing::info_span!("mount", library = %self.name, %barcode, drive = %d.name);
        let _enter = span.enter();

        let (source, occupant) = {
            let mut robot = lock(&self.robot);
            self.read_inventory(&mut robot)?;
            let Some((kind, address)) = inventory::find(&robot.inventory, barcode) else {
                return Err(LibraryError::TapeNotFound {
                    library: self.name.clone(),
                    barcode: barcode.to_string(),
                });
            };
            if kind == ElementKind::Drive && address != d.element {
                let holder = self
                    .drive_at(address)
                    .map(|o| o.name.clone())
                    .unwrap_or_else(|| format!("element {address}"));
                return Err(LibraryError::TapeInDrive {
                    library: self.name.clone(),
                    barcode: barcode.to_string(),
                    drive: holder,
                });
            }
            let occupant = robot
                .inventory
                .drives
                .iter()
                .find(|e| e.state.address == d.element && e.state.full)
                .map(|e| e.state.barcode.clone().unwrap_or_default());
            ((address != d.element).then_some(address), occupant)
        };

        let Some(source) = source else {
            // Already in this drive: make sure it is threaded and ready.
            let timeout = self.limits.drive_ready_timeout;
            self.on_drive(d, "load", move |drive| match drive.wait_ready(timeout) {
                // Unloaded but still in the drive: thread it again.
                Err(e)
                    if e.category()
                        == Some(ErrorCategory::NotReady(NotReadyCause::MediumNotPresent)) =>
                {
                    drive.load()?;
                    drive.wait_ready(timeout)
                }
                other => other,
            })?;
            return Ok(MountOutcome {
                barcode: barcode.to_string(),
                drive: d.name.clone(),
                element: d.element,
                source: None,
                displaced: None,
            });
        };

        let displaced = match occupant {
            Some(_) => {
                let out = self.unmount_locked(d)?;
                Some((out.barcode, out.slot))
            }
            None => None,
        };

        {
            let mut robot = lock(&self.robot);
            self.move_locked(
                &mut robot,
                barcode,
                source,
                d.element,
                TapeLocation::Drive(d.element),
            )?;
        }
        // Libraries thread the cartridge on insertion; the drive reports NOT READY 04/01
        // until the load completes and then UNIT ATTENTION 28/00 (SSC-4 4.2.5).
        let timeout = self.limits.drive_ready_timeout;
        self.on_drive(d, "wait for ready after load", move |drive| {
            drive.wait_ready(timeout)
        })?;
        Ok(MountOutcome {
            barcode: barcode.to_string(),
            drive: d.name.clone(),
            element: d.element,
            source: Some(source),
            displaced,
        })
    }

    /// Unloads drive `drive` and returns its cartridge to its home slot.
    pub fn unmount(&self, drive: &str) -> Result<UnmountOutcome, LibraryError> {
        let d = self.slot(drive)?;
        let _op = lock(&d.op);
        let span = tracing::info_span!("unmount", library = %self.name, drive = %d.name);
        let _enter = span.enter();
        self.unmount_locked(d)
    }

    /// Unmount with the drive's operation lock held.
    fn unmount_locked(&self, d: &DriveSlot) -> Result<UnmountOutcome, LibraryError> {
        let (barcode, home) = {
            let mut robot = lock(&self.robot);
            self.read_inventory(&mut robot)?;
            let Some(e) = robot
                .inventory
                .drives
                .iter()
                .find(|e| e.state.address == d.element && e.state.full)
            else {
                return Err(LibraryError::DriveEmpty {
                    library: self.name.clone(),
                    drive: d.name.clone(),
                });
            };
            let home = e.state.source_address.or_else(|| {
                e.state
                    .barcode
                    .as_ref()
                    .and_then(|b| robot.homes.get(b).copied())
            });
            (e.state.barcode.clone(), home)
        };
        let label = barcode.clone().unwrap_or_default();

        // SSC-4 LOAD UNLOAD with LOAD=0: rewind, unthread and eject so the robot can pull
        // the cartridge. A drive that cannot unload holds the cartridge hostage: DOWN.
        let unload = d.worker.call(|drive| {
            // A cartridge left unthreaded (after a power cycle) still answers NOT READY to
            // UNLOAD on some drives; the eject already happened then.
            match drive.unload() {
                Err(e)
                    if matches!(
                        e.category(),
                        Some(ErrorCategory::NotReady(NotReadyCause::MediumNotPresent))
                    ) =>
                {
                    Ok(())
                }
                other => other,
            }
        })?;
        if let Err(e) = unload {
            self.mark_down(d, format!("unload of {label} failed: {e}"));
            return Err(self.drive_error(d, &format!("unload {label}"), e));
        }

        let mut robot = lock(&self.robot);
        let slot = home
            .filter(|h| {
                robot
                    .inventory
                    .storage
                    .iter()
                    .any(|s| s.address == *h && !s.full && s.access)
            })
            .or_else(|| {
                robot
                    .inventory
                    .storage
                    .iter()
                    .find(|s| !s.full && s.access)
                    .map(|s| s.address)
            })
            .ok_or_else(|| LibraryError::NoFreeElement {
                library: self.name.clone(),
                kind: "storage slot",
            })?;
        self.move_locked(
            &mut robot,
            &label,
            d.element,
            slot,
            TapeLocation::Slot(slot),
        )?;
        Ok(UnmountOutcome {
            barcode: label,
            drive: d.name.clone(),
            slot,
        })
    }

    /// Moves `barcode` from its slot to an import/export element (`ie`, or the first empty
    /// one that can export) for an operator to take out.
    pub fn move_to_ie(&self, barcode: &str, ie: Option<u16>) -> Result<u16, LibraryError> {
        let mut robot = lock(&self.robot);
        self.read_inventory(&mut robot)?;
        let from = self.storage_source(&robot, barcode)?;
        let to = match ie {
            Some(a) => {
                let e = robot
                    .inventory
                    .import_export
                    .iter()
                    .find(|e| e.state.address == a)
                    .ok_or_else(|| LibraryError::WrongElement {
                        library: self.name.clone(),
                        address: a,
                        kind: "import/export element",
                    })?;
                if e.state.full {
                    return Err(LibraryError::NoFreeElement {
                        library: self.name.clone(),
                        kind: "import/export element",
                    });
                }
                a
            }
            None => robot
                .inventory
                .import_export
                .iter()
                .find(|e| !e.state.full && e.state.access && e.export_enabled)
                .map(|e| e.state.address)
                .ok_or_else(|| LibraryError::NoFreeElement {
                    library: self.name.clone(),
                    kind: "import/export element",
                })?,
        };
        self.move_locked(
            &mut robot,
            barcode,
            from,
            to,
            TapeLocation::ImportExport(to),
        )?;
        Ok(to)
    }

    /// Moves `barcode` (in a slot or an I/E element) to storage slot `slot`, or to the
    /// first empty one: how an imported cartridge enters the library.
    pub fn move_to_slot(&self, barcode: &str, slot: Option<u16>) -> Result<u16, LibraryError> {
        let mut robot = lock(&self.robot);
        self.read_inventory(&mut robot)?;
        let from = self.storage_source(&robot, barcode)?;
        let free = |s: &&tapelib_scsi::changer::ElementState| !s.full && s.access;
        let to = match slot {
            Some(a) => robot
                .inventory
                .storage
                .iter()
                .find(|s| s.address == a)
                .ok_or_else(|| LibraryError::WrongElement {
                    library: self.name.clone(),
                    address: a,
                    kind: "storage slot",
                })
                .and_then(|s| {
                    Some(s).filter(free).map(|s| s.address).ok_or_else(|| {
                        LibraryError::NoFreeElement {
                            library: self.name.clone(),
                            kind: "storage slot",
                        }
                    })
                })?,
            None => robot
                .inventory
                .storage
                .iter()
                .find(free)
                .map(|s| s.address)
                .ok_or_else(|| LibraryError::NoFreeElement {
                    library: self.name.clone(),
                    kind: "storage slot",
                })?,
        };
        self.move_locked(&mut robot, barcode, from, to, TapeLocation::Slot(to))?;
        Ok(to)
    }

    /// Address of `barcode` when it is in a slot or I/E element (not in a drive).
    fn storage_source(&self, robot: &Robot, barcode: &str) -> Result<u16, LibraryError> {
        match inventory::find(&robot.inventory, barcode) {
            None => Err(LibraryError::TapeNotFound {
                library: self.name.clone(),
                barcode: barcode.to_string(),
            }),
            Some((ElementKind::Drive, a)) => Err(LibraryError::TapeInDrive {
                library: self.name.clone(),
                barcode: barcode.to_string(),
                drive: self
                    .drive_at(a)
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| format!("element {a}")),
            }),
            Some((_, a)) => Ok(a),
        }
    }
}

/// The changer's unit serial number (VPD 80h); empty when it reports none.
fn changer_serial(changer: &mut Changer<Transport>, timeout: Duration) -> String {
    let cdb = inquiry_vpd(VPD_UNIT_SERIAL_NUMBER, 255);
    let mut buf = vec![0u8; 255];
    let result = tapelib_scsi::run(
        changer.transport_mut().as_mut(),
        &cdb,
        DataPhase::In(&mut buf),
        timeout,
    );
    match result {
        Ok(c) => {
            let got = buf.get(..c.transferred.min(buf.len())).unwrap_or(&[]);
            decode_unit_serial(got).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "changer serial number undecodable");
                String::new()
            })
        }
        Err(e) => {
            tracing::debug!(error = %e, "changer has no unit serial number page");
            String::new()
        }
    }
}
