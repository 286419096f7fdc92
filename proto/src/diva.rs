//! The DIVA request status codes 1000–1040 (DIVA REST API guides 8.0 and
//! 9.0, "DIVA Request Status Codes"): numbers, names and descriptions, and
//! their mirror [`DivaStatusCode`] in the API.

use std::fmt;

use crate::v1::{DivaStatus, DivaStatusCode};

/// One row of the DIVA status code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DivaCodeInfo {
    /// The code number.
    pub code: i32,
    /// The DIVA name, e.g. `DIVA_ERR_OBJECT_OFFLINE`.
    pub name: &'static str,
    /// The DIVA description (wording of the 9.0 guide), e.g.
    /// `Error: Object offline`.
    pub description: &'static str,
}

impl DivaCodeInfo {
    const fn new(code: i32, name: &'static str, description: &'static str) -> Self {
        Self {
            code,
            name,
            description,
        }
    }
}

/// The lowest DIVA status code.
pub const FIRST_DIVA_CODE: i32 = 1000;
/// The highest DIVA status code.
pub const LAST_DIVA_CODE: i32 = 1040;

/// Every DIVA status code, in code order with no gaps: `DIVA_CODES[i].code`
/// is `FIRST_DIVA_CODE + i`.
pub const DIVA_CODES: &[DivaCodeInfo] = &[
    DivaCodeInfo::new(1000, "DIVA_OK", "Success"),
    DivaCodeInfo::new(1001, "DIVA_ERR_UNKNOWN", "Error: unknown error"),
    DivaCodeInfo::new(1002, "DIVA_ERR_INTERNAL", "Error: internal error"),
    DivaCodeInfo::new(
        1003,
        "DIVA_ERR_NO_ARCHIVE_SYSTEM",
        "Error: no archive system",
    ),
    DivaCodeInfo::new(
        1004,
        "DIVA_ERR_BROKEN_CONNECTION",
        "Error: broken connection",
    ),
    DivaCodeInfo::new(1005, "DIVA_ERR_DISCONNECTING", "Error: while disconnecting"),
    DivaCodeInfo::new(
        1006,
        "DIVA_ERR_ALREADY_CONNECTED",
        "Error: already connected",
    ),
    DivaCodeInfo::new(
        1007,
        "DIVA_ERR_WRONG_VERSION",
        "Error: wrong software version",
    ),
    DivaCodeInfo::new(
        1008,
        "DIVA_ERR_INVALID_PARAMETER",
        "Error: invalid parameter",
    ),
    DivaCodeInfo::new(
        1009,
        "DIVA_ERR_OBJECT_DOESNT_EXIST",
        "Error: Object doesn't exist",
    ),
    DivaCodeInfo::new(
        1010,
        "DIVA_ERR_SEVERAL_OBJECTS",
        "Error: several objects with this name",
    ),
    DivaCodeInfo::new(1011, "DIVA_ERR_NO_SUCH_REQUEST", "Error: no such request"),
    DivaCodeInfo::new(
        1012,
        "DIVA_ERR_NOT_CANCELABLE",
        "Error: request is not cancelable",
    ),
    DivaCodeInfo::new(1013, "DIVA_ERR_SYSTEM_IDLE", "Error: DIVA is idle"),
    DivaCodeInfo::new(
        1014,
        "DIVA_ERR_WRONG_LIST_SIZE",
        "Error: wrong objects list size",
    ),
    DivaCodeInfo::new(
        1015,
        "DIVA_ERR_LIST_NOT_INITIALIZED",
        "Error: Objects list is not initialized",
    ),
    DivaCodeInfo::new(
        1016,
        "DIVA_ERR_OBJECT_ALREADY_EXISTS",
        "Error: Object already exists",
    ),
    DivaCodeInfo::new(
        1017,
        "DIVA_ERR_GROUP_DOESNT_EXIST",
        "Error: Tape Group, media or storage plan does not exist",
    ),
    DivaCodeInfo::new(
        1018,
        "DIVA_ERR_SOURCE_OR_DESTINATION_DOESNT_EXIST",
        "Error: source or destination doesn't exist",
    ),
    DivaCodeInfo::new(
        1019,
        "DIVA_WARN_NO_MORE_OBJECTS",
        "Warning: no more objects",
    ),
    DivaCodeInfo::new(1020, "DIVA_ERR_NOT_CONNECTED", "Error: not connected"),
    DivaCodeInfo::new(
        1021,
        "DIVA_ERR_GROUP_ALREADY_EXISTS",
        "Error: Tape Group, media or storage plan already exists",
    ),
    DivaCodeInfo::new(
        1022,
        "DIVA_ERR_GROUP_IN_USE",
        "Error: archived objects belong to this Tape Group",
    ),
    DivaCodeInfo::new(1023, "DIVA_ERR_OBJECT_OFFLINE", "Error: Object offline"),
    DivaCodeInfo::new(1024, "DIVA_ERR_TIMEOUT", "Error: timeout"),
    DivaCodeInfo::new(1025, "DIVA_ERR_LAST_INSTANCE", "Error: last instance"),
    DivaCodeInfo::new(
        1026,
        "DIVA_ERR_PATH_DESTINATION",
        "Error: destination path must be complete",
    ),
    DivaCodeInfo::new(
        1027,
        "DIVA_ERR_INSTANCE_DOESNT_EXIST",
        "Error: instance does not exist",
    ),
    DivaCodeInfo::new(1028, "DIVA_ERR_INSTANCE_OFFLINE", "Error: instance offline"),
    DivaCodeInfo::new(
        1029,
        "DIVA_ERR_INSTANCE_MUST_BE_ON_TAPE",
        "Error: instance must be on tape",
    ),
    DivaCodeInfo::new(
        1030,
        "DIVA_ERR_NO_INSTANCE_TAPE_EXIST",
        "Error: no tape instance exists",
    ),
    DivaCodeInfo::new(1031, "DIVA_ERR_OBJECT_IN_USE", "Error: Object in use"),
    DivaCodeInfo::new(
        1032,
        "DIVA_ERR_CANNOT_ACCEPT_MORE_REQUESTS",
        "Error: cannot accept more requests",
    ),
    DivaCodeInfo::new(
        1033,
        "DIVA_ERR_TAPE_DOESNT_EXIST",
        "Error: tape doesn't exist",
    ),
    DivaCodeInfo::new(
        1034,
        "DIVA_ERR_INVALID_INSTANCE_TYPE",
        "Error: invalid instance type",
    ),
    DivaCodeInfo::new(1035, "DIVA_ERR_ACCESS_DENIED", "Error: access denied"),
    DivaCodeInfo::new(
        1036,
        "DIVA_ERR_OBJECT_PARTIALLY_DELETED",
        "Error: Object is partially deleted",
    ),
    DivaCodeInfo::new(
        1037,
        "DIVA_ERR_LICENSE_DOES_NOT_SUPPORT_THIS_FEATURE",
        "License does not support this feature",
    ),
    DivaCodeInfo::new(
        1038,
        "DIVA_ERR_COMPONENT_NOT_FOUND",
        "Error: component not found",
    ),
    DivaCodeInfo::new(1039, "DIVA_ERR_OBJECT_IS_LOCKED", "Error: Object is locked"),
    DivaCodeInfo::new(
        1040,
        "DIVA_ERR_OBJECT_BEING_ARCHIVED",
        "Error: Object is being archived",
    ),
];

