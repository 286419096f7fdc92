//! DPX (SMPTE ST 268) headers and image sequences named `name.0001234.dpx`.

use std::collections::BTreeMap;

use crate::error::{MediaError, Result};
use crate::timecode::Timecode;

/// What a DPX header says about its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpxHeader {
    pub big_endian: bool,
    pub image_data_offset: u32,
    /// File size recorded in the header.
    pub file_size: u32,
    pub width: u32,
    pub height: u32,
    /// The TV header's timecode, when the header has one that is set.
    pub timecode: Option<Timecode>,
}

const TV_TIMECODE: usize = 1920;
/// Fixed part needed to read the generic and image headers.
const MIN_HEADER: usize = 780;

/// Parses a DPX header from the first bytes of a file (2048 suffice) and checks it
/// against the file's real length.
pub fn parse_header(head: &[u8], actual_len: u64) -> Result<DpxHeader> {
    if head.len() < MIN_HEADER {
        return Err(MediaError::media(format!(
            "DPX header needs {MIN_HEADER} bytes, the file has {}",
            head.len()
        )));
    }
    let big_endian = match &head[..4] {
        b"SDPX" => true,
        b"XPDS" => false,
        m => {
            return Err(MediaError::media(format!(
                "not a DPX file (magic {:02x?})",
                m
            )))
        }
    };
    let u32_at = |o: usize| -> u32 {
        let b = [head[o], head[o + 1], head[o + 2], head[o + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let image_data_offset = u32_at(4);
    let file_size = u32_at(16);
    let generic = u32_at(24);
    let industry = u32_at(28);
    if image_data_offset < 768 || u64::from(image_data_offset) > actual_len {
        return Err(MediaError::media(format!(
            "DPX image data offset {image_data_offset} is outside the file of {actual_len} bytes"
        )));
    }
    if u64::from(file_size) != actual_len {
        return Err(MediaError::media(format!(
            "DPX header says {file_size} bytes, the file has {actual_len}"
        )));
    }
    let width = u32_at(772);
    let height = u32_at(776);
    // The TV header is present when the headers reach past it.
    let has_tv = u64::from(generic) + u64::from(industry) >= (TV_TIMECODE + 4) as u64
        && image_data_offset as usize >= TV_TIMECODE + 4
        && head.len() >= TV_TIMECODE + 4;
    let timecode = if has_tv {
        decode_bcd_timecode(u32_at(TV_TIMECODE))
    } else {
        None
    };
    Ok(DpxHeader {
        big_endian,
        image_data_offset,
        file_size,
        width,
        height,
        timecode,
    })
}

/// A packed BCD `hhmmssff` timecode; None when unset (all ones) or not valid BCD.
pub fn decode_bcd_timecode(v: u32) -> Option<Timecode> {
    if v == u32::MAX {
        return None;
    }
    let digit = |shift: u32| -> Option<u8> {
        let d = ((v >> shift) & 0xf) as u8;
        (d <= 9).then_some(d)
    };
    let pair = |hi: u32| -> Option<u8> { Some(digit(hi)? * 10 + digit(hi - 4)?) };
    let tc = Timecode {
        hours: pair(28)?,
        minutes: pair(20)?,
        seconds: pair(12)?,
        frames: pair(4)?,
        drop_frame: false,
    };
    (tc.hours < 24 && tc.minutes < 60 && tc.seconds < 60).then_some(tc)
}

/// Packs a timecode as BCD `hhmmssff`.
pub fn encode_bcd_timecode(tc: Timecode) -> u32 {
    let bcd = |v: u8| u32::from(v / 10) << 4 | u32::from(v % 10);
    bcd(tc.hours) << 24 | bcd(tc.minutes) << 16 | bcd(tc.seconds) << 8 | bcd(tc.frames)
}

/// The frame number in a sequence file name `name.0001234.dpx` (digits before the
/// extension, after a '.' or '_'); None for other names.
pub fn frame_number(path: &str) -> Option<u64> {
    let file = path.rsplit('/').next()?;
    let stem = file
        .strip_suffix(".dpx")
        .or_else(|| file.strip_suffix(".DPX"))?;
    let digits_start = stem
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i)?;
    let digits = &stem[digits_start..];
    if digits.len() > 18 {
        return None;
    }
    digits.parse().ok()
}

/// The frames a range selects from a sequence, and what is odd about the sequence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DpxSelection {
    /// Selected files, by frame number then name.
    pub files: Vec<(u64, String)>,
    /// Frame numbers inside the range with no file.
    pub gaps: Vec<u64>,
    /// Frame numbers held by more than one file (all of them are selected).
    pub duplicates: Vec<u64>,
}

/// Selects the files whose frame numbers lie in `[begin, end]` (inclusive) from `paths`;
/// names without a frame number are ignored. A range selecting nothing, or reversed, is
/// refused.
pub fn select_frames<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    begin: u64,
    end: u64,
) -> Result<DpxSelection> {
    if end < begin {
        return Err(MediaError::request(format!(
            "DPX range {begin}-{end} is reversed"
        )));
    }
    let mut by_frame: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for p in paths {
        if let Some(n) = frame_number(p) {
            by_frame.entry(n).or_default().push(p.to_string());
        }
    }
    let mut sel = DpxSelection::default();
    let mut expected = begin;
    for (&n, names) in by_frame.range(begin..=end) {
        // Gaps are listed up to a bound so a sparse huge range cannot exhaust memory.
        while expected < n && sel.gaps.len() < 10_000 {
            sel.gaps.push(expected);
            expected += 1;
        }
        expected = n + 1;
        if names.len() > 1 {
            sel.duplicates.push(n);
        }
        let mut names = names.clone();
        names.sort();
        sel.files.extend(names.into_iter().map(|s| (n, s)));
    }
    if sel.files.is_empty() {
        let (lo, hi) = (by_frame.keys().next(), by_frame.keys().last());
        return Err(MediaError::request(match (lo, hi) {
            (Some(lo), Some(hi)) => {
                format!("DPX range {begin}-{end} selects no frame (the sequence holds {lo}-{hi})")
            }
            _ => "the object holds no DPX sequence files (name.0001234.dpx)".to_string(),
        }));
    }
    if n_last(&sel) < end {
        // Frames after the last file are missing too.
        let mut f = n_last(&sel) + 1;
        while f <= end && sel.gaps.len() < 10_000 {
            sel.gaps.push(f);
            f += 1;
        }
    }
    Ok(sel)
}

