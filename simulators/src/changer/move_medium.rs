//! MOVE MEDIUM (SMC-3 6.6), EXCHANGE MEDIUM (6.3), INITIALIZE ELEMENT STATUS (6.4, 6.5 WITH
//! RANGE) and POSITION TO ELEMENT (6.7).

use super::cdb::{be16, byte};
use super::{bad_address, bad_field, BayError, Changer, DriveBay, ElementType, Reply};
use crate::sense::{key, SenseBuilder};

/// MEDIUM SOURCE ELEMENT EMPTY.
fn source_empty() -> SenseBuilder {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x3B, 0x0E)
}

/// MEDIUM DESTINATION ELEMENT FULL.
fn destination_full() -> SenseBuilder {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x3B, 0x0D)
}

/// The import/export station is open (or held open by a fault): MEDIUM MAGAZINE NOT ACCESSIBLE,
/// as IBM-built LTO libraries (TS3100/TL2000 family) report it for the I/O station.
fn ie_not_accessible() -> SenseBuilder {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x3B, 0x11)
}

/// The drive has not ejected its cartridge: "source not ready", vendor ASCQ 81h of the
/// IBM-built LTO libraries' ILLEGAL REQUEST table (there is no SMC-3 code for it).
fn drive_not_unloaded() -> SenseBuilder {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x44, 0x81)
}

/// Robot failure: HARDWARE ERROR, MECHANICAL POSITIONING ERROR (SPC-4 15/01).
fn robot_failure() -> SenseBuilder {
    SenseBuilder::new(key::HARDWARE_ERROR, 0x15, 0x01)
}

/// TapeAlert flag 1, "library hardware A" (changer mechanism difficulties; SMC-3 annex).
const TAPE_ALERT_LIBRARY_HARDWARE: u8 = 0x01;

fn bay_error(e: BayError) -> SenseBuilder {
    match e {
        BayError::NotUnloaded(_) => drive_not_unloaded(),
        BayError::Refused { key, asc, ascq, .. } => SenseBuilder::new(key, asc, ascq),
    }
}

impl Changer {
    /// Checks an element address field: present, and (for `medium`) not the transport.
    fn check_address(&self, address: u16, cdb_byte: u16) -> Result<ElementType, SenseBuilder> {
        self.state
            .element(address)
            .map(|e| e.element_type)
            .ok_or_else(|| bad_address(cdb_byte))
    }

    /// The transport element field: 0 means the default transport (SMC-3 6.6).
    fn check_transport(&self, address: u16, cdb_byte: u16) -> Result<(), SenseBuilder> {
        if address == 0 || self.state.transport.iter().any(|t| t.address == address) {
            Ok(())
        } else {
            Err(bad_address(cdb_byte))
        }
    }

    /// Fails the move if a robot fault is active, consuming one counted failure.
    fn robot_fault(&mut self) -> Result<(), SenseBuilder> {
        match self.state.fault_robot {
            None => Ok(()),
            Some(remaining) => {
                self.state.fault_robot = match remaining {
                    None => Some(None),
                    Some(n) if n > 1 => Some(Some(n - 1)),
                    Some(_) => None,
                };
                self.state.robot.failed_moves += 1;
                self.state.raise_tape_alert(TAPE_ALERT_LIBRARY_HARDWARE);
                self.charge_robot(1);
                self.mark_dirty();
                tracing::warn!("robot move failed (injected fault)");
                Err(robot_failure())
            }
        }
    }

    /// MOVE MEDIUM (SMC-3 6.6). The two high bits of the control byte are mtx's `eepos`
    /// (extend/retract the picker on import/export); they are accepted and ignored.
    pub(super) fn move_medium(&mut self, cdb: &[u8], bay: &dyn DriveBay) -> Reply {
        let transport = be16(cdb, 2);
        let source = be16(cdb, 4);
        let dest = be16(cdb, 6);
        if byte(cdb, 10) & 0x01 != 0 {
            // INVERT: LTO cartridges cannot be turned over.
            return Err(bad_field(10, Some(0)));
        }
        self.check_transport(transport, 2)?;
        let src_type = self.check_address(source, 4)?;
        let dst_type = self.check_address(dest, 6)?;
        if src_type == ElementType::MediumTransport {
            return Err(bad_address(4));
        }
        if dst_type == ElementType::MediumTransport {
            return Err(bad_address(6));
        }
        self.move_one(source, dest, bay)?;
        Ok(0)
    }

