//! The SMC-3 commands that move or guard media, as CDB builders and parsers.
//!
//! Each command is a plain struct with `cdb()` (what tapelib sends) and `parse()` (what the
//! simulator receives). The CONTROL byte is kept settable: mtx puts its `eepos` bits in the
//! two high (vendor-specific) bits of MOVE MEDIUM's control byte.

use super::{expect_cdb, opcode};
use crate::decode::{be16, DecodeError};

/// MOVE MEDIUM (A5h, SMC-3 6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveMedium {
    pub transport: u16,
    pub source: u16,
    pub destination: u16,
    /// Turn the medium over (double-sided media; never set for tape).
    pub invert: bool,
    pub control: u8,
}

impl MoveMedium {
    pub fn new(transport: u16, source: u16, destination: u16) -> Self {
        MoveMedium {
            transport,
            source,
            destination,
            invert: false,
            control: 0,
        }
    }

    pub fn cdb(&self) -> [u8; 12] {
        let [t0, t1] = self.transport.to_be_bytes();
        let [s0, s1] = self.source.to_be_bytes();
        let [d0, d1] = self.destination.to_be_bytes();
        [
            opcode::MOVE_MEDIUM,
            0,
            t0,
            t1,
            s0,
            s1,
            d0,
            d1,
            0,
            0,
            u8::from(self.invert),
            self.control,
        ]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(cdb, opcode::MOVE_MEDIUM, 12, "MOVE MEDIUM CDB")?;
        Ok(MoveMedium {
            transport: be16(c, 2, "transport element address")?,
            source: be16(c, 4, "source address")?,
            destination: be16(c, 6, "destination address")?,
            invert: c[10] & 0x01 != 0,
            control: c[11],
        })
    }
}

/// EXCHANGE MEDIUM (A6h, SMC-3 6.2): source to first destination, and the medium that was in
/// the first destination to the second destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeMedium {
    pub transport: u16,
    pub source: u16,
    pub first_destination: u16,
    pub second_destination: u16,
    pub invert1: bool,
    pub invert2: bool,
    pub control: u8,
}

impl ExchangeMedium {
    pub fn new(transport: u16, source: u16, first: u16, second: u16) -> Self {
        ExchangeMedium {
            transport,
            source,
            first_destination: first,
            second_destination: second,
            invert1: false,
            invert2: false,
            control: 0,
        }
    }

    pub fn cdb(&self) -> [u8; 12] {
        let [t0, t1] = self.transport.to_be_bytes();
        let [s0, s1] = self.source.to_be_bytes();
        let [f0, f1] = self.first_destination.to_be_bytes();
        let [e0, e1] = self.second_destination.to_be_bytes();
        [
            opcode::EXCHANGE_MEDIUM,
            0,
            t0,
            t1,
            s0,
            s1,
            f0,
            f1,
            e0,
            e1,
            (u8::from(self.invert1) << 1) | u8::from(self.invert2),
            self.control,
        ]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(cdb, opcode::EXCHANGE_MEDIUM, 12, "EXCHANGE MEDIUM CDB")?;
        Ok(ExchangeMedium {
            transport: be16(c, 2, "transport element address")?,
            source: be16(c, 4, "source address")?,
            first_destination: be16(c, 6, "first destination address")?,
            second_destination: be16(c, 8, "second destination address")?,
            invert1: c[10] & 0x02 != 0,
            invert2: c[10] & 0x01 != 0,
            control: c[11],
        })
    }
}

/// INITIALIZE ELEMENT STATUS (07h, SMC-3 6.3): re-inventory the whole library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitializeElementStatus {
    pub control: u8,
}

impl InitializeElementStatus {
    pub fn cdb(&self) -> [u8; 6] {
        [opcode::INITIALIZE_ELEMENT_STATUS, 0, 0, 0, 0, self.control]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(
            cdb,
            opcode::INITIALIZE_ELEMENT_STATUS,
            6,
            "INITIALIZE ELEMENT STATUS CDB",
        )?;
        Ok(InitializeElementStatus { control: c[5] })
    }
}

