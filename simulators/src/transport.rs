//! The in-process transport: a [`ScsiTransport`] that hands CDBs straight to a [`Library`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tapelib_scsi::{Completion, DataPhase, ScsiTransport, TransportError};

use crate::library::Library;

/// One device of an in-process library (`changer0`, `drive0`, ...).
#[derive(Debug, Clone)]
pub struct SimTransport {
    pub library: Arc<Library>,
    pub device: String,
}

impl SimTransport {
    /// The transport for `device` of `library`.
    pub fn new(library: Arc<Library>, device: impl Into<String>) -> SimTransport {
        SimTransport {
            library,
            device: device.into(),
        }
    }
}

impl ScsiTransport for SimTransport {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        // Same bounds as SG_IO: CDBs are 6 to 16 bytes (SPC-4 4.2; 32-byte variable CDBs unused).
        if cdb.len() < 6 || cdb.len() > 16 {
            return Err(TransportError::InvalidCdb(cdb.len()));
        }
        let start = Instant::now();
        let mut completion = self
            .library
            .execute(&self.device, cdb, data)
            .map_err(|e| TransportError::Disconnected(e.to_string()))?;
        if completion.duration.is_none() {
            completion.duration = Some(start.elapsed());
        }
        Ok(completion)
    }
}
