//! DIVA request status codes 1000-1040, with the names and meanings of the DIVA REST API
//! guides (DIVA Core 8.0 and DIVA 9.0 list the same codes and names). Requests carry one of
//! these so DIVA-speaking clients can act on our results unchanged.

use serde::{Deserialize, Serialize};

/// A DIVA status code. Serialised as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
#[repr(u16)]
pub enum DivaStatus {
    /// Success
    Ok = 1000,
    /// Error: unknown error
    ErrUnknown = 1001,
    /// Error: internal error
    ErrInternal = 1002,
    /// Error: no archive system
    ErrNoArchiveSystem = 1003,
    /// Error: broken connection
    ErrBrokenConnection = 1004,
    /// Error: while disconnecting
    ErrDisconnecting = 1005,
    /// Error: already connected
    ErrAlreadyConnected = 1006,
    /// Error: wrong software version
    ErrWrongVersion = 1007,
    /// Error: invalid parameter
    ErrInvalidParameter = 1008,
    /// Error: Object doesn't exist
    ErrObjectDoesntExist = 1009,
    /// Error: several objects with this name
    ErrSeveralObjects = 1010,
    /// Error: no such request
    ErrNoSuchRequest = 1011,
    /// Error: request is not cancelable
    ErrNotCancelable = 1012,
    /// Error: DIVA is idle
    ErrSystemIdle = 1013,
    /// Error: wrong objects list size
    ErrWrongListSize = 1014,
    /// Error: Objects list is not initialized
    ErrListNotInitialized = 1015,
    /// Error: Object already exists
    ErrObjectAlreadyExists = 1016,
    /// Error: Tape Group, media or storage plan does not exist
    ErrGroupDoesntExist = 1017,
    /// Error: source or destination doesn't exist
    ErrSourceOrDestinationDoesntExist = 1018,
    /// Warning: no more objects
    WarnNoMoreObjects = 1019,
    /// Error: not connected
    ErrNotConnected = 1020,
    /// Error: Tape Group, media or storage plan already exists
    ErrGroupAlreadyExists = 1021,
    /// Error: archived objects belong to this Tape Group
    ErrGroupInUse = 1022,
    /// Error: Object offline
    ErrObjectOffline = 1023,
    /// Error: timeout
    ErrTimeout = 1024,
    /// Error: last instance
    ErrLastInstance = 1025,
    /// Error: destination path must be complete
    ErrPathDestination = 1026,
    /// Error: instance does not exist
    ErrInstanceDoesntExist = 1027,
    /// Error: instance offline
    ErrInstanceOffline = 1028,
    /// Error: instance must be on tape
    ErrInstanceMustBeOnTape = 1029,
    /// Error: no tape instance exists
    ErrNoInstanceTapeExist = 1030,
    /// Error: Object in use
    ErrObjectInUse = 1031,
    /// Error: cannot accept more requests
    ErrCannotAcceptMoreRequests = 1032,
    /// Error: tape doesn't exist
    ErrTapeDoesntExist = 1033,
    /// Error: invalid instance type
    ErrInvalidInstanceType = 1034,
    /// Error: access denied
    ErrAccessDenied = 1035,
    /// Error: Object is partially deleted
    ErrObjectPartiallyDeleted = 1036,
    /// License does not support this feature
    ErrLicenseDoesNotSupportThisFeature = 1037,
    /// Error: component not found
    ErrComponentNotFound = 1038,
    /// Error: Object is locked
    ErrObjectIsLocked = 1039,
    /// Error: Object is being archived
    ErrObjectBeingArchived = 1040,
}

