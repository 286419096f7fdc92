//! tapelib-sim: a virtual tape library that answers SCSI commands at the CDB level.
//!
//! - [`media`], [`cartridge`]: LTO media and cartridges stored on disk;
//! - [`drive`]: an SSC-4 LTO drive; [`changer`]: an SMC-3 medium changer;
//! - [`library`]: the whole library, its configuration ([`config`]) and persistent state;
//! - [`timing`], [`stats`]: modeled time and statistics; [`sense`]: sense data the devices return;
//! - [`transport`]: the in-process `SimTransport`; [`protocol`], [`server`], [`client`]: the Unix
//!   socket that other processes (and the SG_IO interposer) use.

pub mod cartridge;
pub mod changer;
pub mod client;
pub mod config;
pub mod drive;
pub mod library;
pub mod media;
pub mod protocol;
pub mod sense;
pub mod server;
pub mod stats;
pub mod testing;
pub mod timing;
pub mod transport;
