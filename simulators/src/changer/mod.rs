//! The SMC-3 medium changer: element state and the commands a library's robot answers.
//!
//! The changer owns the element map (transport, storage, import/export, data transfer), the
//! import/export station state, pending UNIT ATTENTION conditions and the robot statistics. It
//! reaches the drives only through [`DriveBay`], so moves that touch a drive take that drive's
//! lock and nothing else.
//!
//! Sense data where SMC-3 leaves the choice to the device (as IBM-built LTO libraries of the
//! TS3100/TL2000 family report it):
//! - source element empty 05/3B/0E, destination full 05/3B/0D, invalid address 05/21/01 with
//!   the field pointer on the CDB field;
//! - a drive that has not ejected its cartridge: 05/44/81 ("source not ready");
//! - I/E station open (command or fault): the I/E descriptors have ACCESS = 0 and moves to or
//!   from them fail with 05/3B/11 (medium magazine not accessible);
//! - robot failure: 04/15/01 (mechanical positioning error), the cartridge stays put, TapeAlert
//!   flag 1 is raised;
//! - opening a full I/E station while removal is prevented: 05/53/02.

mod cdb;
mod element_status;
pub mod ie;
mod inquiry;
mod log;
mod mode;
mod move_medium;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tapelib_scsi::{Completion, DataPhase};

use crate::config::{AddressMap, ChangerIdentity, DvcidFormat, LibraryConfig};
use crate::media::MediaKind;
use crate::sense::{self, key, SenseBuilder};
use crate::stats::RobotStats;
use crate::timing::{Activity, ModeledClock, TimeModel};

/// SMC-3 element type codes (SMC-3 table "element type code").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElementType {
    MediumTransport,
    Storage,
    ImportExport,
    DataTransfer,
}

impl ElementType {
    /// The element type code in READ ELEMENT STATUS and its page header.
    pub fn code(self) -> u8 {
        match self {
            ElementType::MediumTransport => 1,
            ElementType::Storage => 2,
            ElementType::ImportExport => 3,
            ElementType::DataTransfer => 4,
        }
    }

    /// The type for an element type code (0 = all is not a type).
    pub fn from_code(code: u8) -> Option<ElementType> {
        match code {
            1 => Some(ElementType::MediumTransport),
            2 => Some(ElementType::Storage),
            3 => Some(ElementType::ImportExport),
            4 => Some(ElementType::DataTransfer),
            _ => None,
        }
    }
}

/// A cartridge sitting in an element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medium {
    pub barcode: String,
    pub kind: MediaKind,
    /// Element the medium was last moved from (SMC-3 SVALID + source storage element address).
    pub source: Option<u16>,
    /// For I/E elements: placed by the operator (ImpExp = 1) rather than by the robot.
    #[serde(default)]
    pub imported: bool,
}

/// One element and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element {
    pub address: u16,
    pub element_type: ElementType,
    pub medium: Option<Medium>,
}

/// Everything about the changer that survives a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangerState {
    pub transport: Vec<Element>,
    pub storage: Vec<Element>,
    pub import_export: Vec<Element>,
    pub drives: Vec<Element>,
    /// Import/export station door opened by OPEN IMPORT/EXPORT ELEMENT.
    pub ie_open: bool,
    /// PREVENT MEDIUM REMOVAL in effect (the mail slot is locked).
    pub prevent_removal: bool,
    /// Pending UNIT ATTENTION conditions (ASC, ASCQ), oldest first.
    pub unit_attentions: Vec<(u8, u8)>,
    pub robot: RobotStats,
    /// Fault: the I/E door is held open.
    pub fault_ie_door_open: bool,
    /// Fault: robot moves fail (`Some(None)` until cleared, `Some(Some(n))` for n moves).
    pub fault_robot: Option<Option<u32>>,
    /// TapeAlert flags (1..=64) set and not yet read.
    pub tape_alerts: Vec<u8>,
    /// Storage slots held empty as the home of a cartridge that started in a drive
    /// (slot address → barcode): no other cartridge may be moved there while it is away.
    #[serde(default)]
    pub reserved_homes: BTreeMap<u16, String>,
}

impl ChangerState {
    /// Empty elements laid out by the configuration's address map.
    pub fn empty(config: &LibraryConfig) -> ChangerState {
        let a = config.addresses;
        let make = |start: u16, count: usize, t: ElementType| -> Vec<Element> {
            (0..count)
                .map(|i| Element {
                    // The configuration was validated: every range fits in 16 bits.
                    address: start.wrapping_add(i as u16),
                    element_type: t,
                    medium: None,
                })
                .collect()
        };
        ChangerState {
            transport: make(a.transport, 1, ElementType::MediumTransport),
            storage: make(
                a.storage,
                usize::from(config.storage_slots),
                ElementType::Storage,
            ),
            import_export: make(
                a.import_export,
                usize::from(config.ie_slots),
                ElementType::ImportExport,
            ),
            drives: make(a.drive, config.drives.len(), ElementType::DataTransfer),
            ie_open: false,
            prevent_removal: false,
            unit_attentions: Vec::new(),
            robot: RobotStats::default(),
            fault_ie_door_open: false,
            fault_robot: None,
            tape_alerts: Vec::new(),
            reserved_homes: BTreeMap::new(),
        }
    }

