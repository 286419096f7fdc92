//! The field locator table (FLT, little-endian): every `fields_per_entry` fields, the
//! offset / 1024 of the video packet holding that field.

use crate::error::{MediaError, Result};

use super::packet;

/// Entry slots in an FLT packet.
pub const SLOTS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flt {
    pub fields_per_entry: u32,
    pub entries: Vec<u32>,
}

impl Flt {
    /// Decodes an FLT packet's body.
    pub fn decode(body: &[u8]) -> Result<Flt> {
        let le = |i: usize| -> Option<u32> {
            body.get(i..i + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let (Some(fields_per_entry), Some(count)) = (le(0), le(4)) else {
            return Err(MediaError::media("truncated GXF field locator table"));
        };
        if count as usize > SLOTS {
            return Err(MediaError::media(format!(
                "GXF field locator table claims {count} entries (at most {SLOTS})"
            )));
        }
        if fields_per_entry == 0 && count > 0 {
            return Err(MediaError::media(
                "GXF field locator table has 0 fields per entry",
            ));
        }
        let entries = (0..count as usize)
            .map(|i| le(8 + 4 * i))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| {
                MediaError::media(format!(
                    "GXF field locator table of {count} entries runs past its packet"
                ))
            })?;
        Ok(Flt {
            fields_per_entry,
            entries,
        })
    }

    /// The whole FLT packet, unused slots zero.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.entries.len() > SLOTS {
            return Err(MediaError::media(format!(
                "{} field locator entries do not fit a GXF FLT packet",
                self.entries.len()
            )));
        }
        let mut body = Vec::with_capacity(8 + 4 * SLOTS);
        body.extend_from_slice(&self.fields_per_entry.to_le_bytes());
        body.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            body.extend_from_slice(&e.to_le_bytes());
        }
        body.resize(8 + 4 * SLOTS, 0);
        packet::packet(packet::FLT, &body)
    }

    /// A table for a clip of `fields` fields, as SMPTE 360 readers (and ffmpeg) expect:
    /// the fewest fields per entry that fit 1000 entries; `offset_of(field)` is the byte
    /// offset of the video packet holding that field.
    pub fn build(fields: u32, mut offset_of: impl FnMut(u32) -> u64) -> Flt {
        let fields_per_entry = ((u64::from(fields) + 1) / SLOTS as u64 + 1) as u32;
        let count = fields / fields_per_entry;
        Flt {
            fields_per_entry,
            entries: (0..count)
                .map(|i| (offset_of(i * fields_per_entry) / 1024) as u32)
                .collect(),
        }
    }

    /// Byte offset (a multiple of 1024) at or before which the video packet holding
    /// `field` starts, counted from the clip's first field; None without entries.
    pub fn locate(&self, field: u64) -> Option<u64> {
        let i = (field / u64::from(self.fields_per_entry.max(1))) as usize;
        let e = self
            .entries
            .get(i.min(self.entries.len().checked_sub(1)?))?;
        Some(u64::from(*e) * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_entries_and_refuses_lies() {
        let mut b = vec![1, 0, 0, 0, 3, 0, 0, 0];
        for e in [4u32, 68, 94] {
            b.extend_from_slice(&e.to_le_bytes());
        }
        let f = Flt::decode(&b).unwrap();
        assert_eq!(f.fields_per_entry, 1);
        assert_eq!(f.entries, vec![4, 68, 94]);
        assert_eq!(f.locate(1), Some(68 * 1024));
        assert_eq!(f.locate(50), Some(94 * 1024));
        assert!(Flt::decode(&b[..19]).is_err());
        assert!(Flt::decode(&b[..7]).is_err());
        let mut many = b.clone();
        many[4..8].copy_from_slice(&1001u32.to_le_bytes());
        assert!(Flt::decode(&many).is_err());
        let mut zero = b.clone();
        zero[0] = 0;
        assert!(Flt::decode(&zero).is_err());
        let p = f.encode().unwrap();
        assert_eq!(p.len(), 16 + 8 + 4000);
        assert_eq!(&p[16..16 + b.len()], b.as_slice());
    }

    #[test]
    fn built_tables_follow_the_field_count() {
        // 200 fields: one field per entry, 200 entries.
        let f = Flt::build(200, |field| u64::from(field) * 2048);
        assert_eq!((f.fields_per_entry, f.entries.len()), (1, 200));
        assert_eq!(f.entries[3], 6);
        // 5000 fields: 6 per entry.
        let f = Flt::build(5000, |field| u64::from(field) * 1024);
        assert_eq!((f.fields_per_entry, f.entries.len()), (6, 833));
        assert_eq!(f.entries[10], 60);
        assert!(f.entries.len() <= SLOTS);
        assert_eq!(Flt::build(0, |_| 0).locate(0), None);
    }

    proptest! {
        #[test]
        fn tables_round_trip(fpe in 1u32..100, entries in prop::collection::vec(any::<u32>(), 0..SLOTS)) {
            let f = Flt { fields_per_entry: fpe, entries };
            let p = f.encode().unwrap();
            prop_assert_eq!(Flt::decode(&p[16..]).unwrap(), f);
        }

        #[test]
        fn built_tables_fit(fields in prop_oneof![0u32..10_000_000, Just(u32::MAX)]) {
            let f = Flt::build(fields, u64::from);
            prop_assert!(f.entries.len() <= SLOTS);
            prop_assert!(f.encode().is_ok());
        }

        #[test]
        fn decoder_never_panics(b in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Flt::decode(&b);
        }
    }
}
