//! Fixed-format sense data the simulated devices return (SPC-4 4.5.3), and helpers that turn it
//! into a CHECK CONDITION [`Completion`].

use tapelib_scsi::transport::Completion;

/// Sense keys (SPC-4 table 28).
pub mod key {
    pub const NO_SENSE: u8 = 0x0;
    pub const RECOVERED_ERROR: u8 = 0x1;
    pub const NOT_READY: u8 = 0x2;
    pub const MEDIUM_ERROR: u8 = 0x3;
    pub const HARDWARE_ERROR: u8 = 0x4;
    pub const ILLEGAL_REQUEST: u8 = 0x5;
    pub const UNIT_ATTENTION: u8 = 0x6;
    pub const DATA_PROTECT: u8 = 0x7;
    pub const BLANK_CHECK: u8 = 0x8;
    pub const ABORTED_COMMAND: u8 = 0xB;
    pub const VOLUME_OVERFLOW: u8 = 0xD;
}

/// Length of the fixed-format sense data this builder produces (additional length 10).
pub const FIXED_SENSE_LEN: usize = 18;

/// Builds fixed-format sense data (response code 70h, current error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenseBuilder {
    key: u8,
    asc: u8,
    ascq: u8,
    filemark: bool,
    eom: bool,
    ili: bool,
    information: Option<u32>,
    command_specific: u32,
    field_pointer: Option<FieldPointer>,
    progress: Option<u16>,
}

/// A sense-key-specific field pointer (SPC-4 4.5.2.4.2): which CDB (C/D = 1) or parameter-data
/// (C/D = 0) byte, and optionally which bit, is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPointer {
    /// True: the error is in the CDB; false: in the parameter data.
    pub in_cdb: bool,
    /// Byte offset.
    pub byte: u16,
    /// Bit (0..=7), when a single bit is meant.
    pub bit: Option<u8>,
}

impl SenseBuilder {
    /// Sense with `key`, `asc`, `ascq` and nothing else.
    pub fn new(key: u8, asc: u8, ascq: u8) -> Self {
        SenseBuilder {
            key: key & 0x0f,
            asc,
            ascq,
            ..SenseBuilder::default()
        }
    }

    /// Sets the FILEMARK bit (SSC-4: a filemark was read or spaced over).
    pub fn filemark(mut self) -> Self {
        self.filemark = true;
        self
    }

    /// Sets the EOM bit (early warning or end of partition).
    pub fn eom(mut self) -> Self {
        self.eom = true;
        self
    }

    /// Sets the ILI bit (incorrect length).
    pub fn ili(mut self) -> Self {
        self.ili = true;
        self
    }

    /// Sets VALID and the INFORMATION field (a residue, or a logical block address).
    /// Negative residues are carried as two's complement, as SSC-4 requires.
    pub fn information(mut self, value: i64) -> Self {
        self.information = Some(value as u32);
        self
    }

    /// Sets the COMMAND-SPECIFIC INFORMATION field.
    pub fn command_specific(mut self, value: u32) -> Self {
        self.command_specific = value;
        self
    }

    /// A field pointer into the CDB at `byte` (and `bit`, when given).
    pub fn cdb_field(mut self, byte: u16, bit: Option<u8>) -> Self {
        self.field_pointer = Some(FieldPointer {
            in_cdb: true,
            byte,
            bit,
        });
        self
    }

    /// A field pointer into the parameter data at `byte` (and `bit`).
    pub fn data_field(mut self, byte: u16, bit: Option<u8>) -> Self {
        self.field_pointer = Some(FieldPointer {
            in_cdb: false,
            byte,
            bit,
        });
        self
    }

    /// A progress indication (SPC-4, sense-key specific), 0..=65535 of 65536.
    pub fn progress(mut self, fraction: u16) -> Self {
        self.progress = Some(fraction);
        self
    }

    /// The sense key.
    pub fn key(&self) -> u8 {
        self.key
    }

    /// The 18 bytes of fixed-format sense.
    pub fn build(&self) -> Vec<u8> {
        let mut s = vec![0u8; FIXED_SENSE_LEN];
        s[0] = 0x70;
        if let Some(info) = self.information {
            s[0] |= 0x80;
            s[3..7].copy_from_slice(&info.to_be_bytes());
        }
        s[2] = self.key
            | if self.filemark { 0x80 } else { 0 }
            | if self.eom { 0x40 } else { 0 }
            | if self.ili { 0x20 } else { 0 };
        s[7] = (FIXED_SENSE_LEN - 8) as u8;
        s[8..12].copy_from_slice(&self.command_specific.to_be_bytes());
        s[12] = self.asc;
        s[13] = self.ascq;
        if let Some(fp) = self.field_pointer {
            // SKSV | C/D | BPV | bit pointer, then the field pointer (SPC-4 table 31).
            s[15] =
                0x80 | if fp.in_cdb { 0x40 } else { 0 } | fp.bit.map_or(0, |b| 0x08 | (b & 0x07));
            s[16..18].copy_from_slice(&fp.byte.to_be_bytes());
        } else if let Some(p) = self.progress {
            s[15] = 0x80;
            s[16..18].copy_from_slice(&p.to_be_bytes());
        }
        s
    }

