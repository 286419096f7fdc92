//! The one seam between command logic and a device: execute a CDB, get a completion.
//!
//! Everything above this trait (decoders, `Changer`, `Drive`) is transport-agnostic, so the
//! simulator exercises exactly the code that drives real hardware.

use std::time::Duration;

/// Direction and buffer of a command's data phase.
#[derive(Debug)]
pub enum DataPhase<'a> {
    /// No data transfer.
    None,
    /// Device to host; the slice length is the allocation / transfer length offered.
    In(&'a mut [u8]),
    /// Host to device.
    Out(&'a [u8]),
}

impl DataPhase<'_> {
    /// Number of bytes offered for the data phase.
    pub fn len(&self) -> usize {
        match self {
            DataPhase::None => 0,
            DataPhase::In(b) => b.len(),
            DataPhase::Out(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// SCSI status byte (SAM-5 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScsiStatus(pub u8);

impl ScsiStatus {
    pub const GOOD: ScsiStatus = ScsiStatus(0x00);
    pub const CHECK_CONDITION: ScsiStatus = ScsiStatus(0x02);
    pub const CONDITION_MET: ScsiStatus = ScsiStatus(0x04);
    pub const BUSY: ScsiStatus = ScsiStatus(0x08);
    pub const RESERVATION_CONFLICT: ScsiStatus = ScsiStatus(0x18);
    pub const TASK_SET_FULL: ScsiStatus = ScsiStatus(0x28);
    pub const ACA_ACTIVE: ScsiStatus = ScsiStatus(0x30);
    pub const TASK_ABORTED: ScsiStatus = ScsiStatus(0x40);

    pub fn is_good(self) -> bool {
        // Only bits 1..5 are defined; CONDITION MET is a success status too.
        matches!(self.0 & 0x3e, 0x00 | 0x04)
    }
}

/// What a transport reports after a command ran to completion (successfully or not).
///
/// A `Completion` with a non-GOOD status is not a transport error: the device answered. Turning
/// CHECK CONDITION into a typed error is the job of [`crate::error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// SCSI status byte.
    pub status: ScsiStatus,
    /// Sense bytes actually returned (empty when none).
    pub sense: Vec<u8>,
    /// Bytes actually transferred in the data phase.
    pub transferred: usize,
    /// Bytes offered but not transferred (`offered - transferred`, as SG_IO's `resid`).
    pub residual: usize,
    /// Time the device took, when the transport knows it.
    pub duration: Option<Duration>,
}

impl Completion {
    /// A GOOD completion that moved `transferred` of `offered` bytes.
    pub fn good(offered: usize, transferred: usize) -> Self {
        Completion {
            status: ScsiStatus::GOOD,
            sense: Vec::new(),
            transferred,
            residual: offered.saturating_sub(transferred),
            duration: None,
        }
    }

    /// A CHECK CONDITION completion carrying `sense`.
    pub fn check_condition(sense: Vec<u8>, offered: usize, transferred: usize) -> Self {
        Completion {
            status: ScsiStatus::CHECK_CONDITION,
            sense,
            transferred,
            residual: offered.saturating_sub(transferred),
            duration: None,
        }
    }
}

/// Failures below SCSI: the command may never have reached the device.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("SG_IO ioctl failed: {0}")]
    Ioctl(#[source] std::io::Error),
    #[error("command timed out after {0:?}")]
    Timeout(Duration),
    /// The host adapter reported a failure (SG_IO `host_status`, e.g. DID_NO_CONNECT).
    #[error("host adapter status 0x{host_status:02x}, driver status 0x{driver_status:02x}")]
    Host {
        host_status: u16,
        driver_status: u16,
    },
    #[error("CDB of {0} bytes is not a valid length")]
    InvalidCdb(usize),
    /// A remote transport (the simulator socket) failed or spoke nonsense.
    #[error("transport connection: {0}")]
    Connection(String),
    #[error("device is gone: {0}")]
    Disconnected(String),
}

/// Executes one CDB with one data phase.
///
/// Implementations: [`crate::sg::SgDevice`] (Linux SG_IO) and the simulator's in-process and
/// socket transports. `Send` so a device can live on its own worker thread.
pub trait ScsiTransport: Send {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError>;
}

impl<T: ScsiTransport + ?Sized> ScsiTransport for Box<T> {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        (**self).execute(cdb, data, timeout)
    }
}
