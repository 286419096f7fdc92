//! Checks that a partial restore's selection suits its DIVA format (DIVA REST
//! guides, "Partial Restore Request Formats"): byte pairs for format 0,
//! timecode pairs for the video formats 2–11, files and folders for 12 and
//! frame ranges for 13. The daemon refuses a mismatch before queueing, and
//! the REST facade can answer it without a round trip.

use tapelib_media::Timecode;

use crate::v1::{
    offset_pair, partial_restore_offset, DivaStatusCode, PartialRestoreFormat,
    SubmitPartialRestoreRequest,
};

/// Why a partial restore selection is refused. Every case is reported with
/// DIVA_ERR_INVALID_PARAMETER.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialRestoreError {
    /// `format` is not one of 0 and 2–13.
    #[error("partial restore format {0} is not a DIVA format (0, 2-13)")]
    UnknownFormat(i32),
    /// `offsets` is empty.
    #[error("partial restore selects nothing")]
    Empty,
    /// An offset entry of a kind the format does not take (or no kind).
    #[error("offset {index}: {found} does not suit format {format}")]
    WrongSelection {
        /// Position in `offsets`.
        index: usize,
        /// The request's format (proto name).
        format: &'static str,
        /// What the entry holds.
        found: &'static str,
    },
    /// A file or folder entry with an empty name.
    #[error("offset {index}: empty file name")]
    EmptyName {
        /// Position in `offsets`.
        index: usize,
    },
    /// A file entry without ranges.
    #[error("offset {index} ({file}): no ranges")]
    NoRanges {
        /// Position in `offsets`.
        index: usize,
        /// The entry's source file.
        file: String,
    },
    /// A range that is empty or reversed.
    #[error("offset {index} ({file}): range {begin}..{end} is empty or reversed")]
    BadRange {
        /// Position in `offsets`.
        index: usize,
        /// The entry's source file (empty for DPX ranges).
        file: String,
        /// The range's begin as given.
        begin: String,
        /// The range's end as given.
        end: String,
    },
    /// A timecode that does not parse.
    #[error("offset {index} ({file}): {message}")]
    BadTimecode {
        /// Position in `offsets`.
        index: usize,
        /// The entry's source file.
        file: String,
        /// What is wrong with it.
        message: String,
    },
}

impl PartialRestoreError {
    /// The DIVA code the refusal is reported with.
    pub fn diva_code(&self) -> DivaStatusCode {
        DivaStatusCode::DivaErrInvalidParameter
    }
}

/// Which kind of pairs a format takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Bytes,
    Timecodes,
    FileFolders,
    Frames,
}

fn expectation(format: PartialRestoreFormat) -> Expect {
    use PartialRestoreFormat as F;
    match format {
        F::Bytes => Expect::Bytes,
        F::Gxf
        | F::Sea
        | F::AviMatrox
        | F::Mpeg2Ts
        | F::Mxf
        | F::Pinnacle
        | F::Omneon
        | F::Leitch
        | F::Quantel
        | F::Autodetect => Expect::Timecodes,
        F::FileFolder => Expect::FileFolders,
        F::Dpx => Expect::Frames,
    }
}

