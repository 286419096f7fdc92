//! GXF packet headers and media packet preambles (SMPTE ST 360, big-endian).

use crate::error::{MediaError, Result};

/// Header length of every packet.
pub const HEADER: usize = 16;
/// Media packet preamble length, right after the header.
pub const PREAMBLE: usize = 16;
/// Packet lengths are below 2^24 (readers refuse larger ones as lost sync).
pub const MAX_PACKET: u32 = 1 << 24;

pub const MAP: u8 = 0xbc;
pub const MEDIA: u8 = 0xbf;
pub const EOS: u8 = 0xfb;
pub const FLT: u8 = 0xfc;
pub const UMF: u8 = 0xfd;

/// A packet header: its type and total length (header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketHeader {
    pub kind: u8,
    pub len: u32,
}

/// Decodes a 16-byte packet header: leader `00 00 00 00 01`, type, length, four zero bytes,
/// trailer `E1 E2`.
pub fn decode_header(b: &[u8]) -> Result<PacketHeader> {
    let b: &[u8; HEADER] = b
        .get(..HEADER)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| MediaError::media("truncated GXF packet header"))?;
    if b[..5] != [0, 0, 0, 0, 1] || b[10..14] != [0, 0, 0, 0] || b[14..] != [0xe1, 0xe2] {
        return Err(MediaError::media(
            "lost GXF packet sync (bad packet header)",
        ));
    }
    let len = u32::from_be_bytes([b[6], b[7], b[8], b[9]]);
    if !(HEADER as u32..MAX_PACKET).contains(&len) {
        return Err(MediaError::media(format!(
            "GXF packet of type {:#04x} claims {len} bytes",
            b[5]
        )));
    }
    Ok(PacketHeader { kind: b[5], len })
}

pub fn encode_header(h: PacketHeader) -> [u8; HEADER] {
    let mut b = [0u8; HEADER];
    b[4] = 1;
    b[5] = h.kind;
    b[6..10].copy_from_slice(&h.len.to_be_bytes());
    b[14] = 0xe1;
    b[15] = 0xe2;
    b
}

/// Wraps a packet body: header, body, zero padding to a multiple of four bytes.
pub fn packet(kind: u8, body: &[u8]) -> Result<Vec<u8>> {
    let len = (HEADER + body.len()).next_multiple_of(4);
    if len >= MAX_PACKET as usize {
        return Err(MediaError::media(format!(
            "a GXF packet of {len} bytes is too long"
        )));
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&encode_header(PacketHeader {
        kind,
        len: len as u32,
    }));
    out.extend_from_slice(body);
    out.resize(len, 0);
    Ok(out)
}

/// The preamble of a media packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    pub media_type: u8,
    pub track: u8,
    pub field: u32,
    /// MPEG: picture type in the top byte (0x0d I, 0x0e P, 0x0f B), size below; audio:
    /// first sample in the top 16 bits, last sample (exclusive) below.
    pub info: u32,
    pub timeline: u32,
    pub flags: u8,
    pub reserved: u8,
}

pub const PICTURE_I: u8 = 0x0d;
pub const PICTURE_B: u8 = 0x0f;

impl Preamble {
    pub fn decode(b: &[u8]) -> Result<Preamble> {
        let b: &[u8; PREAMBLE] = b
            .get(..PREAMBLE)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| MediaError::media("truncated GXF media packet preamble"))?;
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(Preamble {
            media_type: b[0],
            track: b[1],
            field: u32_at(2),
            info: u32_at(6),
            timeline: u32_at(10),
            flags: b[14],
            reserved: b[15],
        })
    }

    pub fn encode(&self) -> [u8; PREAMBLE] {
        let mut b = [0u8; PREAMBLE];
        b[0] = self.media_type;
        b[1] = self.track;
        b[2..6].copy_from_slice(&self.field.to_be_bytes());
        b[6..10].copy_from_slice(&self.info.to_be_bytes());
        b[10..14].copy_from_slice(&self.timeline.to_be_bytes());
        b[14] = self.flags;
        b[15] = self.reserved;
        b
    }

    /// The MPEG picture type byte of a video packet.
    pub fn picture_type(&self) -> u8 {
        (self.info >> 24) as u8
    }

    /// Audio samples `[first, last)` of the packet.
    pub fn samples(&self) -> (u32, u32) {
        (self.info >> 16, self.info & 0xffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_a_map_header() {
        let b = [0, 0, 0, 0, 1, 0xbc, 0, 0, 1, 0x58, 0, 0, 0, 0, 0xe1, 0xe2];
        assert_eq!(
            decode_header(&b).unwrap(),
            PacketHeader {
                kind: MAP,
                len: 344
            }
        );
        assert_eq!(encode_header(decode_header(&b).unwrap()), b);
    }

    #[test]
    fn refuses_bad_headers() {
        let good = encode_header(PacketHeader { kind: EOS, len: 16 });
        assert!(decode_header(&good[..15]).is_err());
        for (i, v) in [(0, 1u8), (4, 0), (9, 15), (12, 1), (15, 0xe3), (6, 1)] {
            let mut b = good;
            b[i] = v;
            assert!(decode_header(&b).is_err(), "byte {i} = {v}");
        }
    }

    #[test]
    fn media_preamble_fields() {
        let b = [10, 1, 0, 0, 0, 35, 0, 0, 0x80, 0, 0, 0, 0, 35, 1, 0];
        let p = Preamble::decode(&b).unwrap();
        assert_eq!(
            (p.media_type, p.track, p.field, p.timeline),
            (10, 1, 35, 35)
        );
        assert_eq!(p.samples(), (0, 32768));
        assert_eq!(p.encode(), b);
        assert!(Preamble::decode(&b[..15]).is_err());
    }

    #[test]
    fn packets_are_padded_to_four_bytes() {
        let p = packet(UMF, &[1, 2, 3, 4, 5]).unwrap();
        assert_eq!(p.len(), 24);
        assert_eq!(decode_header(&p).unwrap().len, 24);
        assert_eq!(&p[16..], &[1, 2, 3, 4, 5, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn headers_round_trip(kind in any::<u8>(), len in 16u32..MAX_PACKET) {
            let h = PacketHeader { kind, len };
            prop_assert_eq!(decode_header(&encode_header(h)).unwrap(), h);
        }

        #[test]
        fn preambles_round_trip(b in prop::array::uniform16(any::<u8>())) {
            let p = Preamble::decode(&b).unwrap();
            prop_assert_eq!(p.encode(), b);
            prop_assert_eq!(Preamble::decode(&p.encode()).unwrap(), p);
        }

        #[test]
        fn header_decoder_never_panics(b in prop::collection::vec(any::<u8>(), 0..20)) {
            let _ = decode_header(&b);
        }
    }
}