    /// A CHECK CONDITION completion carrying this sense, nothing transferred.
    pub fn check(&self, offered: usize) -> Completion {
        Completion::check_condition(self.build(), offered, 0)
    }

    /// A CHECK CONDITION completion carrying this sense after `transferred` of `offered` bytes.
    pub fn check_after(&self, offered: usize, transferred: usize) -> Completion {
        Completion::check_condition(self.build(), offered, transferred)
    }
}

/// Fixed-format sense with `key`/`asc`/`ascq` only.
pub fn fixed_sense(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
    SenseBuilder::new(key, asc, ascq).build()
}

/// CHECK CONDITION with plain sense, nothing transferred.
pub fn check(key: u8, asc: u8, ascq: u8, offered: usize) -> Completion {
    SenseBuilder::new(key, asc, ascq).check(offered)
}

/// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20/00), pointing at CDB byte 0.
pub fn invalid_opcode(offered: usize) -> Completion {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x20, 0x00)
        .cdb_field(0, None)
        .check(offered)
}

/// ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00) at `byte`/`bit`.
pub fn invalid_cdb_field(byte: u16, bit: Option<u8>, offered: usize) -> Completion {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x24, 0x00)
        .cdb_field(byte, bit)
        .check(offered)
}

/// ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST (26/00) at `byte`/`bit`.
pub fn invalid_param_field(byte: u16, bit: Option<u8>, offered: usize) -> Completion {
    SenseBuilder::new(key::ILLEGAL_REQUEST, 0x26, 0x00)
        .data_field(byte, bit)
        .check(offered)
}

/// ILLEGAL REQUEST, PARAMETER LIST LENGTH ERROR (1A/00).
pub fn param_list_length_error(offered: usize) -> Completion {
    check(key::ILLEGAL_REQUEST, 0x1A, 0x00, offered)
}

/// The sense key, ASC and ASCQ of fixed-format sense bytes, if long enough.
pub fn key_asc_ascq(sense: &[u8]) -> Option<(u8, u8, u8)> {
    Some((sense.get(2)? & 0x0f, *sense.get(12)?, *sense.get(13)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sense_layout() {
        let s = fixed_sense(key::NOT_READY, 0x3A, 0x00);
        assert_eq!(s.len(), 18);
        assert_eq!(s[0], 0x70);
        assert_eq!(s[2], 0x02);
        assert_eq!(s[7], 10);
        assert_eq!((s[12], s[13]), (0x3A, 0x00));
        assert_eq!(&s[15..18], &[0, 0, 0]);
    }

    #[test]
    fn information_and_bits() {
        let s = SenseBuilder::new(key::NO_SENSE, 0, 0)
            .filemark()
            .ili()
            .eom()
            .information(-4)
            .build();
        assert_eq!(s[0], 0xF0);
        assert_eq!(s[2], 0xE0);
        assert_eq!(&s[3..7], &[0xff, 0xff, 0xff, 0xfc]);
    }

    #[test]
    fn field_pointer_encoding() {
        let s = SenseBuilder::new(key::ILLEGAL_REQUEST, 0x24, 0)
            .cdb_field(1, Some(3))
            .build();
        assert_eq!(s[15], 0x80 | 0x40 | 0x08 | 3);
        assert_eq!(&s[16..18], &[0, 1]);
        let s = SenseBuilder::new(key::ILLEGAL_REQUEST, 0x26, 0)
            .data_field(300, None)
            .build();
        assert_eq!(s[15], 0x80);
        assert_eq!(&s[16..18], &[0x01, 0x2C]);
        assert_eq!(key_asc_ascq(&s), Some((5, 0x26, 0)));
    }

    #[test]
    fn completion_helpers() {
        let c = invalid_opcode(10);
        assert_eq!(c.status.0, 2);
        assert_eq!(c.residual, 10);
        assert_eq!(key_asc_ascq(&c.sense), Some((5, 0x20, 0)));
    }
}
