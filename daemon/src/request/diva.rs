//! The DIVA vocabulary of requests in catalog records. The codes 1000-1040 with their
//! names and descriptions (DIVA REST API guides 8.0 and 9.0, "DIVA Request Status
//! Codes"), and the DIVA request state names, are defined once, in `tapelib_proto`;
//! this module only gives them their stored JSON form.

pub use tapelib_proto::v1::{DivaStatusCode, RequestState};
pub use tapelib_proto::DivaCodeError;

/// A [`DivaStatusCode`] stored as its DIVA number (e.g. `1024`), for
/// `#[serde(with = "status_code")]`. `UNSPECIFIED` is refused both ways: it is no DIVA
/// code, and a DIVA client reading the record could not act on it.
pub mod status_code {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::DivaStatusCode;

    pub fn serialize<S: Serializer>(status: &DivaStatusCode, s: S) -> Result<S::Ok, S::Error> {
        let code = DivaStatusCode::from_code(status.code()).map_err(S::Error::custom)?;
        s.serialize_i32(code.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DivaStatusCode, D::Error> {
        let code = i32::deserialize(d)?;
        DivaStatusCode::from_code(code).map_err(D::Error::custom)
    }
}

/// A [`RequestState`] stored as its DIVA name (e.g. `"PARTIALLY_COMPLETED"`), for
/// `#[serde(with = "state_name")]`. `UNSPECIFIED` has no DIVA name and is refused.
pub mod state_name {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::RequestState;

    pub fn serialize<S: Serializer>(state: &RequestState, s: S) -> Result<S::Ok, S::Error> {
        let name = state
            .diva_name()
            .ok_or_else(|| S::Error::custom(format!("request state {state:?} has no DIVA name")))?;
        s.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RequestState, D::Error> {
        let name = String::deserialize(d)?;
        RequestState::from_diva_name(&name).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};
    use tapelib_proto::DIVA_CODES;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Status(#[serde(with = "status_code")] DivaStatusCode);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct State(#[serde(with = "state_name")] RequestState);

    #[test]
    fn codes_are_contiguous_and_named_per_the_guides() {
        for (i, row) in DIVA_CODES.iter().enumerate() {
            let s = DivaStatusCode::from_code(row.code).expect("table code in the enum");
            assert_eq!(usize::try_from(s.code()).ok(), Some(1000 + i));
            assert!(s.name().starts_with("DIVA_"));
            assert_eq!(DivaStatusCode::from_name(s.name()), Ok(s));
        }
        assert_eq!(DivaStatusCode::DivaOk.name(), "DIVA_OK");
        assert_eq!(DivaStatusCode::DivaErrInvalidParameter.code(), 1008);
        assert_eq!(
            DivaStatusCode::DivaErrObjectDoesntExist.name(),
            "DIVA_ERR_OBJECT_DOESNT_EXIST"
        );
        assert_eq!(DivaStatusCode::DivaErrObjectAlreadyExists.code(), 1016);
        assert_eq!(DivaStatusCode::DivaErrObjectOffline.code(), 1023);
        assert_eq!(DivaStatusCode::DivaErrObjectBeingArchived.code(), 1040);
        assert!(DivaStatusCode::DivaWarnNoMoreObjects.is_warning());
        assert!(!DivaStatusCode::DivaErrTimeout.is_warning());
        assert_eq!(
            DivaStatusCode::from_code(999),
            Err(DivaCodeError::UnknownCode(999))
        );
        assert_eq!(
            DivaStatusCode::from_code(1041),
            Err(DivaCodeError::UnknownCode(1041))
        );
        assert_eq!(
            DivaStatusCode::DivaErrObjectOffline.to_string(),
            "1023 DIVA_ERR_OBJECT_OFFLINE"
        );
    }

    #[test]
    fn serialises_as_number() {
        let j = serde_json::to_string(&Status(DivaStatusCode::DivaErrTimeout)).expect("encode");
        assert_eq!(j, "1024");
        assert!(serde_json::from_str::<Status>("1041").is_err());
        assert_eq!(
            serde_json::from_str::<Status>("1023").ok(),
            Some(Status(DivaStatusCode::DivaErrObjectOffline))
        );
        // Not a DIVA code: neither written nor read.
        assert!(serde_json::to_string(&Status(DivaStatusCode::Unspecified)).is_err());
        for bad in ["0", "-1", "\"DIVA_OK\"", "1000.5", "4294967296"] {
            assert!(serde_json::from_str::<Status>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn states_serialise_as_diva_names() {
        let j = serde_json::to_string(&State(RequestState::PartiallyCompleted)).expect("encode");
        assert_eq!(j, "\"PARTIALLY_COMPLETED\"");
        for state in RequestState::ALL {
            let j = serde_json::to_string(&State(state)).expect("encode");
            assert_eq!(serde_json::from_str::<State>(&j).ok(), Some(State(state)));
        }
        assert!(serde_json::to_string(&State(RequestState::Unspecified)).is_err());
        for bad in [
            "\"pending\"",
            "\"REQUEST_STATE_PENDING\"",
            "\"UNSPECIFIED\"",
            "1",
        ] {
            assert!(serde_json::from_str::<State>(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn from_code_roundtrips_or_rejects(code in any::<u16>()) {
            match DivaStatusCode::from_code(i32::from(code)) {
                Ok(s) => prop_assert_eq!(s.code(), i32::from(code)),
                Err(_) => prop_assert!(!(1000..=1040).contains(&code)),
            }
        }

        #[test]
        fn arbitrary_json_numbers_never_panic(code in any::<i64>()) {
            let decoded = serde_json::from_str::<Status>(&code.to_string());
            prop_assert_eq!(decoded.is_ok(), (1000..=1040).contains(&code));
        }
    }
}
