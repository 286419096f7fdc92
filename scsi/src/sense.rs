//! Sense data (SPC-4 4.5): fixed (70h/71h) and descriptor (72h/73h) formats.
//!
//! Both formats decode into one [`SenseData`], so callers never care which one a device chose.

mod asc;

pub use asc::asc_description;

use crate::decode::{be32, be64, slice, u8_at, DecodeError};

/// Sense key (SPC-4 4.5.6, table 47).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseKey {
    NoSense,
    RecoveredError,
    NotReady,
    MediumError,
    HardwareError,
    IllegalRequest,
    UnitAttention,
    DataProtect,
    BlankCheck,
    VendorSpecific,
    CopyAborted,
    AbortedCommand,
    /// 0Ch: obsolete in SPC-4 (was EQUAL).
    Reserved0C,
    VolumeOverflow,
    Miscompare,
    /// 0Fh: reserved.
    Reserved0F,
}

impl SenseKey {
    /// The key encoded in the low nibble of `v`.
    pub fn from_u8(v: u8) -> SenseKey {
        match v & 0x0f {
            0x0 => SenseKey::NoSense,
            0x1 => SenseKey::RecoveredError,
            0x2 => SenseKey::NotReady,
            0x3 => SenseKey::MediumError,
            0x4 => SenseKey::HardwareError,
            0x5 => SenseKey::IllegalRequest,
            0x6 => SenseKey::UnitAttention,
            0x7 => SenseKey::DataProtect,
            0x8 => SenseKey::BlankCheck,
            0x9 => SenseKey::VendorSpecific,
            0xa => SenseKey::CopyAborted,
            0xb => SenseKey::AbortedCommand,
            0xc => SenseKey::Reserved0C,
            0xd => SenseKey::VolumeOverflow,
            0xe => SenseKey::Miscompare,
            _ => SenseKey::Reserved0F,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            SenseKey::NoSense => "NO SENSE",
            SenseKey::RecoveredError => "RECOVERED ERROR",
            SenseKey::NotReady => "NOT READY",
            SenseKey::MediumError => "MEDIUM ERROR",
            SenseKey::HardwareError => "HARDWARE ERROR",
            SenseKey::IllegalRequest => "ILLEGAL REQUEST",
            SenseKey::UnitAttention => "UNIT ATTENTION",
            SenseKey::DataProtect => "DATA PROTECT",
            SenseKey::BlankCheck => "BLANK CHECK",
            SenseKey::VendorSpecific => "VENDOR SPECIFIC",
            SenseKey::CopyAborted => "COPY ABORTED",
            SenseKey::AbortedCommand => "ABORTED COMMAND",
            SenseKey::Reserved0C => "RESERVED (0Ch)",
            SenseKey::VolumeOverflow => "VOLUME OVERFLOW",
            SenseKey::Miscompare => "MISCOMPARE",
            SenseKey::Reserved0F => "RESERVED (0Fh)",
        }
    }
}

impl std::fmt::Display for SenseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which of the two sense data formats the device used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseFormat {
    Fixed,
    Descriptor,
}

/// Sense-key specific information (SPC-4 4.5.2.4), present when SKSV is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseKeySpecific {
    /// ILLEGAL REQUEST: which byte (and bit) of the CDB (`command`) or parameter list is wrong.
    FieldPointer {
        command: bool,
        bit_pointer: Option<u8>,
        field_pointer: u16,
    },
    /// NOT READY / NO SENSE: progress of a long operation, in 65536ths.
    Progress(u16),
    /// RECOVERED / MEDIUM / HARDWARE ERROR: actual retry count.
    RetryCount(u16),
    /// COPY ABORTED: segment pointer (SD bit, BPV + bit pointer, field pointer) kept raw.
    SegmentPointer([u8; 3]),
    /// UNIT ATTENTION: the unit attention condition queue overflowed.
    UnitAttentionOverflow(bool),
    /// Any other key: the three bytes as sent (SKSV bit included).
    Raw([u8; 3]),
}

