//! READ POSITION (SSC-4 7.6): short (00h), long (06h) and extended (08h) forms.

use crate::decode::{be16, be24, be32, be64, slice, DecodeError};

use super::commands::READ_POSITION;

/// Service action (response form) of READ POSITION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionForm {
    Short = 0x00,
    Long = 0x06,
    Extended = 0x08,
}

impl PositionForm {
    /// Response length the standard defines for the form.
    pub fn length(self) -> usize {
        match self {
            PositionForm::Short => 20,
            PositionForm::Long | PositionForm::Extended => 32,
        }
    }
}

/// READ POSITION CDB. The allocation length field exists only for the extended form.
pub fn read_position(form: PositionForm) -> [u8; 10] {
    let alloc = if form == PositionForm::Extended {
        32u16
    } else {
        0
    };
    let a = alloc.to_be_bytes();
    [READ_POSITION, form as u8, 0, 0, 0, 0, 0, a[0], a[1], 0]
}

/// A decoded position, whichever form was asked. Fields a form does not carry are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Beginning of partition.
    pub bop: bool,
    /// End of partition (between early warning and the end).
    pub eop: bool,
    /// Block position unknown: `block` is not valid.
    pub bpu: bool,
    /// Logical object count unknown (short/extended: `objects_in_buffer` invalid).
    pub locu: bool,
    /// Byte count unknown (`bytes_in_buffer` invalid).
    pub bycu: bool,
    /// Last logical object location unknown.
    pub lolu: bool,
    /// Position past programmable early warning.
    pub bpew: bool,
    /// Long form: mark position unknown (file/set numbers invalid).
    pub mpu: bool,
    pub partition: u32,
    /// Logical object (block) number of the next object to be transferred.
    pub block: u64,
    /// Short/extended: last logical object location (the last one written to the medium).
    pub last_block: Option<u64>,
    /// Long form: logical file identifier (number of filemarks before this position).
    pub file: Option<u64>,
    /// Long form: logical set identifier.
    pub set: Option<u64>,
    pub objects_in_buffer: Option<u64>,
    pub bytes_in_buffer: Option<u64>,
}

impl Position {
    pub fn decode(form: PositionForm, buf: &[u8]) -> Result<Position, DecodeError> {
        match form {
            PositionForm::Short => Self::decode_short(buf),
            PositionForm::Long => Self::decode_long(buf),
            PositionForm::Extended => Self::decode_extended(buf),
        }
    }

    /// Short form (SSC-4 7.6.2), 20 bytes.
    pub fn decode_short(buf: &[u8]) -> Result<Position, DecodeError> {
        let b = slice(buf, 0, 20, "READ POSITION short form")?;
        let f = b[0];
        Ok(Position {
            bop: f & 0x80 != 0,
            eop: f & 0x40 != 0,
            locu: f & 0x20 != 0,
            bycu: f & 0x10 != 0,
            bpu: f & 0x04 != 0,
            lolu: f & 0x04 != 0,
            bpew: f & 0x01 != 0,
            mpu: false,
            partition: u32::from(b[1]),
            block: u64::from(be32(b, 4, "first location")?),
            last_block: Some(u64::from(be32(b, 8, "last location")?)),
            file: None,
            set: None,
            objects_in_buffer: Some(u64::from(be24(b, 13, "objects in buffer")?)),
            bytes_in_buffer: Some(u64::from(be32(b, 16, "bytes in buffer")?)),
        })
    }

    /// Long form (SSC-4 7.6.3), 32 bytes.
    pub fn decode_long(buf: &[u8]) -> Result<Position, DecodeError> {
        let b = slice(buf, 0, 32, "READ POSITION long form")?;
        let f = b[0];
        Ok(Position {
            bop: f & 0x80 != 0,
            eop: f & 0x40 != 0,
            mpu: f & 0x08 != 0,
            bpu: f & 0x04 != 0,
            lolu: false,
            locu: false,
            bycu: false,
            bpew: f & 0x01 != 0,
            partition: be32(b, 4, "partition")?,
            block: be64(b, 8, "logical object number")?,
            last_block: None,
            file: Some(be64(b, 16, "logical file identifier")?),
            set: Some(be64(b, 24, "logical set identifier")?),
            objects_in_buffer: None,
            bytes_in_buffer: None,
        })
    }

    /// Extended form (SSC-4 7.6.4), 32 bytes.
    pub fn decode_extended(buf: &[u8]) -> Result<Position, DecodeError> {
        let b = slice(buf, 0, 32, "READ POSITION extended form")?;
        let add = be16(b, 2, "additional length")?;
        if add < 0x1c {
            return Err(DecodeError::invalid(
                "READ POSITION extended form",
                format!("additional length {add}"),
            ));
        }
        let f = b[0];
        Ok(Position {
            bop: f & 0x80 != 0,
            eop: f & 0x40 != 0,
            locu: f & 0x20 != 0,
            bycu: f & 0x10 != 0,
            bpu: f & 0x04 != 0,
            lolu: f & 0x04 != 0,
            bpew: f & 0x01 != 0,
            mpu: false,
            partition: u32::from(b[1]),
            block: be64(b, 8, "first location")?,
            last_block: Some(be64(b, 16, "last location")?),
            file: None,
            set: None,
            objects_in_buffer: Some(u64::from(be24(b, 5, "objects in buffer")?)),
            bytes_in_buffer: Some(be64(b, 24, "bytes in buffer")?),
        })
    }

