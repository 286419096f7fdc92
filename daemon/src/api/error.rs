//! Failures of API calls and their gRPC form: a status carrying a DIVA error.

use tapelib_proto::v1::{DivaError, DivaStatusCode};
use tonic::Status;

use crate::catalog::CatalogError;
use crate::engine::OpError;
use crate::library::LibraryError;
use crate::request::{catalog_status, RequestError};

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("tape {barcode} is not in the catalog")]
    UnknownTape { barcode: String },
    #[error("tape {barcode} has no bit-integrity report: it was never verified whole")]
    NoBitIntegrityReport { barcode: String },
    #[error("no library named {library}")]
    UnknownLibrary { library: String },
    #[error("no drive named {drive}")]
    UnknownDrive { drive: String },
    #[error("invalid parameter {parameter}: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    /// Refused or failed by the request engine, with its own DIVA code.
    #[error(transparent)]
    Op(#[from] OpError),
    #[error(transparent)]
    Request(#[from] RequestError),
    /// Not offered by this daemon (yet); reported as UNIMPLEMENTED.
    #[error("{0}")]
    Unsupported(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The DIVA code the error is reported with.
    pub fn diva_code(&self) -> DivaStatusCode {
        match self {
            ApiError::UnknownTape { .. } => DivaStatusCode::DivaErrTapeDoesntExist,
            ApiError::UnknownLibrary { .. }
            | ApiError::UnknownDrive { .. }
            | ApiError::NoBitIntegrityReport { .. } => DivaStatusCode::DivaErrComponentNotFound,
            ApiError::InvalidParameter { .. } => DivaStatusCode::DivaErrInvalidParameter,
            ApiError::Library(LibraryError::UnknownDrive { .. }) => {
                DivaStatusCode::DivaErrComponentNotFound
            }
            ApiError::Library(LibraryError::TapeNotFound { .. }) => {
                DivaStatusCode::DivaErrTapeDoesntExist
            }
            ApiError::Catalog(e) => catalog_status(e),
            ApiError::Op(e) => e.diva_status(),
            ApiError::Request(e) => e.diva_status(),
            ApiError::Unsupported(_) => DivaStatusCode::DivaErrLicenseDoesNotSupportThisFeature,
            ApiError::Library(_) | ApiError::Internal(_) => DivaStatusCode::DivaErrInternal,
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        let code = e.diva_code();
        if let ApiError::Unsupported(message) = &e {
            let details = DivaError::new(code, message.clone());
            let status = details.into_status();
            return Status::with_details(
                tonic::Code::Unimplemented,
                status.message(),
                status.details().to_vec().into(),
            );
        }
        if code == DivaStatusCode::DivaErrInternal {
            tracing::error!(error = %e, "API call failed");
        } else {
            tracing::debug!(error = %e, "API call refused");
        }
        DivaError::new(code, e.to_string()).into_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diva(e: ApiError) -> (tonic::Code, DivaError) {
        let status = Status::from(e);
        let details = DivaError::from_status(&status).expect("DIVA details");
        (status.code(), details)
    }

    #[test]
    fn unknown_things_are_not_found_with_their_diva_code() {
        let (code, d) = diva(ApiError::UnknownTape {
            barcode: "X00001L8".into(),
        });
        assert_eq!(code, tonic::Code::NotFound);
        assert_eq!(d.name, "DIVA_ERR_TAPE_DOESNT_EXIST");
        assert!(d.message.contains("X00001L8"));
        let (_, d) = diva(ApiError::Catalog(CatalogError::TapeNotFound {
            barcode: "X00001L8".into(),
        }));
        assert_eq!(d.name, "DIVA_ERR_TAPE_DOESNT_EXIST");
        let (code, d) = diva(ApiError::Library(LibraryError::UnknownDrive {
            library: "lib0".into(),
            drive: "drive7".into(),
        }));
        assert_eq!(code, tonic::Code::NotFound);
        assert_eq!(d.name, "DIVA_ERR_COMPONENT_NOT_FOUND");
        assert!(d.message.contains("drive7"));
    }

    #[test]
    fn bad_parameters_and_internal_failures() {
        let (code, d) = diva(ApiError::InvalidParameter {
            parameter: "state",
            reason: "0 is not UP or DOWN".into(),
        });
        assert_eq!(code, tonic::Code::InvalidArgument);
        assert_eq!(d.name, "DIVA_ERR_INVALID_PARAMETER");
        let (code, d) = diva(ApiError::Internal("worker gone".into()));
        assert_eq!(code, tonic::Code::Internal);
        assert_eq!(d.name, "DIVA_ERR_INTERNAL");
    }

    #[test]
    fn engine_refusals_keep_their_diva_code() {
        let (code, d) = diva(ApiError::Op(OpError::diva(
            DivaStatusCode::DivaErrObjectOffline,
            "object c/o is offline",
        )));
        assert_eq!(code, DivaStatusCode::DivaErrObjectOffline.grpc_code());
        assert_eq!(d.name, "DIVA_ERR_OBJECT_OFFLINE");
        let (code, d) = diva(ApiError::Request(RequestError::NotFound { id: 4 }));
        assert_eq!(code, tonic::Code::NotFound);
        assert_eq!(d.name, "DIVA_ERR_NO_SUCH_REQUEST");
        let (_, d) = diva(ApiError::Catalog(CatalogError::ObjectNotFound {
            collection: "c".into(),
            name: "o".into(),
        }));
        assert_eq!(d.name, "DIVA_ERR_OBJECT_DOESNT_EXIST");
        let (code, d) = diva(ApiError::Unsupported("not here".into()));
        assert_eq!(code, tonic::Code::Unimplemented);
        assert_eq!(d.name, "DIVA_ERR_LICENSE_DOES_NOT_SUPPORT_THIS_FEATURE");
        assert_eq!(d.message, "not here");
    }
}