impl SenseKeySpecific {
    fn decode(key: SenseKey, b: [u8; 3]) -> Option<SenseKeySpecific> {
        if b[0] & 0x80 == 0 {
            return None;
        }
        let v = u16::from_be_bytes([b[1], b[2]]);
        Some(match key {
            SenseKey::IllegalRequest => SenseKeySpecific::FieldPointer {
                command: b[0] & 0x40 != 0,
                bit_pointer: (b[0] & 0x08 != 0).then_some(b[0] & 0x07),
                field_pointer: v,
            },
            SenseKey::NotReady | SenseKey::NoSense => SenseKeySpecific::Progress(v),
            SenseKey::RecoveredError | SenseKey::MediumError | SenseKey::HardwareError => {
                SenseKeySpecific::RetryCount(v)
            }
            SenseKey::CopyAborted => SenseKeySpecific::SegmentPointer(b),
            SenseKey::UnitAttention => SenseKeySpecific::UnitAttentionOverflow(b[0] & 0x01 != 0),
            _ => SenseKeySpecific::Raw(b),
        })
    }

    fn encode(self) -> [u8; 3] {
        match self {
            SenseKeySpecific::FieldPointer {
                command,
                bit_pointer,
                field_pointer,
            } => {
                let mut b0 = 0x80;
                if command {
                    b0 |= 0x40;
                }
                if let Some(bp) = bit_pointer {
                    b0 |= 0x08 | (bp & 0x07);
                }
                let v = field_pointer.to_be_bytes();
                [b0, v[0], v[1]]
            }
            SenseKeySpecific::Progress(v) | SenseKeySpecific::RetryCount(v) => {
                let v = v.to_be_bytes();
                [0x80, v[0], v[1]]
            }
            SenseKeySpecific::UnitAttentionOverflow(o) => [0x80 | u8::from(o), 0, 0],
            SenseKeySpecific::SegmentPointer(b) | SenseKeySpecific::Raw(b) => {
                [b[0] | 0x80, b[1], b[2]]
            }
        }
    }

    /// Progress as a fraction 0.0..1.0, when this is a progress indication.
    pub fn progress_fraction(&self) -> Option<f64> {
        match self {
            SenseKeySpecific::Progress(v) => Some(f64::from(*v) / 65536.0),
            _ => None,
        }
    }
}

/// Decoded sense data (SPC-4 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenseData {
    /// Response code without the VALID bit: 70h/71h fixed, 72h/73h descriptor.
    pub response_code: u8,
    /// Sense key (raw nibble; see [`SenseData::key`]).
    pub sense_key: u8,
    pub asc: u8,
    pub ascq: u8,
    /// Stream commands: a filemark was read or spaced over (SSC-4 4.2.x).
    pub filemark: bool,
    /// End of medium / early warning (SSC-4 4.2.5).
    pub eom: bool,
    /// Incorrect length indicator: the block length did not match the request.
    pub ili: bool,
    /// The information field, when VALID is set (residue for READ/WRITE/SPACE).
    pub information: Option<u64>,
    /// Command-specific information (fixed bytes 8–11 or descriptor type 01h).
    pub command_specific: u64,
    /// Sense-key specific field when SKSV is set.
    pub sense_key_specific: Option<SenseKeySpecific>,
    /// Field replaceable unit code (0 = none).
    pub fru: u8,
    /// Fixed format: additional bytes after byte 17; descriptor format: descriptors this
    /// decoder does not interpret, each kept whole (type, length, body).
    pub extra: Vec<u8>,
}

impl SenseData {
    /// Decode fixed or descriptor sense data. Bytes beyond the additional sense length are
    /// ignored; a shorter buffer than the length claims decodes what arrived.
    pub fn decode(buf: &[u8]) -> Result<SenseData, DecodeError> {
        let b0 = u8_at(buf, 0, "sense data")?;
        match b0 & 0x7f {
            0x70 | 0x71 => Self::decode_fixed(buf),
            0x72 | 0x73 => Self::decode_descriptor(buf),
            other => Err(DecodeError::invalid(
                "sense data",
                format!("response code 0x{other:02x}"),
            )),
        }
    }

