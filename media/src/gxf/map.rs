//! The MAP packet: material data (name, first/last field, marks, size) and one
//! description per track, each a list of tag/length/value items (big-endian).

use crate::error::{MediaError, Result};

use super::packet;

pub const MAT_FIRST_FIELD: u8 = 0x41;
pub const MAT_LAST_FIELD: u8 = 0x42;
pub const MAT_MARK_IN: u8 = 0x43;
pub const MAT_MARK_OUT: u8 = 0x44;
pub const MAT_SIZE: u8 = 0x45;
pub const TRACK_AUX: u8 = 0x4d;
pub const TRACK_FPS: u8 = 0x50;
pub const TRACK_FPF: u8 = 0x52;

/// One tag/length/value item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub tag: u8,
    pub value: Vec<u8>,
}

/// A track description. `kind` and `id` keep their marker bits (0x80, 0xC0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub kind: u8,
    pub id: u8,
    pub tags: Vec<Tag>,
}

impl Track {
    /// Media type without the marker bit.
    pub fn media_type(&self) -> u8 {
        self.kind & 0x7f
    }

    /// Track number as media packets carry it.
    pub fn number(&self) -> u8 {
        self.id & 0x3f
    }

    pub fn u32_tag(&self, tag: u8) -> Option<u32> {
        u32_of(&self.tags, tag)
    }

