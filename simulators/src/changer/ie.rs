//! The import/export station: PREVENT ALLOW MEDIUM REMOVAL (SPC-4 6.13, the mail slot lock),
//! OPEN/CLOSE IMPORT/EXPORT ELEMENT (SMC-3 6.8), and what the operator does at the mail slot.

use super::cdb::{be16, byte};
use super::{bad_address, bad_field, Changer, ElementType, Medium, Reply};
use crate::media::MediaKind;
use crate::sense::{key, SenseBuilder};

/// Why the operator could not use the mail slot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    #[error("the library has no import/export element")]
    NoImportExport,
    #[error("element {0} is not an import/export element")]
    NotImportExport(u16),
    #[error("import/export element {0} is full")]
    Full(u16),
    #[error("every import/export element is full")]
    AllFull,
    #[error("import/export element {0} is empty")]
    Empty(u16),
    #[error("medium removal is prevented: the mail slot is locked")]
    RemovalPrevented,
    #[error("cartridge {0} is already in the library")]
    AlreadyInside(String),
}

/// UNIT ATTENTION: IMPORT OR EXPORT ELEMENT ACCESSED (SPC-4 28/01).
const UA_IE_ACCESSED: (u8, u8) = (0x28, 0x01);

impl Changer {
    /// PREVENT ALLOW MEDIUM REMOVAL: PREVENT 01b locks the mail slot, 00b unlocks it.
    pub(super) fn prevent_allow(&mut self, cdb: &[u8]) -> Reply {
        let prevent = match byte(cdb, 4) & 0x03 {
            0 => false,
            1 => true,
            _ => return Err(bad_field(4, Some(1))),
        };
        if self.state.prevent_removal != prevent {
            self.state.prevent_removal = prevent;
            self.mark_dirty();
        }
        Ok(0)
    }

    /// OPEN/CLOSE IMPORT/EXPORT ELEMENT (opcode 1Bh on a changer): action 00h opens the station,
    /// 01h closes it. Opening a full station while removal is prevented is refused.
    pub(super) fn open_close_ie(&mut self, cdb: &[u8]) -> Reply {
        let address = be16(cdb, 2);
        match self.state.element(address) {
            Some(e) if e.element_type == ElementType::ImportExport => {}
            _ => return Err(bad_address(2)),
        }
        match byte(cdb, 4) & 0x1f {
            0x00 => {
                let full = self.state.import_export.iter().any(|e| e.medium.is_some());
                if self.state.prevent_removal && full {
                    return Err(SenseBuilder::new(key::ILLEGAL_REQUEST, 0x53, 0x02));
                }
                self.state.ie_open = true;
            }
            0x01 => self.state.ie_open = false,
            _ => return Err(bad_field(4, Some(4))),
        }
        self.mark_dirty();
        Ok(0)
    }

    /// The operator puts `barcode` into an I/E element (the given one, or the first empty one)
    /// and closes the door. Raises UNIT ATTENTION 28/01. Returns the element address used.
    pub fn operator_insert(
        &mut self,
        barcode: &str,
        kind: MediaKind,
        address: Option<u16>,
    ) -> Result<u16, OperatorError> {
        if self.state.import_export.is_empty() {
            return Err(OperatorError::NoImportExport);
        }
        if self.state.prevent_removal {
            return Err(OperatorError::RemovalPrevented);
        }
        if self.state.find_barcode(barcode).is_some() {
            return Err(OperatorError::AlreadyInside(barcode.to_string()));
        }
        let slot = match address {
            Some(a) => {
                let e = self
                    .state
                    .import_export
                    .iter()
                    .find(|e| e.address == a)
                    .ok_or(OperatorError::NotImportExport(a))?;
                if e.medium.is_some() {
                    return Err(OperatorError::Full(a));
                }
                a
            }
            None => self
                .state
                .import_export
                .iter()
                .find(|e| e.medium.is_none())
                .map(|e| e.address)
                .ok_or(OperatorError::AllFull)?,
        };
        if let Some(e) = self
            .state
            .import_export
            .iter_mut()
            .find(|e| e.address == slot)
        {
            e.medium = Some(Medium {
                barcode: barcode.to_string(),
                kind,
                source: None,
                imported: true,
            });
        }
        self.state.ie_open = false;
        self.state
            .raise_unit_attention(UA_IE_ACCESSED.0, UA_IE_ACCESSED.1);
        self.mark_dirty();
        tracing::info!(barcode, slot, "operator inserted cartridge");
        Ok(slot)
    }

    /// The operator takes the cartridge out of I/E element `address`. Raises UNIT ATTENTION
    /// 28/01. Refused while medium removal is prevented.
    pub fn operator_remove(&mut self, address: u16) -> Result<Medium, OperatorError> {
        if self.state.prevent_removal {
            return Err(OperatorError::RemovalPrevented);
        }
        let e = self
            .state
            .import_export
            .iter_mut()
            .find(|e| e.address == address)
            .ok_or(OperatorError::NotImportExport(address))?;
        let medium = e.medium.take().ok_or(OperatorError::Empty(address))?;
        self.state.ie_open = false;
        self.state
            .raise_unit_attention(UA_IE_ACCESSED.0, UA_IE_ACCESSED.1);
        self.mark_dirty();
        tracing::info!(barcode = %medium.barcode, address, "operator removed cartridge");
        Ok(medium)
    }
}
