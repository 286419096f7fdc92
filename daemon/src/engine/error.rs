//! Why an operation failed, with the DIVA status a client sees.

use tapelib_ltfs::LtfsError;

use crate::catalog::CatalogError;
use crate::library::LibraryError;
use crate::request::{catalog_status, DivaStatusCode, RequestError};
use crate::servers::ServerError;

pub type OpResult<T> = Result<T, OpError>;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A refusal or failure with its own DIVA code (object offline, unknown group, ...).
    #[error("{message}")]
    Diva {
        status: DivaStatusCode,
        message: String,
    },
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("tape {barcode}: LTFS: {}", chain(source))]
    Ltfs {
        barcode: String,
        #[source]
        source: LtfsError,
    },
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(
        "CRC-32 mismatch on {path} (tape {barcode}): catalog {expected:08x}, read {computed:08x}"
    )]
    Checksum {
        barcode: String,
        path: String,
        expected: u32,
        computed: u32,
    },
    #[error("cancelled")]
    Cancelled,
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

impl OpError {
    pub fn diva(status: DivaStatusCode, message: impl Into<String>) -> Self {
        OpError::Diva {
            status,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        OpError::diva(DivaStatusCode::DivaErrInvalidParameter, message)
    }

    pub fn ltfs(barcode: &str, source: LtfsError) -> Self {
        OpError::Ltfs {
            barcode: barcode.to_string(),
            source,
        }
    }

    /// The DIVA status a client sees for this failure.
    pub fn diva_status(&self) -> DivaStatusCode {
        match self {
            OpError::Diva { status, .. } => *status,
            OpError::Request(e) => e.diva_status(),
            OpError::Catalog(e) => catalog_status(e),
            OpError::Library(LibraryError::Catalog(e)) => catalog_status(e),
            OpError::Library(LibraryError::TapeNotFound { .. }) => {
                DivaStatusCode::DivaErrTapeDoesntExist
            }
            OpError::Library(_) | OpError::Ltfs { .. } | OpError::Checksum { .. } => {
                DivaStatusCode::DivaErrInternal
            }
            OpError::Server(e) => e.diva_status(),
            OpError::Cancelled => DivaStatusCode::DivaOk,
            OpError::ShuttingDown => DivaStatusCode::DivaErrCannotAcceptMoreRequests,
        }
    }

    /// The drive failed (hardware error, drive DOWN, worker gone): the request may run
    /// again on another drive.
    pub fn drive_failed(&self) -> bool {
        match self {
            OpError::Library(e) => e.is_drive_failure(),
            OpError::Ltfs { source, .. } => ltfs_hardware(source),
            _ => false,
        }
    }
}

/// A device error under LTFS that says the drive (not the medium) failed.
fn ltfs_hardware(e: &LtfsError) -> bool {
    use std::error::Error as _;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = cur {
        if let Some(d) = s.downcast_ref::<tapelib_scsi::DriveError>() {
            return d.category() == Some(tapelib_scsi::ErrorCategory::HardwareError);
        }
        cur = s.source();
    }
    false
}

/// An error and its sources, joined, so a request's abort reason says what the device said.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
