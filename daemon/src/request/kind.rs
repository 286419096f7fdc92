//! Request kinds and their typed parameters.

use serde::{Deserialize, Serialize};

use super::RequestError;

/// Parameters of an archive: files from a source server into a tape group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveParams {
    pub collection: String,
    pub name: String,
    pub source_server: String,
    /// Added in front of every file path, inside the server root.
    pub file_path_root: Option<String>,
    /// Relative paths; folders are archived recursively.
    pub files: Vec<String>,
    pub group: String,
    pub comments: String,
    /// DIVA_ARCHIVE_SERVICE_DELETE_ON_SOURCE: remove the sources after success.
    pub delete_on_source: bool,
}

/// Parameters of a restore of a whole object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreParams {
    pub collection: String,
    pub name: String,
    /// A chosen instance, or any online one.
    pub instance: Option<u64>,
    pub destination_server: String,
    pub file_path_root: Option<String>,
    pub overwrite: bool,
}

/// A byte range of one file (`length: None` runs to the end of the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    pub offset: u64,
    pub length: Option<u64>,
}

/// One item of a partial restore: a file or folder of the object, optionally a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialItem {
    pub source_path: String,
    /// Where to put it under the destination root; the source path when absent.
    pub destination_path: Option<String>,
    pub range: Option<ByteRange>,
}

/// DIVA partial restore formats (REST guides, "Partial Restore Request Formats").
pub mod partial_format {
    pub const BYTES: u32 = 0;
    pub const GXF: u32 = 2;
    pub const MPEG2_TS: u32 = 5;
    pub const MXF: u32 = 6;
    pub const AUTODETECT: u32 = 11;
    pub const FILE_FOLDER: u32 = 12;
    pub const DPX: u32 = 13;
    /// Video formats DIVA defines that this daemon does not cut (SEA, AVI Matrox,
    /// Pinnacle, Omneon, Leitch, Quantel).
    pub const UNSUPPORTED: [u32; 6] = [3, 4, 7, 8, 9, 10];

    pub fn is_timecode(format: u32) -> bool {
        (2..=11).contains(&format)
    }
}

/// One range of a file in a DIVA partial restore (`offsetPairs` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PartialRange {
    /// Bytes `[begin, end)`: `end` is exclusive, so the DIVA samples' pairs (0,1),(1,2)
    /// are adjacent single bytes.
    Bytes { begin: u64, end: u64 },
    /// Frames labelled `begin` through `end`, both included (`HH:MM:SS:FF`, `;` before
    /// the frames for drop-frame).
    Timecode { begin: String, end: String },
}

/// One entry of a DIVA partial restore's `offsets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PartialSelection {
    /// Formats 0 and 2–11: ranges of one file. Byte ranges are concatenated in order into
    /// `destination_file`; each timecode range makes its own playable file, the first named
    /// `destination_file`, the next ones with `_2`, `_3`… before the extension.
    File {
        source_file: String,
        destination_file: String,
        ranges: Vec<PartialRange>,
    },
    /// Format 12: a file, or a folder restored recursively, keeping relative paths.
    FileFolder {
        name: String,
        #[serde(default)]
        option: String,
    },
    /// Format 13: DPX frames `begin..=end`, numbered by their file names.
    Frames { begin: u64, end: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialRestoreParams {
    pub collection: String,
    pub name: String,
    pub instance: Option<u64>,
    pub destination_server: String,
    pub file_path_root: Option<String>,
    pub overwrite: bool,
    /// Whole files or single byte ranges (the simple form); used when `selection` is empty.
    #[serde(default)]
    pub items: Vec<PartialItem>,
    /// DIVA format of `selection` (see [`partial_format`]).
    #[serde(default)]
    pub format: u32,
    /// The DIVA selection, in request order.
    #[serde(default)]
    pub selection: Vec<PartialSelection>,
}

/// A new instance of an object on another tape group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyParams {
    pub collection: String,
    pub name: String,
    /// Instance to read from, or any online one.
    pub source_instance: Option<u64>,
    pub group: String,
}

/// Deletes an object, or only one of its instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteParams {
    pub collection: String,
    pub name: String,
    pub instance: Option<u64>,
}

/// Moves cartridges from I/E slots into storage and registers them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertParams {
    pub library: String,
    /// I/E element addresses to take; all full ones when empty.
    pub ie_addresses: Vec<u16>,
}

/// Moves tapes to I/E slots; they and their instances go offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EjectParams {
    pub barcodes: Vec<String>,
    pub comment: String,
}

/// What becomes of a repacked tape once its live data is elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepackRetire {
    /// Reformatted and returned to scratch (no group).
    #[default]
    Scratch,
    /// Left as it is, empty in the catalog and DISABLED, for the operator to deal with.
    Empty,
}

