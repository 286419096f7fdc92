//! End-to-end tests live in `tests/tests/`; this crate hosts them and the code they share:
//! [`scenario`], the SCSI scenario run over every transport, and the `sg-scenario` binary that
//! runs it through SG_IO in a process of its own.

pub mod scenario;