impl DivaStatus {
    /// Every code in numeric order.
    pub const ALL: [DivaStatus; 41] = [
        DivaStatus::Ok,
        DivaStatus::ErrUnknown,
        DivaStatus::ErrInternal,
        DivaStatus::ErrNoArchiveSystem,
        DivaStatus::ErrBrokenConnection,
        DivaStatus::ErrDisconnecting,
        DivaStatus::ErrAlreadyConnected,
        DivaStatus::ErrWrongVersion,
        DivaStatus::ErrInvalidParameter,
        DivaStatus::ErrObjectDoesntExist,
        DivaStatus::ErrSeveralObjects,
        DivaStatus::ErrNoSuchRequest,
        DivaStatus::ErrNotCancelable,
        DivaStatus::ErrSystemIdle,
        DivaStatus::ErrWrongListSize,
        DivaStatus::ErrListNotInitialized,
        DivaStatus::ErrObjectAlreadyExists,
        DivaStatus::ErrGroupDoesntExist,
        DivaStatus::ErrSourceOrDestinationDoesntExist,
        DivaStatus::WarnNoMoreObjects,
        DivaStatus::ErrNotConnected,
        DivaStatus::ErrGroupAlreadyExists,
        DivaStatus::ErrGroupInUse,
        DivaStatus::ErrObjectOffline,
        DivaStatus::ErrTimeout,
        DivaStatus::ErrLastInstance,
        DivaStatus::ErrPathDestination,
        DivaStatus::ErrInstanceDoesntExist,
        DivaStatus::ErrInstanceOffline,
        DivaStatus::ErrInstanceMustBeOnTape,
        DivaStatus::ErrNoInstanceTapeExist,
        DivaStatus::ErrObjectInUse,
        DivaStatus::ErrCannotAcceptMoreRequests,
        DivaStatus::ErrTapeDoesntExist,
        DivaStatus::ErrInvalidInstanceType,
        DivaStatus::ErrAccessDenied,
        DivaStatus::ErrObjectPartiallyDeleted,
        DivaStatus::ErrLicenseDoesNotSupportThisFeature,
        DivaStatus::ErrComponentNotFound,
        DivaStatus::ErrObjectIsLocked,
        DivaStatus::ErrObjectBeingArchived,
    ];

    /// The numeric code.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// Looks a code up; `None` outside 1000-1040.
    pub fn from_code(code: u16) -> Option<Self> {
        let idx = usize::from(code.checked_sub(1000)?);
        Self::ALL.get(idx).copied()
    }

    /// Looks a name (e.g. `DIVA_ERR_OBJECT_OFFLINE`) up.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// True for DIVA_OK only.
    pub fn is_ok(self) -> bool {
        self == DivaStatus::Ok
    }

    /// True for warnings (DIVA_WARN_*), which are not failures.
    pub fn is_warning(self) -> bool {
        self.name().starts_with("DIVA_WARN_")
    }