    fn decode_fixed(buf: &[u8]) -> Result<SenseData, DecodeError> {
        // SPC-4 4.5.3: key in byte 2; anything shorter is useless.
        let b2 = u8_at(buf, 2, "fixed sense data")?;
        let add_len = buf.get(7).copied().unwrap_or(0) as usize;
        // Fields beyond the additional sense length are not sense data (SPC-4 4.5.3).
        let buf = &buf[..buf.len().min(8 + add_len)];
        let byte = |i: usize| buf.get(i).copied().unwrap_or(0);
        let valid = buf[0] & 0x80 != 0;
        let information = if valid && buf.len() >= 7 {
            Some(u64::from(be32(buf, 3, "sense information")?))
        } else {
            None
        };
        let command_specific = if buf.len() >= 12 {
            u64::from(be32(buf, 8, "command-specific information")?)
        } else {
            0
        };
        let key = SenseKey::from_u8(b2);
        let sense_key_specific = if buf.len() >= 18 {
            SenseKeySpecific::decode(key, [byte(15), byte(16), byte(17)])
        } else {
            None
        };
        Ok(SenseData {
            response_code: buf[0] & 0x7f,
            sense_key: b2 & 0x0f,
            asc: byte(12),
            ascq: byte(13),
            filemark: b2 & 0x80 != 0,
            eom: b2 & 0x40 != 0,
            ili: b2 & 0x20 != 0,
            information,
            command_specific,
            sense_key_specific,
            fru: byte(14),
            extra: buf.get(18..).map(<[u8]>::to_vec).unwrap_or_default(),
        })
    }

    fn decode_descriptor(buf: &[u8]) -> Result<SenseData, DecodeError> {
        // SPC-4 4.5.2: key, ASC, ASCQ in bytes 1–3, descriptors from byte 8.
        let hdr = slice(buf, 0, 4, "descriptor sense data")?;
        let add_len = buf.get(7).copied().unwrap_or(0) as usize;
        let end = buf.len().min(8 + add_len);
        let mut s = SenseData {
            response_code: hdr[0] & 0x7f,
            sense_key: hdr[1] & 0x0f,
            asc: hdr[2],
            ascq: hdr[3],
            ..SenseData::default()
        };
        let descs = buf.get(8..end).unwrap_or(&[]);
        let mut at = 0usize;
        while at + 2 <= descs.len() {
            let ty = descs[at];
            let len = descs[at + 1] as usize;
            let Some(d) = descs.get(at..at + 2 + len) else {
                // Truncated descriptor: keep what arrived raw and stop.
                s.extra.extend_from_slice(&descs[at..]);
                break;
            };
            match ty {
                // Information (SPC-4 4.5.2.2): VALID in byte 2, 8-byte value at 4.
                0x00 if len >= 0x0a => {
                    if d[2] & 0x80 != 0 {
                        s.information = Some(be64(d, 4, "information descriptor")?);
                    }
                }
                // Command-specific information (4.5.2.3).
                0x01 if len >= 0x0a => s.command_specific = be64(d, 4, "command-specific")?,
                // Sense-key specific (4.5.2.4).
                0x02 if len >= 0x06 => {
                    let k = slice(d, 4, 3, "sense-key specific")?;
                    s.sense_key_specific = SenseKeySpecific::decode(
                        SenseKey::from_u8(s.sense_key),
                        [k[0], k[1], k[2]],
                    );
                }
                // FRU (4.5.2.5).
                0x03 if len >= 0x02 => s.fru = d[3],
                // Stream commands (SSC-4 4.2.x / SPC-4 4.5.2.6).
                0x04 if len >= 0x02 => {
                    s.filemark = d[3] & 0x80 != 0;
                    s.eom = d[3] & 0x40 != 0;
                    s.ili = d[3] & 0x20 != 0;
                }
                // Block commands (4.5.2.7): ILI only.
                0x05 if len >= 0x02 => s.ili = d[3] & 0x20 != 0,
                _ => s.extra.extend_from_slice(d),
            }
            at += 2 + len;
        }
        Ok(s)
    }

