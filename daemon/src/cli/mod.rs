//! Output of the operator CLI (`tapectl`): text tables and JSON built from the
//! `tapelib.v1` messages.

pub mod json;
pub mod table;

use tapelib_proto::prost_types::Timestamp;
use tapelib_proto::v1::{RequestInfo, RequestState, RequestType};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// "-" for an empty cell.
pub fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

/// The proto enum value name without its prefix ("PENDING" for REQUEST_STATE_PENDING).
pub fn enum_name(name: Option<&str>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_string())
        .unwrap_or_else(|| "?".into())
}

pub fn state_name(state: i32) -> String {
    enum_name(
        RequestState::try_from(state).ok().map(|s| s.as_str_name()),
        "REQUEST_STATE_",
    )
}

pub fn type_name(t: i32) -> String {
    enum_name(
        RequestType::try_from(t).ok().map(|s| s.as_str_name()),
        "REQUEST_TYPE_",
    )
    .to_lowercase()
}

/// RFC 3339 text of a timestamp; empty when unset or out of range.
pub fn time_text(t: Option<&Timestamp>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// "YYYY-MM-DD HH:MM:SS" (UTC) for tables; empty when unset or out of range.
pub fn short_time(t: Option<&Timestamp>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(t.seconds)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_default()
}

/// Parses an RFC 3339 instant given on the command line.
pub fn parse_time(text: &str) -> Result<Timestamp, time::error::Parse> {
    let t = OffsetDateTime::parse(text, &Rfc3339)?;
    let nanos = t.unix_timestamp_nanos();
    Ok(Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0),
    })
}

/// How a finished request maps to the exit status of `tapectl watch` and `--wait`:
/// 0 COMPLETED, 2 PARTIALLY_COMPLETED, 1 for everything else.
pub fn exit_code(info: &RequestInfo) -> u8 {
    match RequestState::try_from(info.state) {
        Ok(RequestState::Completed) => 0,
        Ok(RequestState::PartiallyCompleted) => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_bad_text_is_refused() {
        let t = parse_time("2026-12-04T13:00:00.5Z").expect("parse");
        assert_eq!(t.nanos, 500_000_000);
        assert_eq!(time_text(Some(&t)), "2026-12-04T13:00:00.5Z");
        assert!(parse_time("yesterday").is_err());
        assert_eq!(time_text(None), "");
        assert_eq!(short_time(Some(&t)), "2026-12-04 13:00:00");
    }

    #[test]
    fn exit_codes_follow_the_final_state() {
        let mut info = RequestInfo {
            state: RequestState::Completed as i32,
            ..Default::default()
        };
        assert_eq!(exit_code(&info), 0);
        info.state = RequestState::PartiallyCompleted as i32;
        assert_eq!(exit_code(&info), 2);
        info.state = RequestState::Aborted as i32;
        assert_eq!(exit_code(&info), 1);
        info.state = RequestState::Cancelled as i32;
        assert_eq!(exit_code(&info), 1);
        assert_eq!(
            state_name(RequestState::PartiallyCompleted as i32),
            "PARTIALLY_COMPLETED"
        );
        assert_eq!(
            type_name(RequestType::PartialRestore as i32),
            "partial_restore"
        );
    }
}