impl SubmitPartialRestoreRequest {
    /// Checks that `offsets` is a non-empty selection of the kind `format`
    /// takes, with well-formed, non-empty ranges; returns the format.
    pub fn check_selection(&self) -> Result<PartialRestoreFormat, PartialRestoreError> {
        let format = PartialRestoreFormat::try_from(self.format)
            .map_err(|_| PartialRestoreError::UnknownFormat(self.format))?;
        if self.offsets.is_empty() {
            return Err(PartialRestoreError::Empty);
        }
        let expect = expectation(format);
        let wrong = |index: usize, found: &'static str| PartialRestoreError::WrongSelection {
            index,
            format: format.as_str_name(),
            found,
        };
        for (index, offset) in self.offsets.iter().enumerate() {
            use partial_restore_offset::Selection;
            match (&offset.selection, expect) {
                (Some(Selection::File(file)), Expect::Bytes | Expect::Timecodes) => {
                    check_file(index, file, expect, &wrong)?;
                }
                (Some(Selection::FileFolder(entry)), Expect::FileFolders) => {
                    if entry.name.is_empty() {
                        return Err(PartialRestoreError::EmptyName { index });
                    }
                }
                (Some(Selection::Range(range)), Expect::Frames) => {
                    if range.begin > range.end {
                        return Err(PartialRestoreError::BadRange {
                            index,
                            file: String::new(),
                            begin: range.begin.to_string(),
                            end: range.end.to_string(),
                        });
                    }
                }
                (Some(Selection::File(_)), _) => return Err(wrong(index, "a file with ranges")),
                (Some(Selection::FileFolder(_)), _) => return Err(wrong(index, "a file/folder")),
                (Some(Selection::Range(_)), _) => return Err(wrong(index, "a frame range")),
                (None, _) => return Err(wrong(index, "an empty entry")),
            }
        }
        Ok(format)
    }
}

