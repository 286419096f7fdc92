//! READ ATTRIBUTE / WRITE ATTRIBUTE (SPC-4 6.17, 6.42, 7.4): medium auxiliary memory (MAM).

use crate::decode::{ascii_trimmed, be16, be32, be64, be_uint, slice, u8_at, DecodeError};

pub const READ_ATTRIBUTE: u8 = 0x8c;
pub const WRITE_ATTRIBUTE: u8 = 0x8d;

/// READ ATTRIBUTE service actions (SPC-4 table 124).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadAttributeAction {
    AttributeValues = 0x00,
    AttributeList = 0x01,
    LogicalVolumeList = 0x02,
    PartitionList = 0x03,
    SupportedAttributes = 0x05,
}

/// READ ATTRIBUTE CDB: attributes of `partition` starting at `first_id`.
pub fn read_attribute(
    action: ReadAttributeAction,
    partition: u8,
    first_id: u16,
    alloc: u32,
) -> [u8; 16] {
    let f = first_id.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        READ_ATTRIBUTE,
        action as u8,
        0,
        0,
        0,
        0,
        0,
        partition,
        f[0],
        f[1],
        a[0],
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// WRITE ATTRIBUTE CDB; `wtc` asks for write-through cache.
pub fn write_attribute(partition: u8, len: u32, wtc: bool) -> [u8; 16] {
    let l = len.to_be_bytes();
    [
        WRITE_ATTRIBUTE,
        u8::from(wtc),
        0,
        0,
        0,
        0,
        0,
        partition,
        0,
        0,
        l[0],
        l[1],
        l[2],
        l[3],
        0,
        0,
    ]
}

/// Standard attribute identifiers (SPC-4 7.4.2).
pub mod id {
    pub const REMAINING_CAPACITY_IN_PARTITION: u16 = 0x0000;
    pub const MAXIMUM_CAPACITY_IN_PARTITION: u16 = 0x0001;
    pub const TAPEALERT_FLAGS: u16 = 0x0002;
    pub const LOAD_COUNT: u16 = 0x0003;
    pub const MAM_SPACE_REMAINING: u16 = 0x0004;
    pub const ASSIGNING_ORGANIZATION: u16 = 0x0005;
    pub const FORMATTED_DENSITY_CODE: u16 = 0x0006;
    pub const INITIALIZATION_COUNT: u16 = 0x0007;
    pub const VOLUME_IDENTIFIER: u16 = 0x0008;
    pub const VOLUME_CHANGE_REFERENCE: u16 = 0x0009;
    pub const MEDIUM_MANUFACTURER: u16 = 0x0400;
    pub const MEDIUM_SERIAL_NUMBER: u16 = 0x0401;
    pub const MEDIUM_LENGTH: u16 = 0x0402;
    pub const MEDIUM_WIDTH: u16 = 0x0403;
    pub const MEDIUM_MANUFACTURE_DATE: u16 = 0x0406;
    pub const MAM_CAPACITY: u16 = 0x0407;
    pub const MEDIUM_TYPE: u16 = 0x0408;
    pub const MEDIUM_TYPE_INFORMATION: u16 = 0x0409;
    pub const APPLICATION_VENDOR: u16 = 0x0800;
    pub const APPLICATION_NAME: u16 = 0x0801;
    pub const APPLICATION_VERSION: u16 = 0x0802;
    pub const USER_MEDIUM_TEXT_LABEL: u16 = 0x0803;
    pub const DATE_AND_TIME_LAST_WRITTEN: u16 = 0x0804;
    pub const TEXT_LOCALIZATION_IDENTIFIER: u16 = 0x0805;
    pub const BARCODE: u16 = 0x0806;
    pub const OWNING_HOST_TEXTUAL_NAME: u16 = 0x0807;
    pub const MEDIA_POOL: u16 = 0x0808;
    pub const APPLICATION_FORMAT_VERSION: u16 = 0x080b;
    pub const VOLUME_COHERENCY_INFORMATION: u16 = 0x080c;
}

/// Attribute format field (SPC-4 table 336).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeFormat {
    Binary = 0,
    Ascii = 1,
    Text = 2,
    Reserved = 3,
}

impl AttributeFormat {
    fn from_bits(b: u8) -> AttributeFormat {
        match b & 0x03 {
            0 => AttributeFormat::Binary,
            1 => AttributeFormat::Ascii,
            2 => AttributeFormat::Text,
            _ => AttributeFormat::Reserved,
        }
    }
}

/// One attribute as on the wire (SPC-4 7.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub id: u16,
    pub read_only: bool,
    pub format: AttributeFormat,
    pub value: Vec<u8>,
}