    /// Moves the medium at `source` to the empty `dest`, checking every rule first.
    pub(crate) fn move_one(
        &mut self,
        source: u16,
        dest: u16,
        bay: &dyn DriveBay,
    ) -> Result<(), SenseBuilder> {
        let (Some(src), Some(dst)) = (self.state.element(source), self.state.element(dest)) else {
            return Err(bad_address(4));
        };
        let (src_type, dst_type) = (src.element_type, dst.element_type);
        let ie_involved =
            src_type == ElementType::ImportExport || dst_type == ElementType::ImportExport;
        if ie_involved && !self.state.ie_accessible() {
            return Err(ie_not_accessible());
        }
        if src.medium.is_none() {
            return Err(source_empty());
        }
        if source == dest {
            // Nothing to do; the robot still visits the element.
            self.charge_robot(1);
            return Ok(());
        }
        if dst.medium.is_some() {
            return Err(destination_full());
        }
        if src
            .medium
            .as_ref()
            .is_some_and(|m| self.state.reserved_for_other(dest, &m.barcode))
        {
            // The slot is the home of a cartridge that is in a drive: held for it.
            return Err(destination_full());
        }
        let src_drive = self.state.drive_index(source);
        let dst_drive = self.state.drive_index(dest);
        if let Some(i) = src_drive {
            if !bay.ready_for_removal(i) {
                return Err(drive_not_unloaded());
            }
        }
        self.robot_fault()?;
        let medium = self
            .state
            .element(source)
            .and_then(|e| e.medium.clone())
            .ok_or_else(source_empty)?;
        if let Some(i) = src_drive {
            bay.remove(i).map_err(bay_error)?;
        }
        if let Some(i) = dst_drive {
            if let Err(e) = bay.insert(i, &medium.barcode) {
                // The drive refused it: the robot takes the cartridge back where it was.
                if let Some(j) = src_drive {
                    if let Err(back) = bay.insert(j, &medium.barcode) {
                        tracing::error!(%back, "cannot return cartridge to its drive");
                    }
                }
                self.charge_robot(2);
                return Err(bay_error(e));
            }
        }
        let mut moved = medium;
        moved.source = match src_type {
            ElementType::DataTransfer => moved.source.or(Some(source)),
            _ => Some(source),
        };
        moved.imported = false;
        tracing::debug!(barcode = %moved.barcode, source, dest, "medium moved");
        if let Some(e) = self.state.element_mut(source) {
            e.medium = None;
        }
        if dst_drive.is_none() {
            // Out of the drives, the cartridge no longer needs its slot held.
            self.state.reserved_homes.retain(|_, b| *b != moved.barcode);
        }
        if let Some(e) = self.state.element_mut(dest) {
            e.medium = Some(moved);
        }
        self.state.robot.moves += 1;
        self.charge_robot(1);
        self.mark_dirty();
        Ok(())
    }

    /// EXCHANGE MEDIUM (SMC-3 6.3): source → first destination, first destination → second
    /// destination (which may be the source).
    pub(super) fn exchange_medium(&mut self, cdb: &[u8], bay: &dyn DriveBay) -> Reply {
        let transport = be16(cdb, 2);
        let source = be16(cdb, 4);
        let first = be16(cdb, 6);
        let second = be16(cdb, 8);
        if byte(cdb, 10) & 0x03 != 0 {
            return Err(bad_field(
                10,
                Some(byte(cdb, 10).trailing_zeros().min(1) as u8),
            ));
        }
        self.check_transport(transport, 2)?;
        for (addr, at) in [(source, 4u16), (first, 6), (second, 8)] {
            if self.check_address(addr, at)? == ElementType::MediumTransport {
                return Err(bad_address(at));
            }
        }
        let full = |c: &Changer, a: u16| c.state.element(a).is_some_and(|e| e.medium.is_some());
        let ie = |c: &Changer, a: u16| {
            c.state
                .element(a)
                .is_some_and(|e| e.element_type == ElementType::ImportExport)
        };
        if (ie(self, source) || ie(self, first) || ie(self, second)) && !self.state.ie_accessible()
        {
            return Err(ie_not_accessible());
        }
        if !full(self, source) || !full(self, first) {
            return Err(source_empty());
        }
        if second != source && full(self, second) {
            return Err(destination_full());
        }
        let first_barcode = self
            .state
            .element(first)
            .and_then(|e| e.medium.as_ref())
            .map(|m| m.barcode.clone())
            .unwrap_or_default();
        if second != source && self.state.reserved_for_other(second, &first_barcode) {
            // Held as the home of a cartridge that is in a drive.
            return Err(destination_full());
        }
        if source == first {
            return Err(bad_address(6));
        }
        for a in [source, first] {
            if let Some(i) = self.state.drive_index(a) {
                if !bay.ready_for_removal(i) {
                    return Err(drive_not_unloaded());
                }
            }
        }
        self.robot_fault()?;
        // Done as two moves through the gripper: first → second (vacating first), then
        // source → first. When second == source, the source is vacated through the transport.
        let transport_addr = self
            .state
            .transport
            .first()
            .map(|t| t.address)
            .ok_or_else(|| bad_address(2))?;
        if second == source {
            self.shuttle(source, transport_addr, bay)?;
            if let Err(e) = self.shuttle(first, source, bay) {
                // Put the gripped cartridge back rather than leave it in the transport.
                if let Err(back) = self.shuttle(transport_addr, source, bay) {
                    tracing::error!(key = back.key(), "cartridge left in the transport");
                }
                return Err(e);
            }
            self.shuttle(transport_addr, first, bay)?;
            // The medium that came from `source` lands in `first`: record where it came from.
            if let Some(m) = self
                .state
                .element_mut(first)
                .and_then(|e| e.medium.as_mut())
            {
                m.source = Some(source);
            }
        } else {
            self.shuttle(first, second, bay)?;
            self.shuttle(source, first, bay)?;
        }
        self.state.robot.exchanges += 1;
        self.mark_dirty();
        Ok(0)
    }

