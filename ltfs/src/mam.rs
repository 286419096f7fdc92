//! LTFS use of medium auxiliary memory (LTFS 2.4 §9.3, SPC-4 7.4.2): the Volume Coherency
//! Information attribute and the host application attributes.

use uuid::Uuid;

use crate::device::{MamAttribute, MamFormat, TapeDevice};
use crate::error::{LtfsError, Result};

/// Volume change reference (SPC-4 table "device type attributes", written by the drive).
pub const ATTR_VOLUME_CHANGE_REFERENCE: u16 = 0x0009;
pub const ATTR_APPLICATION_VENDOR: u16 = 0x0800;
pub const ATTR_APPLICATION_NAME: u16 = 0x0801;
pub const ATTR_APPLICATION_VERSION: u16 = 0x0802;
pub const ATTR_USER_MEDIUM_TEXT_LABEL: u16 = 0x0803;
pub const ATTR_BARCODE: u16 = 0x0806;
pub const ATTR_APPLICATION_FORMAT_VERSION: u16 = 0x080B;
pub const ATTR_VOLUME_COHERENCY_INFORMATION: u16 = 0x080C;

/// Volume Coherency Information (attribute 0x080C, LTFS 2.4 §9.3.2): which index a partition's
/// last index write left, stamped with the medium's volume change reference at that time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeCoherency {
    pub volume_change_reference: u64,
    pub generation: u64,
    /// First block of the index on the partition this attribute belongs to.
    pub block: u64,
    pub volume_uuid: Uuid,
    /// Application client specific information version (1).
    pub version: u8,
}

fn mam_err(id: u16, reason: impl Into<String>) -> LtfsError {
    LtfsError::Mam {
        id,
        reason: reason.into(),
    }
}

impl VolumeCoherency {
    /// The attribute value: VCR length (one byte, 8), VCR, generation, block, then the application client
    /// specific information `LTFS\0` + UUID + NUL + version.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(70);
        v.push(8);
        v.extend_from_slice(&self.volume_change_reference.to_be_bytes());
        v.extend_from_slice(&self.generation.to_be_bytes());
        v.extend_from_slice(&self.block.to_be_bytes());
        let mut app = Vec::with_capacity(43);
        app.extend_from_slice(b"LTFS\0");
        app.extend_from_slice(self.volume_uuid.hyphenated().to_string().as_bytes());
        app.push(0);
        app.push(self.version);
        v.extend_from_slice(&(app.len() as u16).to_be_bytes());
        v.extend_from_slice(&app);
        v
    }

    /// Decodes an attribute value; any inconsistency is an error.
    pub fn decode(value: &[u8]) -> Result<Self> {
        let id = ATTR_VOLUME_COHERENCY_INFORMATION;
        let take = |at: usize, n: usize| -> Result<&[u8]> {
            value
                .get(at..at.saturating_add(n))
                .ok_or_else(|| mam_err(id, format!("truncated at byte {at}")))
        };
        let be = |b: &[u8]| b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
        let vcr_len = usize::from(take(0, 1)?[0]);
        if vcr_len == 0 || vcr_len > 8 {
            return Err(mam_err(
                id,
                format!("volume change reference length {vcr_len}"),
            ));
        }
        let mut at = 1;
        let volume_change_reference = be(take(at, vcr_len)?);
        at += vcr_len;
        let generation = be(take(at, 8)?);
        at += 8;
        let block = be(take(at, 8)?);
        at += 8;
        let len_bytes = take(at, 2)?;
        let app_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        at += 2;
        let app = take(at, app_len)?;
        // "LTFS\0" + 36-character UUID + NUL + version byte.
        let rest = app
            .strip_prefix(b"LTFS\0")
            .ok_or_else(|| mam_err(id, "application part does not start with LTFS"))?;
        let (uuid_bytes, tail) = (rest.get(..36), rest.get(36..));
        let (Some(uuid_bytes), Some([0, version, ..])) = (uuid_bytes, tail) else {
            return Err(mam_err(id, "malformed application part"));
        };
        let uuid_text =
            std::str::from_utf8(uuid_bytes).map_err(|_| mam_err(id, "UUID not ASCII"))?;
        let volume_uuid = Uuid::parse_str(uuid_text).map_err(|e| mam_err(id, e.to_string()))?;
        Ok(VolumeCoherency {
            volume_change_reference,
            generation,
            block,
            volume_uuid,
            version: *version,
        })
    }

    /// Reads and decodes the attribute of a partition; `None` when absent.
    pub fn read<D: TapeDevice + ?Sized>(device: &mut D, partition: u8) -> Result<Option<Self>> {
        match device.read_attribute(partition, ATTR_VOLUME_COHERENCY_INFORMATION)? {
            None => Ok(None),
            Some(a) => Self::decode(&a.value).map(Some),
        }
    }

    /// Writes the attribute to a partition.
    pub fn write<D: TapeDevice + ?Sized>(&self, device: &mut D, partition: u8) -> Result<()> {
        device.write_attribute(
            partition,
            &MamAttribute {
                id: ATTR_VOLUME_COHERENCY_INFORMATION,
                format: MamFormat::Binary,
                value: self.encode(),
            },
        )
    }
}