impl Attribute {
    pub fn binary(id: u16, value: Vec<u8>) -> Attribute {
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::Binary,
            value,
        }
    }

    /// ASCII attribute padded with spaces to `len` (standard ASCII attributes have fixed
    /// lengths, e.g. 8 for APPLICATION VENDOR, 32 for BARCODE).
    pub fn ascii(id: u16, s: &str, len: usize) -> Attribute {
        let mut v = vec![b' '; len];
        for (d, c) in v.iter_mut().zip(s.bytes()) {
            *d = c;
        }
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::Ascii,
            value: v,
        }
    }

    /// Text attribute (UTF-8 per the text localization identifier), NUL padded to `len`.
    pub fn text(id: u16, s: &str, len: usize) -> Attribute {
        let mut v = s.as_bytes()[..s.len().min(len)].to_vec();
        v.resize(len, 0);
        Attribute {
            id,
            read_only: false,
            format: AttributeFormat::Text,
            value: v,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        be_uint(&self.value, "attribute").ok()
    }

    /// String value: ASCII trimmed, text up to the first NUL.
    pub fn as_string(&self) -> String {
        match self.format {
            AttributeFormat::Text => {
                let end = self
                    .value
                    .iter()
                    .position(|b| *b == 0)
                    .unwrap_or(self.value.len());
                String::from_utf8_lossy(&self.value[..end])
                    .trim_end()
                    .to_string()
            }
            _ => ascii_trimmed(&self.value),
        }
    }

    /// Typed interpretation of the standard attributes.
    pub fn typed(&self) -> Result<TypedAttribute, DecodeError> {
        use id::*;
        Ok(match self.id {
            REMAINING_CAPACITY_IN_PARTITION => {
                TypedAttribute::RemainingCapacityMib(self.u64_checked()?)
            }
            MAXIMUM_CAPACITY_IN_PARTITION => {
                TypedAttribute::MaximumCapacityMib(self.u64_checked()?)
            }
            LOAD_COUNT => TypedAttribute::LoadCount(self.u64_checked()?),
            VOLUME_CHANGE_REFERENCE => TypedAttribute::VolumeChangeReference(self.u64_checked()?),
            MEDIUM_MANUFACTURER => TypedAttribute::MediumManufacturer(self.as_string()),
            MEDIUM_SERIAL_NUMBER => TypedAttribute::MediumSerialNumber(self.as_string()),
            MEDIUM_TYPE => TypedAttribute::MediumType(u8_at(&self.value, 0, "medium type")?),
            APPLICATION_VENDOR => TypedAttribute::ApplicationVendor(self.as_string()),
            APPLICATION_NAME => TypedAttribute::ApplicationName(self.as_string()),
            APPLICATION_VERSION => TypedAttribute::ApplicationVersion(self.as_string()),
            USER_MEDIUM_TEXT_LABEL => TypedAttribute::UserMediumTextLabel(self.as_string()),
            BARCODE => TypedAttribute::Barcode(self.as_string()),
            APPLICATION_FORMAT_VERSION => {
                TypedAttribute::ApplicationFormatVersion(self.as_string())
            }
            VOLUME_COHERENCY_INFORMATION => TypedAttribute::VolumeCoherencyInformation(
                VolumeCoherencyInformation::decode(&self.value)?,
            ),
            _ => TypedAttribute::Other(self.clone()),
        })
    }

    fn u64_checked(&self) -> Result<u64, DecodeError> {
        be_uint(&self.value, "attribute value")
    }
}

/// The standard attributes tapelib interprets; any other stays raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedAttribute {
    RemainingCapacityMib(u64),
    MaximumCapacityMib(u64),
    LoadCount(u64),
    /// 0009h: only its value is meaningful (changes whenever the volume changes).
    VolumeChangeReference(u64),
    MediumManufacturer(String),
    MediumSerialNumber(String),
    /// 0408h: 00h data, 01h cleaning, 80h WORM.
    MediumType(u8),
    ApplicationVendor(String),
    ApplicationName(String),
    ApplicationVersion(String),
    UserMediumTextLabel(String),
    Barcode(String),
    ApplicationFormatVersion(String),
    VolumeCoherencyInformation(VolumeCoherencyInformation),
    Other(Attribute),
}

/// VOLUME COHERENCY INFORMATION attribute 080Ch (SPC-4 7.4.2.5.x; LTFS uses it per partition
/// to tie an index generation and its block to a volume change reference).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeCoherencyInformation {
    /// Volume change reference value (length given by the first byte; 8 for LTO).
    pub volume_change_reference: Vec<u8>,
    /// Volume coherency count (LTFS: index generation number).
    pub generation: u64,
    /// Volume coherency set identifier (LTFS: block number of the index).
    pub block: u64,
    /// Application client specific information (LTFS: "LTFS" + volume UUID).
    pub application_client_specific: Vec<u8>,
}

