//! INQUIRY (SPC-4 6.6): standard data and the vital product data pages tapelib uses.

use crate::decode::{ascii_trimmed, be16, slice, u8_at, DecodeError};

pub const INQUIRY: u8 = 0x12;

/// VPD page codes (SPC-4 7.8).
pub const VPD_SUPPORTED_PAGES: u8 = 0x00;
pub const VPD_UNIT_SERIAL_NUMBER: u8 = 0x80;
pub const VPD_DEVICE_IDENTIFICATION: u8 = 0x83;

/// Standard INQUIRY CDB; `alloc` is usually 96 (36 is the minimum every device supports).
pub fn inquiry(alloc: u16) -> [u8; 6] {
    let a = alloc.to_be_bytes();
    [INQUIRY, 0, 0, a[0], a[1], 0]
}

/// INQUIRY for a VPD page (EVPD = 1).
pub fn inquiry_vpd(page: u8, alloc: u16) -> [u8; 6] {
    let a = alloc.to_be_bytes();
    [INQUIRY, 0x01, page, a[0], a[1], 0]
}

/// Peripheral device types tapelib cares about (SPC-4 table 149).
pub const TYPE_SEQUENTIAL_ACCESS: u8 = 0x01;
pub const TYPE_MEDIUM_CHANGER: u8 = 0x08;

/// Standard INQUIRY data (SPC-4 6.6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardInquiry {
    pub peripheral_qualifier: u8,
    pub peripheral_device_type: u8,
    /// Removable medium.
    pub rmb: bool,
    pub version: u8,
    pub response_data_format: u8,
    /// Medium changer present (byte 6 bit 3, SPC-2's MCHNGR).
    pub mchngr: bool,
    pub vendor: String,
    pub product: String,
    pub revision: String,
    /// Bytes 36..56 (vendor specific; IBM puts the drive serial there), when returned.
    pub vendor_specific: Vec<u8>,
}

impl StandardInquiry {
    /// Decode standard data; the 36 bytes SPC-4 requires must be present.
    pub fn decode(buf: &[u8]) -> Result<StandardInquiry, DecodeError> {
        let b = slice(buf, 0, 36, "standard INQUIRY data")?;
        let add_len = b[4] as usize;
        let end = buf.len().min(5 + add_len).max(36);
        Ok(StandardInquiry {
            peripheral_qualifier: b[0] >> 5,
            peripheral_device_type: b[0] & 0x1f,
            rmb: b[1] & 0x80 != 0,
            version: b[2],
            response_data_format: b[3] & 0x0f,
            mchngr: b[6] & 0x08 != 0,
            vendor: ascii_trimmed(&b[8..16]),
            product: ascii_trimmed(&b[16..32]),
            revision: ascii_trimmed(&b[32..36]),
            vendor_specific: buf.get(36..end.min(56)).unwrap_or(&[]).to_vec(),
        })
    }

    /// Encode (used by tests and the simulator): 36 bytes plus vendor-specific bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 36];
        b[0] = (self.peripheral_qualifier << 5) | (self.peripheral_device_type & 0x1f);
        b[1] = if self.rmb { 0x80 } else { 0 };
        b[2] = self.version;
        b[3] = self.response_data_format & 0x0f;
        b[6] = if self.mchngr { 0x08 } else { 0 };
        put_ascii(&mut b[8..16], &self.vendor);
        put_ascii(&mut b[16..32], &self.product);
        put_ascii(&mut b[32..36], &self.revision);
        b.extend_from_slice(&self.vendor_specific[..self.vendor_specific.len().min(20)]);
        b[4] = (b.len() - 5) as u8;
        b
    }
}

/// Space-padded ASCII field.
pub(crate) fn put_ascii(dst: &mut [u8], s: &str) {
    dst.fill(b' ');
    for (d, c) in dst.iter_mut().zip(s.bytes()) {
        *d = c;
    }
}

/// Header shared by all VPD pages: returns (page code, page body clamped to what arrived).
fn vpd_body<'a>(buf: &'a [u8], want: u8, what: &'static str) -> Result<&'a [u8], DecodeError> {
    let page = u8_at(buf, 1, what)?;
    if page != want {
        return Err(DecodeError::invalid(
            what,
            format!("page code 0x{page:02x}, expected 0x{want:02x}"),
        ));
    }
    let len = be16(buf, 2, what)? as usize;
    Ok(&buf[4..buf.len().min(4 + len)])
}

/// VPD 00h: supported VPD pages.
pub fn decode_supported_pages(buf: &[u8]) -> Result<Vec<u8>, DecodeError> {
    Ok(vpd_body(buf, VPD_SUPPORTED_PAGES, "supported VPD pages")?.to_vec())
}