    /// The symbolic name as in the DIVA guides.
    pub fn name(self) -> &'static str {
        match self {
            DivaStatus::Ok => "DIVA_OK",
            DivaStatus::ErrUnknown => "DIVA_ERR_UNKNOWN",
            DivaStatus::ErrInternal => "DIVA_ERR_INTERNAL",
            DivaStatus::ErrNoArchiveSystem => "DIVA_ERR_NO_ARCHIVE_SYSTEM",
            DivaStatus::ErrBrokenConnection => "DIVA_ERR_BROKEN_CONNECTION",
            DivaStatus::ErrDisconnecting => "DIVA_ERR_DISCONNECTING",
            DivaStatus::ErrAlreadyConnected => "DIVA_ERR_ALREADY_CONNECTED",
            DivaStatus::ErrWrongVersion => "DIVA_ERR_WRONG_VERSION",
            DivaStatus::ErrInvalidParameter => "DIVA_ERR_INVALID_PARAMETER",
            DivaStatus::ErrObjectDoesntExist => "DIVA_ERR_OBJECT_DOESNT_EXIST",
            DivaStatus::ErrSeveralObjects => "DIVA_ERR_SEVERAL_OBJECTS",
            DivaStatus::ErrNoSuchRequest => "DIVA_ERR_NO_SUCH_REQUEST",
            DivaStatus::ErrNotCancelable => "DIVA_ERR_NOT_CANCELABLE",
            DivaStatus::ErrSystemIdle => "DIVA_ERR_SYSTEM_IDLE",
            DivaStatus::ErrWrongListSize => "DIVA_ERR_WRONG_LIST_SIZE",
            DivaStatus::ErrListNotInitialized => "DIVA_ERR_LIST_NOT_INITIALIZED",
            DivaStatus::ErrObjectAlreadyExists => "DIVA_ERR_OBJECT_ALREADY_EXISTS",
            DivaStatus::ErrGroupDoesntExist => "DIVA_ERR_GROUP_DOESNT_EXIST",
            DivaStatus::ErrSourceOrDestinationDoesntExist => {
                "DIVA_ERR_SOURCE_OR_DESTINATION_DOESNT_EXIST"
            }
            DivaStatus::WarnNoMoreObjects => "DIVA_WARN_NO_MORE_OBJECTS",
            DivaStatus::ErrNotConnected => "DIVA_ERR_NOT_CONNECTED",
            DivaStatus::ErrGroupAlreadyExists => "DIVA_ERR_GROUP_ALREADY_EXISTS",
            DivaStatus::ErrGroupInUse => "DIVA_ERR_GROUP_IN_USE",
            DivaStatus::ErrObjectOffline => "DIVA_ERR_OBJECT_OFFLINE",
            DivaStatus::ErrTimeout => "DIVA_ERR_TIMEOUT",
            DivaStatus::ErrLastInstance => "DIVA_ERR_LAST_INSTANCE",
            DivaStatus::ErrPathDestination => "DIVA_ERR_PATH_DESTINATION",
            DivaStatus::ErrInstanceDoesntExist => "DIVA_ERR_INSTANCE_DOESNT_EXIST",
            DivaStatus::ErrInstanceOffline => "DIVA_ERR_INSTANCE_OFFLINE",
            DivaStatus::ErrInstanceMustBeOnTape => "DIVA_ERR_INSTANCE_MUST_BE_ON_TAPE",
            DivaStatus::ErrNoInstanceTapeExist => "DIVA_ERR_NO_INSTANCE_TAPE_EXIST",
            DivaStatus::ErrObjectInUse => "DIVA_ERR_OBJECT_IN_USE",
            DivaStatus::ErrCannotAcceptMoreRequests => "DIVA_ERR_CANNOT_ACCEPT_MORE_REQUESTS",
            DivaStatus::ErrTapeDoesntExist => "DIVA_ERR_TAPE_DOESNT_EXIST",
            DivaStatus::ErrInvalidInstanceType => "DIVA_ERR_INVALID_INSTANCE_TYPE",
            DivaStatus::ErrAccessDenied => "DIVA_ERR_ACCESS_DENIED",
            DivaStatus::ErrObjectPartiallyDeleted => "DIVA_ERR_OBJECT_PARTIALLY_DELETED",
            DivaStatus::ErrLicenseDoesNotSupportThisFeature => {
                "DIVA_ERR_LICENSE_DOES_NOT_SUPPORT_THIS_FEATURE"
            }
            DivaStatus::ErrComponentNotFound => "DIVA_ERR_COMPONENT_NOT_FOUND",
            DivaStatus::ErrObjectIsLocked => "DIVA_ERR_OBJECT_IS_LOCKED",
            DivaStatus::ErrObjectBeingArchived => "DIVA_ERR_OBJECT_BEING_ARCHIVED",
        }
    }

    /// The meaning, as the DIVA guides describe it.
    pub fn description(self) -> &'static str {
        match self {
            DivaStatus::Ok => "Success",
            DivaStatus::ErrUnknown => "Error: unknown error",
            DivaStatus::ErrInternal => "Error: internal error",
            DivaStatus::ErrNoArchiveSystem => "Error: no archive system",
            DivaStatus::ErrBrokenConnection => "Error: broken connection",
            DivaStatus::ErrDisconnecting => "Error: while disconnecting",
            DivaStatus::ErrAlreadyConnected => "Error: already connected",
            DivaStatus::ErrWrongVersion => "Error: wrong software version",
            DivaStatus::ErrInvalidParameter => "Error: invalid parameter",
            DivaStatus::ErrObjectDoesntExist => "Error: Object doesn't exist",
            DivaStatus::ErrSeveralObjects => "Error: several objects with this name",
            DivaStatus::ErrNoSuchRequest => "Error: no such request",
            DivaStatus::ErrNotCancelable => "Error: request is not cancelable",
            DivaStatus::ErrSystemIdle => "Error: DIVA is idle",
            DivaStatus::ErrWrongListSize => "Error: wrong objects list size",
            DivaStatus::ErrListNotInitialized => "Error: Objects list is not initialized",
            DivaStatus::ErrObjectAlreadyExists => "Error: Object already exists",
            DivaStatus::ErrGroupDoesntExist => {
                "Error: Tape Group, media or storage plan does not exist"
            }
            DivaStatus::ErrSourceOrDestinationDoesntExist => {
                "Error: source or destination doesn't exist"
            }
            DivaStatus::WarnNoMoreObjects => "Warning: no more objects",
            DivaStatus::ErrNotConnected => "Error: not connected",
            DivaStatus::ErrGroupAlreadyExists => {
                "Error: Tape Group, media or storage plan already exists"
            }
            DivaStatus::ErrGroupInUse => "Error: archived objects belong to this Tape Group",
            DivaStatus::ErrObjectOffline => "Error: Object offline",
            DivaStatus::ErrTimeout => "Error: timeout",
            DivaStatus::ErrLastInstance => "Error: last instance",
            DivaStatus::ErrPathDestination => "Error: destination path must be complete",
            DivaStatus::ErrInstanceDoesntExist => "Error: instance does not exist",
            DivaStatus::ErrInstanceOffline => "Error: instance offline",
            DivaStatus::ErrInstanceMustBeOnTape => "Error: instance must be on tape",
            DivaStatus::ErrNoInstanceTapeExist => "Error: no tape instance exists",
            DivaStatus::ErrObjectInUse => "Error: Object in use",
            DivaStatus::ErrCannotAcceptMoreRequests => "Error: cannot accept more requests",
            DivaStatus::ErrTapeDoesntExist => "Error: tape doesn't exist",
            DivaStatus::ErrInvalidInstanceType => "Error: invalid instance type",
            DivaStatus::ErrAccessDenied => "Error: access denied",
            DivaStatus::ErrObjectPartiallyDeleted => "Error: Object is partially deleted",
            DivaStatus::ErrLicenseDoesNotSupportThisFeature => {
                "License does not support this feature"
            }
            DivaStatus::ErrComponentNotFound => "Error: component not found",
            DivaStatus::ErrObjectIsLocked => "Error: Object is locked",
            DivaStatus::ErrObjectBeingArchived => "Error: Object is being archived",
        }
    }
}