    /// Whether `address` is a storage slot held for a cartridge other than `barcode`.
    pub fn reserved_for_other(&self, address: u16, barcode: &str) -> bool {
        self.reserved_homes
            .get(&address)
            .is_some_and(|b| b != barcode)
    }

    /// Gives every cartridge in a drive without a valid home a storage slot to return to (SMC-3
    /// SVALID + source address; `mtx unload` without a slot uses it) and reserves it. The slot
    /// is the highest free storage slot that is nobody's home and not in `avoid` (slots the
    /// configuration names), else the highest free one nobody calls home; the choice depends
    /// only on the contents, so every run and restart makes the same one.
    pub fn assign_home_slots(&mut self, avoid: &[u16]) {
        // Reservations whose cartridge left the drives, or whose slot got filled, are void.
        let in_drives: BTreeMap<u16, String> = self
            .drives
            .iter()
            .filter_map(|e| e.medium.as_ref())
            .filter_map(|m| m.source.map(|s| (s, m.barcode.clone())))
            .collect();
        let storage_empty = |st: &ChangerState, a: u16| {
            st.storage
                .iter()
                .any(|e| e.address == a && e.medium.is_none())
        };
        let stale: Vec<u16> = self
            .reserved_homes
            .iter()
            .filter(|(a, b)| in_drives.get(a) != Some(*b) || !storage_empty(self, **a))
            .map(|(a, _)| *a)
            .collect();
        for a in stale {
            self.reserved_homes.remove(&a);
        }
        for i in 0..self.drives.len() {
            let Some(m) = self.drives.get(i).and_then(|e| e.medium.clone()) else {
                continue;
            };
            if m.source.is_some_and(|s| self.element(s).is_some()) {
                continue;
            }
            let claimed: Vec<u16> = self
                .drives
                .iter()
                .filter_map(|e| e.medium.as_ref().and_then(|m| m.source))
                .chain(self.reserved_homes.keys().copied())
                .collect();
            let free: Vec<u16> = self
                .storage
                .iter()
                .filter(|e| e.medium.is_none() && !claimed.contains(&e.address))
                .map(|e| e.address)
                .collect();
            // From the top of the library down: the low slots stay free for the application.
            let home = free
                .iter()
                .rev()
                .copied()
                .find(|a| !avoid.contains(a))
                .or_else(|| free.last().copied());
            if let Some(e) = self.drives.get_mut(i) {
                if let Some(medium) = e.medium.as_mut() {
                    medium.source = home;
                }
            }
            if let Some(a) = home {
                self.reserved_homes.insert(a, m.barcode.clone());
            }
        }
    }

    /// All elements in ascending address order.
    pub fn elements(&self) -> Vec<&Element> {
        let mut all: Vec<&Element> = self
            .transport
            .iter()
            .chain(&self.storage)
            .chain(&self.import_export)
            .chain(&self.drives)
            .collect();
        all.sort_by_key(|e| e.address);
        all
    }

    pub fn element(&self, address: u16) -> Option<&Element> {
        self.transport
            .iter()
            .chain(&self.storage)
            .chain(&self.import_export)
            .chain(&self.drives)
            .find(|e| e.address == address)
    }

    pub fn element_mut(&mut self, address: u16) -> Option<&mut Element> {
        self.transport
            .iter_mut()
            .chain(&mut self.storage)
            .chain(&mut self.import_export)
            .chain(&mut self.drives)
            .find(|e| e.address == address)
    }

    /// Where a barcode is, if inside the library.
    pub fn find_barcode(&self, barcode: &str) -> Option<&Element> {
        self.elements().into_iter().find(|e| {
            e.medium
                .as_ref()
                .is_some_and(|m| m.barcode.eq_ignore_ascii_case(barcode))
        })
    }

    /// Index of the drive at `address`.
    pub fn drive_index(&self, address: u16) -> Option<usize> {
        self.drives.iter().position(|e| e.address == address)
    }

    /// Whether the I/E elements are reachable by the robot (door closed, no door fault).
    pub fn ie_accessible(&self) -> bool {
        !self.ie_open && !self.fault_ie_door_open
    }

