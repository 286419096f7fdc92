//! SSC-4 stream commands: pure CDB builders and response decoders for tape drives.

pub mod block_limits;
pub mod commands;
pub mod density;
pub mod mode_pages;
pub mod position;