/// INITIALIZE ELEMENT STATUS WITH RANGE (37h, SMC-3 6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitializeElementStatusWithRange {
    /// FAST: scan only elements whose status is unknown, skipping a full barcode scan.
    pub fast: bool,
    /// RANGE: limit to `count` elements from `start`; when clear, all elements are scanned.
    pub range: bool,
    pub start: u16,
    pub count: u16,
    pub control: u8,
}

impl InitializeElementStatusWithRange {
    pub fn new(start: u16, count: u16) -> Self {
        InitializeElementStatusWithRange {
            fast: false,
            range: true,
            start,
            count,
            control: 0,
        }
    }

    pub fn cdb(&self) -> [u8; 10] {
        let [s0, s1] = self.start.to_be_bytes();
        let [n0, n1] = self.count.to_be_bytes();
        [
            opcode::INITIALIZE_ELEMENT_STATUS_WITH_RANGE,
            (u8::from(self.fast) << 1) | u8::from(self.range),
            s0,
            s1,
            0,
            0,
            n0,
            n1,
            0,
            self.control,
        ]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(
            cdb,
            opcode::INITIALIZE_ELEMENT_STATUS_WITH_RANGE,
            10,
            "INITIALIZE ELEMENT STATUS WITH RANGE CDB",
        )?;
        Ok(InitializeElementStatusWithRange {
            fast: c[1] & 0x02 != 0,
            range: c[1] & 0x01 != 0,
            start: be16(c, 2, "starting element address")?,
            count: be16(c, 6, "number of elements")?,
            control: c[9],
        })
    }
}

/// POSITION TO ELEMENT (2Bh, SMC-3 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionToElement {
    pub transport: u16,
    pub destination: u16,
    pub invert: bool,
    pub control: u8,
}

impl PositionToElement {
    pub fn new(transport: u16, destination: u16) -> Self {
        PositionToElement {
            transport,
            destination,
            invert: false,
            control: 0,
        }
    }

    pub fn cdb(&self) -> [u8; 10] {
        let [t0, t1] = self.transport.to_be_bytes();
        let [d0, d1] = self.destination.to_be_bytes();
        [
            opcode::POSITION_TO_ELEMENT,
            0,
            t0,
            t1,
            d0,
            d1,
            0,
            0,
            u8::from(self.invert),
            self.control,
        ]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(
            cdb,
            opcode::POSITION_TO_ELEMENT,
            10,
            "POSITION TO ELEMENT CDB",
        )?;
        Ok(PositionToElement {
            transport: be16(c, 2, "transport element address")?,
            destination: be16(c, 4, "destination address")?,
            invert: c[8] & 0x01 != 0,
            control: c[9],
        })
    }
}

/// PREVENT ALLOW MEDIUM REMOVAL (1Eh, SPC-4 6.13 / SMC-3 6.8): on a changer, locks the
/// import/export elements (mail slots) against operator access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreventAllowMediumRemoval {
    /// PREVENT field: 00b allowed, 01b prevented (10b/11b are obsolete in SMC-3).
    pub prevent: u8,
    pub control: u8,
}

impl PreventAllowMediumRemoval {
    pub fn new(prevent: bool) -> Self {
        PreventAllowMediumRemoval {
            prevent: u8::from(prevent),
            control: 0,
        }
    }

    pub fn prevents(&self) -> bool {
        self.prevent & 0x01 != 0
    }

    pub fn cdb(&self) -> [u8; 6] {
        [
            opcode::PREVENT_ALLOW_MEDIUM_REMOVAL,
            0,
            0,
            0,
            self.prevent & 0x03,
            self.control,
        ]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(
            cdb,
            opcode::PREVENT_ALLOW_MEDIUM_REMOVAL,
            6,
            "PREVENT ALLOW MEDIUM REMOVAL CDB",
        )?;
        Ok(PreventAllowMediumRemoval {
            prevent: c[4] & 0x03,
            control: c[5],
        })
    }
}

/// ACTION CODE of OPEN/CLOSE IMPORT/EXPORT ELEMENT (SMC-3 6.6, table 33).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportExportAction {
    /// 00h: unlock and present the mail slot to the operator.
    Open,
    /// 01h: retract / close it.
    Close,
}