impl VolumeCoherencyInformation {
    pub fn decode(v: &[u8]) -> Result<VolumeCoherencyInformation, DecodeError> {
        const W: &str = "volume coherency information";
        let vcr_len = u8_at(v, 0, W)? as usize;
        let vcr = slice(v, 1, vcr_len, W)?.to_vec();
        let at = 1 + vcr_len;
        let generation = be64(v, at, W)?;
        let block = be64(v, at + 8, W)?;
        let acs_len = be16(v, at + 16, W)? as usize;
        let acs = slice(v, at + 18, acs_len, W)?.to_vec();
        Ok(VolumeCoherencyInformation {
            volume_change_reference: vcr,
            generation,
            block,
            application_client_specific: acs,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let vcr = &self.volume_change_reference[..self.volume_change_reference.len().min(0xff)];
        let acs =
            &self.application_client_specific[..self.application_client_specific.len().min(0xffff)];
        let mut v = vec![vcr.len() as u8];
        v.extend_from_slice(vcr);
        v.extend_from_slice(&self.generation.to_be_bytes());
        v.extend_from_slice(&self.block.to_be_bytes());
        v.extend_from_slice(&(acs.len() as u16).to_be_bytes());
        v.extend_from_slice(acs);
        v
    }

    /// The volume change reference as an integer, when 1..=8 bytes long.
    pub fn vcr_value(&self) -> Option<u64> {
        be_uint(&self.volume_change_reference, "VCR").ok()
    }
}

/// Decode ATTRIBUTE VALUES data (service action 00h): a 4-byte available data length, then
/// attributes. `available` tells whether the allocation was too small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValues {
    pub available: u32,
    pub attributes: Vec<Attribute>,
}

impl AttributeValues {
    pub fn decode(buf: &[u8]) -> Result<AttributeValues, DecodeError> {
        let available = be32(buf, 0, "attribute data header")?;
        let body = &buf[4..buf.len().min(4usize.saturating_add(available as usize))];
        let mut attributes = Vec::new();
        let mut at = 0usize;
        while at + 5 <= body.len() {
            let id = u16::from_be_bytes([body[at], body[at + 1]]);
            let flags = body[at + 2];
            let len = u16::from_be_bytes([body[at + 3], body[at + 4]]) as usize;
            let Some(value) = body.get(at + 5..at + 5 + len) else {
                break;
            };
            attributes.push(Attribute {
                id,
                read_only: flags & 0x80 != 0,
                format: AttributeFormat::from_bits(flags),
                value: value.to_vec(),
            });
            at += 5 + len;
        }
        Ok(AttributeValues {
            available,
            attributes,
        })
    }

    pub fn get(&self, id: u16) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.id == id)
    }
}

/// Encode attributes with the 4-byte length header: the WRITE ATTRIBUTE parameter list (the
/// READ ONLY bit is reserved there and cleared) and, with `keep_read_only`, READ ATTRIBUTE
/// data for the simulator.
pub fn encode_attributes(attrs: &[Attribute], keep_read_only: bool) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    for a in attrs {
        out.extend_from_slice(&a.id.to_be_bytes());
        out.push(
            (a.format as u8)
                | if keep_read_only && a.read_only {
                    0x80
                } else {
                    0
                },
        );
        let n = a.value.len().min(0xffff);
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend_from_slice(&a.value[..n]);
    }
    let n = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&n.to_be_bytes());
    out
}