/// An ASCII attribute value: left-aligned, space padded to the attribute's fixed length
/// (SPC-4 7.4.2.4); characters outside printable ASCII become `?`.
pub fn ascii_value(text: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = text
        .bytes()
        .map(|b| if (0x20..=0x7e).contains(&b) { b } else { b'?' })
        .take(len)
        .collect();
    v.resize(len, b' ');
    v
}

/// A TEXT attribute value (UTF-8 here), NUL padded, cut on a character boundary.
pub fn text_value(text: &str, len: usize) -> Vec<u8> {
    let mut end = text.len().min(len);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut v = text.as_bytes()[..end].to_vec();
    v.resize(len, 0);
    v
}

/// The host application attributes LTFS writes (LTFS 2.4 §9.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationAttributes {
    pub vendor: String,
    pub name: String,
    pub version: String,
    pub volume_name: String,
    pub barcode: String,
}

impl ApplicationAttributes {
    /// The attributes as written, with the fixed lengths of SPC-4.
    pub fn to_attributes(&self) -> Vec<MamAttribute> {
        let ascii = |id, text: &str, len| MamAttribute {
            id,
            format: MamFormat::Ascii,
            value: ascii_value(text, len),
        };
        vec![
            ascii(ATTR_APPLICATION_VENDOR, &self.vendor, 8),
            ascii(ATTR_APPLICATION_NAME, &self.name, 32),
            ascii(ATTR_APPLICATION_VERSION, &self.version, 8),
            MamAttribute {
                id: ATTR_USER_MEDIUM_TEXT_LABEL,
                format: MamFormat::Text,
                value: text_value(&self.volume_name, 160),
            },
            ascii(ATTR_BARCODE, &self.barcode, 32),
            ascii(
                ATTR_APPLICATION_FORMAT_VERSION,
                crate::label::LTFS_VERSION,
                16,
            ),
        ]
    }

    /// Writes them to partition 0, where LTFS keeps them.
    pub fn write<D: TapeDevice + ?Sized>(&self, device: &mut D) -> Result<()> {
        for a in self.to_attributes() {
            device.write_attribute(0, &a)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The 0x080C value of the reference sample's data partition.
    const REFERENCE_VCI: &[u8] = b"\x08\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x0f\x00\x2bLTFS\x00f4a0383f-b48d-45b9-96c2-adb0a28f6aa0\x00\x01";

    #[test]
    fn reference_vci_decodes_and_reencodes() {
        let v = VolumeCoherency::decode(REFERENCE_VCI).unwrap();
        assert_eq!(v.volume_change_reference, 2);
        assert_eq!(v.generation, 2);
        assert_eq!(v.block, 15);
        assert_eq!(v.version, 1);
        assert_eq!(
            v.volume_uuid.to_string(),
            "f4a0383f-b48d-45b9-96c2-adb0a28f6aa0"
        );
        assert_eq!(v.encode(), REFERENCE_VCI);
    }

    #[test]
    fn vci_rejects() {
        for n in 0..REFERENCE_VCI.len() {
            assert!(VolumeCoherency::decode(&REFERENCE_VCI[..n]).is_err(), "{n}");
        }
        let mut bad = REFERENCE_VCI.to_vec();
        bad[27] = b'X';
        assert!(VolumeCoherency::decode(&bad).is_err());
        let mut bad = REFERENCE_VCI.to_vec();
        bad[0] = 9;
        assert!(VolumeCoherency::decode(&bad).is_err());
    }

    #[test]
    fn padded_values() {
        assert_eq!(ascii_value("IBM", 8), b"IBM     ");
        assert_eq!(ascii_value("é", 2), b"??");
        assert_eq!(text_value("é", 1), vec![0]);
        let attrs = ApplicationAttributes {
            vendor: "TAPELIB".into(),
            name: "tapelib".into(),
            version: "0.1.0".into(),
            volume_name: "vol".into(),
            barcode: "ABC123".into(),
        }
        .to_attributes();
        assert_eq!(attrs.len(), 6);
        assert!(attrs
            .iter()
            .any(|a| a.id == 0x080B && a.value.starts_with(b"2.4.0 ")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn vci_round_trip(vcr: u64, generation: u64, block: u64, uuid: u128) {
            let v = VolumeCoherency {
                volume_change_reference: vcr,
                generation,
                block,
                volume_uuid: Uuid::from_u128(uuid),
                version: 1,
            };
            prop_assert_eq!(VolumeCoherency::decode(&v.encode()).unwrap(), v);
        }

        #[test]
        fn vci_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = VolumeCoherency::decode(&b);
        }
    }
}
