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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialRestoreParams {
    pub collection: String,
    pub name: String,
    pub instance: Option<u64>,
    pub destination_server: String,
    pub file_path_root: Option<String>,
    pub overwrite: bool,
    pub items: Vec<PartialItem>,
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
                            return Err(RequestError::InvalidParameter {
                                field: "items.range",
                                reason: format!("empty or overflowing range {offset}+{len}"),
                            });
                        }
                    }
                }
                Ok(())
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
