//! SMC-3 (SCSI Media Changer Commands): CDB builders and response decoders.
//!
//! Everything here is pure: arguments to CDB bytes, response bytes to typed values, and (for
//! the simulator and tests) the reverse directions. [`crate::changer`] combines them with a
//! transport.
//!
//! - [`element_status`]: READ ELEMENT STATUS (B8h) and the element status data it returns;
//! - [`commands`]: MOVE MEDIUM, EXCHANGE MEDIUM, INITIALIZE ELEMENT STATUS (WITH RANGE),
//!   POSITION TO ELEMENT, PREVENT/ALLOW MEDIUM REMOVAL, OPEN/CLOSE IMPORT/EXPORT ELEMENT;
//! - [`mode_pages`]: MODE SENSE for the element address assignment (1Dh), transport geometry
//!   (1Eh) and device capabilities (1Fh) pages.

pub mod commands;
pub mod element_status;
pub mod mode_pages;

use crate::decode::DecodeError;

/// Operation codes of the SMC-3 commands (SMC-3 table 2 / SPC-4 for 1Eh).
pub mod opcode {
    pub const INITIALIZE_ELEMENT_STATUS: u8 = 0x07;
    pub const OPEN_CLOSE_IMPORT_EXPORT_ELEMENT: u8 = 0x1B;
    pub const PREVENT_ALLOW_MEDIUM_REMOVAL: u8 = 0x1E;
    pub const POSITION_TO_ELEMENT: u8 = 0x2B;
    pub const INITIALIZE_ELEMENT_STATUS_WITH_RANGE: u8 = 0x37;
    pub const MOVE_MEDIUM: u8 = 0xA5;
    pub const EXCHANGE_MEDIUM: u8 = 0xA6;
    pub const READ_ELEMENT_STATUS: u8 = 0xB8;
    pub const MODE_SENSE_6: u8 = 0x1A;
    pub const MODE_SENSE_10: u8 = 0x5A;
}

/// The four element types of a medium changer (SMC-3 4.2, table 6 element type codes 1..4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementType {
    /// Robot / picker.
    MediumTransport,
    /// Storage slot.
    Storage,
    /// Import/export element (mail slot, cartridge access port).
    ImportExport,
    /// Tape drive.
    DataTransfer,
}

impl ElementType {
    pub const ALL: [ElementType; 4] = [
        ElementType::MediumTransport,
        ElementType::Storage,
        ElementType::ImportExport,
        ElementType::DataTransfer,
    ];

    /// The element type code used in CDBs and element status pages.
    pub fn code(self) -> u8 {
        match self {
            ElementType::MediumTransport => 1,
            ElementType::Storage => 2,
            ElementType::ImportExport => 3,
            ElementType::DataTransfer => 4,
        }
    }

    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        match code {
            1 => Ok(ElementType::MediumTransport),
            2 => Ok(ElementType::Storage),
            3 => Ok(ElementType::ImportExport),
            4 => Ok(ElementType::DataTransfer),
            other => Err(DecodeError::invalid(
                "element type code",
                format!("0x{other:02x} is not an element type"),
            )),
        }
    }

    /// Bit of this type in the device capabilities page's StorXX / move / exchange fields
    /// (SMC-3 7.3.2: bit 0 MT, bit 1 ST, bit 2 I/E, bit 3 DT).
    pub fn capability_bit(self) -> u8 {
        1 << (self.code() - 1)
    }
}

impl std::fmt::Display for ElementType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ElementType::MediumTransport => "medium transport",
            ElementType::Storage => "storage",
            ElementType::ImportExport => "import/export",
            ElementType::DataTransfer => "data transfer",
        })
    }
}

/// ELEMENT TYPE CODE field of READ ELEMENT STATUS: all types, or one (SMC-3 6.10, table 44).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementTypeCode {
    All,
    Only(ElementType),
}

impl ElementTypeCode {
    pub fn code(self) -> u8 {
        match self {
            ElementTypeCode::All => 0,
            ElementTypeCode::Only(t) => t.code(),
        }
    }

    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        if code == 0 {
            Ok(ElementTypeCode::All)
        } else {
            ElementType::from_code(code).map(ElementTypeCode::Only)
        }
    }
}

impl From<ElementType> for ElementTypeCode {
    fn from(t: ElementType) -> Self {
        ElementTypeCode::Only(t)
    }
}

/// Checks that `cdb` has `len` bytes and starts with `opcode` (used by the CDB parsers the
/// simulator relies on).
pub(crate) fn expect_cdb<'a>(
    cdb: &'a [u8],
    opcode: u8,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let bytes = crate::decode::slice(cdb, 0, len, what)?;
    if bytes[0] != opcode {
        return Err(DecodeError::invalid(
            what,
            format!("operation code 0x{:02x}, expected 0x{opcode:02x}", bytes[0]),
        ));
    }
    Ok(bytes)
}