fn n_last(sel: &DpxSelection) -> u64 {
    sel.files.last().map(|(n, _)| *n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(be: bool, offset: u32, size: u32, tc: Option<u32>) -> Vec<u8> {
        let mut h = vec![0u8; 2048];
        let put = |h: &mut Vec<u8>, o: usize, v: u32| {
            let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
            h[o..o + 4].copy_from_slice(&b);
        };
        h[..4].copy_from_slice(if be { b"SDPX" } else { b"XPDS" });
        put(&mut h, 4, offset);
        put(&mut h, 16, size);
        put(&mut h, 24, 1664);
        put(&mut h, 28, 384);
        put(&mut h, 772, 64);
        put(&mut h, 776, 32);
        put(&mut h, 1920, tc.unwrap_or(u32::MAX));
        h
    }

    #[test]
    fn headers_in_both_byte_orders() {
        for be in [true, false] {
            let h = header(be, 2048, 4096, Some(0x1000_0012));
            let p = parse_header(&h, 4096).unwrap();
            assert_eq!(p.big_endian, be);
            assert_eq!((p.width, p.height), (64, 32));
            assert_eq!(p.timecode.unwrap().to_string(), "10:00:00:12");
        }
        let h = header(true, 2048, 4096, None);
        assert_eq!(parse_header(&h, 4096).unwrap().timecode, None);
    }

    #[test]
    fn lying_headers_are_refused() {
        assert!(parse_header(&header(true, 2048, 4096, None), 4000).is_err());
        assert!(parse_header(&header(true, 9000, 4096, None), 4096).is_err());
        assert!(parse_header(&header(true, 2048, 4096, None)[..100], 4096).is_err());
        let mut h = header(true, 2048, 4096, None);
        h[0] = b'X';
        assert!(parse_header(&h, 4096).is_err());
    }

    #[test]
    fn bcd_round_trip() {
        let tc: Timecode = "23:59:58:24".parse().unwrap();
        assert_eq!(decode_bcd_timecode(encode_bcd_timecode(tc)), Some(tc));
        assert_eq!(decode_bcd_timecode(0x0000_00aa), None);
    }

    #[test]
    fn selection_sorts_numerically_and_reports_gaps_and_duplicates() {
        let names = [
            "shot/a.0000010.dpx",
            "shot/a.0000009.dpx",
            "shot/a.0000100.dpx",
            "shot/b.0000010.dpx",
            "shot/a.0000012.dpx",
            "shot/readme.txt",
        ];
        let s = select_frames(names, 9, 13).unwrap();
        let nums: Vec<u64> = s.files.iter().map(|(n, _)| *n).collect();
        assert_eq!(nums, vec![9, 10, 10, 12]);
        assert_eq!(s.gaps, vec![11, 13]);
        assert_eq!(s.duplicates, vec![10]);
        assert!(select_frames(names, 13, 9).is_err());
        assert!(select_frames(names, 200, 300).is_err());
        assert_eq!(frame_number("x/shot.0086400.dpx"), Some(86400));
        assert_eq!(frame_number("x/shot.dpx"), None);
    }
}