    /// Fixed-format encoding (SPC-4 4.5.3), 18 bytes plus [`SenseData::extra`].
    ///
    /// The information field is 4 bytes in this format: larger values are truncated to the low
    /// 32 bits (SPC-4 says such values need descriptor format).
    pub fn to_fixed_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; 18];
        let rc = match self.response_code {
            0x71 | 0x73 => 0x71,
            _ => 0x70,
        };
        b[0] = rc | if self.information.is_some() { 0x80 } else { 0 };
        b[2] = (self.sense_key & 0x0f)
            | if self.filemark { 0x80 } else { 0 }
            | if self.eom { 0x40 } else { 0 }
            | if self.ili { 0x20 } else { 0 };
        if let Some(info) = self.information {
            b[3..7].copy_from_slice(&(info as u32).to_be_bytes());
        }
        b[8..12].copy_from_slice(&(self.command_specific as u32).to_be_bytes());
        b[12] = self.asc;
        b[13] = self.ascq;
        b[14] = self.fru;
        if let Some(sks) = self.sense_key_specific {
            b[15..18].copy_from_slice(&sks.encode());
        }
        b.extend_from_slice(&self.extra);
        // Additional sense length counts bytes after byte 7; cap at what one byte can say.
        let add = (b.len() - 8).min(0xff);
        b.truncate(8 + add);
        b[7] = add as u8;
        b
    }

    /// A current fixed-format sense with just key / ASC / ASCQ set.
    pub fn new(key: SenseKey, asc: u8, ascq: u8) -> SenseData {
        SenseData {
            response_code: 0x70,
            sense_key: key.code(),
            asc,
            ascq,
            ..SenseData::default()
        }
    }

    pub fn key(&self) -> SenseKey {
        SenseKey::from_u8(self.sense_key)
    }

    pub fn format(&self) -> SenseFormat {
        if matches!(self.response_code, 0x72 | 0x73) {
            SenseFormat::Descriptor
        } else {
            SenseFormat::Fixed
        }
    }

    /// Deferred errors (71h/73h) report an earlier command's failure (SPC-4 4.5.1).
    pub fn is_deferred(&self) -> bool {
        matches!(self.response_code, 0x71 | 0x73)
    }

    pub fn is_current(&self) -> bool {
        !self.is_deferred()
    }

    /// `(ASC, ASCQ)`.
    pub fn asc_ascq(&self) -> (u8, u8) {
        (self.asc, self.ascq)
    }

    /// Meaning of ASC/ASCQ, if known.
    pub fn description(&self) -> Option<&'static str> {
        asc_description(self.asc, self.ascq)
    }

    /// The information field as a signed 32-bit residue (SSC-4 uses two's complement for
    /// negative residues in READ/SPACE with fixed-format sense).
    pub fn residue(&self) -> Option<i64> {
        self.information.map(|v| {
            if v <= u64::from(u32::MAX) {
                i64::from(v as u32 as i32)
            } else {
                v as i64
            }
        })
    }
}

