//! Partial restore of media: cuts frame ranges out of MXF OP1a, GXF and MPEG-2 transport
//! streams, and selects DPX frames, reading only the byte ranges a cut needs through a
//! [`RangeSource`] (on tape, each read locates to its blocks).
//!
//! Timecode ranges are inclusive: the out point's frame is part of the cut.

pub mod detect;
pub mod dpx;
pub mod error;
pub mod gxf;
pub mod mxf;
pub mod source;
pub mod synthetic;
pub mod timecode;
pub mod ts;

use std::io::Write;

pub use detect::{detect, detect_bytes, MediaFormat};
pub use error::MediaError;
pub use gxf::cut_gxf;
pub use mxf::cut_mxf;
pub use source::{Counting, FileSource, RangeSource};
pub use timecode::{Timecode, TimecodeRange, TimecodeRate};
pub use ts::cut_ts;

/// What a cut produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutReport {
    pub format: MediaFormat,
    /// First and last frame kept, counted from the clip's first frame (inclusive).
    pub first_frame: u64,
    pub last_frame: u64,
    /// Their timecode labels.
    pub first_timecode: String,
    pub last_timecode: String,
    /// Bytes read from the source, and its size.
    pub bytes_read: u64,
    pub source_size: u64,
    pub bytes_written: u64,
}

/// Recognises the container and cuts it.
pub fn cut_auto<S: RangeSource + ?Sized, W: Write>(
    src: &mut S,
    range: &TimecodeRange,
    out: &mut W,
) -> Result<CutReport, MediaError> {
    match detect(src)? {
        Some(MediaFormat::Mxf) => cut_mxf(src, range, out),
        Some(MediaFormat::MpegTs) => cut_ts(src, range, out),
        Some(MediaFormat::Gxf) => cut_gxf(src, range, out),
        Some(f) => Err(MediaError::Unsupported(format!(
            "timecode cuts of {} files are not supported",
            f.name()
        ))),
        None => Err(MediaError::media(
            "not a recognised media file (MXF, GXF or MPEG transport stream)",
        )),
    }
}
