//! LTFS volumes on a tape device: format, mount, write, read, sync/unmount and check.

mod check;
mod format;
mod mount;
mod read;
mod records;
mod sync;
mod write;

pub use check::{check, CheckReport};
pub use format::{format, FormatOptions};
pub use mount::{IndexSource, MountOptions, MountReport, Recovery};
pub use read::{DirEntry, EntryKind};

use crate::device::TapeDevice;
use crate::error::{LtfsError, Result};
use crate::index::{Index, IndexLocation};
use crate::label::{LtfsLabel, Vol1Label};

/// Name written in `creator` elements and MAM application attributes.
pub const CREATOR: &str = concat!("tapelib ", env!("CARGO_PKG_VERSION"), " - Linux");

/// Block where an index construct starts on a partition right after the label construct:
/// VOL1 (0), filemark (1), XML label (2), filemark (3).
pub(crate) const FIRST_INDEX_CONSTRUCT: u64 = 4;

/// When to write an index to the data partition on its own (LTFS 2.4 §6: periodic sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncPolicy {
    /// Sync after this many bytes of file data since the last index.
    pub after_bytes: Option<u64>,
    /// Sync after this many files written since the last index.
    pub after_files: Option<u64>,
}

/// A mounted LTFS volume.
#[derive(Debug)]
pub struct Volume<D: TapeDevice> {
    device: D,
    label: LtfsLabel,
    vol1: Vol1Label,
    index: Index,
    /// Physical partition numbers of the index and data partitions.
    ip: u8,
    dp: u8,
    blocksize: usize,
    /// Where the next data-partition write goes (end of data); learnt on first write.
    dp_append: Option<u64>,
    /// The newest index on the data partition.
    last_dp_index: IndexLocation,
    /// The index changed since it was last written to the data partition.
    dirty: bool,
    /// The index partition holds a copy of the newest data-partition index.
    ip_current: bool,
    policy: SyncPolicy,
    bytes_since_sync: u64,
    files_since_sync: u64,
    early_warning: bool,
    read_only: bool,
    buf: Vec<u8>,
}

impl<D: TapeDevice> Volume<D> {
    /// The index as currently held in memory.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The volume's XML label.
    pub fn label(&self) -> &LtfsLabel {
        &self.label
    }

    /// The barcode from the VOL1 label.
    pub fn barcode(&self) -> &str {
        &self.vol1.barcode
    }

    /// The block size of data records.
    pub fn blocksize(&self) -> usize {
        self.blocksize
    }

    /// Whether the medium has passed early warning (no more file data is accepted).
    pub fn early_warning(&self) -> bool {
        self.early_warning
    }

    /// Whether there are changes not yet written in an index.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Sets the periodic sync policy.
    pub fn set_sync_policy(&mut self, policy: SyncPolicy) {
        self.policy = policy;
    }

    /// Access to the device (for example for statistics); do not move the tape behind the
    /// volume's back while writing.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Gives up the volume without writing anything (as a crash or a forced eject would).
    pub fn into_device_unsynced(self) -> D {
        self.device
    }

    fn partition_of(&self, letter: char) -> Result<u8> {
        if letter == self.label.index_partition {
            Ok(self.ip)
        } else if letter == self.label.data_partition {
            Ok(self.dp)
        } else {
            Err(LtfsError::InvalidArgument(format!(
                "partition letter {letter:?} is not on this volume"
            )))
        }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(LtfsError::ReadOnly("mounted read-only"));
        }
        Ok(())
    }
}