/// Why a number or a name is not a DIVA status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivaCodeError {
    /// The number is outside 1000–1040.
    #[error("{0} is not a DIVA status code (1000-1040)")]
    UnknownCode(i32),
    /// The name is not one of the DIVA names.
    #[error("{0:?} is not a DIVA status code name")]
    UnknownName(String),
}

/// The table row of `code`, if it is a DIVA code.
pub fn info(code: i32) -> Option<&'static DivaCodeInfo> {
    let index = usize::try_from(code.checked_sub(FIRST_DIVA_CODE)?).ok()?;
    DIVA_CODES.get(index)
}

/// The DIVA name of `code`, e.g. `name_of(1023) == Some("DIVA_ERR_OBJECT_OFFLINE")`.
pub fn name_of(code: i32) -> Option<&'static str> {
    info(code).map(|i| i.name)
}

/// The DIVA description of `code`.
pub fn description_of(code: i32) -> Option<&'static str> {
    info(code).map(|i| i.description)
}

/// The code number of a DIVA name (exact, case-sensitive match).
pub fn code_of(name: &str) -> Option<i32> {
    DIVA_CODES.iter().find(|i| i.name == name).map(|i| i.code)
}

impl DivaStatusCode {
    /// The enum value of a DIVA code number; `UNSPECIFIED` (0) and every
    /// number outside 1000–1040 are refused.
    pub fn from_code(code: i32) -> Result<Self, DivaCodeError> {
        match Self::try_from(code) {
            Ok(Self::Unspecified) | Err(_) => Err(DivaCodeError::UnknownCode(code)),
            Ok(value) => Ok(value),
        }
    }

    /// The enum value of a DIVA name, e.g. `"DIVA_OK"`.
    pub fn from_name(name: &str) -> Result<Self, DivaCodeError> {
        code_of(name)
            .and_then(|code| Self::from_code(code).ok())
            .ok_or_else(|| DivaCodeError::UnknownName(name.to_owned()))
    }

