//! Carrying a DIVA status code in a gRPC status: the status `details` hold an
//! encoded [`DivaError`], and the gRPC code is derived from the DIVA code
//! ([`DivaStatusCode::grpc_code`]), so plain gRPC clients still see a fitting
//! code and DIVA-aware clients (the REST facade, `tapectl`) recover the exact
//! DIVA code and name.

use bytes::Bytes;
use prost::Message;
use tonic::Status;

use crate::diva::DivaCodeError;
use crate::v1::{DivaError, DivaStatusCode};

/// Why a gRPC status could not be read as a DIVA error.
#[derive(Debug, thiserror::Error)]
pub enum StatusDetailsError {
    /// The status has no details at all (it did not come from a DIVA-aware
    /// server, or a proxy replaced it).
    #[error("gRPC status {code:?} carries no DIVA error details: {message}")]
    Missing {
        /// The gRPC code of the status.
        code: tonic::Code,
        /// The status message.
        message: String,
    },
    /// The details are not an encoded `DivaError`.
    #[error("gRPC status {code:?} details are not a DivaError: {source}")]
    Decode {
        /// The gRPC code of the status.
        code: tonic::Code,
        /// The decoding failure.
        source: prost::DecodeError,
    },
}

impl DivaError {
    /// A DIVA error with the code's DIVA name filled in.
    pub fn new(code: DivaStatusCode, message: impl Into<String>) -> Self {
        Self {
            code: code.code(),
            name: code.name().to_owned(),
            message: message.into(),
        }
    }

    /// The DIVA code, if it is one this crate knows (a newer server may send
    /// codes beyond 1040; `name` still says what they are).
    pub fn status_code(&self) -> Result<DivaStatusCode, DivaCodeError> {
        DivaStatusCode::from_code(self.code)
    }

    /// Packs the error into a gRPC status whose code derives from the DIVA
    /// code, whose message is `message` and whose details are this error,
    /// encoded. A code unknown to this crate is sent as `UNKNOWN`.
    pub fn into_status(self) -> Status {
        let grpc = self
            .status_code()
            .map_or(tonic::Code::Unknown, DivaStatusCode::grpc_code);
        let details = Bytes::from(self.encode_to_vec());
        Status::with_details(grpc, self.message, details)
    }

    /// Unpacks the DIVA error from a gRPC status made by
    /// [`DivaError::into_status`]. Never panics, whatever the details hold.
    pub fn from_status(status: &Status) -> Result<Self, StatusDetailsError> {
        let details = status.details();
        if details.is_empty() {
            return Err(StatusDetailsError::Missing {
                code: status.code(),
                message: status.message().to_owned(),
            });
        }
        Self::decode(details).map_err(|source| StatusDetailsError::Decode {
            code: status.code(),
            source,
        })
    }

    /// The DIVA error a client should report for any gRPC status: the packed
    /// one when present, otherwise one derived from the gRPC code
    /// ([`DivaStatusCode::from_grpc_code`]) with the status message.
    pub fn from_status_lossy(status: &Status) -> Self {
        Self::from_status(status).unwrap_or_else(|_| {
            Self::new(
                DivaStatusCode::from_grpc_code(status.code()),
                status.message(),
            )
        })
    }
}

impl From<DivaError> for Status {
    fn from(error: DivaError) -> Self {
        error.into_status()
    }
}

impl TryFrom<&Status> for DivaError {
    type Error = StatusDetailsError;

    fn try_from(status: &Status) -> Result<Self, Self::Error> {
        Self::from_status(status)
    }
}

/// Shorthand for `DivaError::new(code, message).into_status()`.
pub fn diva_status(code: DivaStatusCode, message: impl Into<String>) -> Status {
    DivaError::new(code, message).into_status()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pack_and_unpack() {
        let status = diva_status(
            DivaStatusCode::DivaErrObjectOffline,
            "object news/clip1: every instance is on ejected tapes (TL0004L8)",
        );
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "object news/clip1: every instance is on ejected tapes (TL0004L8)"
        );
        let error = DivaError::from_status(&status).expect("details present");
        assert_eq!(error.code, 1023);
        assert_eq!(error.name, "DIVA_ERR_OBJECT_OFFLINE");
        assert_eq!(error.message, status.message());
        assert_eq!(
            error.status_code(),
            Ok(DivaStatusCode::DivaErrObjectOffline)
        );
    }

    #[test]
    fn unknown_code_travels_as_unknown() {
        let error = DivaError {
            code: 1099,
            name: "DIVA_ERR_FUTURE".into(),
            message: "newer server".into(),
        };
        let status = Status::from(error.clone());
        assert_eq!(status.code(), tonic::Code::Unknown);
        let back = DivaError::try_from(&status).expect("decodes");
        assert_eq!(back, error);
        assert_eq!(back.status_code(), Err(DivaCodeError::UnknownCode(1099)));
    }

    #[test]
    fn missing_and_garbage_details() {
        let plain = Status::unavailable("connection refused");
        assert!(matches!(
            DivaError::from_status(&plain),
            Err(StatusDetailsError::Missing {
                code: tonic::Code::Unavailable,
                ..
            })
        ));
        let lossy = DivaError::from_status_lossy(&plain);
        assert_eq!(lossy.name, "DIVA_ERR_BROKEN_CONNECTION");
        assert_eq!(lossy.message, "connection refused");

        // A truncated varint length-delimited field.
        let garbage = Status::with_details(
            tonic::Code::Internal,
            "x",
            Bytes::from_static(&[0x1a, 0x05, b'a']),
        );
        assert!(matches!(
            DivaError::from_status(&garbage),
            Err(StatusDetailsError::Decode {
                code: tonic::Code::Internal,
                ..
            })
        ));
        assert_eq!(
            DivaError::from_status_lossy(&garbage).name,
            "DIVA_ERR_INTERNAL"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_code_round_trips(index in 0usize..41, message in ".{0,200}") {
            let row = crate::diva::DIVA_CODES[index];
            let code = DivaStatusCode::from_code(row.code).expect("table code");
            let status = diva_status(code, message.clone());
            prop_assert_eq!(status.code(), code.grpc_code());
            let back = DivaError::from_status(&status).expect("details");
            prop_assert_eq!(back, DivaError { code: row.code, name: row.name.into(), message });
        }

        #[test]
        fn arbitrary_details_never_panic(details in proptest::collection::vec(any::<u8>(), 0..256)) {
            let status = Status::with_details(tonic::Code::Internal, "m", Bytes::from(details));
            match DivaError::from_status(&status) {
                // Whatever decoded must survive its own packing (an all-default
                // message encodes to no bytes, i.e. no details at all).
                Ok(error) if error != DivaError::default() => {
                    let again = DivaError::from_status(&error.clone().into_status()).ok();
                    prop_assert_eq!(again, Some(error));
                }
                Ok(_) => {}
                Err(_) => {
                    prop_assert_eq!(DivaError::from_status_lossy(&status).name, "DIVA_ERR_INTERNAL");
                }
            }
        }
    }
}
