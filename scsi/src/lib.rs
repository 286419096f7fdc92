//! tapelib-scsi: everything tapelib says to, and hears from, a SCSI tape changer or drive.
//!
//! Layout, bottom up:
//! - [`transport`]: the `ScsiTransport` trait; [`sg`] implements it with Linux SG_IO.
//! - [`decode`]: bounds-checked readers shared by every decoder;
//! - [`sense`] and [`error`]: sense data and the typed `ScsiError`;
//! - pure encoders and decoders per command set ([`spc`], [`ssc`], [`smc`]);
//! - devices ([`drive`], [`changer`]) that combine them into typed operations;
//! - [`quirks`]: known device differences.

pub mod changer;
pub mod decode;
pub mod drive;
pub mod error;
pub mod quirks;
pub mod sense;
pub mod sg;
pub mod smc;
pub mod spc;
pub mod ssc;
pub mod transport;

pub use changer::{Changer, ChangerSettings, Inventory, MtxElement};
pub use decode::DecodeError;
pub use drive::{
    Drive, DriveError, DriveIdentity, IndexPartitionSize, ReadOutcome, Space, SpaceOutcome,
    WriteOutcome,
};
pub use error::{
    check_completion, opcode_name, run, ErrorCategory, NotReadyCause, ScsiError, Timeouts,
    UnitAttentionCause,
};
pub use quirks::Quirks;
pub use sense::{asc_description, SenseData, SenseKey, SenseKeySpecific};
pub use sg::{AlignedBuf, SgDevice};
pub use smc::{ElementType, ElementTypeCode};
pub use transport::{Completion, DataPhase, ScsiStatus, ScsiTransport, TransportError};