fn check_file(
    index: usize,
    file: &crate::v1::FileOffsets,
    expect: Expect,
    wrong: &dyn Fn(usize, &'static str) -> PartialRestoreError,
) -> Result<(), PartialRestoreError> {
    if file.source_file.is_empty() {
        return Err(PartialRestoreError::EmptyName { index });
    }
    if file.pairs.is_empty() {
        return Err(PartialRestoreError::NoRanges {
            index,
            file: file.source_file.clone(),
        });
    }
    for pair in &file.pairs {
        match (&pair.range, expect) {
            (Some(offset_pair::Range::Bytes(bytes)), Expect::Bytes) => {
                if bytes.begin >= bytes.end {
                    return Err(PartialRestoreError::BadRange {
                        index,
                        file: file.source_file.clone(),
                        begin: bytes.begin.to_string(),
                        end: bytes.end.to_string(),
                    });
                }
            }
            (Some(offset_pair::Range::Timecode(tc)), Expect::Timecodes) => {
                // Whether a range is reversed depends on the clip's start timecode (a range
                // may cross midnight), so only the labels are checked here.
                for text in [&tc.begin, &tc.end] {
                    text.parse::<Timecode>()
                        .map_err(|e| PartialRestoreError::BadTimecode {
                            index,
                            file: file.source_file.clone(),
                            message: e.to_string(),
                        })?;
                }
            }
            (Some(offset_pair::Range::Bytes(_)), _) => return Err(wrong(index, "a byte range")),
            (Some(offset_pair::Range::Timecode(_)), _) => {
                return Err(wrong(index, "a timecode range"))
            }
            (None, _) => return Err(wrong(index, "an empty range")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{
        ByteRange, FileFolder, FileOffsets, FrameRange, OffsetPair, PartialRestoreOffset,
        TimecodeRange,
    };

    fn request(
        format: PartialRestoreFormat,
        offsets: Vec<PartialRestoreOffset>,
    ) -> SubmitPartialRestoreRequest {
        SubmitPartialRestoreRequest {
            format: format as i32,
            offsets,
            ..Default::default()
        }
    }

    fn file(pairs: Vec<offset_pair::Range>) -> PartialRestoreOffset {
        PartialRestoreOffset {
            selection: Some(partial_restore_offset::Selection::File(FileOffsets {
                source_file: "clip.mxf".into(),
                destination_file: "part.mxf".into(),
                pairs: pairs
                    .into_iter()
                    .map(|r| OffsetPair { range: Some(r) })
                    .collect(),
            })),
        }
    }

    fn bytes(begin: u64, end: u64) -> offset_pair::Range {
        offset_pair::Range::Bytes(ByteRange { begin, end })
    }

    fn tc(begin: &str, end: &str) -> offset_pair::Range {
        offset_pair::Range::Timecode(TimecodeRange {
            begin: begin.into(),
            end: end.into(),
        })
    }

    fn folder(name: &str) -> PartialRestoreOffset {
        PartialRestoreOffset {
            selection: Some(partial_restore_offset::Selection::FileFolder(FileFolder {
                name: name.into(),
                option: String::new(),
            })),
        }
    }

    fn frames(begin: u64, end: u64) -> PartialRestoreOffset {
        PartialRestoreOffset {
            selection: Some(partial_restore_offset::Selection::Range(FrameRange {
                begin,
                end,
            })),
        }
    }

    #[test]
    fn the_guides_samples_pass() {
        use PartialRestoreFormat as F;
        // Sample 1: bytes (0,1),(1,2).
        let r = request(F::Bytes, vec![file(vec![bytes(0, 1), bytes(1, 2)])]);
        assert_eq!(r.check_selection(), Ok(F::Bytes));
        // Sample 2: GXF timecodes.
        let r = request(F::Gxf, vec![file(vec![tc("00:00:00:00", "00:00:00:01")])]);
        assert_eq!(r.check_selection(), Ok(F::Gxf));
        // Sample 3: files and folders.
        let r = request(F::FileFolder, vec![folder("a.mov"), folder("test.mov")]);
        assert_eq!(r.check_selection(), Ok(F::FileFolder));
        // Sample 4: DPX ranges (1,2),(3,4).
        let r = request(F::Dpx, vec![frames(1, 2), frames(3, 4)]);
        assert_eq!(r.check_selection(), Ok(F::Dpx));
        // MXF with a drop-frame timecode.
        let r = request(F::Mxf, vec![file(vec![tc("00:59:59;28", "01:00:00;02")])]);
        assert_eq!(r.check_selection(), Ok(F::Mxf));
    }

    #[test]
    fn mismatches_are_refused() {
        use PartialRestoreFormat as F;
        assert_eq!(
            request(F::Bytes, vec![]).check_selection(),
            Err(PartialRestoreError::Empty)
        );
        let mut unknown = request(F::Bytes, vec![frames(0, 1)]);
        unknown.format = 1;
        assert_eq!(
            unknown.check_selection(),
            Err(PartialRestoreError::UnknownFormat(1))
        );
        assert!(matches!(
            request(F::Bytes, vec![file(vec![tc("00:00:00:00", "00:00:00:01")])]).check_selection(),
            Err(PartialRestoreError::WrongSelection {
                index: 0,
                found: "a timecode range",
                ..
            })
        ));
        assert!(matches!(
            request(F::Mxf, vec![file(vec![bytes(0, 1)])]).check_selection(),
            Err(PartialRestoreError::WrongSelection {
                found: "a byte range",
                ..
            })
        ));
        assert!(matches!(
            request(F::Dpx, vec![frames(0, 1), folder("x")]).check_selection(),
            Err(PartialRestoreError::WrongSelection {
                index: 1,
                found: "a file/folder",
                ..
            })
        ));
        assert!(matches!(
            request(F::FileFolder, vec![folder("")]).check_selection(),
            Err(PartialRestoreError::EmptyName { index: 0 })
        ));
        assert!(matches!(
            request(F::Bytes, vec![file(vec![bytes(5, 5)])]).check_selection(),
            Err(PartialRestoreError::BadRange { .. })
        ));
        assert!(matches!(
            request(F::Dpx, vec![frames(4, 3)]).check_selection(),
            Err(PartialRestoreError::BadRange { .. })
        ));
        // Across midnight: only the clip's start timecode tells this from a reversed range.
        assert!(
            request(F::Gxf, vec![file(vec![tc("23:59:59:00", "00:00:00:10")])])
                .check_selection()
                .is_ok()
        );
        assert!(matches!(
            request(F::Gxf, vec![file(vec![tc("0:00:01:00", "00:00:02:00")])]).check_selection(),
            Err(PartialRestoreError::BadTimecode { .. })
        ));
        assert!(matches!(
            request(F::Bytes, vec![file(vec![])]).check_selection(),
            Err(PartialRestoreError::NoRanges { .. })
        ));
        let err = request(F::Bytes, vec![PartialRestoreOffset { selection: None }])
            .check_selection()
            .expect_err("empty entry");
        assert_eq!(err.diva_code(), DivaStatusCode::DivaErrInvalidParameter);
    }
}
