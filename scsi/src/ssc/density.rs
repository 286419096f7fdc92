//! REPORT DENSITY SUPPORT data (SSC-4 7.8): density support and medium type descriptors.

use crate::decode::{ascii_trimmed, be16, be24, be32, slice, DecodeError};

/// Density codes of LTO generations.
pub const DENSITY_LTO5: u8 = 0x58;
pub const DENSITY_LTO6: u8 = 0x5a;
pub const DENSITY_LTO7: u8 = 0x5c;
pub const DENSITY_LTO7_M8: u8 = 0x5d;
pub const DENSITY_LTO8: u8 = 0x5e;
pub const DENSITY_LTO9: u8 = 0x60;

/// LTO generation of a density code (LTO-7 type M8 counts as generation 7), `None` for codes
/// tapelib does not know.
pub fn lto_generation(density: u8) -> Option<u8> {
    match density {
        DENSITY_LTO5 => Some(5),
        DENSITY_LTO6 => Some(6),
        DENSITY_LTO7 | DENSITY_LTO7_M8 => Some(7),
        DENSITY_LTO8 => Some(8),
        DENSITY_LTO9 => Some(9),
        _ => None,
    }
}

/// One density support descriptor (SSC-4 7.8.2), 52 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DensityDescriptor {
    pub primary_density_code: u8,
    pub secondary_density_code: u8,
    /// The drive can write this density.
    pub wrtok: bool,
    /// Duplicate of another descriptor.
    pub dup: bool,
    /// The drive's default density.
    pub deflt: bool,
    pub bits_per_mm: u32,
    /// Media width in tenths of millimetres.
    pub media_width: u16,
    pub tracks: u16,
    /// Capacity in megabytes (10^6 bytes).
    pub capacity_mb: u32,
    pub assigning_organization: String,
    pub density_name: String,
    pub description: String,
}

const DENSITY_DESCRIPTOR_LEN: usize = 52;

impl DensityDescriptor {
    fn decode(b: &[u8]) -> Result<DensityDescriptor, DecodeError> {
        let b = slice(b, 0, DENSITY_DESCRIPTOR_LEN, "density support descriptor")?;
        Ok(DensityDescriptor {
            primary_density_code: b[0],
            secondary_density_code: b[1],
            wrtok: b[2] & 0x80 != 0,
            dup: b[2] & 0x40 != 0,
            deflt: b[2] & 0x20 != 0,
            bits_per_mm: be24(b, 5, "bits per mm")?,
            media_width: be16(b, 8, "media width")?,
            tracks: be16(b, 10, "tracks")?,
            capacity_mb: be32(b, 12, "capacity")?,
            assigning_organization: ascii_trimmed(&b[16..24]),
            density_name: ascii_trimmed(&b[24..32]),
            description: ascii_trimmed(&b[32..52]),
        })
    }

    pub fn encode(&self) -> [u8; 52] {
        let mut b = [0u8; 52];
        b[0] = self.primary_density_code;
        b[1] = self.secondary_density_code;
        // DLV stays 0: the descriptor has the fixed 52-byte layout.
        b[2] =
            (u8::from(self.wrtok) << 7) | (u8::from(self.dup) << 6) | (u8::from(self.deflt) << 5);
        b[5..8].copy_from_slice(&self.bits_per_mm.to_be_bytes()[1..]);
        b[8..10].copy_from_slice(&self.media_width.to_be_bytes());
        b[10..12].copy_from_slice(&self.tracks.to_be_bytes());
        b[12..16].copy_from_slice(&self.capacity_mb.to_be_bytes());
        crate::spc::inquiry::put_ascii(&mut b[16..24], &self.assigning_organization);
        crate::spc::inquiry::put_ascii(&mut b[24..32], &self.density_name);
        crate::spc::inquiry::put_ascii(&mut b[32..52], &self.description);
        b
    }
}

/// One medium type descriptor (SSC-4 7.8.3), 56 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediumTypeDescriptor {
    pub medium_type: u8,
    pub primary_density_codes: Vec<u8>,
    pub media_width: u16,
    /// Medium length in metres.
    pub medium_length: u16,
    pub assigning_organization: String,
    pub medium_type_name: String,
    pub description: String,
}

const MEDIUM_TYPE_DESCRIPTOR_LEN: usize = 56;