/// Copies the live data of a tape elsewhere so the tape can be reclaimed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepackParams {
    pub barcode: String,
    /// Group to write to; the tape's own group when absent.
    pub target_group: Option<String>,
    #[serde(default)]
    pub retire: RepackRetire,
}

/// Ejects tapes and marks them EXPORTED.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportParams {
    pub barcodes: Vec<String>,
    pub comment: String,
}

/// What an import does with an object whose collection and name the catalog has already.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportConflict {
    /// Leave the catalog's object alone and report the name as skipped.
    #[default]
    Skip,
    /// Add the tape's copy as another instance when every file's size and CRC-32 match.
    AddInstance,
    /// Fail the tape's import.
    Refuse,
}

/// Takes foreign (or previously exported) LTFS tapes into a group, cataloguing their objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParams {
    pub barcodes: Vec<String>,
    pub group: String,
    /// An export document describing the tapes; else the tapes' xattrs, else their folders.
    #[serde(default)]
    pub document: Option<String>,
    /// Collection for objects found on tapes written by other software.
    #[serde(default)]
    pub collection: Option<String>,
    #[serde(default)]
    pub on_conflict: ImportConflict,
    /// Read files whose checksums the tape does not carry, to compute them.
    #[serde(default)]
    pub verify: bool,
}

/// What a verify reads back and checks against the catalog's CRC-32s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum VerifyParams {
    Object {
        collection: String,
        name: String,
        instance: Option<u64>,
    },
    Tape {
        barcode: String,
    },
}

/// Every operation the daemon runs as a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "params", rename_all = "snake_case")]
pub enum RequestKind {
    Archive(ArchiveParams),
    Restore(RestoreParams),
    PartialRestore(PartialRestoreParams),
    Copy(CopyParams),
    Delete(DeleteParams),
    Insert(InsertParams),
    Eject(EjectParams),
    Repack(RepackParams),
    Export(ExportParams),
    Import(ImportParams),
    Verify(VerifyParams),
}

fn required(field: &'static str, v: &str) -> Result<(), RequestError> {
    if v.trim().is_empty() {
        return Err(RequestError::InvalidParameter {
            field,
            reason: "must not be empty".into(),
        });
    }
    if v.contains('\0') {
        return Err(RequestError::InvalidParameter {
            field,
            reason: "must not contain NUL".into(),
        });
    }
    Ok(())
}

fn non_empty_list<T>(field: &'static str, v: &[T]) -> Result<(), RequestError> {
    if v.is_empty() {
        return Err(RequestError::InvalidParameter {
            field,
            reason: "at least one entry is required".into(),
        });
    }
    Ok(())
}

fn all_required(field: &'static str, v: &[String]) -> Result<(), RequestError> {
    non_empty_list(field, v)?;
    v.iter().try_for_each(|s| required(field, s))
}