impl ImportExportAction {
    pub fn code(self) -> u8 {
        match self {
            ImportExportAction::Open => 0x00,
            ImportExportAction::Close => 0x01,
        }
    }

    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        match code & 0x1f {
            0x00 => Ok(ImportExportAction::Open),
            0x01 => Ok(ImportExportAction::Close),
            other => Err(DecodeError::invalid(
                "import/export action code",
                format!("0x{other:02x} is reserved"),
            )),
        }
    }
}

/// OPEN/CLOSE IMPORT/EXPORT ELEMENT (1Bh, SMC-3 6.6). Shares its opcode with SSC's LOAD
/// UNLOAD; the peripheral device type tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenCloseImportExportElement {
    pub element_address: u16,
    pub action: ImportExportAction,
    pub control: u8,
}

impl OpenCloseImportExportElement {
    pub fn new(element_address: u16, action: ImportExportAction) -> Self {
        OpenCloseImportExportElement {
            element_address,
            action,
            control: 0,
        }
    }

    pub fn cdb(&self) -> [u8; 6] {
        let [a0, a1] = self.element_address.to_be_bytes();
        [
            opcode::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT,
            0,
            a0,
            a1,
            self.action.code(),
            self.control,
        ]
    }

    pub fn parse(cdb: &[u8]) -> Result<Self, DecodeError> {
        let c = expect_cdb(
            cdb,
            opcode::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT,
            6,
            "OPEN/CLOSE IMPORT/EXPORT ELEMENT CDB",
        )?;
        Ok(OpenCloseImportExportElement {
            element_address: be16(c, 2, "element address")?,
            action: ImportExportAction::from_code(c[4])?,
            control: c[5],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_medium_matches_mtx_layout() {
        let mut m = MoveMedium::new(0x0000, 0x1000, 0x0100);
        m.control = 0x40;
        assert_eq!(
            m.cdb(),
            [0xA5, 0, 0, 0, 0x10, 0x00, 0x01, 0x00, 0, 0, 0, 0x40]
        );
        assert_eq!(MoveMedium::parse(&m.cdb()).unwrap(), m);
    }

    #[test]
    fn exchange_and_position() {
        let mut x = ExchangeMedium::new(1, 2, 3, 4);
        x.invert1 = true;
        assert_eq!(x.cdb(), [0xA6, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0x02, 0]);
        assert_eq!(ExchangeMedium::parse(&x.cdb()).unwrap(), x);
        let p = PositionToElement::new(1, 0x0203);
        assert_eq!(p.cdb(), [0x2B, 0, 0, 1, 2, 3, 0, 0, 0, 0]);
        assert_eq!(PositionToElement::parse(&p.cdb()).unwrap(), p);
    }

    #[test]
    fn initialize_and_range() {
        assert_eq!(
            InitializeElementStatus::default().cdb(),
            [0x07, 0, 0, 0, 0, 0]
        );
        let r = InitializeElementStatusWithRange::new(0x1000, 20);
        assert_eq!(r.cdb(), [0x37, 0x01, 0x10, 0x00, 0, 0, 0, 20, 0, 0]);
        assert_eq!(
            InitializeElementStatusWithRange::parse(&r.cdb()).unwrap(),
            r
        );
    }

    #[test]
    fn prevent_and_import_export() {
        assert_eq!(
            PreventAllowMediumRemoval::new(true).cdb(),
            [0x1E, 0, 0, 0, 1, 0]
        );
        assert_eq!(
            PreventAllowMediumRemoval::new(false).cdb(),
            [0x1E, 0, 0, 0, 0, 0]
        );
        let o = OpenCloseImportExportElement::new(0x0300, ImportExportAction::Close);
        assert_eq!(o.cdb(), [0x1B, 0, 0x03, 0x00, 0x01, 0]);
        assert_eq!(OpenCloseImportExportElement::parse(&o.cdb()).unwrap(), o);
        assert!(OpenCloseImportExportElement::parse(&[0x1B, 0, 0, 0, 0x05, 0]).is_err());
        assert!(MoveMedium::parse(&[0xA5; 6]).is_err());
    }
}
