//! The UMF packet (little-endian apart from its preamble): payload description, material
//! description (durations, marks, timecodes at the marks), track list and one media
//! description per track.

use crate::error::{MediaError, Result};

use super::packet;

const PAYLOAD: usize = 48;
/// The material description holds 56 bytes (the payload description's offsets say so).
const MATERIAL: usize = 56;
/// Fixed part of a media description before its codec-specific bytes.
const MEDIA_FIXED: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    pub flags: u32,
    pub longest: u32,
    pub shortest: u32,
    pub mark_in: u32,
    pub mark_out: u32,
    /// GXF timecodes (`hh<<24 | mm<<16 | ss<<8 | fields`, bit 29 drop-frame, 31 invalid).
    pub timecode_in: u32,
    pub timecode_out: u32,
    /// Modification and creation times, track counts and reserved words, kept as they are.
    pub rest: [u8; 28],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media_info: u16,
    pub reserved: u32,
    pub field_count: u32,
    pub attributes: u32,
    pub mark_in: u32,
    pub mark_out: u32,
    /// Name, track type, sample rate and size, codec-specific words.
    pub rest: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Umf {
    /// Packet sequence flags (3: first and last packet).
    pub sequence: u8,
    pub version: u32,
    pub track_count: u32,
    pub material: Material,
    /// Track section, kept as it is.
    pub tracks: Vec<u8>,
    pub media: Vec<MediaDescription>,
    pub user_data: Vec<u8>,
    pub reserved: [u32; 2],
}

fn le(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)
        .map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
}

fn region(data: &[u8], off: u32, len: u32, what: &str) -> Result<Vec<u8>> {
    let (off, len) = (off as usize, len as usize);
    off.checked_add(len)
        .and_then(|end| data.get(off..end))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            MediaError::media(format!(
                "GXF UMF {what} ({len} bytes at {off}) runs past the UMF data ({} bytes)",
                data.len()
            ))
        })
}

impl Umf {
    /// Decodes a UMF packet's body (after the 16-byte header).
    pub fn decode(body: &[u8]) -> Result<Umf> {
        let bad = |m: &str| MediaError::media(format!("GXF UMF packet: {m}"));
        let (&sequence, len) = match body {
            [s, a, b, c, d, ..] => (s, u32::from_be_bytes([*a, *b, *c, *d]) as usize),
            _ => return Err(bad("truncated preamble")),
        };
        let data = body
            .get(5..5usize.saturating_add(len))
            .ok_or_else(|| bad("data length runs past the packet"))?;
        if data.len() < PAYLOAD + MATERIAL {
            return Err(bad("shorter than its payload and material descriptions"));
        }
        let w = |i: usize| le(data, 4 * i).unwrap_or(0);
        let m = |i: usize| le(data, PAYLOAD + 4 * i).unwrap_or(0);
        let material = Material {
            flags: m(0),
            longest: m(1),
            shortest: m(2),
            mark_in: m(3),
            mark_out: m(4),
            timecode_in: m(5),
            timecode_out: m(6),
            rest: data[PAYLOAD + 28..PAYLOAD + MATERIAL]
                .try_into()
                .map_err(|_| bad("material description"))?,
        };
        let tracks = region(data, w(3), w(4), "track section")?;
        let media_bytes = region(data, w(6), w(7), "media section")?;
        let mut media = Vec::new();
        let mut at = 0usize;
        for _ in 0..w(5) {
            let len = media_bytes
                .get(at..at + 2)
                .map(|l| usize::from(u16::from_le_bytes([l[0], l[1]])))
                .ok_or_else(|| bad("media description runs past the media section"))?;
            let d = media_bytes
                .get(at..at + len)
                .filter(|_| len >= MEDIA_FIXED)
                .ok_or_else(|| bad("media description length lies"))?;
            let u = |i: usize| le(d, i).unwrap_or(0);
            media.push(MediaDescription {
                media_info: u16::from_le_bytes([d[2], d[3]]),
                reserved: u(4),
                field_count: u(8),
                attributes: u(12),
                mark_in: u(16),
                mark_out: u(20),
                rest: d[MEDIA_FIXED..].to_vec(),
            });
            at += len;
        }
        let user_data = if w(9) == 0 {
            Vec::new()
        } else {
            region(data, w(8), w(9), "user data")?
        };
        Ok(Umf {
            sequence,
            version: w(1),
            track_count: w(2),
            material,
            tracks,
            media,
            user_data,
            reserved: [w(10), w(11)],
        })
    }