impl From<DivaStatus> for u16 {
    fn from(s: DivaStatus) -> u16 {
        s.code()
    }
}

/// A number outside the DIVA status range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown DIVA status code {0}")]
pub struct UnknownDivaStatus(pub u16);

impl TryFrom<u16> for DivaStatus {
    type Error = UnknownDivaStatus;
    fn try_from(code: u16) -> Result<Self, Self::Error> {
        DivaStatus::from_code(code).ok_or(UnknownDivaStatus(code))
    }
}

impl std::fmt::Display for DivaStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_contiguous_and_named_per_the_guides() {
        for (i, s) in DivaStatus::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.code()), 1000 + i);
            assert!(s.name().starts_with("DIVA_"));
            assert_eq!(DivaStatus::from_name(s.name()), Some(*s));
        }
        assert_eq!(DivaStatus::Ok.name(), "DIVA_OK");
        assert_eq!(DivaStatus::ErrInvalidParameter.code(), 1008);
        assert_eq!(
            DivaStatus::ErrObjectDoesntExist.name(),
            "DIVA_ERR_OBJECT_DOESNT_EXIST"
        );
        assert_eq!(DivaStatus::ErrObjectAlreadyExists.code(), 1016);
        assert_eq!(DivaStatus::ErrObjectOffline.code(), 1023);
        assert_eq!(DivaStatus::ErrObjectBeingArchived.code(), 1040);
        assert!(DivaStatus::WarnNoMoreObjects.is_warning());
        assert!(!DivaStatus::ErrTimeout.is_warning());
        assert_eq!(DivaStatus::from_code(999), None);
        assert_eq!(DivaStatus::from_code(1041), None);
        assert_eq!(
            DivaStatus::ErrObjectOffline.to_string(),
            "1023 DIVA_ERR_OBJECT_OFFLINE"
        );
    }

    #[test]
    fn serialises_as_number() {
        let j = serde_json::to_string(&DivaStatus::ErrTimeout).expect("encode");
        assert_eq!(j, "1024");
        assert!(serde_json::from_str::<DivaStatus>("1041").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn from_code_roundtrips_or_rejects(code in any::<u16>()) {
            match DivaStatus::from_code(code) {
                Some(s) => prop_assert_eq!(s.code(), code),
                None => prop_assert!(!(1000..=1040).contains(&code)),
            }
        }
    }
}
