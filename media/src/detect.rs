//! Recognises the container of a file from its first bytes.

use crate::error::Result;
use crate::source::{read_clipped, RangeSource};

/// The containers partial restore understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFormat {
    Mxf,
    Gxf,
    MpegTs,
    Dpx,
}

impl MediaFormat {
    pub fn name(self) -> &'static str {
        match self {
            MediaFormat::Mxf => "MXF",
            MediaFormat::Gxf => "GXF",
            MediaFormat::MpegTs => "MPEG-TS",
            MediaFormat::Dpx => "DPX",
        }
    }
}

/// The format of `head` (the first bytes of a file), if recognised.
pub fn detect_bytes(head: &[u8]) -> Option<MediaFormat> {
    // A header partition pack, possibly after a run-in of up to 64 KiB (ST 377-1 §6.5):
    // only the start is checked here, as ffmpeg and most tools write no run-in.
    const PARTITION: [u8; 13] = [
        0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01,
    ];
    if head.len() >= 14 && head[..13] == PARTITION && head[13] == 0x02 {
        return Some(MediaFormat::Mxf);
    }
    // GXF: a MAP packet header.
    if head.len() >= 16
        && head[..5] == [0, 0, 0, 0, 1]
        && head[5] == 0xbc
        && head[10..14] == [0, 0, 0, 0]
        && head[14..16] == [0xe1, 0xe2]
    {
        return Some(MediaFormat::Gxf);
    }
    if head.len() >= 4 && (&head[..4] == b"SDPX" || &head[..4] == b"XPDS") {
        return Some(MediaFormat::Dpx);
    }
    // Transport stream: sync bytes every 188 bytes (three in a row, or one for tiny files).
    if !head.is_empty() && head[0] == 0x47 {
        let syncs = (0..3)
            .map(|i| i * 188)
            .take_while(|&o| o < head.len())
            .all(|o| head[o] == 0x47);
        if syncs {
            return Some(MediaFormat::MpegTs);
        }
    }
    None
}

/// The format of a source, reading its first bytes.
pub fn detect<S: RangeSource + ?Sized>(src: &mut S) -> Result<Option<MediaFormat>> {
    let head = read_clipped(src, 0, 3 * 188 + 1)?;
    Ok(detect_bytes(&head))
}