    /// The whole UMF packet: payload description, material, tracks, media descriptions
    /// and user data laid out back to back.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut media = Vec::new();
        for d in &self.media {
            let len = u16::try_from(MEDIA_FIXED + d.rest.len())
                .map_err(|_| MediaError::media("a GXF media description too long"))?;
            media.extend_from_slice(&len.to_le_bytes());
            media.extend_from_slice(&d.media_info.to_le_bytes());
            for v in [
                d.reserved,
                d.field_count,
                d.attributes,
                d.mark_in,
                d.mark_out,
            ] {
                media.extend_from_slice(&v.to_le_bytes());
            }
            media.extend_from_slice(&d.rest);
        }
        let track_off = PAYLOAD + MATERIAL;
        let media_off = track_off + self.tracks.len();
        let user_off = media_off + media.len();
        let total = user_off + self.user_data.len();
        let total32 = u32::try_from(total)
            .ok()
            .filter(|&t| t < packet::MAX_PACKET)
            .ok_or_else(|| MediaError::media("GXF UMF data too long"))?;
        let mut data = Vec::with_capacity(total);
        let user_at = if self.user_data.is_empty() {
            total32
        } else {
            user_off as u32
        };
        for v in [
            total32,
            self.version,
            self.track_count,
            track_off as u32,
            self.tracks.len() as u32,
            self.media.len() as u32,
            media_off as u32,
            media.len() as u32,
            user_at,
            self.user_data.len() as u32,
            self.reserved[0],
            self.reserved[1],
        ] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let m = &self.material;
        for v in [
            m.flags,
            m.longest,
            m.shortest,
            m.mark_in,
            m.mark_out,
            m.timecode_in,
            m.timecode_out,
        ] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&m.rest);
        data.extend_from_slice(&self.tracks);
        data.extend_from_slice(&media);
        data.extend_from_slice(&self.user_data);
        let mut body = vec![self.sequence];
        body.extend_from_slice(&total32.to_be_bytes());
        body.extend_from_slice(&data);
        packet::packet(packet::UMF, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Umf {
        Umf {
            sequence: 3,
            version: 3,
            track_count: 2,
            material: Material {
                flags: 0x0428_8040,
                longest: 200,
                shortest: 200,
                mark_in: 0,
                mark_out: 200,
                timecode_in: 0x0a00_0000,
                timecode_out: 0x0a00_0400,
                rest: [0; 28],
            },
            tracks: vec![0x30, 0x4d, 1, 0, 0x30, 0x54, 1, 0],
            media: vec![
                MediaDescription {
                    media_info: 0x4d30,
                    reserved: 0,
                    field_count: 200,
                    attributes: 0,
                    mark_in: 0,
                    mark_out: 200,
                    rest: vec![7; 136],
                },
                MediaDescription {
                    media_info: 0x5430,
                    reserved: 0,
                    field_count: 200,
                    attributes: 0,
                    mark_in: 0,
                    mark_out: 200,
                    rest: vec![9; 136],
                },
            ],
            user_data: Vec::new(),
            reserved: [0, 0],
        }
    }

    #[test]
    fn encodes_the_layout_readers_expect() {
        let p = sample().encode().unwrap();
        let body = &p[16..];
        assert_eq!(body[0], 3);
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]);
        assert_eq!(len as usize, 48 + 56 + 8 + 2 * 160);
        let data = &body[5..];
        // Track section after the payload and material descriptions, then the media.
        assert_eq!(le(data, 12), Some(104));
        assert_eq!(le(data, 24), Some(112));
        assert_eq!(le(data, 28), Some(320));
        // Timecode at mark in where readers look for it: 5 + 48 + 4 + 16 bytes in.
        assert_eq!(le(body, 5 + 48 + 20), Some(0x0a00_0000));
        assert_eq!(u16::from_le_bytes([data[112], data[113]]), 160);
        assert_eq!(le(data, 112 + 8), Some(200));
        assert_eq!(Umf::decode(body).unwrap(), sample());
    }

    #[test]
    fn refuses_lying_offsets_and_lengths() {
        let p = sample().encode().unwrap();
        let body = &p[16..];
        assert!(Umf::decode(&body[..100]).is_err());
        for (at, v) in [
            (1usize, 0xffu8),
            (5 + 13, 0xff),
            (5 + 17, 0xf0),
            (5 + 20, 9),
            (5 + 112, 5),
            (5 + 112, 0xff),
        ] {
            let mut b = body.to_vec();
            b[at] = v;
            assert!(Umf::decode(&b).is_err(), "byte {at} = {v}");
        }
    }

    fn umf() -> impl Strategy<Value = Umf> {
        let media = (
            any::<u16>(),
            prop::array::uniform5(any::<u32>()),
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(media_info, w, rest)| MediaDescription {
                media_info,
                reserved: w[0],
                field_count: w[1],
                attributes: w[2],
                mark_in: w[3],
                mark_out: w[4],
                rest,
            });
        (
            any::<u8>(),
            prop::array::uniform4(any::<u32>()),
            prop::array::uniform7(any::<u32>()),
            prop::collection::vec(any::<u8>(), 0..24),
            prop::collection::vec(media, 0..4),
            prop::collection::vec(any::<u8>(), 0..16),
        )
            .prop_map(|(sequence, w, m, tracks, media, user_data)| Umf {
                sequence,
                version: w[0],
                track_count: w[1],
                material: Material {
                    flags: m[0],
                    longest: m[1],
                    shortest: m[2],
                    mark_in: m[3],
                    mark_out: m[4],
                    timecode_in: m[5],
                    timecode_out: m[6],
                    rest: [w[2] as u8; 28],
                },
                tracks,
                media,
                user_data,
                reserved: [w[2], w[3]],
            })
    }

    proptest! {
        #[test]
        fn umfs_round_trip(u in umf()) {
            let p = u.encode().unwrap();
            prop_assert_eq!(p.len() % 4, 0);
            prop_assert_eq!(Umf::decode(&p[16..]).unwrap(), u);
        }

        #[test]
        fn decoder_never_panics(b in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Umf::decode(&b);
        }
    }
}
