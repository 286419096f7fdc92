//! Header metadata: finds the clip's timecode and patches durations, the start timecode
//! and package UMIDs in place (all fixed-size fields, so the sets keep their lengths).

use std::collections::HashMap;

use super::klv::{be_u64, local_items, parse_klv_header};
use crate::error::Result;

const TAG_DURATION: u16 = 0x0202;
const TAG_CONTAINER_DURATION: u16 = 0x3002;
const TAG_START_TIMECODE: u16 = 0x1501;
const TAG_ROUNDED_BASE: u16 = 0x1502;
const TAG_DROP_FRAME: u16 = 0x1503;
const TAG_PACKAGE_UID: u16 = 0x4401;
const TAG_SOURCE_PACKAGE_ID: u16 = 0x1101;
const TAG_LINKED_PACKAGE_UID: u16 = 0x2701;
/// TimecodeComponent set key byte 13–14.
const TIMECODE_COMPONENT: [u8; 2] = [0x01, 0x14];

/// The first timecode component (the material package's in OP1a files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClipTimecode {
    pub start: u64,
    pub base: u16,
    pub drop_frame: bool,
}

/// Local sets of `hm`: (value start, value end) of each.
fn sets(hm: &[u8]) -> Result<Vec<([u8; 16], usize, usize)>> {
    let mut out = Vec::new();
    let mut p = 0usize;
    while p + 17 <= hm.len() {
        let klv = parse_klv_header(&hm[p..hm.len().min(p + 25)], p as u64, hm.len() as u64)?;
        let (vs, ve) = (klv.value_offset as usize, klv.end() as usize);
        // Local sets with 2-byte tags and lengths (key byte 5 = 0x53).
        if klv.key[4] == 0x02 && klv.key[5] == 0x53 {
            out.push((klv.key, vs, ve));
        }
        p = ve;
    }
    Ok(out)
}

pub(crate) fn clip_timecode(hm: &[u8]) -> Result<Option<ClipTimecode>> {
    for (key, vs, ve) in sets(hm)? {
        if key[13..15] != TIMECODE_COMPONENT || key[8] != 0x0d {
            continue;
        }
        let v = &hm[vs..ve];
        let mut tc = ClipTimecode {
            start: 0,
            base: 0,
            drop_frame: false,
        };
        for (tag, o, len) in local_items(v)? {
            let b = &v[o..o + len];
            match (tag, len) {
                (TAG_START_TIMECODE, 8) => tc.start = be_u64(b),
                (TAG_ROUNDED_BASE, 2) => tc.base = u16::from_be_bytes([b[0], b[1]]),
                (TAG_DROP_FRAME, 1) => tc.drop_frame = b[0] != 0,
                _ => {}
            }
        }
        return Ok(Some(tc));
    }
    Ok(None)
}

/// What to change in the header metadata of a cut.
pub(crate) struct Patch {
    /// Edit units in the source clip and in the cut.
    pub source_duration: u64,
    pub new_duration: u64,
    /// Timecode frames to add to every StartTimecode.
    pub timecode_shift: u64,
}

fn scaled(old: i64, p: &Patch) -> i64 {
    if old < 0 || p.source_duration == 0 {
        return old;
    }
    // Tracks at the clip's edit rate hold exactly the source duration; others scale.
    let v = (old as u128 * p.new_duration as u128) / p.source_duration as u128;
    v.min(i64::MAX as u128) as i64
}

/// Patches `hm` in place. Package UMIDs get fresh material numbers; references to them
/// follow.
pub(crate) fn patch(hm: &mut [u8], p: &Patch) -> Result<()> {
    let all = sets(hm)?;
    let mut umids: HashMap<[u8; 32], [u8; 32]> = HashMap::new();
    for &(_, vs, ve) in &all {
        let items = local_items(&hm[vs..ve])?;
        for (tag, o, len) in items {
            if tag == TAG_PACKAGE_UID && len == 32 {
                let mut old = [0u8; 32];
                old.copy_from_slice(&hm[vs + o..vs + o + 32]);
                let mut new = old;
                new[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                umids.insert(old, new);
            }
        }
    }
    for &(_, vs, ve) in &all {
        let items = local_items(&hm[vs..ve])?;
        for (tag, o, len) in items {
            let b = &mut hm[vs + o..vs + o + len];
            match (tag, len) {
                (TAG_DURATION | TAG_CONTAINER_DURATION, 8) => {
                    let v = scaled(be_u64(b) as i64, p);
                    b.copy_from_slice(&v.to_be_bytes());
                }
                (TAG_START_TIMECODE, 8) => {
                    let v = be_u64(b).wrapping_add(p.timecode_shift);
                    b.copy_from_slice(&v.to_be_bytes());
                }
                (TAG_PACKAGE_UID | TAG_SOURCE_PACKAGE_ID | TAG_LINKED_PACKAGE_UID, 32) => {
                    let mut old = [0u8; 32];
                    old.copy_from_slice(b);
                    if let Some(new) = umids.get(&old) {
                        b.copy_from_slice(new);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
