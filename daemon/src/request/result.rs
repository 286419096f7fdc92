//! What a finished request produced, kept with the request so clients can read it back
//! (`GET /requests/{id}`, `tapectl request ID`).

use serde::{Deserialize, Serialize};

/// What an inserted cartridge turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TapeContent {
    /// Blank: becomes a scratch tape.
    Blank,
    /// An LTFS volume this catalog knows.
    Ltfs,
    /// An LTFS volume written elsewhere: importable.
    ForeignLtfs,
    /// Readable but not LTFS.
    Unknown,
    /// A cleaning cartridge.
    Cleaning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertedTape {
    pub barcode: String,
    pub content: TapeContent,
    /// The catalog knew the tape already; it came back online.
    pub known: bool,
    pub slot: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EjectedTape {
    pub barcode: String,
    pub ie_address: u16,
}

/// What a partial restore made of one selected range or file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredPart {
    /// File of the object read from.
    pub source: String,
    /// File created under the destination root.
    pub destination: String,
    /// Bytes read from tape for it, and the source file's size.
    pub bytes_read: u64,
    pub source_size: u64,
    pub bytes_written: u64,
    /// First and last frame restored, counted from the clip's first frame (timecode cuts)
    /// or taken from the file name (DPX).
    #[serde(default)]
    pub first_frame: Option<u64>,
    #[serde(default)]
    pub last_frame: Option<u64>,
    #[serde(default)]
    pub first_timecode: Option<String>,
    #[serde(default)]
    pub last_timecode: Option<String>,
    /// Anything worth knowing (GOP widening, DPX gaps and duplicates).
    #[serde(default)]
    pub note: Option<String>,
}

/// The outcome of a request, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestResult {
    Archive {
        instance_id: u64,
        barcodes: Vec<String>,
        file_count: u64,
        bytes: u64,
    },
    /// Restore and partial restore.
    Restore {
        instance_id: u64,
        barcodes: Vec<String>,
        file_count: u64,
        bytes: u64,
    },
    PartialRestore {
        instance_id: u64,
        barcodes: Vec<String>,
        parts: Vec<RestoredPart>,
        bytes_read: u64,
        bytes_written: u64,
    },
    Copy {
        source_instance_id: u64,
        instance_id: u64,
        barcodes: Vec<String>,
        bytes: u64,
    },
    Delete {
        instance_ids: Vec<u64>,
        object_deleted: bool,
    },
    Insert {
        tapes: Vec<InsertedTape>,
        /// Cartridges left in I/E slots, as "address: reason".
        left: Vec<String>,
    },
    Eject {
        tapes: Vec<EjectedTape>,
        /// Barcodes not ejected, as "barcode: reason".
        failed: Vec<String>,
    },
    Repack {
        bytes_moved: u64,
        bytes_reclaimed: u64,
        destination_barcodes: Vec<String>,
    },
    Export {
        document: String,
        barcodes: Vec<String>,
        object_count: u64,
    },
    Import {
        /// (collection, name) of each registered object.
        objects: Vec<(String, String)>,
        skipped: Vec<String>,
    },
    Verify {
        files_checked: u64,
        failures: Vec<String>,
        bytes: u64,
    },
}