    pub fn tag_mut(&mut self, tag: u8) -> Option<&mut Vec<u8>> {
        self.tags
            .iter_mut()
            .find(|t| t.tag == tag)
            .map(|t| &mut t.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map {
    /// Preamble: version 0xE0, then a reserved 0xFF.
    pub preamble: [u8; 2],
    pub material: Vec<Tag>,
    pub tracks: Vec<Track>,
}

fn u32_of(tags: &[Tag], tag: u8) -> Option<u32> {
    tags.iter()
        .find(|t| t.tag == tag)
        .and_then(|t| <[u8; 4]>::try_from(t.value.as_slice()).ok())
        .map(u32::from_be_bytes)
}

fn tags(mut b: &[u8], what: &str) -> Result<Vec<Tag>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let [tag, len, rest @ ..] = b else {
            return Err(MediaError::media(format!(
                "truncated tag in the GXF {what}"
            )));
        };
        let len = usize::from(*len);
        let value = rest.get(..len).ok_or_else(|| {
            MediaError::media(format!("GXF {what} tag {tag:#04x} runs past its section"))
        })?;
        out.push(Tag {
            tag: *tag,
            value: value.to_vec(),
        });
        b = &rest[len..];
    }
    Ok(out)
}

fn section(b: &[u8], what: &str) -> Result<(usize, usize)> {
    let len = b
        .get(..2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        .ok_or_else(|| MediaError::media(format!("truncated GXF {what} section")))?;
    if b.len() < 2 + len {
        return Err(MediaError::media(format!(
            "GXF {what} section of {len} bytes runs past its MAP packet"
        )));
    }
    Ok((2, 2 + len))
}

fn put_tags(out: &mut Vec<u8>, tags: &[Tag]) -> Result<()> {
    for t in tags {
        let len = u8::try_from(t.value.len())
            .map_err(|_| MediaError::media("a GXF MAP tag value longer than 255 bytes"))?;
        out.push(t.tag);
        out.push(len);
        out.extend_from_slice(&t.value);
    }
    Ok(())
}

fn put_section(out: &mut Vec<u8>, body: &[u8]) -> Result<()> {
    let len = u16::try_from(body.len())
        .map_err(|_| MediaError::media("a GXF MAP section longer than 65535 bytes"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}

impl Map {
    /// Decodes a MAP packet's body (after the 16-byte header; trailing padding ignored).
    pub fn decode(body: &[u8]) -> Result<Map> {
        let preamble: [u8; 2] = body
            .get(..2)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| MediaError::media("truncated GXF MAP packet"))?;
        if preamble[0] != 0xe0 {
            return Err(MediaError::media(format!(
                "GXF MAP version {:#04x} (expected 0xe0)",
                preamble[0]
            )));
        }
        let rest = &body[2..];
        let (s, e) = section(rest, "material data")?;
        let material = tags(&rest[s..e], "material data")?;
        let rest = &rest[e..];
        let (s, e) = section(rest, "track description")?;
        let mut t = &rest[s..e];
        let mut tracks = Vec::new();
        while !t.is_empty() {
            let [kind, id, l0, l1, more @ ..] = t else {
                return Err(MediaError::media("truncated GXF track description"));
            };
            let len = usize::from(u16::from_be_bytes([*l0, *l1]));
            let body = more
                .get(..len)
                .ok_or_else(|| MediaError::media("GXF track description runs past its section"))?;
            if kind & 0x80 == 0 || id & 0xc0 != 0xc0 {
                return Err(MediaError::media(format!(
                    "GXF track type {kind:#04x} / id {id:#04x} lack their marker bits"
                )));
            }
            tracks.push(Track {
                kind: *kind,
                id: *id,
                tags: tags(body, "track description")?,
            });
            t = &more[len..];
        }
        Ok(Map {
            preamble,
            material,
            tracks,
        })
    }

    /// The whole MAP packet.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut body = self.preamble.to_vec();
        let mut m = Vec::new();
        put_tags(&mut m, &self.material)?;
        put_section(&mut body, &m)?;
        let mut t = Vec::new();
        for tr in &self.tracks {
            let mut tb = Vec::new();
            put_tags(&mut tb, &tr.tags)?;
            let len = u16::try_from(tb.len())
                .map_err(|_| MediaError::media("a GXF track description too long"))?;
            t.push(tr.kind);
            t.push(tr.id);
            t.extend_from_slice(&len.to_be_bytes());
            t.extend_from_slice(&tb);
        }
        put_section(&mut body, &t)?;
        packet::packet(packet::MAP, &body)
    }

    pub fn material_u32(&self, tag: u8) -> Option<u32> {
        u32_of(&self.material, tag)
    }

    /// Sets a 4-byte material tag, adding it when absent.
    pub fn set_material_u32(&mut self, tag: u8, v: u32) {
        let value = v.to_be_bytes().to_vec();
        match self.material.iter_mut().find(|t| t.tag == tag) {
            Some(t) => t.value = value,
            None => self.material.push(Tag { tag, value }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let mut b = vec![0xe0, 0xff];
        // Material: name "ab", first field 0, last field 200.
        let m: &[u8] = &[
            0x40, 3, b'a', b'b', 0, 0x41, 4, 0, 0, 0, 0, 0x42, 4, 0, 0, 0, 200,
        ];
        b.extend_from_slice(&(m.len() as u16).to_be_bytes());
        b.extend_from_slice(m);
        // One MPEG-2 PAL track (12) and one timecode track (8) with an aux tag.
        let t: &[u8] = &[
            0x8c, 0xc0, 0, 6, 0x50, 4, 0, 0, 0, 6, //
            0x88, 0xc2, 0, 10, 0x4d, 8, 0, 0, 0, 10, 0, 0, 0, 0,
        ];
        b.extend_from_slice(&(t.len() as u16).to_be_bytes());
        b.extend_from_slice(t);
        b
    }

    #[test]
    fn decodes_material_and_tracks() {
        let m = Map::decode(&sample()).unwrap();
        assert_eq!(m.material_u32(MAT_FIRST_FIELD), Some(0));
        assert_eq!(m.material_u32(MAT_LAST_FIELD), Some(200));
        assert_eq!(m.material_u32(MAT_MARK_IN), None);
        assert_eq!(m.tracks.len(), 2);
        assert_eq!((m.tracks[0].media_type(), m.tracks[0].number()), (12, 0));
        assert_eq!(m.tracks[0].u32_tag(TRACK_FPS), Some(6));
        assert_eq!((m.tracks[1].media_type(), m.tracks[1].number()), (8, 2));
        let p = m.encode().unwrap();
        assert_eq!(packet::decode_header(&p).unwrap().kind, packet::MAP);
        assert_eq!(&p[16..16 + sample().len()], sample().as_slice());
        assert_eq!(Map::decode(&p[16..]).unwrap(), m);
    }

    #[test]
    fn refuses_lying_lengths() {
        let good = sample();
        for (i, v) in [
            (0, 0xe1u8),
            (3, 0xff),
            (2, 0x10),
            (5, 40),
            (22, 0x30),
            (24, 0),
            (28, 9),
        ] {
            let mut b = good.clone();
            b[i] = v;
            assert!(Map::decode(&b).is_err(), "byte {i} = {v}");
        }
        for n in 0..good.len() - 1 {
            let _ = Map::decode(&good[..n]);
        }
        assert!(Map::decode(&good[..good.len() - 1]).is_err());
    }

    #[test]
    fn sets_material_values() {
        let mut m = Map::decode(&sample()).unwrap();
        m.set_material_u32(MAT_LAST_FIELD, 50);
        m.set_material_u32(MAT_SIZE, 7);
        assert_eq!(m.material_u32(MAT_LAST_FIELD), Some(50));
        assert_eq!(m.material_u32(MAT_SIZE), Some(7));
    }

    fn tag() -> impl Strategy<Value = Tag> {
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(tag, value)| Tag { tag, value })
    }

    fn map() -> impl Strategy<Value = Map> {
        let track = (
            0x80u8..=0xff,
            0xc0u8..=0xff,
            prop::collection::vec(tag(), 0..5),
        )
            .prop_map(|(kind, id, tags)| Track { kind, id, tags });
        (
            any::<u8>(),
            prop::collection::vec(tag(), 0..6),
            prop::collection::vec(track, 0..5),
        )
            .prop_map(|(r, material, tracks)| Map {
                preamble: [0xe0, r],
                material,
                tracks,
            })
    }

    proptest! {
        #[test]
        fn maps_round_trip(m in map()) {
            let p = m.encode().unwrap();
            prop_assert_eq!(p.len() % 4, 0);
            prop_assert_eq!(Map::decode(&p[16..]).unwrap(), m);
        }

        #[test]
        fn decoder_never_panics(b in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Map::decode(&b);
        }
    }
}
