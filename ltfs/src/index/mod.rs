//! The LTFS index (LTFS 2.4 §7): model, XML parser and serializer, and consistency rules.

mod model;
mod parse;
mod serialize;
mod validate;

pub use model::{
    Directory, Entry, Extent, File, Index, IndexLocation, Times, Xattr, MAX_XATTR_VALUE_LEN,
};
pub use parse::{parse_index, MAX_DEPTH};
pub use serialize::write_index;
pub use validate::ValidationContext;

/// Why an index is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("XML error: {0}")]
    Xml(String),
    #[error("root element is <{0}>, not <ltfsindex>")]
    NotAnIndex(String),
    #[error("unsupported index version {0:?}")]
    Version(String),
    #[error("<{parent}> lacks <{element}>")]
    Missing {
        parent: &'static str,
        element: &'static str,
    },
    #[error("<{element}> has an invalid value {value:?}")]
    InvalidValue {
        element: &'static str,
        value: String,
    },
    #[error("<{0}> is longer than this implementation accepts")]
    TooLong(&'static str),
    #[error("invalid name: {0}")]
    Name(#[from] crate::names::NameError),
    #[error("directories nested deeper than {0}")]
    TooDeep(usize),
    #[error("fileuid 0 is reserved")]
    ZeroFileUid,
    #[error("fileuid {0} is used more than once")]
    DuplicateFileUid(u64),
    #[error("fileuid {uid} exceeds highestfileuid {highest}")]
    FileUidAboveHighest { uid: u64, highest: u64 },
    #[error("the root directory has fileuid {0}, not 1")]
    RootFileUid(u64),
    #[error("name {0:?} appears twice in one directory")]
    DuplicateName(String),
    #[error("file {0} has both a symlink and extents")]
    SymlinkWithExtents(u64),
    #[error("file {uid}: extents overlap at file offset {offset}")]
    OverlappingExtents { uid: u64, offset: u64 },
    #[error("file {uid}: extent ends at {end}, beyond the file length {length}")]
    ExtentBeyondLength { uid: u64, end: u64, length: u64 },
    #[error("file {uid}: empty extent or arithmetic overflow in an extent")]
    BadExtent { uid: u64 },
    #[error("file {uid}: extent on unknown partition {partition:?}")]
    UnknownPartition { uid: u64, partition: char },
    #[error(
        "file {uid}: extent reaches block {block}, past the end {limit} of partition {partition:?}"
    )]
    ExtentPastEnd {
        uid: u64,
        partition: char,
        block: u64,
        limit: u64,
    },
    #[error("extended attribute {0:?} has a value longer than 4096 bytes")]
    XattrTooLong(String),
    #[error("I/O error while reading or writing the index: {0}")]
    Io(String),
}

#[cfg(test)]
mod tests;
