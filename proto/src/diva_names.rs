//! The DIVA REST spellings of API enums and values (roles, request states,
//! priorities, the `qos` bit field), so the REST facade maps its JSON bodies
//! onto the API in one place.

use crate::v1::{Qos, RequestState, Role};

/// Priority given to requests submitted without one.
pub const DEFAULT_PRIORITY: u32 = 50;
/// Highest request priority (DIVA: 0 lowest, 100 highest).
pub const MAX_PRIORITY: u32 = 100;
/// DIVA_ARCHIVE_SERVICE_DELETE_ON_SOURCE: the bit of the DIVA `qos` field
/// that asks for the source files to be deleted after the archive.
pub const DIVA_ARCHIVE_SERVICE_DELETE_ON_SOURCE: i32 = 0x0100;

/// A value that has no meaning in the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivaValueError {
    /// A priority above 100, or negative other than the DIVA "default" -1.
    #[error("priority {0} is outside 0-100 (or -1 for the default)")]
    Priority(i64),
    /// A `qos` whose service level or service bits are unknown.
    #[error("qos {0:#x} is not a DIVA quality of service")]
    Qos(i32),
    /// An unknown role name.
    #[error("{0:?} is not a role (sysadmin, admin, advoperator, operator, user)")]
    Role(String),
    /// An unknown request state name.
    #[error("{0:?} is not a request state")]
    RequestState(String),
}

/// Reads a DIVA `priority`: -1 means "default" (`None`), 0–100 is kept.
pub fn priority_from_diva(priority: i64) -> Result<Option<u32>, DivaValueError> {
    match priority {
        -1 => Ok(None),
        0..=100 => u32::try_from(priority)
            .map(Some)
            .map_err(|_| DivaValueError::Priority(priority)),
        _ => Err(DivaValueError::Priority(priority)),
    }
}

/// The effective priority of a submitted request: the default when unset,
/// refused above [`MAX_PRIORITY`].
pub fn effective_priority(priority: Option<u32>) -> Result<u32, DivaValueError> {
    match priority {
        None => Ok(DEFAULT_PRIORITY),
        Some(p) if p <= MAX_PRIORITY => Ok(p),
        Some(p) => Err(DivaValueError::Priority(i64::from(p))),
    }
}

/// Splits a DIVA `qos` into its service level (low byte, 0–4) and the
/// delete-on-source service bit. Any other bit is refused.
pub fn split_diva_qos(qos: i32) -> Result<(Qos, bool), DivaValueError> {
    if qos & !(0xff | DIVA_ARCHIVE_SERVICE_DELETE_ON_SOURCE) != 0 {
        return Err(DivaValueError::Qos(qos));
    }
    let level = Qos::try_from(qos & 0xff).map_err(|_| DivaValueError::Qos(qos))?;
    Ok((level, qos & DIVA_ARCHIVE_SERVICE_DELETE_ON_SOURCE != 0))
}

/// The DIVA `qos` of a service level and the delete-on-source flag.
pub fn join_diva_qos(level: Qos, delete_on_source: bool) -> i32 {
    let bit = if delete_on_source {
        DIVA_ARCHIVE_SERVICE_DELETE_ON_SOURCE
    } else {
        0
    };
    level as i32 | bit
}

impl Role {
    /// Every role, least privileged first.
    pub const ALL: [Role; 5] = [
        Role::User,
        Role::Operator,
        Role::Advoperator,
        Role::Admin,
        Role::Sysadmin,
    ];

    /// The DIVA role name (`"user"` ... `"sysadmin"`); `None` for
    /// `UNSPECIFIED`.
    pub fn diva_name(self) -> Option<&'static str> {
        match self {
            Role::Unspecified => None,
            Role::User => Some("user"),
            Role::Operator => Some("operator"),
            Role::Advoperator => Some("advoperator"),
            Role::Admin => Some("admin"),
            Role::Sysadmin => Some("sysadmin"),
        }
    }

    /// The role of a DIVA role name (exact, lower case as in the guides).
    pub fn from_diva_name(name: &str) -> Result<Role, DivaValueError> {
        Role::ALL
            .into_iter()
            .find(|r| r.diva_name() == Some(name))
            .ok_or_else(|| DivaValueError::Role(name.to_owned()))
    }

    /// True when this role may do what `required` may: roles are nested,
    /// each allowed everything the one below it is. `UNSPECIFIED` is
    /// allowed nothing and required by nothing.
    pub fn includes(self, required: Role) -> bool {
        self != Role::Unspecified && required != Role::Unspecified && self >= required
    }
}

