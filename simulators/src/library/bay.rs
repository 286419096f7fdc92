//! The drives as the robot reaches them: each call takes only that drive's lock.

use std::sync::atomic::Ordering;

use super::{cartridge_dir, lock, Library};
use crate::cartridge::Cartridge;
use crate::changer::{BayError, DriveBay, DriveIdentity};
use crate::sense::key;

pub(super) struct Bay<'a> {
    pub library: &'a Library,
}

impl DriveBay for Bay<'_> {
    fn ready_for_removal(&self, index: usize) -> bool {
        self.library
            .drives
            .get(index)
            .is_some_and(|d| lock(d).ready_for_removal())
    }

    fn insert(&self, index: usize, barcode: &str) -> Result<(), BayError> {
        let lib = self.library;
        let refused = |message: String| BayError::Refused {
            drive: index,
            key: key::HARDWARE_ERROR,
            asc: 0x3B,
            ascq: 0x16, // MECHANICAL POSITIONING OR CHANGER ERROR
            message,
        };
        let d = lib
            .drives
            .get(index)
            .ok_or_else(|| refused("no such drive".into()))?;
        // Cartridge faults are stored with the cartridge and come along with it.
        let cart = Cartridge::open(&cartridge_dir(&lib.state_dir, barcode))
            .map_err(|e| refused(format!("cartridge {barcode}: {e}")))?;
        let mut drive = lock(d);
        drive
            .insert(cart)
            .map_err(|e| refused(format!("insert {barcode}: {e}")))?;
        let now = drive.medium_present() && !drive.ready_for_removal();
        lib.loaded[index].store(now, Ordering::SeqCst);
        Ok(())
    }

    fn remove(&self, index: usize) -> Result<(), BayError> {
        let lib = self.library;
        let Some(d) = lib.drives.get(index) else {
            return Err(BayError::NotUnloaded(index));
        };
        let mut drive = lock(d);
        if !drive.ready_for_removal() {
            return Err(BayError::NotUnloaded(index));
        }
        if let Some(mut cart) = drive.remove() {
            if let Err(e) = cart.sync() {
                tracing::error!(barcode = cart.barcode(), error = %e, "flush on removal failed");
            }
        }
        lib.loaded[index].store(false, Ordering::SeqCst);
        Ok(())
    }

    fn identity(&self, index: usize) -> Option<DriveIdentity> {
        self.library.identities.get(index).cloned()
    }

    fn failed(&self, index: usize) -> bool {
        self.library
            .failed
            .get(index)
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }
}