    /// Queue a UNIT ATTENTION unless the same one is already pending.
    pub fn raise_unit_attention(&mut self, asc: u8, ascq: u8) {
        if !self.unit_attentions.contains(&(asc, ascq)) {
            self.unit_attentions.push((asc, ascq));
        }
    }

    /// Sets a TapeAlert flag (1..=64).
    pub fn raise_tape_alert(&mut self, flag: u8) {
        if (1..=64).contains(&flag) && !self.tape_alerts.contains(&flag) {
            self.tape_alerts.push(flag);
        }
    }
}

/// Identity of a drive as the changer reports it (DVCID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveIdentity {
    pub vendor: String,
    pub product: String,
    pub serial: String,
}

/// Why a drive refused what the robot asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BayError {
    /// The drive still holds a threaded cartridge (not unloaded).
    #[error("drive {0} has not unloaded its cartridge")]
    NotUnloaded(usize),
    /// The drive refused the cartridge or failed; `(key, asc, ascq)` for the changer's sense.
    #[error("drive {drive}: {message}")]
    Refused {
        drive: usize,
        key: u8,
        asc: u8,
        ascq: u8,
        message: String,
    },
}

/// The drives as the robot sees them. Implemented by the library over its per-drive locks.
pub trait DriveBay {
    /// Whether the drive at `index` has ejected its cartridge so the robot may pull it.
    fn ready_for_removal(&self, index: usize) -> bool;
    /// The robot pushes cartridge `barcode` into the drive.
    fn insert(&self, index: usize, barcode: &str) -> Result<(), BayError>;
    /// The robot pulls the (unloaded) cartridge out of the drive.
    fn remove(&self, index: usize) -> Result<(), BayError>;
    /// Vendor, product and serial of the drive.
    fn identity(&self, index: usize) -> Option<DriveIdentity>;
    /// Whether the drive reports a hardware failure (the element shows Except).
    fn failed(&self, index: usize) -> bool;
}

/// An SMC-3 changer: identity, address map, state and robot clock.
#[derive(Debug)]
pub struct Changer {
    identity: ChangerIdentity,
    addresses: AddressMap,
    state: ChangerState,
    clock: ModeledClock,
    timing: TimeModel,
    /// Set whenever a command changed something worth persisting.
    dirty: bool,
}

/// The outcome of one changer command: the completion and whether state changed.
pub(crate) type Reply = Result<usize, SenseBuilder>;

impl Changer {
    /// A changer over `state` (fresh from [`ChangerState::empty`] or reloaded).
    pub fn new(config: &LibraryConfig, state: ChangerState) -> Changer {
        let timing = TimeModel::new(config.time_scale);
        let mut clock = ModeledClock::new(config.time_scale);
        let mut spent = clock.spent().clone();
        spent.robot_move = state.robot.modeled_seconds;
        clock.set_spent(spent);
        Changer {
            identity: config.changer.clone(),
            addresses: config.addresses,
            state,
            clock,
            timing,
            dirty: false,
        }
    }

    pub fn state(&self) -> &ChangerState {
        &self.state
    }

    pub fn state_mut(&mut self) -> &mut ChangerState {
        self.dirty = true;
        &mut self.state
    }

    pub fn identity(&self) -> &ChangerIdentity {
        &self.identity
    }

    pub fn addresses(&self) -> AddressMap {
        self.addresses
    }

    pub fn dvcid_format(&self) -> DvcidFormat {
        self.identity.dvcid
    }