impl RequestKind {
    /// Short lower-case name (`archive`, `partial_restore`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            RequestKind::Archive(_) => "archive",
            RequestKind::Restore(_) => "restore",
            RequestKind::PartialRestore(_) => "partial_restore",
            RequestKind::Copy(_) => "copy",
            RequestKind::Delete(_) => "delete",
            RequestKind::Insert(_) => "insert",
            RequestKind::Eject(_) => "eject",
            RequestKind::Repack(_) => "repack",
            RequestKind::Export(_) => "export",
            RequestKind::Import(_) => "import",
            RequestKind::Verify(_) => "verify",
        }
    }

    /// Whether a request found RUNNING after a restart may simply run again from the start.
    /// True for kinds that only read tape, or whose effects are idempotent; kinds that write
    /// tape or change the catalog part-way (archive, copy, export, delete) end ABORTED instead
    /// so the client decides, since their data may be half written. Repack switches one
    /// object at a time and import registers one object at a time, skipping what is done,
    /// so both simply continue.
    pub fn resumable(&self) -> bool {
        matches!(
            self,
            RequestKind::Restore(_)
                | RequestKind::PartialRestore(_)
                | RequestKind::Verify(_)
                | RequestKind::Repack(_)
                | RequestKind::Import(_)
                | RequestKind::Insert(_)
                | RequestKind::Eject(_)
        )
    }

    /// Checks the parameters that can be checked without the catalog or the servers.
    /// Paths are checked against their server root when the request runs.
    pub fn validate(&self) -> Result<(), RequestError> {
        match self {
            RequestKind::Archive(p) => {
                required("collection", &p.collection)?;
                required("name", &p.name)?;
                required("source_server", &p.source_server)?;
                required("group", &p.group)?;
                all_required("files", &p.files)
            }
            RequestKind::Restore(p) => {
                required("collection", &p.collection)?;
                required("name", &p.name)?;
                required("destination_server", &p.destination_server)
            }
            RequestKind::PartialRestore(p) => {
                required("collection", &p.collection)?;
                required("name", &p.name)?;
                required("destination_server", &p.destination_server)?;
                validate_partial(p)
            }
            RequestKind::Copy(p) => {
                required("collection", &p.collection)?;
                required("name", &p.name)?;
                required("group", &p.group)
            }
            RequestKind::Delete(p) => {
                required("collection", &p.collection)?;
                required("name", &p.name)
            }
            RequestKind::Insert(p) => required("library", &p.library),
            RequestKind::Eject(p) => all_required("barcodes", &p.barcodes),
            RequestKind::Repack(p) => {
                required("barcode", &p.barcode)?;
                if let Some(g) = &p.target_group {
                    required("target_group", g)?;
                }
                Ok(())
            }
            RequestKind::Export(p) => all_required("barcodes", &p.barcodes),
            RequestKind::Import(p) => {
                all_required("barcodes", &p.barcodes)?;
                required("group", &p.group)?;
                if let Some(c) = &p.collection {
                    required("collection", c)?;
                }
                Ok(())
            }
            RequestKind::Verify(VerifyParams::Object {
                collection, name, ..
            }) => {
                required("collection", collection)?;
                required("name", name)
            }
            RequestKind::Verify(VerifyParams::Tape { barcode }) => required("barcode", barcode),
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RequestError {
    RequestError::InvalidParameter {
        field,
        reason: reason.into(),
    }
}

/// Shape checks of a partial restore: the selection suits the format, ranges are
/// well-formed and not reversed. Sizes and clip lengths are checked against the object
/// when the request runs.
fn validate_partial(p: &PartialRestoreParams) -> Result<(), RequestError> {
    use partial_format as f;
    if p.selection.is_empty() {
        non_empty_list("items", &p.items)?;
        for item in &p.items {
            required("items.source_path", &item.source_path)?;
            if let Some(d) = &item.destination_path {
                required("items.destination_path", d)?;
            }
            if let Some(ByteRange {
                offset,
                length: Some(len),
            }) = &item.range
            {
                if *len == 0 || offset.checked_add(*len).is_none() {
                    return Err(invalid(
                        "items.range",
                        format!("empty or overflowing range {offset}+{len}"),
                    ));
                }
            }
        }
        return Ok(());
    }
    if f::UNSUPPORTED.contains(&p.format) {
        return Err(invalid(
            "format",
            format!("partial restore format {} not supported", p.format),
        ));
    }
    if p.format == 1 || p.format > f::DPX {
        return Err(invalid(
            "format",
            format!("{} is not a DIVA partial restore format", p.format),
        ));
    }
    for sel in &p.selection {
        match sel {
            PartialSelection::File {
                source_file,
                destination_file,
                ranges,
            } if p.format == f::BYTES || f::is_timecode(p.format) => {
                required("offsets.sourceFile", source_file)?;
                required("offsets.destinationFile", destination_file)?;
                non_empty_list("offsets.offsetPairs", ranges)?;
                for r in ranges {
                    match r {
                        PartialRange::Bytes { begin, end } if p.format == f::BYTES => {
                            if begin >= end {
                                return Err(invalid(
                                    "offsets.offsetPairs",
                                    format!("byte range {begin}-{end} is empty or reversed"),
                                ));
                            }
                        }
                        PartialRange::Timecode { begin, end } if p.format != f::BYTES => {
                            let range = tapelib_media::TimecodeRange::parse(begin, end)
                                .map_err(|e| invalid("offsets.offsetPairs", e.to_string()))?;
                            let pos = |t: tapelib_media::Timecode| {
                                (t.hours, t.minutes, t.seconds, t.frames)
                            };
                            // Reversed unless the range crosses midnight (ends before 01:00).
                            if pos(range.end) < pos(range.begin)
                                && !(range.begin.hours == 23 && range.end.hours == 0)
                            {
                                return Err(invalid(
                                    "offsets.offsetPairs",
                                    format!("timecode range {begin}-{end} is reversed"),
                                ));
                            }
                        }
                        _ => {
                            return Err(invalid(
                                "offsets.offsetPairs",
                                format!("range {r:?} does not suit format {}", p.format),
                            ))
                        }
                    }
                }
            }
            PartialSelection::FileFolder { name, .. } if p.format == f::FILE_FOLDER => {
                required("offsets.fileFolder.name", name)?;
            }
            PartialSelection::Frames { begin, end } if p.format == f::DPX => {
                if begin > end {
                    return Err(invalid(
                        "offsets.range",
                        format!("frame range {begin}-{end} is reversed"),
                    ));
                }
            }
            other => {
                return Err(invalid(
                    "offsets",
                    format!("{other:?} does not suit format {}", p.format),
                ))
            }
        }
    }
    Ok(())
}