    /// Long-form encoding (simulator, tests).
    pub fn encode_long(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0] = (u8::from(self.bop) << 7)
            | (u8::from(self.eop) << 6)
            | (u8::from(self.mpu) << 3)
            | (u8::from(self.bpu) << 2)
            | u8::from(self.bpew);
        b[4..8].copy_from_slice(&self.partition.to_be_bytes());
        b[8..16].copy_from_slice(&self.block.to_be_bytes());
        b[16..24].copy_from_slice(&self.file.unwrap_or(0).to_be_bytes());
        b[24..32].copy_from_slice(&self.set.unwrap_or(0).to_be_bytes());
        b
    }

    /// Short-form encoding; values wider than the fields are truncated.
    pub fn encode_short(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[0] = self.flags_short();
        b[1] = self.partition as u8;
        b[4..8].copy_from_slice(&(self.block as u32).to_be_bytes());
        b[8..12].copy_from_slice(&(self.last_block.unwrap_or(0) as u32).to_be_bytes());
        b[12..16].copy_from_slice(
            &(self.objects_in_buffer.unwrap_or(0) as u32 & 0xff_ffff).to_be_bytes(),
        );
        b[12] = 0;
        b[16..20].copy_from_slice(&(self.bytes_in_buffer.unwrap_or(0) as u32).to_be_bytes());
        b
    }

    /// Extended-form encoding.
    pub fn encode_extended(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0] = self.flags_short();
        b[1] = self.partition as u8;
        b[2..4].copy_from_slice(&0x1cu16.to_be_bytes());
        let o = (self.objects_in_buffer.unwrap_or(0) as u32 & 0xff_ffff).to_be_bytes();
        b[5..8].copy_from_slice(&o[1..]);
        b[8..16].copy_from_slice(&self.block.to_be_bytes());
        b[16..24].copy_from_slice(&self.last_block.unwrap_or(0).to_be_bytes());
        b[24..32].copy_from_slice(&self.bytes_in_buffer.unwrap_or(0).to_be_bytes());
        b
    }

    fn flags_short(&self) -> u8 {
        (u8::from(self.bop) << 7)
            | (u8::from(self.eop) << 6)
            | (u8::from(self.locu) << 5)
            | (u8::from(self.bycu) << 4)
            | (u8::from(self.bpu || self.lolu) << 2)
            | u8::from(self.bpew)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_form_ibm_at_bop() {
        let mut b = [0u8; 20];
        b[0] = 0x80 | 0x10;
        b[1] = 1;
        let p = Position::decode_short(&b).unwrap();
        assert!(p.bop && p.bycu && !p.eop);
        assert_eq!((p.partition, p.block), (1, 0));
        assert!(Position::decode_short(&b[..19]).is_err());
    }

    #[test]
    fn long_form_hp() {
        let mut b = [0u8; 32];
        b[0] = 0x40;
        b[7] = 1;
        b[15] = 100;
        b[23] = 3;
        let p = Position::decode_long(&b).unwrap();
        assert!(p.eop);
        assert_eq!(
            (p.partition, p.block, p.file, p.set),
            (1, 100, Some(3), Some(0))
        );
        assert_eq!(p.encode_long(), b);
    }

    #[test]
    fn extended_form() {
        let mut b = [0u8; 32];
        b[1] = 0;
        b[3] = 0x1c;
        b[7] = 2;
        b[15] = 0x10;
        b[23] = 0x0e;
        b[31] = 0xff;
        let p = Position::decode_extended(&b).unwrap();
        assert_eq!(p.block, 0x10);
        assert_eq!(p.last_block, Some(0x0e));
        assert_eq!(p.objects_in_buffer, Some(2));
        assert_eq!(p.bytes_in_buffer, Some(0xff));
        b[3] = 0;
        assert!(Position::decode_extended(&b).is_err());
    }

    #[test]
    fn cdb() {
        assert_eq!(
            read_position(PositionForm::Long),
            [0x34, 6, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            read_position(PositionForm::Extended),
            [0x34, 8, 0, 0, 0, 0, 0, 0, 32, 0]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Position::decode_short(&b);
            let _ = Position::decode_long(&b);
            let _ = Position::decode_extended(&b);
        }

        #[test]
        fn long_round_trip(bop: bool, eop: bool, mpu: bool, bpu: bool, bpew: bool,
                           partition: u32, block: u64, file: u64, set: u64) {
            let p = Position { bop, eop, mpu, bpu, bpew, partition, block,
                file: Some(file), set: Some(set), ..Position::default() };
            prop_assert_eq!(Position::decode_long(&p.encode_long()).unwrap(), p);
        }

        #[test]
        fn short_and_extended_round_trip(bop: bool, eop: bool, locu: bool, bycu: bool, bpu: bool,
                                         bpew: bool, partition: u8, block: u32, last: u32,
                                         objs in 0u32..1 << 24, bytes: u32) {
            let p = Position { bop, eop, locu, bycu, bpu, lolu: bpu, bpew,
                partition: u32::from(partition), block: u64::from(block),
                last_block: Some(u64::from(last)), objects_in_buffer: Some(u64::from(objs)),
                bytes_in_buffer: Some(u64::from(bytes)), ..Position::default() };
            prop_assert_eq!(Position::decode_short(&p.encode_short()).unwrap(), p);
            prop_assert_eq!(Position::decode_extended(&p.encode_extended()).unwrap(), p);
        }
    }
}