/// VPD 80h: unit serial number, trimmed.
pub fn decode_unit_serial(buf: &[u8]) -> Result<String, DecodeError> {
    Ok(ascii_trimmed(vpd_body(
        buf,
        VPD_UNIT_SERIAL_NUMBER,
        "unit serial number VPD",
    )?))
}

/// Code set of a designation descriptor (SPC-4 table 487).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeSet {
    Binary,
    Ascii,
    Utf8,
    Reserved(u8),
}

/// Association of a designation descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Association {
    LogicalUnit,
    TargetPort,
    TargetDevice,
    Reserved,
}

/// Designator types (SPC-4 table 489).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DesignatorType {
    VendorSpecific,
    T10VendorId,
    Eui64,
    Naa,
    RelativeTargetPort,
    TargetPortGroup,
    LogicalUnitGroup,
    Md5,
    ScsiName,
    ProtocolSpecificPort,
    Other(u8),
}

/// One designation descriptor of VPD 83h (SPC-4 7.8.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designator {
    pub protocol_identifier: Option<u8>,
    pub code_set: CodeSet,
    pub association: Association,
    pub designator_type: DesignatorType,
    pub value: Vec<u8>,
}

impl Designator {
    /// A printable form: text for ASCII/UTF-8, hex for binary (NAA and EUI-64 values).
    pub fn display_value(&self) -> String {
        match self.code_set {
            CodeSet::Ascii | CodeSet::Utf8 => ascii_trimmed(&self.value),
            _ => self.value.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// T10 vendor ID designator split into (vendor, vendor-specific identifier).
    pub fn t10_vendor_id(&self) -> Option<(String, String)> {
        if self.designator_type != DesignatorType::T10VendorId || self.value.len() < 8 {
            return None;
        }
        Some((
            ascii_trimmed(&self.value[..8]),
            ascii_trimmed(&self.value[8..]),
        ))
    }

    /// EUI-64 designator value (the first 8 bytes; EUI-64 based 12- and 16-byte forms
    /// extend it).
    pub fn eui64(&self) -> Option<u64> {
        if self.designator_type != DesignatorType::Eui64 || self.value.len() < 8 {
            return None;
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.value[..8]);
        Some(u64::from_be_bytes(a))
    }

    /// NAA designator as an integer (NAA 5 / 6 are 8 and 16 bytes; the first 8 bytes).
    pub fn naa(&self) -> Option<u64> {
        if self.designator_type != DesignatorType::Naa || self.value.len() < 8 {
            return None;
        }
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.value[..8]);
        Some(u64::from_be_bytes(a))
    }
}

/// VPD 83h: device identification descriptors. A truncated last descriptor is dropped.
pub fn decode_device_identification(buf: &[u8]) -> Result<Vec<Designator>, DecodeError> {
    let body = vpd_body(buf, VPD_DEVICE_IDENTIFICATION, "device identification VPD")?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 4 <= body.len() {
        let h = &body[at..at + 4];
        let len = h[3] as usize;
        let Some(value) = body.get(at + 4..at + 4 + len) else {
            break;
        };
        let piv = h[1] & 0x80 != 0;
        let association = match (h[1] >> 4) & 0x03 {
            0 => Association::LogicalUnit,
            1 => Association::TargetPort,
            2 => Association::TargetDevice,
            _ => Association::Reserved,
        };
        out.push(Designator {
            protocol_identifier: (piv && association != Association::LogicalUnit)
                .then_some(h[0] >> 4),
            code_set: match h[0] & 0x0f {
                1 => CodeSet::Binary,
                2 => CodeSet::Ascii,
                3 => CodeSet::Utf8,
                o => CodeSet::Reserved(o),
            },
            association,
            designator_type: match h[1] & 0x0f {
                0 => DesignatorType::VendorSpecific,
                1 => DesignatorType::T10VendorId,
                2 => DesignatorType::Eui64,
                3 => DesignatorType::Naa,
                4 => DesignatorType::RelativeTargetPort,
                5 => DesignatorType::TargetPortGroup,
                6 => DesignatorType::LogicalUnitGroup,
                7 => DesignatorType::Md5,
                8 => DesignatorType::ScsiName,
                9 => DesignatorType::ProtocolSpecificPort,
                o => DesignatorType::Other(o),
            },
            value: value.to_vec(),
        });
        at += 4 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ibm_lto8() -> Vec<u8> {
        let mut b = vec![0x01, 0x80, 0x06, 0x02, 0, 0, 0, 0];
        b.extend_from_slice(b"IBM     ULT3580-TD8     KAJ1");
        b.extend_from_slice(b"1013000655");
        b.extend_from_slice(&[0; 10]);
        b[4] = (b.len() - 5) as u8;
        b
    }

    #[test]
    fn standard_ibm_drive() {
        let q = StandardInquiry::decode(&ibm_lto8()).unwrap();
        assert_eq!(q.peripheral_device_type, TYPE_SEQUENTIAL_ACCESS);
        assert!(q.rmb);
        assert_eq!(q.version, 6);
        assert_eq!(q.vendor, "IBM");
        assert_eq!(q.product, "ULT3580-TD8");
        assert_eq!(q.revision, "KAJ1");
        assert_eq!(&q.vendor_specific[..10], b"1013000655");
    }

    #[test]
    fn standard_hp_changer_36_bytes() {
        let mut b = vec![0x08, 0x80, 0x05, 0x02, 31, 0, 0x08, 0];
        b.extend_from_slice(b"HP      MSL G3 Series   3.00");
        let q = StandardInquiry::decode(&b).unwrap();
        assert_eq!(q.peripheral_device_type, TYPE_MEDIUM_CHANGER);
        assert!(q.mchngr);
        assert_eq!(q.product, "MSL G3 Series");
        assert!(q.vendor_specific.is_empty());
        assert!(StandardInquiry::decode(&b[..35]).is_err());
    }

    #[test]
    fn standard_round_trip() {
        let q = StandardInquiry::decode(&ibm_lto8()).unwrap();
        assert_eq!(StandardInquiry::decode(&q.encode()).unwrap(), q);
    }

    #[test]
    fn vpd_pages() {
        assert_eq!(
            decode_supported_pages(&[1, 0, 0, 3, 0x00, 0x80, 0x83]).unwrap(),
            vec![0, 0x80, 0x83]
        );
        let mut s = vec![1, 0x80, 0, 12];
        s.extend_from_slice(b"  HU1234567 ");
        assert_eq!(decode_unit_serial(&s).unwrap(), "HU1234567");
        assert!(decode_unit_serial(&[1, 0x83, 0, 0]).is_err());
    }

    #[test]
    fn device_identification() {
        let mut b = vec![1, 0x83, 0, 0];
        // T10 vendor id, ASCII, LU.
        b.extend_from_slice(&[0x02, 0x01, 0, 18]);
        b.extend_from_slice(b"IBM     1013000655");
        // NAA, binary, LU.
        b.extend_from_slice(&[
            0x01, 0x03, 0, 8, 0x50, 0x05, 0x07, 0x63, 0x12, 0x34, 0x56, 0x78,
        ]);
        // Relative target port, SAS, PIV.
        b.extend_from_slice(&[0x61, 0x94, 0, 4, 0, 0, 0, 1]);
        // EUI-64, binary, target device.
        b.extend_from_slice(&[
            0x01, 0x22, 0, 8, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
        ]);
        // Truncated.
        b.extend_from_slice(&[0x01, 0x03, 0, 8, 1]);
        let n = (b.len() - 4) as u16;
        b[2..4].copy_from_slice(&n.to_be_bytes());
        let d = decode_device_identification(&b).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(d[3].eui64(), Some(0x0011_2233_4455_6677));
        assert_eq!(d[3].association, Association::TargetDevice);
        assert_eq!(
            d[0].t10_vendor_id(),
            Some(("IBM".to_string(), "1013000655".to_string()))
        );
        assert_eq!(d[1].naa(), Some(0x5005_0763_1234_5678));
        assert_eq!(d[1].display_value(), "5005076312345678");
        assert_eq!(d[2].association, Association::TargetPort);
        assert_eq!(d[2].protocol_identifier, Some(6));
        assert_eq!(d[2].designator_type, DesignatorType::RelativeTargetPort);
    }

    #[test]
    fn cdbs() {
        assert_eq!(inquiry(96), [0x12, 0, 0, 0, 96, 0]);
        assert_eq!(inquiry_vpd(0x80, 0x100), [0x12, 1, 0x80, 1, 0, 0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = StandardInquiry::decode(&b);
            let _ = decode_supported_pages(&b);
            let _ = decode_unit_serial(&b);
            let _ = decode_device_identification(&b);
        }

        #[test]
        fn round_trip(
            q in 0u8..8, t in 0u8..32, rmb: bool, v: u8, mch: bool,
            vendor in "[A-Z]{1,8}", product in "[A-Z0-9-]{1,16}", rev in "[A-Z0-9]{1,4}",
            vs in proptest::collection::vec(any::<u8>(), 0..20)
        ) {
            let s = StandardInquiry {
                peripheral_qualifier: q, peripheral_device_type: t, rmb, version: v,
                response_data_format: 2, mchngr: mch, vendor, product, revision: rev,
                vendor_specific: vs,
            };
            prop_assert_eq!(StandardInquiry::decode(&s.encode()).unwrap(), s);
        }
    }
}
