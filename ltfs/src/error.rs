//! The crate's error type.

use crate::index::IndexError;

/// A boxed error from a device implementation (a SCSI sense, a transport failure, ...).
pub type DeviceErrorSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong on an LTFS volume.
#[derive(Debug, thiserror::Error)]
pub enum LtfsError {
    /// The device failed; `source` is the device's own typed error.
    #[error("device error during {op}")]
    Device {
        op: &'static str,
        #[source]
        source: DeviceErrorSource,
    },
    /// A record was longer than the buffer offered to `read_record` (SSC-4 ILI with a negative residual).
    #[error("record of {length} bytes does not fit the {capacity}-byte buffer")]
    RecordTooLong { length: usize, capacity: usize },
    #[error("invalid VOL1 label: {0}")]
    Vol1(String),
    #[error("invalid LTFS label: {0}")]
    Label(String),
    #[error("labels of the two partitions disagree: {0}")]
    LabelMismatch(String),
    #[error("invalid index: {0}")]
    Index(#[from] IndexError),
    #[error("invalid MAM attribute {id:#06x}: {reason}")]
    Mam { id: u16, reason: String },
    /// The tape does not have the shape LTFS prescribes at this place.
    #[error("unexpected {found} at partition {partition} block {block}: {expected}")]
    Layout {
        partition: u8,
        block: u64,
        found: &'static str,
        expected: &'static str,
    },
    #[error("no usable index: {0}")]
    NoIndex(String),
    #[error("invalid name {name:?}: {reason}")]
    Name { name: String, reason: &'static str },
    #[error("no such file or directory: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("not a directory: {0}")]
    NotADirectory(String),
    #[error("is a directory: {0}")]
    IsADirectory(String),
    #[error("directory not empty: {0}")]
    NotEmpty(String),
    /// The medium reached early warning; the index can still be written but no more file data.
    #[error("volume full: early warning reached at partition {partition} block {block}")]
    NoSpace { partition: u8, block: u64 },
    #[error("read-only volume: {0}")]
    ReadOnly(&'static str),
    #[error("I/O error while {context}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl LtfsError {
    /// Wraps a device implementation's own error.
    pub fn device(op: &'static str, source: impl Into<DeviceErrorSource>) -> Self {
        LtfsError::Device {
            op,
            source: source.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = LtfsError> = std::result::Result<T, E>;