impl MediumTypeDescriptor {
    fn decode(b: &[u8]) -> Result<MediumTypeDescriptor, DecodeError> {
        let b = slice(b, 0, MEDIUM_TYPE_DESCRIPTOR_LEN, "medium type descriptor")?;
        let n = usize::from(b[4]).min(9);
        Ok(MediumTypeDescriptor {
            medium_type: b[0],
            primary_density_codes: b[5..5 + n].to_vec(),
            media_width: be16(b, 14, "media width")?,
            medium_length: be16(b, 16, "medium length")?,
            assigning_organization: ascii_trimmed(&b[20..28]),
            medium_type_name: ascii_trimmed(&b[28..36]),
            description: ascii_trimmed(&b[36..56]),
        })
    }
}

/// REPORT DENSITY SUPPORT response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DensitySupport {
    Densities(Vec<DensityDescriptor>),
    MediumTypes(Vec<MediumTypeDescriptor>),
}

/// Decode density support data (`medium_type` = false) or medium type data. Only complete
/// descriptors are returned.
pub fn decode_density_support(
    buf: &[u8],
    medium_type: bool,
) -> Result<DensitySupport, DecodeError> {
    let len = be16(buf, 0, "density support header")? as usize;
    slice(buf, 0, 4, "density support header")?;
    let body = &buf[4..buf.len().min(2 + len).max(4)];
    if medium_type {
        Ok(DensitySupport::MediumTypes(
            body.chunks_exact(MEDIUM_TYPE_DESCRIPTOR_LEN)
                .map(MediumTypeDescriptor::decode)
                .collect::<Result<_, _>>()?,
        ))
    } else {
        Ok(DensitySupport::Densities(
            body.chunks_exact(DENSITY_DESCRIPTOR_LEN)
                .map(DensityDescriptor::decode)
                .collect::<Result<_, _>>()?,
        ))
    }
}

/// Encode density support data (simulator, tests).
pub fn encode_density_support(descs: &[DensityDescriptor]) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    for d in descs {
        out.extend_from_slice(&d.encode());
    }
    let n = ((out.len() - 2) as u16).to_be_bytes();
    out[0] = n[0];
    out[1] = n[1];
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lto8() -> DensityDescriptor {
        DensityDescriptor {
            primary_density_code: 0x5e,
            secondary_density_code: 0x5e,
            wrtok: true,
            dup: false,
            deflt: true,
            bits_per_mm: 20668,
            media_width: 127,
            tracks: 6656,
            capacity_mb: 12_000_000,
            assigning_organization: "LTO-CVE".into(),
            density_name: "U-832".into(),
            description: "Ultrium 8/16T".into(),
        }
    }

    #[test]
    fn density_descriptors() {
        let mut lto7 = lto8();
        lto7.primary_density_code = 0x5c;
        lto7.secondary_density_code = 0x5c;
        lto7.deflt = false;
        let b = encode_density_support(&[lto8(), lto7.clone()]);
        assert_eq!(b.len(), 4 + 104);
        match decode_density_support(&b, false).unwrap() {
            DensitySupport::Densities(d) => {
                assert_eq!(d, vec![lto8(), lto7]);
                assert_eq!(lto_generation(d[0].primary_density_code), Some(8));
            }
            _ => panic!(),
        }
        // Truncated second descriptor is dropped.
        match decode_density_support(&b[..80], false).unwrap() {
            DensitySupport::Densities(d) => assert_eq!(d.len(), 1),
            _ => panic!(),
        }
    }

    #[test]
    fn medium_type_descriptor() {
        let mut d = vec![0u8; 56];
        d[0] = 0x18;
        d[4] = 2;
        d[5] = 0x5e;
        d[6] = 0x5c;
        d[14..16].copy_from_slice(&127u16.to_be_bytes());
        d[16..18].copy_from_slice(&960u16.to_be_bytes());
        d[20..28].copy_from_slice(b"LTO-CVE ");
        d[28..36].copy_from_slice(b"Ultrium8");
        let mut b = vec![0, 58, 0, 0];
        b.extend_from_slice(&d);
        match decode_density_support(&b, true).unwrap() {
            DensitySupport::MediumTypes(m) => {
                assert_eq!(m[0].primary_density_codes, vec![0x5e, 0x5c]);
                assert_eq!(m[0].medium_length, 960);
                assert_eq!(m[0].medium_type_name, "Ultrium8");
            }
            _ => panic!(),
        }
    }

    #[test]
    fn generations() {
        assert_eq!(lto_generation(0x58), Some(5));
        assert_eq!(lto_generation(0x5a), Some(6));
        assert_eq!(lto_generation(0x5d), Some(7));
        assert_eq!(lto_generation(0x60), Some(9));
        assert_eq!(lto_generation(0x42), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200), mt: bool) {
            let _ = decode_density_support(&b, mt);
        }
    }
}