    /// One leg of an exchange: like [`Changer::move_one`] without repeating the fault check,
    /// and allowing the transport element as a stop.
    fn shuttle(&mut self, from: u16, to: u16, bay: &dyn DriveBay) -> Result<(), SenseBuilder> {
        let medium = self
            .state
            .element(from)
            .and_then(|e| e.medium.clone())
            .ok_or_else(source_empty)?;
        if let Some(i) = self.state.drive_index(from) {
            bay.remove(i).map_err(bay_error)?;
        }
        if let Some(i) = self.state.drive_index(to) {
            bay.insert(i, &medium.barcode).map_err(bay_error)?;
        }
        let from_type = self.state.element(from).map(|e| e.element_type);
        let mut moved = medium;
        if from_type != Some(ElementType::MediumTransport) {
            moved.source = match from_type {
                Some(ElementType::DataTransfer) => moved.source.or(Some(from)),
                _ => Some(from),
            };
        }
        moved.imported = false;
        let to_type = self.state.element(to).map(|e| e.element_type);
        if !matches!(
            to_type,
            Some(ElementType::DataTransfer | ElementType::MediumTransport)
        ) {
            self.state.reserved_homes.retain(|_, b| *b != moved.barcode);
        }
        if let Some(e) = self.state.element_mut(from) {
            e.medium = None;
        }
        if let Some(e) = self.state.element_mut(to) {
            e.medium = Some(moved);
        }
        self.mark_dirty();
        if from_type != Some(ElementType::MediumTransport) {
            self.state.robot.moves += 1;
            self.charge_robot(1);
        }
        Ok(())
    }

    /// INITIALIZE ELEMENT STATUS (07h) and INITIALIZE ELEMENT STATUS WITH RANGE (37h): an
    /// inventory scan. The model always knows what is where, so this only costs robot time.
    pub(super) fn initialize_element_status(&mut self, cdb: &[u8]) -> Reply {
        let mut elements = self.state.elements().len();
        if byte(cdb, 0) == 0x37 && byte(cdb, 1) & 0x01 != 0 {
            let start = be16(cdb, 2);
            let count = usize::from(be16(cdb, 6));
            if self.state.element(start).is_none() {
                return Err(bad_address(2));
            }
            elements = self
                .state
                .elements()
                .into_iter()
                .filter(|e| e.address >= start)
                .take(count)
                .count();
        }
        self.state.robot.inventories += 1;
        // A barcode scan passes a column of slots per robot motion; count one motion per 10.
        self.charge_robot(u32::try_from(elements.div_ceil(10)).unwrap_or(u32::MAX));
        self.mark_dirty();
        Ok(0)
    }

    /// POSITION TO ELEMENT (SMC-3 6.7): moves the empty robot in front of an element.
    pub(super) fn position_to_element(&mut self, cdb: &[u8]) -> Reply {
        self.check_transport(be16(cdb, 2), 2)?;
        let dest = be16(cdb, 4);
        if self.check_address(dest, 4)? == ElementType::MediumTransport {
            return Err(bad_address(4));
        }
        if byte(cdb, 8) & 0x01 != 0 {
            return Err(bad_field(8, Some(0)));
        }
        self.charge_robot(1);
        self.mark_dirty();
        Ok(0)
    }
}