    /// The DIVA code number (0 for `UNSPECIFIED`).
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The DIVA name, e.g. `"DIVA_ERR_OBJECT_OFFLINE"`; the proto name for
    /// `UNSPECIFIED`.
    pub fn name(self) -> &'static str {
        self.as_str_name()
    }

    /// The DIVA description; empty for `UNSPECIFIED`.
    pub fn description(self) -> &'static str {
        description_of(self.code()).unwrap_or("")
    }

    /// True for `DIVA_OK`.
    pub fn is_ok(self) -> bool {
        self == Self::DivaOk
    }

    /// True for the `DIVA_WARN_*` codes.
    pub fn is_warning(self) -> bool {
        self.name().starts_with("DIVA_WARN_")
    }

    /// The gRPC status code an error with this DIVA code is reported with.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::DivaOk => Code::Ok,
            Self::Unspecified | Self::DivaErrUnknown => Code::Unknown,
            Self::DivaErrInternal => Code::Internal,
            Self::DivaErrNoArchiveSystem
            | Self::DivaErrBrokenConnection
            | Self::DivaErrDisconnecting
            | Self::DivaErrNotConnected => Code::Unavailable,
            Self::DivaErrInvalidParameter
            | Self::DivaErrWrongListSize
            | Self::DivaErrPathDestination
            | Self::DivaErrInvalidInstanceType => Code::InvalidArgument,
            Self::DivaErrObjectDoesntExist
            | Self::DivaErrNoSuchRequest
            | Self::DivaErrGroupDoesntExist
            | Self::DivaErrSourceOrDestinationDoesntExist
            | Self::DivaErrInstanceDoesntExist
            | Self::DivaErrNoInstanceTapeExist
            | Self::DivaErrTapeDoesntExist
            | Self::DivaErrComponentNotFound => Code::NotFound,
            Self::DivaErrObjectAlreadyExists
            | Self::DivaErrGroupAlreadyExists
            | Self::DivaErrAlreadyConnected => Code::AlreadyExists,
            // Refusals that depend on the current state of the system: the
            // same call can succeed later (after an insert, a finished
            // archive, ...), so not InvalidArgument.
            Self::DivaErrSeveralObjects
            | Self::DivaErrNotCancelable
            | Self::DivaErrSystemIdle
            | Self::DivaErrListNotInitialized
            | Self::DivaErrGroupInUse
            | Self::DivaErrObjectOffline
            | Self::DivaErrLastInstance
            | Self::DivaErrInstanceOffline
            | Self::DivaErrInstanceMustBeOnTape
            | Self::DivaErrObjectInUse
            | Self::DivaErrObjectPartiallyDeleted
            | Self::DivaErrObjectIsLocked
            | Self::DivaErrObjectBeingArchived
            | Self::DivaErrWrongVersion => Code::FailedPrecondition,
            Self::DivaWarnNoMoreObjects => Code::OutOfRange,
            Self::DivaErrTimeout => Code::DeadlineExceeded,
            Self::DivaErrCannotAcceptMoreRequests => Code::ResourceExhausted,
            Self::DivaErrAccessDenied => Code::PermissionDenied,
            Self::DivaErrLicenseDoesNotSupportThisFeature => Code::Unimplemented,
        }
    }

    /// The DIVA code to report for a gRPC status that carries no DIVA
    /// details (transport failures, proxies, interceptors).
    pub fn from_grpc_code(code: tonic::Code) -> Self {
        use tonic::Code;
        match code {
            Code::Ok => Self::DivaOk,
            Code::InvalidArgument | Code::OutOfRange => Self::DivaErrInvalidParameter,
            Code::DeadlineExceeded => Self::DivaErrTimeout,
            Code::Unavailable | Code::Cancelled => Self::DivaErrBrokenConnection,
            Code::Unauthenticated | Code::PermissionDenied => Self::DivaErrAccessDenied,
            Code::ResourceExhausted => Self::DivaErrCannotAcceptMoreRequests,
            Code::Unimplemented => Self::DivaErrLicenseDoesNotSupportThisFeature,
            Code::Internal | Code::DataLoss => Self::DivaErrInternal,
            Code::Unknown
            | Code::NotFound
            | Code::AlreadyExists
            | Code::FailedPrecondition
            | Code::Aborted => Self::DivaErrUnknown,
        }
    }

    /// The status triple the REST facade reports (`statusCode`,
    /// `statusName`, `statusDescription`).
    pub fn to_diva_status(self) -> DivaStatus {
        DivaStatus {
            code: self.code(),
            name: self.name().to_owned(),
            description: self.description().to_owned(),
        }
    }
}

