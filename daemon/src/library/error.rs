//! Library errors. Each keeps what an operator needs to act: library, drive name and serial,
//! barcode, element addresses and the SCSI error with its sense (boxed: sense data is
//! large and errors travel through every `Result`).

use tapelib_scsi::{DriveError, ScsiError, TransportError};

use crate::catalog::CatalogError;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("library {library}: cannot open device {device}: {source}")]
    Open {
        library: String,
        device: String,
        #[source]
        source: TransportError,
    },
    #[error("library {library}: simulator: {message}")]
    Simulator { library: String, message: String },
    #[error("library {library}: {operation}: {source}")]
    Changer {
        library: String,
        operation: String,
        #[source]
        source: Box<ScsiError>,
    },
    #[error("library {library}: moving {} from element {from} to element {to}: {source}", barcode.as_deref().unwrap_or("(no barcode)"))]
    Move {
        library: String,
        barcode: Option<String>,
        from: u16,
        to: u16,
        #[source]
        source: Box<ScsiError>,
    },
    #[error("drive {drive} (serial {}, element {}): {operation}: {source}", serial.as_deref().unwrap_or("unknown"), element.map(|e| e.to_string()).unwrap_or_else(|| "unmapped".into()))]
    Drive {
        drive: String,
        serial: Option<String>,
        element: Option<u16>,
        operation: String,
        #[source]
        source: Box<DriveError>,
    },
    #[error("library {library}: drive {drive} ({device}, serial {}) matches no data transfer element of the changer; the changer reports {changer}", serial.as_deref().unwrap_or("unknown"))]
    DriveUnmatched {
        library: String,
        drive: String,
        device: String,
        serial: Option<String>,
        /// The changer's drive elements as `address=serial`.
        changer: String,
    },
    #[error("library {library}: drives {first} and {second} both map to element {element}")]
    DriveElementTwice {
        library: String,
        first: String,
        second: String,
        element: u16,
    },
    #[error("library {library}: drive {drive} is DOWN: {reason}")]
    DriveDown {
        library: String,
        drive: String,
        reason: String,
    },
    #[error("library {library}: no drive named {drive}")]
    UnknownDrive { library: String, drive: String },
    #[error("library {library}: no cartridge with barcode {barcode}")]
    TapeNotFound { library: String, barcode: String },
    #[error("library {library}: tape {barcode} is in drive {drive}")]
    TapeInDrive {
        library: String,
        barcode: String,
        drive: String,
    },
    #[error("library {library}: drive {drive} holds no cartridge")]
    DriveEmpty { library: String, drive: String },
    #[error("library {library}: no {kind} is free")]
    NoFreeElement { library: String, kind: &'static str },
    #[error("library {library}: element {address} is not a {kind}")]
    WrongElement {
        library: String,
        address: u16,
        kind: &'static str,
    },
    #[error("drive {drive}: cannot start its worker thread: {source}")]
    Worker {
        drive: String,
        #[source]
        source: std::io::Error,
    },
    #[error("drive {drive}: its worker thread has stopped")]
    WorkerGone { drive: String },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl LibraryError {
    /// The drive itself failed or is out of service: the work may go to another drive.
    pub fn is_drive_failure(&self) -> bool {
        match self {
            LibraryError::Drive { source, .. } => {
                source.category() == Some(tapelib_scsi::ErrorCategory::HardwareError)
            }
            LibraryError::DriveDown { .. } | LibraryError::WorkerGone { .. } => true,
            _ => false,
        }
    }
}