impl std::fmt::Display for SenseData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{} {:02X}/{:02X}",
            if self.is_deferred() { "deferred " } else { "" },
            self.key(),
            self.asc,
            self.ascq
        )?;
        if let Some(d) = self.description() {
            write!(f, " ({d})")?;
        }
        let mut bits = Vec::new();
        if self.filemark {
            bits.push("FILEMARK");
        }
        if self.eom {
            bits.push("EOM");
        }
        if self.ili {
            bits.push("ILI");
        }
        if !bits.is_empty() {
            write!(f, " [{}]", bits.join(","))?;
        }
        if let Some(info) = self.information {
            write!(f, " info={info}")?;
        }
        if let Some(SenseKeySpecific::FieldPointer {
            command,
            bit_pointer,
            field_pointer,
        }) = self.sense_key_specific
        {
            write!(
                f,
                " field={} byte {}",
                if command { "CDB" } else { "parameter" },
                field_pointer
            )?;
            if let Some(bp) = bit_pointer {
                write!(f, " bit {bp}")?;
            }
        }
        if let Some(p) = self
            .sense_key_specific
            .as_ref()
            .and_then(SenseKeySpecific::progress_fraction)
        {
            write!(f, " progress={:.0}%", p * 100.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Fixed sense of an IBM LTO drive after READ(6) hit a filemark with 0x10000 bytes asked.
    #[test]
    fn fixed_filemark_with_residue() {
        let b = [
            0xf0,
            0,
            0x80 | 0x20,
            0x00,
            0x01,
            0x00,
            0x00,
            10,
            0,
            0,
            0,
            0,
            0x00,
            0x01,
            0,
            0,
            0,
            0,
        ];
        let s = SenseData::decode(&b).unwrap();
        assert_eq!(s.key(), SenseKey::NoSense);
        assert!(s.filemark && s.ili && !s.eom);
        assert_eq!(s.information, Some(0x10000));
        assert_eq!(s.asc_ascq(), (0x00, 0x01));
        assert_eq!(s.description(), Some("FILEMARK DETECTED"));
        assert!(s.is_current());
        assert_eq!(s.format(), SenseFormat::Fixed);
    }

    #[test]
    fn fixed_negative_residue() {
        // READ of 512 bytes returned a 1024-byte record: residue -512 (SSC-4 4.2.x, ILI).
        let mut s = SenseData::new(SenseKey::NoSense, 0, 0);
        s.ili = true;
        s.information = Some(u64::from((-512i32) as u32));
        let d = SenseData::decode(&s.to_fixed_bytes()).unwrap();
        assert_eq!(d.residue(), Some(-512));
    }

    #[test]
    fn fixed_illegal_request_field_pointer() {
        // HP-style: INVALID FIELD IN CDB, byte 1 bit 4 of the CDB.
        let b = [
            0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00, 0, 0xcc, 0x00, 0x01,
        ];
        let s = SenseData::decode(&b).unwrap();
        assert_eq!(s.key(), SenseKey::IllegalRequest);
        assert_eq!(s.information, None);
        assert_eq!(
            s.sense_key_specific,
            Some(SenseKeySpecific::FieldPointer {
                command: true,
                bit_pointer: Some(4),
                field_pointer: 1
            })
        );
        let text = s.to_string();
        assert!(text.contains("INVALID FIELD IN CDB"), "{text}");
        assert!(text.contains("byte 1 bit 4"), "{text}");
    }

    #[test]
    fn fixed_not_ready_progress() {
        let b = [
            0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x04, 0, 0x80, 0x80, 0x00,
        ];
        let s = SenseData::decode(&b).unwrap();
        assert_eq!(
            s.sense_key_specific,
            Some(SenseKeySpecific::Progress(0x8000))
        );
        assert_eq!(s.sense_key_specific.unwrap().progress_fraction(), Some(0.5));
    }

    #[test]
    fn fixed_short_and_deferred() {
        // Quantum drives sometimes return only 8 bytes (additional length 0) for NO SENSE.
        let s = SenseData::decode(&[0x71, 0, 0x06, 0, 0, 0, 0, 0]).unwrap();
        assert!(s.is_deferred());
        assert_eq!(s.key(), SenseKey::UnitAttention);
        assert_eq!((s.asc, s.ascq), (0, 0));
        assert!(SenseData::decode(&[0x70, 0]).is_err());
        assert!(SenseData::decode(&[]).is_err());
        assert!(SenseData::decode(&[0x7f, 0, 0]).is_err());
        // Additional length larger than the buffer: decode what arrived.
        let s = SenseData::decode(&[0x70, 0, 0x03, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0x11]).unwrap();
        assert_eq!(s.key(), SenseKey::MediumError);
        assert_eq!(s.asc, 0x11);
    }

    #[test]
    fn fixed_additional_length_limits_fields() {
        // Additional length 4: ASC bytes beyond it are not sense data.
        let b = [
            0x70, 0, 0x02, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0x3a, 0x00, 0, 0, 0, 0,
        ];
        let s = SenseData::decode(&b).unwrap();
        assert_eq!(s.asc, 0);
    }

    #[test]
    fn descriptor_with_stream_and_information() {
        let b = [
            0x72, 0x08, 0x00, 0x05, 0, 0, 0, 24, // header: BLANK CHECK 00/05
            0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, // information
            0x04, 0x02, 0x00, 0x40, // stream: EOM
            0x03, 0x02, 0x00, 0x07, // FRU
            0x80, 0x02, 0xaa, 0xbb, // vendor descriptor
        ];
        let s = SenseData::decode(&b).unwrap();
        assert_eq!(s.key(), SenseKey::BlankCheck);
        assert_eq!(s.format(), SenseFormat::Descriptor);
        assert_eq!(s.information, Some(0x1234));
        assert!(s.eom && !s.filemark && !s.ili);
        assert_eq!(s.fru, 7);
        assert_eq!(s.extra, vec![0x80, 0x02, 0xaa, 0xbb]);
        assert_eq!(s.description(), Some("END-OF-DATA DETECTED"));
    }

    #[test]
    fn descriptor_sense_key_specific_and_truncation() {
        let b = [
            0x73, 0x05, 0x26, 0x00, 0, 0, 0, 12, 0x02, 0x06, 0, 0, 0x80, 0x00, 0x05, 0, 0x01, 0x0a,
            0, 0, // truncated command-specific descriptor
        ];
        let s = SenseData::decode(&b).unwrap();
        assert!(s.is_deferred());
        assert_eq!(
            s.sense_key_specific,
            Some(SenseKeySpecific::FieldPointer {
                command: false,
                bit_pointer: None,
                field_pointer: 5
            })
        );
        assert_eq!(s.extra, vec![0x01, 0x0a, 0, 0]);
    }

    #[test]
    fn fixed_encoding_layout() {
        let mut s = SenseData::new(SenseKey::MediumError, 0x11, 0x00);
        s.information = Some(7);
        s.eom = true;
        let b = s.to_fixed_bytes();
        assert_eq!(b.len(), 18);
        assert_eq!(b[0], 0xf0);
        assert_eq!(b[2], 0x43);
        assert_eq!(&b[3..7], &[0, 0, 0, 7]);
        assert_eq!(b[7], 10);
        assert_eq!((b[12], b[13]), (0x11, 0x00));
    }

    fn arb_sks() -> impl Strategy<Value = Option<SenseKeySpecific>> {
        prop_oneof![
            Just(None),
            (any::<bool>(), proptest::option::of(0u8..8), any::<u16>()).prop_map(
                |(command, bit_pointer, field_pointer)| Some(SenseKeySpecific::FieldPointer {
                    command,
                    bit_pointer,
                    field_pointer
                })
            ),
            any::<u16>().prop_map(|v| Some(SenseKeySpecific::Progress(v))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = SenseData::decode(&b);
        }

        #[test]
        fn arbitrary_descriptor_sense_never_panics(
            key in any::<u8>(), rest in proptest::collection::vec(any::<u8>(), 0..120)
        ) {
            let mut b = vec![0x72, key, 0, 0, 0, 0, 0, rest.len() as u8];
            b.extend_from_slice(&rest);
            let _ = SenseData::decode(&b);
        }

        #[test]
        fn fixed_round_trip(
            key in 0u8..16, asc: u8, ascq: u8, fm: bool, eom: bool, ili: bool,
            info in proptest::option::of(any::<u32>()), csi: u32, fru: u8, deferred: bool,
            sks in arb_sks(), extra in proptest::collection::vec(any::<u8>(), 0..20)
        ) {
            // Progress only exists for NOT READY / NO SENSE, field pointers for ILLEGAL REQUEST.
            let sks = match (sks, key) {
                (Some(SenseKeySpecific::FieldPointer { .. }), 5) => sks,
                (Some(SenseKeySpecific::Progress(_)), 0 | 2) => sks,
                _ => None,
            };
            let s = SenseData {
                response_code: if deferred { 0x71 } else { 0x70 },
                sense_key: key, asc, ascq, filemark: fm, eom, ili,
                information: info.map(u64::from), command_specific: u64::from(csi),
                sense_key_specific: sks, fru, extra,
            };
            prop_assert_eq!(SenseData::decode(&s.to_fixed_bytes()).unwrap(), s);
        }
    }
}
