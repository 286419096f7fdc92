//! Medium auxiliary memory (MAM): attributes per partition (SPC-4).
//!
//! Host attributes (0x0800..=0xBFFF) and vendor ones are written by WRITE ATTRIBUTE and kept as
//! given. Device attributes (0x0000..=0x03FF) are maintained by the drive and medium attributes
//! (0x0400..=0x07FF) are fixed when the cartridge is made; both are read-only to the host.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Attribute formats (SPC-4 table 316).
pub mod format {
    pub const BINARY: u8 = 0x00;
    pub const ASCII: u8 = 0x01;
    pub const TEXT: u8 = 0x02;
}

/// Well-known attribute identifiers (SPC-4).
pub mod id {
    pub const REMAINING_CAPACITY: u16 = 0x0000;
    pub const MAXIMUM_CAPACITY: u16 = 0x0001;
    pub const TAPEALERT_FLAGS: u16 = 0x0002;
    pub const LOAD_COUNT: u16 = 0x0003;
    pub const MAM_SPACE_REMAINING: u16 = 0x0004;
    pub const FORMAT_DENSITY_CODE: u16 = 0x0006;
    pub const INITIALIZATION_COUNT: u16 = 0x0007;
    pub const VOLUME_CHANGE_REFERENCE: u16 = 0x0009;
    pub const MEDIUM_MANUFACTURER: u16 = 0x0400;
    pub const MEDIUM_SERIAL_NUMBER: u16 = 0x0401;
    pub const MEDIUM_LENGTH: u16 = 0x0402;
    pub const MEDIUM_WIDTH: u16 = 0x0403;
    pub const MEDIUM_DENSITY_CODE: u16 = 0x0405;
    pub const MAM_CAPACITY: u16 = 0x0407;
    pub const MEDIUM_TYPE: u16 = 0x0408;
    pub const APPLICATION_VENDOR: u16 = 0x0800;
    pub const BARCODE: u16 = 0x0806;
}

/// Whether the host may write attribute `id`: standard host attributes (0x0800..=0x0BFF) and
/// vendor-unique host attributes (0x1400..=0x17FF). Device and medium attributes, standard or
/// vendor-unique, are read-only; 0x1800 and above are reserved (SPC-4).
pub fn host_writable(id: u16) -> bool {
    matches!(id, 0x0800..=0x0BFF | 0x1400..=0x17FF)
}

/// Bytes of host attributes one partition's MAM can hold (reported as MAM CAPACITY).
pub const HOST_CAPACITY: u64 = 16384;

/// One stored attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MamAttribute {
    pub id: u16,
    pub format: u8,
    pub read_only: bool,
    pub value: Vec<u8>,
}

impl MamAttribute {
    /// The attribute as it appears in READ ATTRIBUTE data and in the reference layout: id u16,
    /// READ ONLY bit | format u8, length u16, value (SPC-4).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(5 + self.value.len());
        b.extend_from_slice(&self.id.to_be_bytes());
        b.push((self.format & 0x03) | if self.read_only { 0x80 } else { 0 });
        b.extend_from_slice(&(self.value.len().min(0xFFFF) as u16).to_be_bytes());
        b.extend_from_slice(&self.value[..self.value.len().min(0xFFFF)]);
        b
    }

    /// Decodes one attribute from the front of `b`; returns it and the bytes used.
    pub fn decode(b: &[u8]) -> Option<(MamAttribute, usize)> {
        let hdr = b.get(..5)?;
        let id = u16::from_be_bytes([hdr[0], hdr[1]]);
        let len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        let value = b.get(5..5 + len)?.to_vec();
        Some((
            MamAttribute {
                id,
                format: hdr[2] & 0x03,
                read_only: hdr[2] & 0x80 != 0,
                value,
            },
            5 + len,
        ))
    }
}

/// Attributes of every partition: partition → id → attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mam {
    pub partitions: BTreeMap<u8, BTreeMap<u16, MamAttribute>>,
}

impl Mam {
    /// The attribute `id` of `partition`.
    pub fn get(&self, partition: u8, id: u16) -> Option<&MamAttribute> {
        self.partitions.get(&partition)?.get(&id)
    }

    /// Stores (or with an empty value, deletes: SPC-4) an attribute.
    pub fn set(&mut self, partition: u8, attr: MamAttribute) {
        let p = self.partitions.entry(partition).or_default();
        if attr.value.is_empty() {
            p.remove(&attr.id);
        } else {
            p.insert(attr.id, attr);
        }
    }

    /// Every stored attribute of `partition`, by id.
    pub fn partition(&self, partition: u8) -> impl Iterator<Item = &MamAttribute> {
        self.partitions
            .get(&partition)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// Bytes used by the stored attributes of `partition` (headers included).
    pub fn used_bytes(&self, partition: u8) -> u64 {
        self.partition(partition)
            .map(|a| 5 + a.value.len() as u64)
            .sum()
    }
}

/// An ASCII attribute value padded with spaces to `len` bytes (SPC-4: left-aligned).
pub fn ascii_padded(s: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s
        .bytes()
        .filter(|b| (0x20..0x7f).contains(b))
        .take(len)
        .collect();
    v.resize(len, b' ');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_round_trip() {
        let a = MamAttribute {
            id: 0x0806,
            format: format::ASCII,
            read_only: false,
            value: ascii_padded("ABC123L7", 32),
        };
        let b = a.encode();
        assert_eq!(&b[..5], &[0x08, 0x06, 0x01, 0x00, 0x20]);
        let (d, used) = MamAttribute::decode(&b).unwrap();
        assert_eq!(d, a);
        assert_eq!(used, 37);
        assert!(MamAttribute::decode(&b[..10]).is_none());
        assert!(MamAttribute::decode(&[1, 2]).is_none());
    }

    #[test]
    fn empty_value_deletes() {
        let mut m = Mam::default();
        m.set(
            0,
            MamAttribute {
                id: 0x0800,
                format: 1,
                read_only: false,
                value: b"X".to_vec(),
            },
        );
        assert!(m.get(0, 0x0800).is_some());
        m.set(
            0,
            MamAttribute {
                id: 0x0800,
                format: 1,
                read_only: false,
                value: vec![],
            },
        );
        assert!(m.get(0, 0x0800).is_none());
        assert!(host_writable(0x0800) && !host_writable(0x0401));
        assert!(host_writable(0x1623) && !host_writable(0x0C00) && !host_writable(0x1800));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            if let Some((a, used)) = MamAttribute::decode(&bytes) {
                // Reserved bits of byte 2 are not kept; everything else is.
                proptest::prop_assert!(used <= bytes.len());
                let again = a.encode();
                proptest::prop_assert_eq!(again.len(), used);
                proptest::prop_assert_eq!(MamAttribute::decode(&again), Some((a, used)));
            }
        }

        #[test]
        fn encode_decode_round_trip(
            id in proptest::prelude::any::<u16>(),
            format in 0u8..3,
            read_only in proptest::prelude::any::<bool>(),
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let a = MamAttribute { id, format, read_only, value };
            let b = a.encode();
            proptest::prop_assert_eq!(MamAttribute::decode(&b), Some((a, b.len())));
        }
    }
}
