//! LTFS 2.4 volumes over a tape device.
//!
//! The crate knows tapes only through [`TapeDevice`] (records, filemarks, partitions, MAM); it
//! formats volumes, mounts them (including recovery after a crash), writes and reads files and
//! byte ranges, and writes indexes as LTFS 2.4.0 prescribes so that other LTFS implementations
//! read our tapes and we read theirs.

pub mod device;
pub mod error;
pub mod index;
pub mod label;
pub mod mam;
pub mod mem_tape;
pub mod metadata;
pub mod names;
pub mod scsi_device;
pub mod time;
pub mod volume;
mod xml;

pub use device::{MamAttribute, MamFormat, Position, ReadOutcome, TapeDevice, WriteOutcome};
pub use error::{LtfsError, Result};
pub use mem_tape::{MemTape, MemTapeError};
pub use volume::{format, FormatOptions, MountOptions, MountReport, SyncPolicy, Volume};
pub use xml::{XmlElement, XmlNode};
