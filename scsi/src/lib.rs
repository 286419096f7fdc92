//! tapelib-scsi: everything tapelib says to, and hears from, a SCSI tape changer or drive.
//!
//! Layout, bottom up:
//! - [`transport`]: the `ScsiTransport` trait; [`sg`] implements it with Linux SG_IO.
//! - pure encoders and decoders per command set ([`spc`], [`smc`], [`ssc`]) and sense data;
//! - devices (`Changer`, `Drive`) that combine them into typed operations.

pub mod transport;

pub use transport::{Completion, DataPhase, ScsiStatus, ScsiTransport, TransportError};