    /// Returns and clears the "state changed" flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn robot_stats(&self) -> RobotStats {
        self.state.robot.clone()
    }

    fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Charges one robot motion to the modeled clock and statistics.
    fn charge_robot(&mut self, moves: u32) {
        let seconds = self.timing.robot_move_seconds() * f64::from(moves);
        self.clock.charge(Activity::RobotMove, seconds);
        self.state.robot.modeled_seconds += seconds;
    }

    /// Executes one CDB. Never panics; every failure is sense data.
    pub fn execute(&mut self, cdb: &[u8], data: DataPhase<'_>, bay: &dyn DriveBay) -> Completion {
        let offered = data.len();
        let Some(&opcode) = cdb.first() else {
            return sense::invalid_opcode(offered);
        };
        if let Some(expected) = cdb::cdb_length(opcode) {
            if cdb.len() < expected {
                return SenseBuilder::new(key::ILLEGAL_REQUEST, 0x24, 0x00)
                    .cdb_field(u16::try_from(cdb.len()).unwrap_or(u16::MAX), None)
                    .check(offered);
            }
        } else {
            return sense::invalid_opcode(offered);
        }
        // SPC-4 5.14: INQUIRY and REPORT LUNS neither report nor clear a UNIT ATTENTION;
        // REQUEST SENSE reports it as its parameter data.
        if !matches!(opcode, 0x12 | 0xA0 | 0x03) {
            if let Some(&(asc, ascq)) = self.state.unit_attentions.first() {
                self.state.unit_attentions.remove(0);
                self.mark_dirty();
                return sense::check(key::UNIT_ATTENTION, asc, ascq, offered);
            }
        }
        let mut empty: [u8; 0] = [];
        let buf: &mut [u8] = match data {
            DataPhase::In(b) => b,
            _ => &mut empty,
        };
        let result = match opcode {
            0x00 => Ok(0),
            0x03 => self.request_sense(cdb, buf),
            0x12 => self.inquiry(cdb, buf),
            0xA0 => self.report_luns(cdb, buf),
            0x1A | 0x5A => self.mode_sense(cdb, buf),
            0x4D => self.log_sense(cdb, buf),
            0xB8 => self.read_element_status(cdb, buf, bay),
            0xA5 => self.move_medium(cdb, bay),
            0xA6 => self.exchange_medium(cdb, bay),
            0x07 | 0x37 => self.initialize_element_status(cdb),
            0x2B => self.position_to_element(cdb),
            0x1E => self.prevent_allow(cdb),
            0x1B => self.open_close_ie(cdb),
            _ => Err(SenseBuilder::new(key::ILLEGAL_REQUEST, 0x20, 0x00).cdb_field(0, None)),
        };
        match result {
            Ok(transferred) => Completion::good(offered, transferred),
            Err(s) => {
                tracing::debug!(opcode, key = s.key(), "changer command failed");
                s.check(offered)
            }
        }
    }
}

/// Copies `data` into `buf`, at most `alloc` bytes; returns the count copied.
pub(crate) fn respond(buf: &mut [u8], alloc: usize, data: &[u8]) -> usize {
    let n = data.len().min(alloc).min(buf.len());
    if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    n
}

/// ILLEGAL REQUEST, INVALID FIELD IN CDB at `byte`/`bit`.
pub(crate) fn bad_field(byte: u16, bit: Option<u8>) -> SenseBuilder {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x24, 0x00).cdb_field(byte, bit)
}

/// ILLEGAL REQUEST, INVALID ELEMENT ADDRESS (21/01), pointing at the CDB field.
pub(crate) fn bad_address(byte: u16) -> SenseBuilder {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x21, 0x01).cdb_field(byte, None)
}

/// `text` space-padded or cut to `len` bytes (SPC-4 ASCII fields).
pub(crate) fn ascii_field(text: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = text.bytes().take(len).collect();
    v.resize(len, b' ');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn medium(barcode: &str) -> Medium {
        Medium {
            barcode: barcode.into(),
            kind: MediaKind::Cleaning,
            source: None,
            imported: false,
        }
    }

    fn state() -> ChangerState {
        let config = LibraryConfig::from_toml_str(
            "storage_slots = 4\nie_slots = 1\n[[drive]]\ngeneration = \"LTO-8\"\nserial = \"D1\"\n\
             [[drive]]\ngeneration = \"LTO-8\"\nserial = \"D2\"\n",
        )
        .unwrap();
        ChangerState::empty(&config)
    }

    #[test]
    fn home_slots_are_free_reserved_and_deterministic() {
        let mut s = state();
        let slot = |n: usize| s.storage[n].address;
        let (s1, s3, s4) = (slot(0), slot(2), slot(3));
        s.storage[1].medium = Some(medium("X"));
        s.drives[0].medium = Some(medium("D0"));
        s.drives[1].medium = Some(medium("D1"));
        // Slot 4 is named by the configuration: avoided while another slot is free.
        s.assign_home_slots(&[s4]);
        assert_eq!(s.drives[0].medium.as_ref().unwrap().source, Some(s3));
        assert_eq!(s.drives[1].medium.as_ref().unwrap().source, Some(s1));
        assert!(s.reserved_for_other(s3, "X") && !s.reserved_for_other(s3, "D0"));
        let again = s.clone();
        s.assign_home_slots(&[s4]);
        assert_eq!(s, again);
        // A reservation whose cartridge left the drives is void; valid sources stay.
        s.drives[1].medium = None;
        s.assign_home_slots(&[s4]);
        assert!(!s.reserved_homes.contains_key(&s1));
        assert_eq!(s.reserved_homes.get(&s3).map(String::as_str), Some("D0"));
        // A source that no longer exists is replaced.
        if let Some(m) = s.drives[0].medium.as_mut() {
            m.source = Some(0x7FFF);
        }
        s.assign_home_slots(&[]);
        let home = s.drives[0].medium.as_ref().unwrap().source.unwrap();
        assert!(s.element(home).is_some_and(|e| e.medium.is_none()));
    }
}
