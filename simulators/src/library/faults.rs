//! Fault injection: from the configuration and at run time. Each fault is routed to the part of
//! the library it affects (robot, I/E station, a drive, a cartridge) and remembered in the state
//! so it survives a restart until cleared.

use std::sync::atomic::Ordering;

use super::{cartridge_dir, lock, Library, SimError, CHANGER_DEVICE};
use crate::cartridge::Cartridge;
use crate::config::{FaultSpec, MediaOp};

impl Library {
    /// Injects a fault at run time.
    pub fn inject_fault(&self, spec: FaultSpec) -> Result<(), SimError> {
        self.apply_fault(&spec, true)?;
        self.save()
    }

    /// Clears every fault: robot, I/E door, drives and cartridges.
    pub fn clear_faults(&self) {
        let faults = std::mem::take(&mut lock(&self.side).faults);
        // The changer lock is held throughout so no cartridge enters or leaves a drive while
        // cartridges on disk are opened (lock order: changer, then drives).
        let mut changer = lock(&self.changer);
        {
            let s = changer.state_mut();
            s.fault_robot = None;
            s.fault_ie_door_open = false;
        }
        let mut in_drives = Vec::new();
        for (i, d) in self.drives.iter().enumerate() {
            let mut drive = lock(d);
            *drive.faults_mut() = Default::default();
            if let Some(cart) = drive.cartridge_mut() {
                in_drives.push(cart.barcode().to_string());
                clear_cartridge_faults(cart, &faults);
                if let Err(e) = cart.sync() {
                    tracing::warn!(error = %e, "cannot persist cleared faults");
                }
            }
            self.failed[i].store(false, Ordering::SeqCst);
        }
        for f in &faults {
            if let Some(barcode) = cartridge_fault_barcode(f) {
                if in_drives.iter().any(|b| b == barcode) {
                    continue;
                }
                if let Ok(mut cart) = Cartridge::open(&cartridge_dir(&self.state_dir, barcode)) {
                    clear_cartridge_faults(&mut cart, &faults);
                    if let Err(e) = cart.sync() {
                        tracing::warn!(barcode, error = %e, "cannot persist cleared faults");
                    }
                }
            }
        }
        changer.take_dirty();
        if let Err(e) = self.save_locked(&changer) {
            tracing::error!(error = %e, "cannot persist library state");
        }
        tracing::info!("faults cleared");
    }

    /// Routes one fault. `fresh` is false when reapplying saved faults after a restart (the
    /// cartridge-level ones are already stored with the cartridge).
    pub(super) fn apply_fault(&self, f: &FaultSpec, fresh: bool) -> Result<(), SimError> {
        match f {
            FaultSpec::MediaError { barcode, .. }
            | FaultSpec::WriteProtect { barcode }
            | FaultSpec::CartridgeFull { barcode, .. } => {
                if fresh {
                    self.apply_to_cartridge(barcode, f)?;
                }
            }
            FaultSpec::DriveFailure { drive } | FaultSpec::CleaningRequired { drive } => {
                let i = usize::from(*drive);
                let d = self
                    .drives
                    .get(i)
                    .ok_or_else(|| SimError::InvalidFault(format!("no drive {drive}")))?;
                let mut d = lock(d);
                if matches!(f, FaultSpec::DriveFailure { .. }) {
                    d.faults_mut().hardware_failure = true;
                    self.failed[i].store(true, Ordering::SeqCst);
                } else {
                    d.faults_mut().cleaning_required = true;
                }
            }
            FaultSpec::RobotMoveFailure { count } => {
                lock(&self.changer).state_mut().fault_robot = Some(*count);
            }
            FaultSpec::IeDoorOpen => {
                lock(&self.changer).state_mut().fault_ie_door_open = true;
            }
            FaultSpec::PowerOnReset { device } => {
                let all = device.is_none();
                let hits = |name: &str| all || device.as_deref() == Some(name);
                if !all && !self.device_names().iter().any(|n| hits(n)) {
                    return Err(SimError::UnknownDevice(device.clone().unwrap_or_default()));
                }
                if hits(CHANGER_DEVICE) {
                    lock(&self.changer)
                        .state_mut()
                        .raise_unit_attention(0x29, 0x00);
                }
                for (i, d) in self.drives.iter().enumerate() {
                    if hits(&format!("drive{i}")) {
                        lock(d).faults_mut().power_on_reset = true;
                    }
                }
            }
        }
        // A power-on reset is an event, not a lasting condition: it is not kept.
        if !matches!(f, FaultSpec::PowerOnReset { .. }) {
            let mut side = lock(&self.side);
            if !side.faults.contains(f) {
                side.faults.push(f.clone());
            }
        }
        tracing::info!(fault = ?f, "fault injected");
        Ok(())
    }

    /// Applies a cartridge fault to the cartridge wherever it is: in a drive, or on disk.
    fn apply_to_cartridge(&self, barcode: &str, f: &FaultSpec) -> Result<(), SimError> {
        // Held so the cartridge cannot move into a drive while it is open here.
        let _changer = lock(&self.changer);
        for d in &self.drives {
            let mut drive = lock(d);
            if drive.loaded_barcode().as_deref() == Some(barcode) {
                if let Some(cart) = drive.cartridge_mut() {
                    return set_cartridge_fault(cart, f)
                        .and_then(|()| cart.sync())
                        .map_err(|source| SimError::Cartridge {
                            barcode: barcode.to_string(),
                            source,
                        });
                }
            }
        }
        let dir = cartridge_dir(&self.state_dir, barcode);
        if !dir.exists() {
            return Err(SimError::UnknownCartridge(barcode.to_string()));
        }
        let err = |source| SimError::Cartridge {
            barcode: barcode.to_string(),
            source,
        };
        let mut cart = Cartridge::open(&dir).map_err(err)?;
        set_cartridge_fault(&mut cart, f).map_err(err)?;
        cart.sync().map_err(err)
    }
}

fn cartridge_fault_barcode(f: &FaultSpec) -> Option<&str> {
    match f {
        FaultSpec::MediaError { barcode, .. }
        | FaultSpec::WriteProtect { barcode }
        | FaultSpec::CartridgeFull { barcode, .. } => Some(barcode),
        _ => None,
    }
}

fn set_cartridge_fault(
    cart: &mut Cartridge,
    f: &FaultSpec,
) -> Result<(), crate::cartridge::CartridgeError> {
    match f {
        FaultSpec::MediaError {
            partition,
            block,
            op,
            ..
        } => {
            let faults = cart.faults_mut();
            match op {
                MediaOp::Read => faults.read_errors.insert((*partition, *block)),
                MediaOp::Write => faults.write_errors.insert((*partition, *block)),
            };
            Ok(())
        }
        FaultSpec::WriteProtect { .. } => cart.set_write_protected(true),
        FaultSpec::CartridgeFull { after_bytes, .. } => {
            cart.faults_mut().full_after_bytes = Some(*after_bytes);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn clear_cartridge_faults(cart: &mut Cartridge, faults: &[FaultSpec]) {
    let barcode = cart.barcode().to_string();
    for f in faults {
        if cartridge_fault_barcode(f) != Some(barcode.as_str()) {
            continue;
        }
        match f {
            FaultSpec::WriteProtect { .. } => {
                if let Err(e) = cart.set_write_protected(false) {
                    tracing::warn!(%barcode, error = %e, "cannot clear write protection");
                }
            }
            _ => *cart.faults_mut() = Default::default(),
        }
    }
}