/// ATTRIBUTE LIST data (service action 01h): the identifiers present.
pub fn decode_attribute_list(buf: &[u8]) -> Result<Vec<u16>, DecodeError> {
    let len = be32(buf, 0, "attribute list header")? as usize;
    let body = &buf[4..buf.len().min(4usize.saturating_add(len))];
    Ok(body
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ltfs_mam() -> Vec<u8> {
        let mut ro_cap = Attribute::binary(
            id::REMAINING_CAPACITY_IN_PARTITION,
            vec![0, 0, 0, 0, 0, 0x17, 0x1a, 0x2b],
        );
        ro_cap.read_only = true;
        let mut ro_serial = Attribute::ascii(id::MEDIUM_SERIAL_NUMBER, "A0B1C2D3E4", 32);
        ro_serial.read_only = true;
        encode_attributes(
            &[
                ro_cap,
                Attribute::binary(id::LOAD_COUNT, vec![0, 0, 0, 0, 0, 0, 0, 12]),
                ro_serial,
                Attribute::binary(id::MEDIUM_TYPE, vec![0x80]),
                Attribute::ascii(id::APPLICATION_VENDOR, "TAPELIB", 8),
                Attribute::ascii(id::APPLICATION_NAME, "tapelib", 32),
                Attribute::text(id::USER_MEDIUM_TEXT_LABEL, "Archive 2026", 160),
                Attribute::ascii(id::BARCODE, "ABC123L8", 32),
                Attribute::binary(
                    id::VOLUME_COHERENCY_INFORMATION,
                    VolumeCoherencyInformation {
                        volume_change_reference: vec![0, 0, 0, 0, 0, 0, 0, 9],
                        generation: 3,
                        block: 1234,
                        application_client_specific: b"LTFS\0uuid".to_vec(),
                    }
                    .encode(),
                ),
                Attribute::binary(0x1623, vec![1, 2, 3]),
            ],
            true,
        )
    }

    #[test]
    fn decodes_standard_attributes() {
        let v = AttributeValues::decode(&ltfs_mam()).unwrap();
        assert_eq!(v.attributes.len(), 10);
        let t = |i| v.get(i).unwrap().typed().unwrap();
        assert_eq!(
            t(id::REMAINING_CAPACITY_IN_PARTITION),
            TypedAttribute::RemainingCapacityMib(0x171a2b)
        );
        assert!(
            v.get(id::REMAINING_CAPACITY_IN_PARTITION)
                .unwrap()
                .read_only
        );
        assert_eq!(t(id::LOAD_COUNT), TypedAttribute::LoadCount(12));
        assert_eq!(
            t(id::MEDIUM_SERIAL_NUMBER),
            TypedAttribute::MediumSerialNumber("A0B1C2D3E4".into())
        );
        assert_eq!(t(id::MEDIUM_TYPE), TypedAttribute::MediumType(0x80));
        assert_eq!(
            t(id::APPLICATION_VENDOR),
            TypedAttribute::ApplicationVendor("TAPELIB".into())
        );
        assert_eq!(
            t(id::USER_MEDIUM_TEXT_LABEL),
            TypedAttribute::UserMediumTextLabel("Archive 2026".into())
        );
        assert_eq!(t(id::BARCODE), TypedAttribute::Barcode("ABC123L8".into()));
        match t(id::VOLUME_COHERENCY_INFORMATION) {
            TypedAttribute::VolumeCoherencyInformation(vci) => {
                assert_eq!(vci.vcr_value(), Some(9));
                assert_eq!((vci.generation, vci.block), (3, 1234));
                assert_eq!(vci.application_client_specific, b"LTFS\0uuid");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(t(0x1623), TypedAttribute::Other(_)));
    }

    #[test]
    fn write_list_clears_read_only() {
        let mut a = Attribute::ascii(id::BARCODE, "X", 32);
        a.read_only = true;
        let b = encode_attributes(&[a], false);
        assert_eq!(&b[..4], &[0, 0, 0, 37]);
        assert_eq!(&b[4..9], &[0x08, 0x06, 0x01, 0, 32]);
    }

    #[test]
    fn truncated_and_list() {
        let mut b = ltfs_mam();
        b.truncate(30);
        let v = AttributeValues::decode(&b).unwrap();
        assert_eq!(v.attributes.len(), 2);
        assert!(v.available as usize > b.len());
        assert_eq!(
            decode_attribute_list(&[0, 0, 0, 4, 0, 0, 0x08, 0x06]).unwrap(),
            vec![0, 0x806]
        );
        assert!(VolumeCoherencyInformation::decode(&[8, 0, 0]).is_err());
        assert!(Attribute::binary(0, vec![]).typed().is_err());
    }

    #[test]
    fn cdbs() {
        assert_eq!(
            read_attribute(ReadAttributeAction::AttributeValues, 1, 0x080c, 0x1000),
            [0x8c, 0, 0, 0, 0, 0, 0, 1, 0x08, 0x0c, 0, 0, 0x10, 0, 0, 0]
        );
        assert_eq!(
            write_attribute(0, 40, true),
            [0x8d, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(v) = AttributeValues::decode(&b) {
                for a in &v.attributes { let _ = a.typed(); }
            }
            let _ = decode_attribute_list(&b);
            let _ = VolumeCoherencyInformation::decode(&b);
        }

        #[test]
        fn round_trip(attrs in proptest::collection::vec(
            (any::<u16>(), any::<bool>(), 0u8..4, proptest::collection::vec(any::<u8>(), 0..40)), 0..8)
        ) {
            let attrs: Vec<Attribute> = attrs.into_iter().map(|(id, ro, f, value)| Attribute {
                id, read_only: ro, format: AttributeFormat::from_bits(f), value }).collect();
            let d = AttributeValues::decode(&encode_attributes(&attrs, true)).unwrap();
            prop_assert_eq!(d.attributes, attrs);
        }

        #[test]
        fn vci_round_trip(vcr in proptest::collection::vec(any::<u8>(), 0..9), g: u64, blk: u64,
                          acs in proptest::collection::vec(any::<u8>(), 0..40)) {
            let v = VolumeCoherencyInformation { volume_change_reference: vcr, generation: g, block: blk, application_client_specific: acs };
            prop_assert_eq!(VolumeCoherencyInformation::decode(&v.encode()).unwrap(), v);
        }
    }
}