impl RequestState {
    /// Every state a request can be in, in life-cycle order.
    pub const ALL: [RequestState; 6] = [
        RequestState::Pending,
        RequestState::Running,
        RequestState::Completed,
        RequestState::PartiallyCompleted,
        RequestState::Aborted,
        RequestState::Cancelled,
    ];

    /// The DIVA state name (`"PENDING"`, ..., `"CANCELLED"`); `None` for
    /// `UNSPECIFIED`.
    pub fn diva_name(self) -> Option<&'static str> {
        match self {
            RequestState::Unspecified => None,
            RequestState::Pending => Some("PENDING"),
            RequestState::Running => Some("RUNNING"),
            RequestState::Completed => Some("COMPLETED"),
            RequestState::PartiallyCompleted => Some("PARTIALLY_COMPLETED"),
            RequestState::Aborted => Some("ABORTED"),
            RequestState::Cancelled => Some("CANCELLED"),
        }
    }

    /// The state of a DIVA state name.
    pub fn from_diva_name(name: &str) -> Result<RequestState, DivaValueError> {
        RequestState::ALL
            .into_iter()
            .find(|s| s.diva_name() == Some(name))
            .ok_or_else(|| DivaValueError::RequestState(name.to_owned()))
    }

    /// True for the states a request never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestState::Completed
                | RequestState::PartiallyCompleted
                | RequestState::Aborted
                | RequestState::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn priorities() {
        assert_eq!(priority_from_diva(-1), Ok(None));
        assert_eq!(priority_from_diva(0), Ok(Some(0)));
        assert_eq!(priority_from_diva(100), Ok(Some(100)));
        assert_eq!(priority_from_diva(101), Err(DivaValueError::Priority(101)));
        assert_eq!(priority_from_diva(-2), Err(DivaValueError::Priority(-2)));
        assert_eq!(effective_priority(None), Ok(50));
        assert_eq!(effective_priority(Some(7)), Ok(7));
        assert_eq!(
            effective_priority(Some(101)),
            Err(DivaValueError::Priority(101))
        );
    }

    #[test]
    fn qos_bits() {
        assert_eq!(split_diva_qos(0), Ok((Qos::Default, false)));
        assert_eq!(split_diva_qos(2), Ok((Qos::DirectOnly, false)));
        assert_eq!(split_diva_qos(0x0102), Ok((Qos::DirectOnly, true)));
        assert_eq!(split_diva_qos(5), Err(DivaValueError::Qos(5)));
        assert_eq!(split_diva_qos(0x0200), Err(DivaValueError::Qos(0x200)));
        assert_eq!(split_diva_qos(-1), Err(DivaValueError::Qos(-1)));
        assert_eq!(join_diva_qos(Qos::CacheAndDirect, true), 0x0104);
    }

    #[test]
    fn roles() {
        for role in Role::ALL {
            let name = role.diva_name().expect("named");
            assert_eq!(Role::from_diva_name(name), Ok(role));
        }
        assert!(Role::from_diva_name("Admin").is_err());
        assert!(Role::Sysadmin.includes(Role::Admin));
        assert!(Role::Advoperator.includes(Role::Operator));
        assert!(Role::Operator.includes(Role::Operator));
        assert!(!Role::Operator.includes(Role::Advoperator));
        assert!(!Role::User.includes(Role::Operator));
        assert!(!Role::Unspecified.includes(Role::User));
        assert!(!Role::Sysadmin.includes(Role::Unspecified));
    }

    #[test]
    fn request_states() {
        assert_eq!(
            RequestState::from_diva_name("PARTIALLY_COMPLETED"),
            Ok(RequestState::PartiallyCompleted)
        );
        assert!(RequestState::from_diva_name("REQUEST_STATE_PENDING").is_err());
        assert!(RequestState::Cancelled.is_terminal());
        assert!(!RequestState::Running.is_terminal());
        assert_eq!(RequestState::Unspecified.diva_name(), None);
        for state in RequestState::ALL {
            let name = state.diva_name().expect("named");
            assert_eq!(RequestState::from_diva_name(name), Ok(state));
        }
        assert!(RequestState::from_diva_name("UNSPECIFIED").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn qos_split_join_round_trip(
            qos in prop_oneof![0i32..8, (0i32..8).prop_map(|q| q | 0x100), any::<i32>()]
        ) {
            if let Ok((level, delete)) = split_diva_qos(qos) {
                prop_assert_eq!(join_diva_qos(level, delete), qos);
            }
        }
    }
}
