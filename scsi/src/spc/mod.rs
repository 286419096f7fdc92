//! SPC-4 primary commands: pure CDB builders and response decoders.

pub mod attribute;
pub mod commands;
pub mod inquiry;
pub mod log;
pub mod mode;