impl fmt::Display for DivaStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_dense_and_ordered() {
        assert_eq!(DIVA_CODES.len(), 41);
        for (offset, row) in (0i32..).zip(DIVA_CODES) {
            assert_eq!(row.code, FIRST_DIVA_CODE + offset, "{row:?}");
        }
        assert_eq!(DIVA_CODES.last().map(|r| r.code), Some(LAST_DIVA_CODE));
    }

    #[test]
    fn lookups_by_code_and_name() {
        assert_eq!(name_of(1000), Some("DIVA_OK"));
        assert_eq!(name_of(1023), Some("DIVA_ERR_OBJECT_OFFLINE"));
        assert_eq!(name_of(1040), Some("DIVA_ERR_OBJECT_BEING_ARCHIVED"));
        assert_eq!(description_of(1019), Some("Warning: no more objects"));
        assert_eq!(code_of("DIVA_ERR_TAPE_DOESNT_EXIST"), Some(1033));
        assert_eq!(code_of("diva_ok"), None);
        for bad in [i32::MIN, -1, 0, 999, 1041, i32::MAX] {
            assert_eq!(info(bad), None, "{bad}");
        }
    }

    #[test]
    fn proto_enum_mirrors_the_table() {
        for row in DIVA_CODES {
            let value = DivaStatusCode::from_code(row.code).expect("code in enum");
            assert_eq!(value.name(), row.name);
            assert_eq!(value.description(), row.description);
            assert_eq!(DivaStatusCode::from_name(row.name), Ok(value));
            assert_eq!(DivaStatusCode::from_str_name(row.name), Some(value));
        }
        // And the enum has nothing beyond the table but the proto3 zero value.
        for code in -5..2000 {
            let in_enum =
                matches!(DivaStatusCode::try_from(code), Ok(v) if v != DivaStatusCode::Unspecified);
            assert_eq!(in_enum, info(code).is_some(), "{code}");
        }
        assert_eq!(
            DivaStatusCode::from_code(0),
            Err(DivaCodeError::UnknownCode(0))
        );
        assert_eq!(
            DivaStatusCode::from_name("DIVA_STATUS_CODE_UNSPECIFIED"),
            Err(DivaCodeError::UnknownName(
                "DIVA_STATUS_CODE_UNSPECIFIED".into()
            ))
        );
    }

    #[test]
    fn grpc_codes() {
        use tonic::Code;
        assert_eq!(DivaStatusCode::DivaOk.grpc_code(), Code::Ok);
        assert_eq!(
            DivaStatusCode::DivaErrObjectOffline.grpc_code(),
            Code::FailedPrecondition
        );
        assert_eq!(
            DivaStatusCode::DivaErrObjectAlreadyExists.grpc_code(),
            Code::AlreadyExists
        );
        assert_eq!(
            DivaStatusCode::DivaErrInvalidParameter.grpc_code(),
            Code::InvalidArgument
        );
        assert_eq!(
            DivaStatusCode::DivaErrAccessDenied.grpc_code(),
            Code::PermissionDenied
        );
        // Every error maps to a failing gRPC code; only DIVA_OK maps to OK.
        for row in DIVA_CODES {
            let value = DivaStatusCode::from_code(row.code).expect("code in enum");
            assert_eq!(value.grpc_code() == Code::Ok, value.is_ok(), "{value}");
        }
    }

    #[test]
    fn warnings_display_and_rest_triple() {
        assert!(DivaStatusCode::DivaWarnNoMoreObjects.is_warning());
        assert!(!DivaStatusCode::DivaErrTimeout.is_warning());
        assert_eq!(
            DivaStatusCode::DivaErrTimeout.to_string(),
            "1024 DIVA_ERR_TIMEOUT"
        );
        let status = DivaStatusCode::DivaErrObjectOffline.to_diva_status();
        assert_eq!(status.code, 1023);
        assert_eq!(status.name, "DIVA_ERR_OBJECT_OFFLINE");
        assert_eq!(status.description, "Error: Object offline");
        assert_eq!(DivaStatusCode::Unspecified.description(), "");
    }

    #[test]
    fn grpc_fallback_mapping() {
        use tonic::Code;
        assert_eq!(
            DivaStatusCode::from_grpc_code(Code::Unavailable),
            DivaStatusCode::DivaErrBrokenConnection
        );
        assert_eq!(
            DivaStatusCode::from_grpc_code(Code::Unauthenticated),
            DivaStatusCode::DivaErrAccessDenied
        );
        assert_eq!(
            DivaStatusCode::from_grpc_code(Code::DeadlineExceeded),
            DivaStatusCode::DivaErrTimeout
        );
    }
}
